"""analytics.table_catalogue: the grain of every analytics form table, in English and Indonesian
(SQLite keeps no table comments, and the analytics file is what analysts open).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "table_catalogue",
        sa.Column("table_name", sa.String(128), nullable=False),
        sa.Column("form_id", sa.String(128), nullable=False),
        sa.Column("parent_table", sa.String(128)),
        sa.Column("grain_en", sa.Text(), nullable=False),
        sa.Column("grain_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("table_name", name="pk_table_catalogue"),
        schema="analytics",
    )


def downgrade() -> None:
    op.drop_table("table_catalogue", schema="analytics")
