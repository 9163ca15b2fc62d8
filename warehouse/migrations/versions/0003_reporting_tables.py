"""reporting zone: indicator cells, banded distributions, response counts, quarantine reasons
(aggregates only; refreshed by warehouse/indicators.py after each form's sync).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COUNTS = ("pulled", "loaded", "updated", "deleted", "quarantined", "withheld")


def upgrade() -> None:
    op.create_table(
        "indicators",
        sa.Column("form_id", sa.String(128), nullable=False),
        sa.Column("indicator_id", sa.String(32), nullable=False),
        sa.Column("group_by", sa.String(64), nullable=False),
        sa.Column("group_value", sa.String(128), nullable=False),
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
        sa.PrimaryKeyConstraint("form_id", "indicator_id", "group_by", "group_value", name="pk_indicators"),
        schema="reporting",
        comment="One row per indicator, form and breakdown cell; suppressed cells have null figures.",
    )
    op.create_table(
        "distributions",
        sa.Column("form_id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("bucket", sa.String(32), nullable=False),
        sa.Column("count", sa.Integer()),
        sa.Column("suppressed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("form_id", "name", "bucket", name="pk_distributions"),
        schema="reporting",
        comment="One row per banded bucket of a score distribution; small buckets suppressed.",
    )
    op.create_table(
        "responses",
        sa.Column("form_id", sa.String(128), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16)),
        *(sa.Column(n, sa.Integer()) for n in COUNTS),
        sa.Column("finished_at", sa.DateTime()),
        sa.PrimaryKeyConstraint("form_id", "run_id", name="pk_responses"),
        schema="reporting",
        comment="One row per sync run and form: submission counts only.",
    )
    op.create_table(
        "quality",
        sa.Column("form_id", sa.String(128), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("form_id", "reason", name="pk_quality"),
        schema="reporting",
        comment="One row per form and quarantine reason code: submissions held now.",
    )


def downgrade() -> None:
    for table in ("quality", "responses", "distributions", "indicators"):
        op.drop_table(table, schema="reporting")
