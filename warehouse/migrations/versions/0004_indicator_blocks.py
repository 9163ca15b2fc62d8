"""restricted zone: indicator sums per block of submission ids, so the reporting refresh
recomputes only blocks whose rows changed (warehouse/indicators.py).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "indicator_blocks",
        sa.Column("form_id", sa.String(128), nullable=False),
        sa.Column("block", sa.BigInteger(), nullable=False),
        sa.Column("block_ids", sa.BigInteger(), nullable=False),
        sa.Column("definition", sa.String(64), nullable=False),
        sa.Column("rows_state", sa.String(128), nullable=False),
        sa.Column("sums", sa.Text(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("form_id", "block", name="pk_indicator_blocks"),
        schema="restricted",
        comment="Indicator sums per block of submission ids, reused while the block's rows are unchanged.",
    )


def downgrade() -> None:
    op.drop_table("indicator_blocks", schema="restricted")
