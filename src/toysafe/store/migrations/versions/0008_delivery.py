"""notification delivery (webhooks, e-mail, attempts) and shared login throttling

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("program_outbox") as batch:
        batch.add_column(sa.Column("queued_at", sa.Float(), nullable=True))
    op.create_table(
        "program_webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(40), nullable=True),
        sa.Column("disabled_at", sa.Float(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_program_webhooks_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_webhooks")),
    )
    op.create_index(op.f("ix_program_webhooks_org_id"), "program_webhooks", ["org_id"])
    op.create_table(
        "program_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("target", sa.String(220), nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=True),
        sa.Column("recipient", sa.String(200), nullable=True),
        sa.Column("msg_id", sa.String(40), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.Column("claim", sa.String(40), nullable=True),
        sa.Column("claimed_until", sa.Float(), nullable=True),
        sa.Column("delivered_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["program_outbox.id"],
            name=op.f("fk_program_deliveries_outbox_id_program_outbox"),
        ),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["program_webhooks.id"],
            name=op.f("fk_program_deliveries_webhook_id_program_webhooks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_deliveries")),
        sa.UniqueConstraint("outbox_id", "target", name="uq_program_deliveries_outbox_target"),
    )
    op.create_index(op.f("ix_program_deliveries_outbox_id"), "program_deliveries", ["outbox_id"])
    op.create_index("ix_program_deliveries_due", "program_deliveries", ["state", "next_at"])
    op.create_table(
        "program_delivery_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("worker", sa.String(100), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(300), nullable=True),
        sa.Column("outcome", sa.String(12), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["program_deliveries.id"],
            name=op.f("fk_program_delivery_attempts_delivery_id_program_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_delivery_attempts")),
        sa.UniqueConstraint("delivery_id", "n", name="uq_program_delivery_attempts_delivery_n"),
    )
    op.create_index(
        op.f("ix_program_delivery_attempts_delivery_id"),
        "program_delivery_attempts",
        ["delivery_id"],
    )
    op.create_table(
        "throttle_hits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_throttle_hits")),
    )
    op.create_index("ix_throttle_hits_key", "throttle_hits", ["scope", "key", "at"])
    op.create_index(op.f("ix_throttle_hits_at"), "throttle_hits", ["at"])
    op.create_table(
        "throttle_backoff",
        sa.Column("key", sa.String(220), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.Float(), nullable=False),
        sa.Column("updated", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_throttle_backoff")),
    )
    op.create_index(op.f("ix_throttle_backoff_updated"), "throttle_backoff", ["updated"])


def downgrade() -> None:
    op.drop_table("throttle_backoff")
    op.drop_table("throttle_hits")
    op.drop_table("program_delivery_attempts")
    op.drop_table("program_deliveries")
    op.drop_table("program_webhooks")
    with op.batch_alter_table("program_outbox") as batch:
        batch.drop_column("queued_at")
