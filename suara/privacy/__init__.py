"""Privacy: the policy derived from each form, and the transforms that apply it.

Public surface (docs/architecture.md §5, docs/privacy.md):

* :func:`policy_for` → :class:`Policy`; ``Policy.columns(table, zone=None)`` → :class:`OutputColumn`
* :func:`anonymise` → :class:`Release` (analytics, restricted, withheld, erase, audit)
* :class:`ReleaseDecision`: k-anonymity over a whole table, for the warehouse's release step
* :class:`PrivacyKeys` (``from_settings``), :class:`PrivacyAudit`
* :func:`scrub_series`, :func:`scrub_text`; :func:`measure`, :func:`protect`; :func:`suppress_cells`
"""

from suara.privacy.anonymise import Release, anonymise
from suara.privacy.audit import PrivacyAudit
from suara.privacy.kanon import RiskStats, measure, protect
from suara.privacy.keys import PrivacyKeys
from suara.privacy.policy import OutputColumn, Policy, policy_for
from suara.privacy.release import ReleaseDecision
from suara.privacy.scrub import residual_identifiers, scrub_series, scrub_text
from suara.privacy.suppress import suppress_cells

__all__ = [
    "OutputColumn", "Policy", "PrivacyAudit", "PrivacyKeys", "Release", "ReleaseDecision", "RiskStats", "anonymise",
    "measure", "policy_for", "protect", "residual_identifiers", "scrub_series", "scrub_text",
    "suppress_cells",
]
