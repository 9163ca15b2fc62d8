"""The fixed (Alembic-managed) tables: operations in ``restricted``, catalogues in ``analytics``.

These definitions are the models the migrations in ``warehouse/migrations/versions`` create;
a test compares the two so they cannot drift. Form-derived tables are not here: they are
computed from the Form model and the privacy policy (``warehouse.derive``).

Columns marked ``info={"volatile": True}`` change from run to run (timestamps, run ids,
ciphertext); ``Warehouse.dump`` leaves them out so two warehouses can be compared exactly.
"""

from __future__ import annotations

import sqlalchemy as sa

from warehouse.session import ANALYTICS, REPORTING, RESTRICTED

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
VOLATILE = {"volatile": True}

MANIFEST_STATES = ("loaded", "quarantined", "withheld")
QUARANTINE_STATUSES = ("held", "released", "dropped")
RUN_STATUSES = ("running", "completed", "failed")


def _ts(name: str, **kw) -> sa.Column:
    return sa.Column(name, sa.DateTime(), info=VOLATILE, **kw)


run_records = sa.Table(
    "run_records", metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("form_id", sa.String(128), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    *(sa.Column(n, sa.Integer(), nullable=False, server_default="0")
      for n in ("pulled", "loaded", "updated", "deleted", "quarantined", "withheld")),
    sa.Column("error_code", sa.String(32)),
    _ts("started_at", nullable=False),
    _ts("finished_at"),
    schema=RESTRICTED,
    comment="One row per sync run and form: the counts behind pulled = loaded + quarantined + withheld.",
)

watermarks = sa.Table(
    "watermarks", metadata,
    sa.Column("form_id", sa.String(128), primary_key=True),
    sa.Column("last_id", sa.BigInteger(), nullable=False),
    sa.Column("run_id", sa.String(64), info=VOLATILE),
    _ts("updated_at", nullable=False),
    schema=RESTRICTED,
    comment="One row per form: the highest Kobo _id loaded; moves only with the rows it covers.",
)

manifest = sa.Table(
    "manifest", metadata,
    sa.Column("form_id", sa.String(128), primary_key=True),
    sa.Column("_id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("_uuid", sa.String(128)),
    sa.Column("validation_status", sa.String(64)),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("form_version", sa.String(64)),
    sa.Column("updated_run", sa.String(64), info=VOLATILE),
    _ts("updated_at", nullable=False),
    sa.CheckConstraint("state IN ('loaded', 'quarantined', 'withheld')", name="state"),
    schema=RESTRICTED,
    comment="One row per known submission (form, _id): what the warehouse did with it.",
)

quarantine = sa.Table(
    "quarantine", metadata,
    sa.Column("form_id", sa.String(128), primary_key=True),
    sa.Column("_id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("_uuid", sa.String(128)),
    sa.Column("form_version", sa.String(64)),
    sa.Column("reasons", sa.Text(), nullable=False),  # JSON [{code, table, field, expectation}], no values
    sa.Column("payload", sa.LargeBinary(), info=VOLATILE),  # Fernet token; NULL once dropped
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("run_id", sa.String(64), info=VOLATILE),
    _ts("quarantined_at", nullable=False),
    _ts("updated_at", nullable=False),
    sa.CheckConstraint("status IN ('held', 'released', 'dropped')", name="status"),
    schema=RESTRICTED,
    comment="One row per quarantined submission; the payload is encrypted with SUARA_RESTRICTED_KEY.",
)

quarantine_actions = sa.Table(
    "quarantine_actions", metadata,
    sa.Column("action_id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("form_id", sa.String(128), nullable=False),
    sa.Column("_id", sa.BigInteger(), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("note", sa.Text()),
    _ts("at", nullable=False),
    schema=RESTRICTED,
    comment="One row per action taken on a quarantined submission (who, when, what).",
)

privacy_audits = sa.Table(
    "privacy_audits", metadata,
    sa.Column("audit_id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("form_id", sa.String(128), nullable=False),
    sa.Column("audit", sa.Text(), nullable=False),  # JSON from suara.privacy: counts and decisions, no values
    _ts("created_at", nullable=False),
    schema=RESTRICTED,
    comment="One row per loaded batch: the privacy audit of what anonymisation did.",
)

derived_columns = sa.Table(
    "derived_columns", metadata,
    sa.Column("zone", sa.String(16), primary_key=True),
    sa.Column("table_name", sa.String(128), primary_key=True),
    sa.Column("column_name", sa.String(128), primary_key=True),
    sa.Column("form_id", sa.String(128), nullable=False),
    sa.Column("parent_table", sa.String(128)),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("xlsform_path", sa.String(512)),
    sa.Column("choice", sa.String(256)),
    sa.Column("added_in_version", sa.String(64)),
    schema=RESTRICTED,
    comment="One row per form-derived column in any zone: the schema the loader writes to.",
)

choice_labels = sa.Table(
    "choice_labels", metadata,
    sa.Column("form_id", sa.String(128), primary_key=True),
    sa.Column("form_version", sa.String(64), primary_key=True),
    sa.Column("list_name", sa.String(128), primary_key=True),
    sa.Column("choice", sa.String(256), primary_key=True),
    sa.Column("label_en", sa.Text()),
    sa.Column("label_id", sa.Text()),
    schema=ANALYTICS,
    comment="One row per choice of each choice list, per form version, labelled in English and Indonesian.",
)

data_dictionary = sa.Table(
    "data_dictionary", metadata,
    sa.Column("form_id", sa.String(128), primary_key=True),
    sa.Column("form_version", sa.String(64), primary_key=True),
    sa.Column("table_name", sa.String(128), primary_key=True),
    sa.Column("column_name", sa.String(128), primary_key=True),
    sa.Column("xlsform_path", sa.String(512)),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("question_en", sa.Text()),
    sa.Column("question_id", sa.Text()),
    sa.Column("privacy_treatment", sa.String(64)),
    schema=ANALYTICS,
    comment="One row per analytics column per form version: meaning, type and privacy treatment.",
)

column_map = sa.Table(
    "column_map", metadata,
    sa.Column("table_name", sa.String(128), primary_key=True),
    sa.Column("column_name", sa.String(128), primary_key=True),
    sa.Column("form_id", sa.String(128), nullable=False),
    sa.Column("xlsform_path", sa.String(512)),
    sa.Column("choice", sa.String(256)),
    schema=ANALYTICS,
    comment="One row per analytics form column: the SQL name back to its XLSForm path (and choice).",
)

table_catalogue = sa.Table(
    "table_catalogue", metadata,
    sa.Column("table_name", sa.String(128), primary_key=True),
    sa.Column("form_id", sa.String(128), nullable=False),
    sa.Column("parent_table", sa.String(128)),
    sa.Column("grain_en", sa.Text(), nullable=False),
    sa.Column("grain_id", sa.Text(), nullable=False),
    schema=ANALYTICS,
    comment="One row per analytics form table: what one of its rows is (SQLite keeps no table comments).",
)

# The reporting refresh's working sums per block of submission ids (warehouse/indicators.py):
# raw, unsuppressed figures, so they stay in the restricted zone with the rows they sum.
indicator_blocks = sa.Table(
    "indicator_blocks", metadata,
    sa.Column("form_id", sa.String(128), primary_key=True),
    sa.Column("block", sa.BigInteger(), primary_key=True),
    sa.Column("block_ids", sa.BigInteger(), nullable=False),  # ids per block: block = _id // block_ids
    sa.Column("definition", sa.String(64), nullable=False),   # digest of indicator code and columns
    sa.Column("rows_state", sa.String(128), nullable=False),  # count, Σ_id, latest _loaded_at
    sa.Column("sums", sa.Text(), nullable=False),              # JSON: indicator and distribution sums
    _ts("computed_at", nullable=False),
    schema=RESTRICTED,
    comment="Indicator sums per block of submission ids, reused while the block's rows are unchanged.",
)

# Per-run logs, left out of exact warehouse comparisons.
# -- reporting: aggregates only (warehouse/indicators.py refreshes them after each form's run) --

indicator_cells = sa.Table(
    "indicators", metadata,
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
    _ts("refreshed_at"),
    schema=REPORTING,
    comment="One row per indicator, form and breakdown cell; suppressed cells have null figures.",
)

distributions = sa.Table(
    "distributions", metadata,
    sa.Column("form_id", sa.String(128), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("bucket", sa.String(32), primary_key=True),
    sa.Column("count", sa.Integer()),
    sa.Column("suppressed", sa.Boolean(), nullable=False),
    schema=REPORTING,
    comment="One row per banded bucket of a score distribution; small buckets suppressed.",
)

responses = sa.Table(
    "responses", metadata,
    sa.Column("form_id", sa.String(128), primary_key=True),
    sa.Column("run_id", sa.String(64), primary_key=True, info=VOLATILE),
    sa.Column("status", sa.String(16)),
    *(sa.Column(n, sa.Integer()) for n in ("pulled", "loaded", "updated", "deleted", "quarantined", "withheld")),
    _ts("finished_at"),
    schema=REPORTING,
    comment="One row per sync run and form: submission counts only.",
)

quality = sa.Table(
    "quality", metadata,
    sa.Column("form_id", sa.String(128), primary_key=True),
    sa.Column("reason", sa.String(64), primary_key=True),
    sa.Column("count", sa.Integer(), nullable=False),
    schema=REPORTING,
    comment="One row per form and quarantine reason code: submissions held now.",
)


# Left out of exact comparisons: per-run logs, and the refresh's working sums (they depend on
# when and in which chunks rows were summed; the reporting tables they produce are compared).
LOG_TABLES = {run_records.key, quarantine_actions.key, privacy_audits.key, responses.key, indicator_blocks.key}
