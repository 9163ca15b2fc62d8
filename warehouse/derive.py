"""Form-derived table schemas: computed from the Form model and its privacy policy.

The privacy policy (``suara.privacy.policy_for(form).columns(table)``) decides which columns
exist and in which zone: analytics gets anonymised columns, restricted gets sensitive
microdata. This module turns those columns into tables:

* one table per form (grain: one row per submission, key ``_id``) and one per repeat group
  (``<form>__<repeat>``, grain: one row per repeat item, key ``(_id, _parent_index, _index)``,
  foreign key to the submission table ON DELETE CASCADE), in each zone that has columns for it;
* a select_multiple (kind ``choices``) keeps its space-separated answer and gets one 0/1
  column per choice, ``<column>__<choice>``;
* every version of a form contributes: columns are the union over versions, so a removed
  question keeps its column and a new question or choice adds one. A column whose type
  changes between versions, or that leaves analytics for restricted, is refused with a
  SchemaEvolutionError.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol

from suara.errors import SchemaEvolutionError, WarehouseError
from suara.forms.model import Field, Form
from suara.normalise import table_name
from warehouse.naming import flag_name, sql_name
from warehouse.session import ANALYTICS, RESTRICTED

# Kinds a policy column may have (suara.cast.field_kind and suara.privacy share them), plus
# "flag" for the 0/1 column of one choice. "choices_flag" is accepted as a synonym of "flag".
KINDS = {"integer", "decimal", "text", "date", "datetime", "time", "boolean", "choice",
         "choices", "choices_flag", "flag"}
KEY_COLUMNS = ("_id", "_parent_index", "_index")
LINEAGE_COLUMNS = ("_loaded_at", "_sync_run_id")
DATA_ZONES = (ANALYTICS, RESTRICTED)
# Candidate tables: every analytics table has a twin in the restricted zone holding the rows
# the anonymiser would release, before disclosure control. The release step
# (warehouse/release.py) decides k-anonymity over the whole twin and writes analytics from
# it, so what analysts see depends on the data, never on how the sync happened to page it.
# Form ids and repeat paths never start with "_", so these names cannot collide.
CANDIDATE_PREFIX = "_candidate__"


def candidate_name(table: str) -> str:
    """The restricted-zone twin of analytics table ``table``."""
    return sql_name(CANDIDATE_PREFIX + table)


def root_table(table: str, form_id: str) -> str:
    """The submission table of ``table``'s chain: the form's, or its candidate twin's."""
    return candidate_name(sql_name(form_id)) if table.startswith(CANDIDATE_PREFIX) else sql_name(form_id)


class OutputColumnLike(Protocol):
    """What the warehouse needs from ``suara.privacy.OutputColumn``."""

    name: str
    kind: str
    source: str | None
    treatment: str
    zone: str


class PolicyLike(Protocol):
    def columns(self, table: str) -> list[OutputColumnLike]: ...


PolicyFor = Callable[[Form], PolicyLike]


@dataclass(frozen=True)
class DerivedColumn:
    name: str                 # SQL name
    kind: str
    xlsform_path: str | None
    treatment: str = ""
    choice: str | None = None  # for flag columns: the choice's name
    list_name: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict, compare=False)  # question labels by language
    choice_labels: Mapping[str, str] = field(default_factory=dict, compare=False)
    added_in: str | None = field(default=None, compare=False)


@dataclass
class DerivedTable:
    zone: str
    name: str
    form_id: str
    parent: str | None        # the immediate parent table; None for the submission table
    columns: dict[str, DerivedColumn] = field(default_factory=dict)

    @property
    def root(self) -> str:
        return sql_name(self.form_id)


@dataclass
class FormSchema:
    """Everything derived for one form: its tables over all versions, plus each version's own."""

    form_id: str
    tables: dict[tuple[str, str], DerivedTable]             # (zone, table) → union over versions
    by_version: dict[str, dict[tuple[str, str], DerivedTable]]
    forms: dict[str, Form]                                  # version → Form


def version_key(version: str) -> tuple:
    """Kobo/XLSForm versions are usually yyyymmddrr strings; compare digits as numbers."""
    return (0, int(version), "") if version.isdigit() else (1, 0, version)


