"""The per-run privacy audit (anonymisation.md G12): what the anonymiser did, in figures.

Two views of one record: :meth:`PrivacyAudit.record` for the restricted zone (every table and
column) and :meth:`PrivacyAudit.summary` for the run artifact (totals only). Neither ever
holds a raw value, a pseudonym, or a key: only column names, counts, ratios, rule names and
the key *version*.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from suara.privacy.kanon import RiskStats


@dataclass
class TableDisclosure:
    quasi_identifiers: list[str]
    k: int
    l_columns: list[str]
    l: int  # noqa: E741
    before: RiskStats
    after: RiskStats
    suppressed: dict[str, int]
    recoded: dict[str, str]
    withheld_rows: int

    def as_dict(self) -> dict:
        return {
            "quasi_identifiers": self.quasi_identifiers, "k": self.k,
            "l_columns": self.l_columns, "l": self.l,
            "before": self.before.as_dict(), "after": self.after.as_dict(),
            "suppressed": dict(self.suppressed), "recoded": dict(self.recoded),
            "withheld_rows": self.withheld_rows,
        }


@dataclass
class PrivacyAudit:
    form_id: str
    key_version: str
    pseudonym_domain: str
    microdata: str
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    submissions_in: int = 0
    withheld: int = 0          # no consent, or withdrawn
    erased: int = 0            # withdrawn: to delete from every zone
    not_shared: int = 0        # restricted only: no consent to share microdata
    rows_in: dict[str, int] = field(default_factory=dict)
    rows_analytics: dict[str, int] = field(default_factory=dict)
    rows_restricted: dict[str, int] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)          # fields with no output column
    pseudonymised: list[str] = field(default_factory=list)    # output columns
    coarsened: dict[str, str] = field(default_factory=dict)   # output column → rule
    scrubbed: list[str] = field(default_factory=list)         # output columns
    scrub_hits: Counter = field(default_factory=Counter)      # type → count
    scrub_hits_by_column: dict[str, dict[str, int]] = field(default_factory=dict)
    unclassified: list[str] = field(default_factory=list)     # fields without pii_class
    unknown_keys: dict[str, int] = field(default_factory=dict)  # Kobo key → submissions
    unknown_columns: list[str] = field(default_factory=list)    # frame columns not in the form
    disclosure: dict[str, TableDisclosure] = field(default_factory=dict)

    def add_hits(self, column: str, hits: Counter) -> None:
        if not hits:
            return
        self.scrub_hits.update(hits)
        into = self.scrub_hits_by_column.setdefault(column, {})
        for kind, n in hits.items():
            into[kind] = into.get(kind, 0) + n

    def to_dict(self) -> dict:
        """What the warehouse stores in the restricted ``privacy_audits`` table."""
        return self.record()

    def record(self) -> dict:
        """Everything, for the restricted zone."""
        return {
            **self.summary(),
            "rows_in": dict(self.rows_in),
            "rows_analytics": dict(self.rows_analytics),
            "rows_restricted": dict(self.rows_restricted),
            "dropped": sorted(self.dropped),
            "pseudonymised": sorted(self.pseudonymised),
            "coarsened": dict(sorted(self.coarsened.items())),
            "scrubbed": sorted(self.scrubbed),
            "scrub_hits_by_column": self.scrub_hits_by_column,
            "unclassified": sorted(self.unclassified),
            "unknown_keys": dict(sorted(self.unknown_keys.items())),
            "unknown_columns": sorted(self.unknown_columns),
            "disclosure": {t: d.as_dict() for t, d in self.disclosure.items()},
        }

    def summary(self) -> dict:
        """Totals safe for a Prefect artifact or a log line."""
        after = {t: d.after for t, d in self.disclosure.items()}
        return {
            "form_id": self.form_id,
            "created_at": self.created_at,
            "key_version": self.key_version,
            "microdata": self.microdata,
            "submissions_in": self.submissions_in,
            "withheld": self.withheld,
            "erased": self.erased,
            "not_shared": self.not_shared,
            "columns_dropped": len(self.dropped),
            "columns_pseudonymised": len(self.pseudonymised),
            "columns_coarsened": len(self.coarsened),
            "columns_scrubbed": len(self.scrubbed),
            "scrub_hits": dict(sorted(self.scrub_hits.items())),
            "unclassified_fields": len(self.unclassified),
            "unknown_keys": len(self.unknown_keys),
            "k_min_after": {t: a.k_min for t, a in after.items()},
            "max_risk_after": {t: round(a.max_risk, 4) for t, a in after.items()},
            "suppressed_cells": sum(sum(d.suppressed.values()) for d in self.disclosure.values()),
            "rows_withheld_by_k": sum(d.withheld_rows for d in self.disclosure.values()),
        }
