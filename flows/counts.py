"""Per-form run counts and the invariant every run must keep (design.md invariant 1)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from warehouse import LoadCounts


@dataclass
class FormCounts(LoadCounts):
    """The warehouse's submission counts for one form in one run, plus what the pull cost.

    pulled = loaded + quarantined + withheld. ``updated`` counts loaded submissions that
    replaced an earlier copy (edits, validation changes, releases); ``deleted`` counts
    submissions erased because the server deleted them (not part of ``pulled``).
    """

    pages: int = 0
    requests: int = 0

    def add(self, other: LoadCounts) -> None:
        for f in fields(other):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def balanced(self) -> bool:
        return self.pulled == self.loaded + self.quarantined + self.withheld

    def record(self) -> dict[str, int]:
        """The run record's per-form object (design.md, `suara sync --json`)."""
        return {f.name: getattr(self, f.name) for f in fields(LoadCounts)}
