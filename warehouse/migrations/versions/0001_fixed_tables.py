"""Fixed tables: run records, watermarks, manifest, quarantine, audits, column registry,
choice labels, data dictionary, column map.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

R, A = "restricted", "analytics"


def _counts() -> list[sa.Column]:
    names = ("pulled", "loaded", "updated", "deleted", "quarantined", "withheld")
    return [sa.Column(n, sa.Integer(), nullable=False, server_default="0") for n in names]


def upgrade() -> None:
    op.create_table(
        "run_records",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("form_id", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        *_counts(),
        sa.Column("error_code", sa.String(32)),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime()),
        sa.PrimaryKeyConstraint("run_id", "form_id", name="pk_run_records"),
        schema=R,
    )
    op.create_table(
        "watermarks",
        sa.Column("form_id", sa.String(128), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.String(64)),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("form_id", name="pk_watermarks"),
        schema=R,
    )
    op.create_table(
        "manifest",
        sa.Column("form_id", sa.String(128), nullable=False),
        sa.Column("_id", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("_uuid", sa.String(128)),
        sa.Column("validation_status", sa.String(64)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("form_version", sa.String(64)),
        sa.Column("updated_run", sa.String(64)),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("state IN ('loaded', 'quarantined', 'withheld')", name="ck_manifest_state"),
        sa.PrimaryKeyConstraint("form_id", "_id", name="pk_manifest"),
        schema=R,
    )
    op.create_table(
        "quarantine",
        sa.Column("form_id", sa.String(128), nullable=False),
        sa.Column("_id", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("_uuid", sa.String(128)),
        sa.Column("form_version", sa.String(64)),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("payload", sa.LargeBinary()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("run_id", sa.String(64)),
        sa.Column("quarantined_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("status IN ('held', 'released', 'dropped')", name="ck_quarantine_status"),
        sa.PrimaryKeyConstraint("form_id", "_id", name="pk_quarantine"),
        schema=R,
    )
    op.create_table(
        "quarantine_actions",
        sa.Column("action_id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("form_id", sa.String(128), nullable=False),
        sa.Column("_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("action_id", name="pk_quarantine_actions"),
        schema=R,
    )
    op.create_table(
        "privacy_audits",
        sa.Column("audit_id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("form_id", sa.String(128), nullable=False),
        sa.Column("audit", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("audit_id", name="pk_privacy_audits"),
        schema=R,
    )
    op.create_table(
        "derived_columns",
        sa.Column("zone", sa.String(16), nullable=False),
        sa.Column("table_name", sa.String(128), nullable=False),
        sa.Column("column_name", sa.String(128), nullable=False),
        sa.Column("form_id", sa.String(128), nullable=False),
        sa.Column("parent_table", sa.String(128)),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("xlsform_path", sa.String(512)),
        sa.Column("choice", sa.String(256)),
        sa.Column("added_in_version", sa.String(64)),
        sa.PrimaryKeyConstraint("zone", "table_name", "column_name", name="pk_derived_columns"),
        schema=R,
    )
    op.create_table(
        "choice_labels",
        sa.Column("form_id", sa.String(128), nullable=False),
        sa.Column("form_version", sa.String(64), nullable=False),
        sa.Column("list_name", sa.String(128), nullable=False),
        sa.Column("choice", sa.String(256), nullable=False),
        sa.Column("label_en", sa.Text()),
        sa.Column("label_id", sa.Text()),
        sa.PrimaryKeyConstraint("form_id", "form_version", "list_name", "choice", name="pk_choice_labels"),
        schema=A,
    )
    op.create_table(
        "data_dictionary",
        sa.Column("form_id", sa.String(128), nullable=False),
        sa.Column("form_version", sa.String(64), nullable=False),
        sa.Column("table_name", sa.String(128), nullable=False),
        sa.Column("column_name", sa.String(128), nullable=False),
        sa.Column("xlsform_path", sa.String(512)),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("question_en", sa.Text()),
        sa.Column("question_id", sa.Text()),
        sa.Column("privacy_treatment", sa.String(64)),
        sa.PrimaryKeyConstraint("form_id", "form_version", "table_name", "column_name", name="pk_data_dictionary"),
        schema=A,
    )
    op.create_table(
        "column_map",
        sa.Column("table_name", sa.String(128), nullable=False),
        sa.Column("column_name", sa.String(128), nullable=False),
        sa.Column("form_id", sa.String(128), nullable=False),
        sa.Column("xlsform_path", sa.String(512)),
        sa.Column("choice", sa.String(256)),
        sa.PrimaryKeyConstraint("table_name", "column_name", name="pk_column_map"),
        schema=A,
    )


def downgrade() -> None:
    for table, schema in (
        ("column_map", A), ("data_dictionary", A), ("choice_labels", A), ("derived_columns", R),
        ("privacy_audits", R), ("quarantine_actions", R), ("quarantine", R), ("manifest", R),
        ("watermarks", R), ("run_records", R),
    ):
        op.drop_table(table, schema=schema)
