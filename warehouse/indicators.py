"""The ``reporting`` zone: indicator tables with small-cell suppression, refreshed each sync.

Reporting holds only aggregates: indicator cells (numerator, denominator, n, value,
suppressed), a banded score distribution, response counts per run and quarantine reason
counts — nothing at the level of a respondent. Each refresh recomputes a form's rows from
the analytics and restricted tables (restricted holds the sensitive columns some indicators
need) and replaces them in one transaction.

Suppression: a cell whose respondent count n is below the form's threshold (5, or 10 for
sensitive topics such as harassment and pregnancy) is suppressed, and so is any cell that
would let a suppressed one be recomputed (secondary suppression: ``suara.privacy.suppress``).
A suppressed cell keeps its row so the report can say "suppressed"; its figures are nulled.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import sqlalchemy as sa

from suara.forms import Form
from suara.indicators import columns_used, indicators_for
from warehouse.indicator_blocks import SumsAhead, Totals, refresh_totals, sum_ahead
from warehouse.ops import distributions, indicator_cells, quality, responses
from warehouse.session import RESTRICTED

# Bands keep the distribution useful under suppression (19 single scores would mostly vanish).
SCORE_BANDS = {"k_score": ("ilo_rights_baseline", (0, 5, 10, 14, 19), ("0-4", "5-9", "10-13", "14-18"))}


def threshold_for(form: Form, sensitive: bool) -> int:
    from suara.privacy.rules import parse_form_policy

    policy = parse_form_policy(form)
    base = getattr(policy, "cell_threshold", None) or 5
    return max(base, 10) if sensitive else base


def _read(conn: sa.Connection, zone: str, table: str) -> pd.DataFrame | None:
    insp = sa.inspect(conn)
    if not insp.has_table(table, schema=zone):
        return None
    return pd.read_sql(sa.text(f'SELECT * FROM {zone}."{table}"'), conn)


def source_columns(conn: sa.Connection, form: Form) -> list[str] | None:
    """The columns the form's indicators and distributions read from its submission table in
    the restricted zone — every loaded row (the secure dataset; analytics holds the
    k-anonymous subset) — so the driver converts only the cells needed; None before the table
    exists."""
    insp = sa.inspect(conn)
    if not insp.has_table(form.form_id, schema=RESTRICTED):
        return None
    present = [c["name"] for c in insp.get_columns(form.form_id, schema=RESTRICTED)]
    wanted = _columns_used(tuple(indicators_for(form)), tuple(present)) | {f for f, _ in _distribution_fields(form)}
    return [c for c in present if c in wanted or c == "_id"]


@functools.lru_cache(maxsize=64)
def _columns_used(indicators: tuple, present: tuple[str, ...]) -> frozenset[str]:
    """``columns_used``, once per process for the same indicators and table columns: it runs
    every indicator's expressions on an empty frame (~70 ms, a thirtieth of a 10,000-submission sync)."""
    return frozenset(columns_used(list(indicators), list(present)))


def _suppress(cells: pd.DataFrame, form: Form) -> pd.DataFrame:
    """``cells`` with a ``suppressed`` column and no figures in suppressed rows: small-cell
    suppression within each indicator's table of breakdowns (``suppress.blank_cells``).

    On arrays, group by group: a ``suppress_cells`` frame per indicator (copy, columns set,
    concatenated) was a sixth of a 10,000-submission refresh."""
    from suara.privacy.suppress import blank_cells

    n = cells["n"].to_numpy(dtype="float64", na_value=np.nan)
    numerator = cells["numerator"].to_numpy(dtype="float64", na_value=np.nan)
    denominator = cells["denominator"].to_numpy(dtype="float64", na_value=np.nan)
    breakdown = cells["group_by"].to_numpy()
    keys = cells[["indicator_id", "sensitive", "unit"]]
    codes = keys.groupby(list(keys.columns), sort=False, dropna=False).ngroup().to_numpy()
    suppressed = np.zeros(len(cells), dtype=bool)
    order = np.argsort(codes, kind="stable")  # rows group by group, as the tables are built
    for rows in np.split(order, np.flatnonzero(np.diff(codes[order])) + 1):
        if not len(rows):
            continue
        _, sensitive, unit = keys.iloc[rows[0]]
        counts = [n[rows]]
        if unit == "%":
            # A share discloses both its "yes" and its "no" count: either being 1..t-1 is a
            # small cell (e.g. "all but 2 of the women in this group reported harassment").
            counts += [np.round(numerator[rows]), np.round(denominator[rows] - numerator[rows])]
        matrix = np.nan_to_num(np.column_stack(counts), nan=0.0)
        blank = blank_cells(matrix, threshold_for(form, bool(sensitive)), groups=breakdown[rows], total_value="all")
        suppressed[rows] = blank.any(axis=1)
    res = cells.assign(n=cells["n"].where(~suppressed), suppressed=suppressed).iloc[order]
    for c in ("numerator", "denominator", "value"):
        res.loc[res["suppressed"], c] = np.nan
    return res


