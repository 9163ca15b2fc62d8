"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

Team rules for warehouse migrations:
* Only the fixed tables of warehouse/ops.py belong here; form-derived tables are planned from
  the forms (`suara warehouse plan`), never hand-migrated.
* Every table is schema-qualified with its zone (restricted, analytics, reporting).
* SQLite needs batch mode to alter or drop columns: use `with op.batch_alter_table(...)`.
* Never rewrite or drop collected data in an upgrade without a reviewed plan in the PR.
* Update warehouse/ops.py in the same commit; tests compare the two.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
