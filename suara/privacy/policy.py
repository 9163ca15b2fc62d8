"""The privacy policy of a form: which output columns each field becomes, in which zone.

Derived from the form's ``pii_class`` and ``pii_rule`` columns and its ``suara_policy`` sheet
(vocabulary in :mod:`suara.privacy.rules`, documented in docs/privacy.md). The warehouse
derives its table schemas from :meth:`Policy.columns`, and :func:`suara.privacy.anonymise`
produces frames with exactly those columns, so the two cannot drift apart.

Zones: ``restricted`` is the secure dataset (fine-grained, never a direct identifier, free
text scrubbed); ``analytics`` is what analysts get (coarsened, pseudonymised, k-anonymous).
A field with no class is a direct identifier (fail closed) and reaches neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from suara.errors import FormDefinitionError
from suara.forms.model import Field, Form
from suara.normalise import table_name
from suara.privacy.rules import (
    DATE_TYPES,
    NEVER_PASS_TYPES,
    FormPolicy,
    Rule,
    parse_form_policy,
    parse_rule,
)

ZONES = ("analytics", "restricted")
KINDS = ("integer", "decimal", "text", "date", "datetime", "time", "choice", "choices", "boolean")
# Organisation sizes are banded in anything shared (forms-content.md §2.2).
DEFAULT_SIZE_EDGES = (500.0, 1000.0, 3000.0)
DURATION_COLUMN = "interview_minutes"

_LOCAL_KINDS = {
    "integer": "integer", "decimal": "decimal", "range": "decimal",
    "date": "date", "today": "date", "dateTime": "datetime", "start": "datetime",
    "end": "datetime", "time": "time", "select_one": "choice", "select_one_from_file": "choice",
    "select_multiple": "choices", "select_multiple_from_file": "choices", "rank": "choices",
    "acknowledge": "boolean",
}
# Suffix of the analytics column a coarsening produces; the suffix tells analysts what they see.
_SUFFIX = {"month": "_month", "quarter": "_quarter", "province": "_province", "band": "_band",
           "band_year": "_band", "hmac": "_pseudonym", "pseudonym": "_pseudonym"}


def field_kind(form: Form, fld: Field) -> str:
    """The typed kind of a field's values: ``suara.cast``'s answer when it exists."""
    try:
        from suara.cast import field_kind as cast_kind  # the validation stage owns typing
    except ImportError:
        cast_kind = None
    if cast_kind is not None:
        return cast_kind(form, fld)
    return _LOCAL_KINDS.get(fld.type, "text")


@dataclass(frozen=True)
class OutputColumn:
    """One column of one output table in one zone."""

    name: str
    kind: str
    source: str        # field name(s) it is computed from ("start,end" for a duration)
    treatment: str     # system | keep | scrub | hmac | pseudonym | month | quarter | duration | province | band | band_year
    zone: str          # analytics | restricted
    labels: dict[str, str] = field(default_factory=dict, compare=False)
    edges: tuple[float, ...] = ()   # band edges for band/band_year
    pii_class: str = "-"


@dataclass(frozen=True)
class FieldPlan:
    """What happens to one field: its output columns (possibly none) and why."""

    field: Field
    rule: Rule | None
    columns: tuple[OutputColumn, ...]

    @property
    def dropped(self) -> bool:
        return not self.columns


def _system_columns(table: str, is_repeat: bool) -> list[OutputColumn]:
    cols = [("_id", "integer", "_id", "system")]
    if is_repeat:
        cols += [("_parent_index", "integer", "_parent_index", "system"),
                 ("_index", "integer", "_index", "system")]
    else:
        cols += [("_form_version", "text", "_form_version", "system"),
                 ("_submission_month", "text", "_submission_time", "month")]
    return [OutputColumn(n, k, s, t, z, pii_class="M") for z in ZONES for n, k, s, t in cols]


class Policy:
    """The per-form plan. Build it with :func:`policy_for`."""

    def __init__(self, form: Form):
        self.form = form
        self.settings: FormPolicy = parse_form_policy(form)
        self.plans: dict[str, FieldPlan] = {}
        self._duration_pair = _duration_pair(form)
        for fld in form.fields:
            if fld.has_value:
                self.plans[fld.name] = self._plan(fld)
        self._check_names()
        self._check_policy_fields()

    # -- public surface ---------------------------------------------------------------------

    @cached_property
    def tables(self) -> dict[str, str | None]:
        """Table name → repeat path (None for the submission table)."""
        out: dict[str, str | None] = {self.form.form_id: None}
        for g in self.form.repeats:
            out[table_name(self.form.form_id, g.path)] = g.path
        return out

    def columns(self, table: str, zone: str | None = None) -> list[OutputColumn]:
        """Output columns of ``table`` (``<form_id>`` or ``<form_id>__<repeat>``), both zones
        unless ``zone`` is given; system columns first, then fields in form order."""
        if table not in self.tables:
            raise KeyError(f"form {self.form.form_id} has no table {table!r}")
        repeat = self.tables[table]
        cols = _system_columns(table, repeat is not None)
        for fld in self.form.value_fields(repeat):
            cols.extend(self.plans[fld.name].columns)
        return [c for c in cols if zone is None or c.zone == zone]

    def column_names(self, table: str, zone: str) -> list[str]:
        return [c.name for c in self.columns(table, zone)]

    @property
    def unclassified(self) -> list[str]:
        """Fields without a pii_class: treated as direct identifiers and reported."""
        return [f.name for f in self.form.fields if f.has_value and f.pii_class is None]

    def quasi_identifiers(self, table: str) -> list[str]:
        """Analytics columns of ``table`` that the k-anonymity check groups on."""
        declared = self.settings.quasi_identifiers
        out = []
        for c in self.columns(table, "analytics"):
            if c.treatment == "system" or c.source == "_submission_time":
                continue
            src = c.source.split(",")
            if declared is not None:
                if any(s in declared for s in src):
                    out.append(c.name)
            elif c.pii_class in ("Q", "O"):
                out.append(c.name)
        return out

    def l_columns(self, table: str) -> list[str]:
        """Analytics columns whose diversity within a QI class is checked (distinct l)."""
        return [c.name for c in self.columns(table, "analytics")
                if c.source in self.settings.l_fields]

    @property
    def domain(self) -> str:
        return self.settings.pseudonym_domain

    # -- planning ---------------------------------------------------------------------------

    def _plan(self, fld: Field) -> FieldPlan:
        rule = parse_rule(fld)
        cls = fld.effective_class
        kind = field_kind(self.form, fld)
        if fld.type in NEVER_PASS_TYPES or (rule and rule.name == "drop"):
            return FieldPlan(fld, rule, ())
        if cls == "D":
            # Staff codes and account names become pseudonyms held in the secure dataset only.
            wanted = (rule and rule.name in ("pseudonym", "hmac")) or fld.type == "username"
            cols = (self._derived(fld, "pseudonym", "restricted"),) if wanted else ()
            return FieldPlan(fld, rule, cols)
        if cls == "M":
            return FieldPlan(fld, rule, tuple(self._metadata(fld, rule)))
        restricted = self._fine(fld, kind, rule)
        analytics = self._released(fld, kind, rule, cls)
        return FieldPlan(fld, rule, tuple(c for c in (*restricted, *analytics) if c))

    def _fine(self, fld: Field, kind: str, rule: Rule | None) -> list[OutputColumn]:
        """The restricted (secure dataset) column: exact, but pseudonymised or scrubbed."""
        if fld.effective_class == "O" and not (kind in ("integer", "decimal") or (rule and rule.name.startswith("band"))):
            return [self._derived(fld, "hmac", "restricted")]
        if rule and rule.name in ("hmac", "pseudonym"):
            return [self._derived(fld, rule.name, "restricted")]
        return [self._own(fld, kind, "restricted")]

    def _released(self, fld: Field, kind: str, rule: Rule | None, cls: str) -> list[OutputColumn]:
        if cls == "S" and self.settings.microdata != "release":
            return []
        if rule is not None:
            if rule.name == "keep":
                return [self._own(fld, kind, "analytics")]
            if rule.name == "duration":
                return []
            return [self._derived(fld, rule.name, "analytics", rule.edges)]
        if cls == "O":
            if kind in ("integer", "decimal"):
                return [self._derived(fld, "band", "analytics", DEFAULT_SIZE_EDGES)]
            return [self._derived(fld, "hmac", "analytics")]
        if cls == "Q":
            if fld.type in DATE_TYPES:
                return [self._derived(fld, "month", "analytics")]
            if kind == "text":
                return []  # free-text quasi-identifiers are recoded by people, then released
        return [self._own(fld, kind, "analytics")]

    def _metadata(self, fld: Field, rule: Rule | None) -> list[OutputColumn]:
        """Device/process metadata (forms-content.md §2.2 class M): durations and months."""
        names = {rule.name} if rule else set()
        if rule is None:
            if fld.type == "start":
                names = {"duration", "month"}
            elif fld.type == "end":
                names = {"duration"}
            elif fld.type in DATE_TYPES:
                names = {"month"}
        if rule is not None and rule.name == "keep":
            return [self._own(fld, field_kind(self.form, fld), z) for z in ZONES]
        cols = []
        if "duration" in names and self._duration_pair and fld.name == self._duration_pair[0]:
            for z in ZONES:
                cols.append(OutputColumn(
                    DURATION_COLUMN, "integer", ",".join(self._duration_pair), "duration", z,
                    {"English (en)": "Interview length (minutes)",
                     "Indonesian (id)": "Lama wawancara (menit)"}, pii_class="M"))
        for name in sorted(names - {"duration"}):
            if name in ("month", "quarter", "band", "band_year", "province"):
                cols.extend(self._derived(fld, name, z, rule.edges if rule else ()) for z in ZONES)
            elif name in ("hmac", "pseudonym"):
                cols.append(self._derived(fld, name, "restricted"))
        return cols

    def _own(self, fld: Field, kind: str, zone: str) -> OutputColumn:
        treatment = "scrub" if kind == "text" else "keep"
        return OutputColumn(fld.name, kind, fld.name, treatment, zone, dict(fld.labels),
                            pii_class=fld.effective_class)

    def _derived(self, fld: Field, treatment: str, zone: str, edges=()) -> OutputColumn:
        if treatment in ("band", "band_year") and not edges:
            edges = DEFAULT_SIZE_EDGES
        return OutputColumn(fld.name + _SUFFIX[treatment], "text", fld.name, treatment, zone,
                            dict(fld.labels), tuple(edges), fld.effective_class)

    # -- checks -----------------------------------------------------------------------------

    def _check_names(self) -> None:
        fields = {f.name for f in self.form.fields}
        for table in self.tables:
            for zone in ZONES:
                seen: set[str] = set()
                for c in self.columns(table, zone):
                    clash = c.name in seen or (c.name != c.source and c.name in fields)
                    if clash:
                        raise FormDefinitionError(
                            f"{self.form.source}: the privacy policy of field '{c.source}' makes "
                            f"a column '{c.name}' that clashes with another column.",
                            code="FORM_043",
                            hint="Rename the field or the question that has that name.",
                        )
                    seen.add(c.name)

    def _check_policy_fields(self) -> None:
        # Consent and withdrawal fields must be readable on the submission table.
        s = self.settings
        for name, _ in (*s.consent, *s.withdrawn, *s.share):
            if self.form.field(name).repeat is not None:
                raise FormDefinitionError(
                    f"{self.form.source}: suara_policy consent/withdrawal field '{name}' is "
                    "inside a repeat.", code="FORM_042",
                    hint="Consent is one answer per submission; use a field outside repeats.")


def _duration_pair(form: Form) -> tuple[str, str] | None:
    """(start, end) field names for the interview duration, or None when the form lacks one."""
    declared = [f for f in form.fields if (f.pii_rule or "").strip().lower() == "duration"]
    start = next((f.name for f in declared if f.type == "start"), None) or next(
        (f.name for f in form.fields if f.type == "start" and not f.pii_rule), None)
    end = next((f.name for f in declared if f.type == "end"), None) or next(
        (f.name for f in form.fields if f.type == "end" and not f.pii_rule), None)
    if start is None and len(declared) == 2:
        start, end = declared[0].name, declared[1].name
    return (start, end) if start and end else None


_CACHE: dict[int, Policy] = {}


def policy_for(form: Form) -> Policy:
    """The privacy policy of ``form`` (cached per Form object; Forms are immutable)."""
    key = id(form)
    cached = _CACHE.get(key)
    if cached is None or cached.form is not form:
        cached = _CACHE[key] = Policy(form)
    return cached
