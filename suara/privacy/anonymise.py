"""Apply a form's privacy policy to typed frames: the anonymise stage of the sync.

``anonymise(form, frames, keys)`` takes the validated, typed frames of one batch (one per
table: ``<form_id>`` and ``<form_id>__<repeat>``) and returns a :class:`Release` whose frames
carry exactly the columns of :meth:`Policy.columns` for each zone. Order of work:

1. consent: withheld and withdrawn submissions leave every table;
2. per output column: keep, scrub, pseudonymise or coarsen (computed once, shared by zones);
3. analytics only: submissions without consent to share are left out, then disclosure
   control (k-anonymity, distinct l, local suppression, recoding) on each table's QIs;
   rows that still fail are withheld from analytics (they stay in ``restricted``);
4. the audit: counts only.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from suara.forms.model import Form
from suara.privacy.audit import PrivacyAudit, TableDisclosure
from suara.privacy.coarsen import (
    duration_minutes,
    province_map,
    to_band,
    to_band_year,
    to_month,
    to_province,
    to_quarter,
)
from suara.privacy.consent import decide
from suara.privacy.kanon import protect
from suara.privacy.keys import PrivacyKeys
from suara.privacy.policy import OutputColumn, Policy, policy_for
from suara.privacy.scrub import scrub_series

SYSTEM_INPUT = ("_id", "_uuid", "_submission_time", "_form_version", "_validation_status",
                "_index", "_parent_index")
COARSENING = ("month", "quarter", "duration", "province", "band", "band_year")


@dataclass
class Release:
    analytics: dict[str, pd.DataFrame]
    restricted: dict[str, pd.DataFrame]
    withheld: set[int]   # no consent or withdrawn: in no zone (counted in the run record)
    erase: set[int]      # withdrawn: delete from every zone and derived table
    audit: PrivacyAudit


def _empty(policy: Policy, table: str) -> pd.DataFrame:
    cols = {"_id"} | {c.source for c in policy.columns(table) if "," not in c.source}
    return pd.DataFrame({c: pd.Series(dtype="object") for c in sorted(cols)})


def _known_entities(policy: Policy, frames: dict[str, pd.DataFrame]) -> tuple[str, ...]:
    """The values the batch gave in identifying text fields (D and O): names and codes that
    must not reappear in any free text of the batch (anonymisation.md §5.3, rule 1)."""
    known: set[str] = set()
    for table, repeat in policy.tables.items():
        df = frames.get(table)
        if df is None or not len(df):
            continue
        for fld in policy.form.value_fields(repeat):
            # Free text only: choice codes ("employer", "F001") are not names.
            if fld.effective_class not in ("D", "O") or fld.is_select or fld.name not in df.columns:
                continue
            col = df[fld.name]
            if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col):
                continue
            known.update(v for v in col.dropna() if isinstance(v, str) and v.strip())
    return tuple(sorted(known))


class _Columns:
    """Computes each output column of one table once; both zones share the result."""

    def __init__(self, policy: Policy, keys: PrivacyKeys, df: pd.DataFrame,
                 known: tuple[str, ...], audit: PrivacyAudit):
        self.policy, self.keys, self.df, self.known, self.audit = policy, keys, df, known, audit
        self.cache: dict[tuple, pd.Series] = {}

    def source(self, name: str) -> pd.Series:
        if name in self.df.columns:
            return self.df[name]
        return pd.Series(pd.NA, index=self.df.index, dtype="object")

    def get(self, c: OutputColumn) -> pd.Series:
        key = (c.name, c.treatment, c.source)
        if key not in self.cache:
            self.cache[key] = self._compute(c)
        return self.cache[key]

    def _compute(self, c: OutputColumn) -> pd.Series:
        t = c.treatment
        if t == "system":
            values = self.source(c.source)
            return values.astype("Int64") if c.kind == "integer" else values
        if t == "duration":
            start, end = c.source.split(",")
            return duration_minutes(self.source(start), self.source(end))
        values = self.source(c.source)
        if t == "keep":
            return values
        if t == "scrub":
            result = scrub_series(values, shared=self.known)
            self.audit.add_hits(c.name, result.hits)
            return result.values
        if t in ("hmac", "pseudonym"):
            return self.keys.pseudonymise(self.policy.domain, values)
        if t == "month":
            return to_month(values)
        if t == "quarter":
            return to_quarter(values)
        if t == "province":
            fld = self.policy.form.field(c.source)
            return to_province(values, province_map(self.policy.form, fld))
        if t == "band":
            integer = not pd.api.types.is_float_dtype(values) or (values.dropna() % 1 == 0).all()
            return to_band(values, c.edges, integer=bool(integer))
        if t == "band_year":
            return to_band_year(values, c.edges)
        raise AssertionError(f"unhandled treatment {t}")  # the policy only makes the above


def _frame(cols: list[OutputColumn], columns: _Columns, index) -> pd.DataFrame:
    if not cols:
        return pd.DataFrame(index=index)
    # The columns share ``index``: concat puts them side by side without the copy of every
    # extension array (pandas 3's str columns are ones) that DataFrame(dict) makes — 7 ms
    # per page-sized frame, most of anonymising a page.
    parts = [columns.get(c) for c in cols]
    out = pd.concat([p if p.index.equals(index) else p.reindex(index) for p in parts], axis=1)
    out.columns = [c.name for c in cols]
    return out


def anonymise(form: Form, frames: dict[str, pd.DataFrame], keys: PrivacyKeys, *,
              unknown_keys: dict[int, list[str]] | None = None, disclosure: bool = True) -> Release:
    """Anonymise one batch. With ``disclosure=False`` the analytics frames are the candidates
    before disclosure control: the sync decides k-anonymity later over the whole table
    (suara/privacy/release.py), so the result never depends on how the batches were cut."""
    policy = policy_for(form)
    s = policy.settings
    audit = PrivacyAudit(form.form_id, keys.version, policy.domain, s.microdata)
    main = frames.get(form.form_id)
    if main is None:
        main = _empty(policy, form.form_id)
    decision = decide(main, s.consent, s.withdrawn, s.share)
    withheld, not_shared = decision.withheld, decision.not_shared
    audit.submissions_in = int(main["_id"].nunique())
    audit.withheld, audit.erased, audit.not_shared = (
        len(withheld), len(decision.erase), len(not_shared))
    audit.unclassified = policy.unclassified
    audit.dropped = [n for n, p in policy.plans.items() if p.dropped]
    for paths in (unknown_keys or {}).values():
        for p in paths:
            audit.unknown_keys[p] = audit.unknown_keys.get(p, 0) + 1

    known = _known_entities(policy, frames)
    analytics: dict[str, pd.DataFrame] = {}
    restricted: dict[str, pd.DataFrame] = {}
    field_names = {f.name for f in form.fields}
    for table in policy.tables:
        df = frames.get(table)
        if df is None:
            df = _empty(policy, table)
        audit.rows_in[table] = len(df)
        audit.unknown_columns += [
            f"{table}.{c}" for c in df.columns
            if c not in field_names and c not in SYSTEM_INPUT and not c.startswith("_")
        ]
        df = df.loc[~df["_id"].isin(withheld)].reset_index(drop=True)
        columns = _Columns(policy, keys, df, known, audit)
        for zone, out in (("restricted", restricted), ("analytics", analytics)):
            out[table] = _frame(policy.columns(table, zone), columns, df.index)
        analytics[table] = analytics[table].loc[~analytics[table]["_id"].isin(not_shared)]
        _note_treatments(policy, table, audit)

    if disclosure:
        disclosure_control(policy, analytics, audit)
    for zone, out in (("restricted", restricted), ("analytics", analytics)):
        for table, frame in out.items():
            out[table] = frame.reset_index(drop=True)
            (audit.rows_restricted if zone == "restricted" else audit.rows_analytics)[table] = len(frame)
    return Release(analytics, restricted, withheld, decision.erase, audit)


def _note_treatments(policy: Policy, table: str, audit: PrivacyAudit) -> None:
    for c in policy.columns(table):
        if c.treatment in ("hmac", "pseudonym") and c.name not in audit.pseudonymised:
            audit.pseudonymised.append(c.name)
        elif c.treatment in COARSENING and c.source != "_submission_time":
            audit.coarsened.setdefault(c.name, c.treatment)
        elif c.treatment == "scrub" and c.name not in audit.scrubbed:
            audit.scrubbed.append(c.name)


def disclosure_control(policy: Policy, analytics: dict[str, pd.DataFrame], audit: PrivacyAudit) -> None:
    """k-anonymity, distinct l, suppression and recoding on each table of ``analytics`` that
    has quasi-identifiers (in place); a submission withheld takes its repeat rows along."""
    s = policy.settings
    for table in policy.tables:
        qis = policy.quasi_identifiers(table)
        if not qis or table not in analytics:
            continue
        frame = analytics[table]
        l_cols = policy.l_columns(table)
        levels = {c.name: (c.treatment, c.edges) for c in policy.columns(table, "analytics")
                  if c.name in qis}
        result = protect(frame, qis, s.k, l_columns=l_cols, l=s.l, levels=levels)
        analytics[table] = result.frame
        audit.disclosure[table] = TableDisclosure(
            qis, s.k, l_cols, s.l, result.before, result.after, result.suppressed,
            result.recoded, len(result.withheld))
        if table == policy.form.form_id and len(result.withheld):
            # A submission withheld from analytics takes its repeat rows with it: they would
            # otherwise hang off an id analysts cannot see, and may carry the same QIs.
            gone = set(frame.loc[result.withheld, "_id"].astype(int))
            for child in policy.tables:
                if child != table and child in analytics:
                    analytics[child] = analytics[child].loc[~analytics[child]["_id"].isin(gone)]
