"""Privacy: the policy derived from each form, and the transforms that apply it.

Public surface (docs/architecture.md §5, docs/privacy.md):

* :func:`policy_for` → :class:`Policy` with ``columns(table, zone=None)``.
"""

from suara.privacy.policy import OutputColumn, Policy, policy_for

__all__ = ["OutputColumn", "Policy", "policy_for"]