def sums_ahead(conn: sa.Connection, form: Form) -> SumsAhead | None:
    """The block sums the next ``refresh`` of ``form`` would read, read now (read only; see
    ``indicator_blocks.sum_ahead``); None before the form's table exists."""
    columns = source_columns(conn, form)
    if columns is None:
        return None
    return sum_ahead(conn, form.form_id, form.form_id, columns, indicators_for(form),
                     _count_distributions(form), _bands())


def _bands() -> str:
    return repr(sorted(SCORE_BANDS.items()))


def refresh(conn: sa.Connection, form: Form, now=None, ahead: SumsAhead | None = None) -> int:
    """Recompute and replace a form's reporting rows; returns the number of indicator cells.

    Sums come per block of ids (warehouse/indicator_blocks.py): only blocks whose rows changed
    since the last refresh are read again, and not those ``ahead`` (``sums_ahead``) read in
    the state they are still in."""
    refresh_operations(conn, form)
    now = now or pd.Timestamp.now(tz="UTC").tz_localize(None).to_pydatetime()
    indicators = indicators_for(form)
    columns = source_columns(conn, form)
    totals = Totals() if columns is None else refresh_totals(
        conn, form.form_id, form.form_id, columns, indicators, _count_distributions(form), _bands(), now, ahead)
    cells = pd.DataFrame([row for ind in indicators if totals.sums.get(ind.id) for row in ind.rows(totals.sums[ind.id])])
    conn.execute(indicator_cells.delete().where(indicator_cells.c.form_id == form.form_id))
    conn.execute(distributions.delete().where(distributions.c.form_id == form.form_id))
    if cells.empty:
        return 0
    cells = _suppress(cells, form)
    cells["refreshed_at"] = now
    cols = [c.name for c in indicator_cells.columns]
    records = cells[cols].astype(object).where(cells[cols].notna(), None).to_dict("records")
    conn.execute(indicator_cells.insert(), records)
    distribution = {f: {label: totals.counts.get(f, {}).get(label, 0) for label in labels}
                    for f, labels in _distribution_fields(form)}
    _write_distributions(conn, form, distribution)
    return len(records)


def refresh_operations(conn: sa.Connection, form: Form) -> None:
    """Copy the form's run counts and held-quarantine reason counts into reporting."""
    from warehouse import ops
    from warehouse.quarantine import reason_counts

    conn.execute(responses.delete().where(responses.c.form_id == form.form_id))
    rr = ops.run_records
    rows = conn.execute(
        sa.select(rr.c.form_id, rr.c.run_id, rr.c.status, rr.c.pulled, rr.c.loaded, rr.c.updated,
                  rr.c.deleted, rr.c.quarantined, rr.c.withheld, rr.c.finished_at)
        .where(rr.c.form_id == form.form_id)
    ).mappings().all()
    if rows:
        conn.execute(responses.insert(), [dict(r) for r in rows])
    conn.execute(quality.delete().where(quality.c.form_id == form.form_id))
    counts = reason_counts(conn, form.form_id, None)
    if counts:
        conn.execute(quality.insert(), [{"form_id": form.form_id, "reason": k, "count": v}
                                        for k, v in counts.items()])


def _distribution_fields(form: Form):
    """(field, bucket labels) for the banded distributions this form reports."""
    for field, (form_id, _, labels) in SCORE_BANDS.items():
        if form_id == form.form_id:
            yield field, labels


def _count_distributions(form: Form):
    """Counts per block, field and band label of one chunk (the refresh's ``count``)."""
    fields = [f for f, _ in _distribution_fields(form)]

    def count(chunk: pd.DataFrame, blocks: np.ndarray) -> dict[int, dict[str, dict[str, int]]]:
        out: dict[int, dict[str, dict[str, int]]] = {}
        for name in fields:
            if name not in chunk.columns:
                continue
            _, edges, labels = SCORE_BANDS[name]
            scores = pd.to_numeric(chunk[name], errors="coerce")
            banded = pd.cut(scores, bins=list(edges), right=False, labels=list(labels))
            pairs = pd.DataFrame({"block": blocks, "band": banded.to_numpy()}).dropna()
            for (block, band), n in pairs.value_counts().items():
                out.setdefault(int(block), {}).setdefault(name, {})[str(band)] = int(n)
        return out

    return count


def _write_distributions(conn: sa.Connection, form: Form, distribution: dict[str, dict[str, int]]) -> None:
    from suara.privacy.suppress import suppress_cells

    for field, counts in distribution.items():
        df = pd.DataFrame({"form_id": form.form_id, "name": field, "bucket": list(counts),
                           "count": list(counts.values())})
        df = suppress_cells(df, count_col="count", threshold=threshold_for(form, False))
        df.loc[df["suppressed"], "count"] = None
        rows = df.astype(object).where(df.notna(), None).to_dict("records")
        conn.execute(distributions.insert(), rows)


def read_reporting(conn: sa.Connection) -> dict[str, pd.DataFrame]:
    """The reporting zone's tables as frames (empty ones before the first upgrade or sync)."""
    insp = sa.inspect(conn)
    out = {}
    for key, table in (("indicators", indicator_cells), ("distributions", distributions),
                       ("runs", responses), ("quality", quality)):
        if insp.has_table(table.name, schema=table.schema):
            out[key] = pd.read_sql(sa.select(table), conn)
        else:
            out[key] = pd.DataFrame(columns=[c.name for c in table.columns])
    return out
