"""rules version of computed product state

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 17:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing states have no rules version: they count as stale and are recomputed on read.
    with op.batch_alter_table("product_states") as batch:
        batch.add_column(sa.Column("rules_version", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("product_states") as batch:
        batch.drop_column("rules_version")