def default_policy_for(form: Form) -> PolicyLike:
    try:
        from suara.privacy import policy_for
    except ImportError:
        raise WarehouseError(
            "The privacy policy (suara.privacy.policy_for) is not available, so the warehouse "
            "cannot tell which columns may reach analytics.",
            code="WH_002",
            hint="Install the complete suara package; the warehouse never guesses a policy.",
        ) from None
    return policy_for(form)


def _source_field(form: Form, source: str | None, name: str) -> Field | None:
    for ref in (source, name):
        if not ref:
            continue
        if form.has_field(ref):
            return form.field(ref)
        found = form.field_at(ref)
        if found is not None:
            return found
    return None


def _level_tables(form: Form) -> list[tuple[str, str | None]]:
    """(table, parent table) for the submission level and every repeat, parents first."""
    out: list[tuple[str, str | None]] = [(table_name(form.form_id, None), None)]
    for g in form.repeats:
        out.append((table_name(form.form_id, g.path), table_name(form.form_id, g.parent_repeat)))
    return out


def _columns_for(form: Form, col: OutputColumnLike, table: str) -> list[DerivedColumn]:
    kind = "flag" if col.kind == "choices_flag" else col.kind
    if kind not in KINDS:
        raise WarehouseError(
            f"{form.form_id}: the privacy policy gives column {table}.{col.name} the unknown kind {col.kind!r}.",
            code="WH_003",
            hint=f"Kinds the warehouse stores: {', '.join(sorted(KINDS))}.",
        )
    fld = _source_field(form, col.source, col.name)
    sources = [form.field(s) for s in (col.source or "").split(",") if form.has_field(s)]
    path = fld.path if fld else (",".join(f.path for f in sources) or col.source)
    base = DerivedColumn(
        name=sql_name(col.name), kind=kind, xlsform_path=path, treatment=col.treatment or "",
        list_name=fld.list_name if fld and kind in ("choice", "choices") else None,
        labels=dict(getattr(col, "labels", None) or (fld.labels if fld else {})), added_in=form.version,
    )
    out = [base]
    if kind == "choices" and base.list_name and form.choices(fld) is not None:
        for choice in form.choices(fld).choices:
            out.append(replace(base, name=flag_name(base.name, choice.name), kind="flag",
                               choice=choice.name, choice_labels=dict(choice.labels)))
    return out


def derive_version(form: Form, policy: PolicyLike) -> dict[tuple[str, str], DerivedTable]:
    """The tables one form version needs, by (zone, table)."""
    levels = _level_tables(form)
    tables: dict[tuple[str, str], DerivedTable] = {}
    for tname, parent in levels:
        for col in policy.columns(tname):
            if col.name in KEY_COLUMNS or col.name in LINEAGE_COLUMNS:
                continue
            if col.zone not in DATA_ZONES:
                raise WarehouseError(
                    f"{form.form_id}: the privacy policy puts {tname}.{col.name} in zone {col.zone!r}.",
                    code="WH_003", hint="Form columns belong in 'analytics' or 'restricted'.",
                )
            key = (col.zone, sql_name(tname))
            t = tables.setdefault(key, DerivedTable(col.zone, sql_name(tname), form.form_id,
                                                    sql_name(parent) if parent else None))
            for dc in _columns_for(form, col, tname):
                if dc.name in t.columns and t.columns[dc.name].xlsform_path != dc.xlsform_path:
                    raise WarehouseError(
                        f"{form.form_id}: two columns of {tname} map to the SQL name {dc.name!r}.",
                        code="WH_004", hint="Rename one of the questions so their names differ.",
                    )
                t.columns[dc.name] = dc
    # The submission table always exists in analytics, and every table's ancestors exist in
    # its zone, so each repeat row has a parent to reference and cascade from.
    parent_of = {sql_name(t): sql_name(p) if p else None for t, p in levels}
    root = sql_name(levels[0][0])
    tables.setdefault((ANALYTICS, root), DerivedTable(ANALYTICS, root, form.form_id, None))
    for zone, tname in list(tables):
        parent = parent_of.get(tname)
        while parent is not None:
            tables.setdefault((zone, parent), DerivedTable(zone, parent, form.form_id, parent_of[parent]))
            parent = parent_of[parent]
    for (zone, tname), t in list(tables.items()):
        if zone == ANALYTICS:
            twin = candidate_name(tname)
            tables[(RESTRICTED, twin)] = DerivedTable(
                RESTRICTED, twin, form.form_id, candidate_name(t.parent) if t.parent else None, dict(t.columns))
    return tables


