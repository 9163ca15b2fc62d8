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

import numpy as np
import pandas as pd
import sqlalchemy as sa

from suara.forms import Form
from suara.indicators import compute_all, indicators_for
from warehouse.session import ANALYTICS, REPORTING, RESTRICTED

reporting_metadata = sa.MetaData()

indicator_cells = sa.Table(
    "indicators", reporting_metadata,
    sa.Column("form_id", sa.String(128), primary_key=True),
    sa.Column("indicator_id", sa.String(32), primary_key=True),
    sa.Column("group_by", sa.String(64), primary_key=True),
    sa.Column("group_value", sa.String(128), primary_key=True),
    sa.Column("label_en", sa.Text()),
    sa.Column("label_id", sa.Text()),
    sa.Column("unit", sa.String(8)),
    sa.Column("numerator", sa.Float()),
    sa.Column("denominator", sa.Float()),
    sa.Column("n", sa.Integer()),
    sa.Column("value", sa.Float()),
    sa.Column("suppressed", sa.Boolean(), nullable=False),
    sa.Column("headline", sa.Boolean(), nullable=False),
    sa.Column("sensitive", sa.Boolean(), nullable=False),
    sa.Column("refreshed_at", sa.DateTime()),
    schema=REPORTING,
    comment="One row per indicator, form and breakdown cell; suppressed cells have null figures.",
)

distributions = sa.Table(
    "distributions", reporting_metadata,
    sa.Column("form_id", sa.String(128), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("bucket", sa.String(32), primary_key=True),
    sa.Column("count", sa.Integer()),
    sa.Column("suppressed", sa.Boolean(), nullable=False),
    schema=REPORTING,
    comment="One row per banded bucket of a score distribution; small buckets suppressed.",
)

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


def form_frames(conn: sa.Connection, form: Form) -> dict[str, pd.DataFrame]:
    """Analytics and restricted columns of each of the form's tables, joined on their keys."""
    from suara.normalise import table_name

    frames: dict[str, pd.DataFrame] = {}
    for repeat in (None, *[g.path for g in form.repeats]):
        name = table_name(form.form_id, repeat)
        keys = ["_id"] if repeat is None else ["_id", "_parent_index", "_index"]
        a = _read(conn, ANALYTICS, name)
        r = _read(conn, RESTRICTED, name)
        if a is None and r is None:
            continue
        if a is None:
            frames[name] = r
        elif r is None:
            frames[name] = a
        else:
            extra = [c for c in r.columns if c not in a.columns or c in keys]
            frames[name] = a.merge(r[extra], on=keys, how="left")
    return frames


def _suppress(cells: pd.DataFrame, form: Form) -> pd.DataFrame:
    from suara.privacy.suppress import suppress_cells

    out = []
    for (_, sensitive), part in cells.groupby(["indicator_id", "sensitive"], sort=False):
        part = part.copy()
        t = threshold_for(form, bool(sensitive))
        marked = suppress_cells(part, count_col="n", threshold=t, group_col="group_by", total_value="all")
        out.append(marked)
    res = pd.concat(out) if out else cells.assign(suppressed=False)
    for c in ("numerator", "denominator", "value"):
        res.loc[res["suppressed"], c] = np.nan
    return res


def refresh(conn: sa.Connection, form: Form, now=None) -> int:
    """Recompute and replace a form's reporting rows; returns the number of indicator cells."""
    reporting_metadata.create_all(conn, checkfirst=True)
    frames = form_frames(conn, form)
    cells = compute_all(indicators_for(form), frames)
    conn.execute(indicator_cells.delete().where(indicator_cells.c.form_id == form.form_id))
    conn.execute(distributions.delete().where(distributions.c.form_id == form.form_id))
    if cells.empty:
        return 0
    cells = _suppress(cells, form)
    cells["refreshed_at"] = now or pd.Timestamp.now(tz="UTC").tz_localize(None).to_pydatetime()
    cols = [c.name for c in indicator_cells.columns]
    records = cells[cols].astype(object).where(cells[cols].notna(), None).to_dict("records")
    conn.execute(indicator_cells.insert(), records)
    _refresh_distributions(conn, form, frames)
    return len(records)


def _refresh_distributions(conn: sa.Connection, form: Form, frames: dict[str, pd.DataFrame]) -> None:
    from suara.privacy.suppress import suppress_cells

    for field, (form_id, edges, labels) in SCORE_BANDS.items():
        top = frames.get(form.form_id)
        if form_id != form.form_id or top is None or field not in top.columns:
            continue
        scores = pd.to_numeric(top[field], errors="coerce").dropna()
        banded = pd.cut(scores, bins=list(edges), right=False, labels=list(labels))
        counts = banded.value_counts().reindex(list(labels), fill_value=0)
        df = pd.DataFrame({"form_id": form.form_id, "name": field, "bucket": list(labels),
                           "count": counts.to_numpy().astype(int)})
        df = suppress_cells(df, count_col="count", threshold=threshold_for(form, False))
        df.loc[df["suppressed"], "count"] = None
        rows = df.astype(object).where(df.notna(), None).to_dict("records")
        conn.execute(distributions.insert(), rows)


def read_reporting(conn: sa.Connection) -> dict[str, pd.DataFrame]:
    reporting_metadata.create_all(conn, checkfirst=True)
    return {
        "indicators": pd.read_sql(sa.select(indicator_cells), conn),
        "distributions": pd.read_sql(sa.select(distributions), conn),
    }
