"""Per-form run counts and the invariant every run must keep (design.md invariant 1)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class FormCounts:
    """Counts of submissions for one form in one run.

    pulled = loaded + quarantined + withheld. ``updated`` counts loaded submissions that
    replaced an earlier copy (edits, validation changes, releases); ``deleted`` counts
    submissions erased because the server deleted them (not part of ``pulled``).
    """

    pulled: int = 0
    loaded: int = 0
    updated: int = 0
    deleted: int = 0
    quarantined: int = 0
    withheld: int = 0
    pages: int = 0
    requests: int = 0

    def add(self, other: FormCounts) -> None:
        for key, value in asdict(other).items():
            setattr(self, key, getattr(self, key) + value)

    def balanced(self) -> bool:
        return self.pulled == self.loaded + self.quarantined + self.withheld

    def record(self) -> dict[str, int]:
        """The run record's per-form object (design.md, `suara sync --json`)."""
        return {k: getattr(self, k) for k in ("pulled", "loaded", "updated", "deleted", "quarantined", "withheld")}