def _refuse(form_id: str, where: str, what: str, old: str, new: str, v_old: str | None, v_new: str) -> None:
    raise SchemaEvolutionError(
        f"{form_id}: column {where} changed {what} from {old} (version {v_old}) to {new} "
        f"(version {v_new}); the warehouse never rewrites collected data.",
        hint="Keep the question's type, or give the changed question a new name in the new "
             "version (e.g. add a suffix _v2): the old column keeps its data and the new one "
             "starts empty. See warehouse/README.md, 'Schema evolution'.",
    )


def check_compatible(form_id: str, old: Mapping[tuple[str, str, str], tuple[str, str | None]],
                     tables: Iterable[DerivedTable], version: str) -> None:
    """Refuse a column whose kind differs from what ``old`` ((zone, table, column) →
    (kind, version)) already holds."""
    for t in tables:
        for c in t.columns.values():
            prior = old.get((t.zone, t.name, c.name))
            if prior is not None and prior[0] != c.kind:
                _refuse(form_id, f"{t.name}.{c.name}", "type", prior[0], c.kind, prior[1], version)


def check_not_withdrawn(form_id: str, analytics_before: Iterable[tuple[str, str]],
                        latest: Mapping[tuple[str, str], DerivedTable], version: str) -> None:
    """Refuse a column that analytics held but the latest version keeps in restricted only:
    the question was reclassified as sensitive, and its earlier answers would stay in the
    analysts' file."""
    for tname, cname in analytics_before:
        now_analytics = cname in latest.get((ANALYTICS, tname), DerivedTable("", "", "", None)).columns
        now_restricted = cname in latest.get((RESTRICTED, tname), DerivedTable("", "", "", None)).columns
        if now_restricted and not now_analytics:
            raise SchemaEvolutionError(
                f"{form_id}: version {version} keeps {tname}.{cname} in restricted only, but analytics "
                "already holds answers to it from earlier versions.",
                hint="If the question is now sensitive, remove the column from analytics with a "
                     "reviewed Alembic migration first (warehouse/README.md, 'Schema evolution'); "
                     "otherwise restore its classification.",
            )


def derive_form(versions: Mapping[str, Form], policy_for: PolicyFor | None = None) -> FormSchema:
    """Union of the tables every version needs, oldest version first, refusing type changes."""
    if not versions:
        raise WarehouseError("derive_form needs at least one form version.", code="WH_005")
    policy_for = policy_for or default_policy_for
    ordered = sorted(versions, key=version_key)
    form_id = versions[ordered[0]].form_id
    union: dict[tuple[str, str], DerivedTable] = {}
    seen: dict[tuple[str, str, str], tuple[str, str | None]] = {}
    by_version = {}
    for v in ordered:
        form = versions[v]
        tables = derive_version(form, policy_for(form))
        check_compatible(form_id, seen, tables.values(), v)
        by_version[v] = tables
        for key, t in tables.items():
            u = union.setdefault(key, DerivedTable(t.zone, t.name, t.form_id, t.parent))
            for name, c in t.columns.items():
                if name not in u.columns:
                    u.columns[name] = c
                    seen[(t.zone, t.name, name)] = (c.kind, v)
    # Parents before children, so creation order follows the foreign keys.
    depth = {t.name: 0 for t in union.values()}
    for t in union.values():
        p, d = t.parent, 0
        while p is not None:
            d += 1
            p = next((u.parent for u in union.values() if u.name == p), None)
        depth[t.name] = d
    latest = by_version[ordered[-1]]
    check_not_withdrawn(form_id, [(t, c) for (z, t, c) in seen if z == ANALYTICS], latest, ordered[-1])
    ordered_tables = dict(sorted(union.items(), key=lambda kv: (kv[0][0], depth[kv[1].name], kv[1].name)))
    return FormSchema(form_id, ordered_tables, by_version, {v: versions[v] for v in ordered})
