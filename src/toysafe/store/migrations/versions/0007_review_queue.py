"""reviewer console: queue assignments, the review log, internal notes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 20:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "program_review_assignments",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(length=20), nullable=False),
        sa.Column("queue_since", sa.Date(), nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_on", sa.Date(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["program_requests.id"],
            name=op.f("fk_program_review_assignments_request_id_program_requests"),
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_program_review_assignments")),
    )
    with op.batch_alter_table("program_review_assignments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_program_review_assignments_queue", ["queue", "claimed_by"], unique=False
        )

    op.create_table(
        "program_review_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("queue", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["program_requests.id"],
            name=op.f("fk_program_review_log_request_id_program_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_review_log")),
    )
    with op.batch_alter_table("program_review_log", schema=None) as batch_op:
        batch_op.create_index("ix_program_review_log_request", ["request_id", "id"], unique=False)

    op.create_table(
        "program_review_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["program_requests.id"],
            name=op.f("fk_program_review_notes_request_id_program_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_review_notes")),
    )
    with op.batch_alter_table("program_review_notes", schema=None) as batch_op:
        batch_op.create_index("ix_program_review_notes_request", ["request_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("program_review_notes", schema=None) as batch_op:
        batch_op.drop_index("ix_program_review_notes_request")

    op.drop_table("program_review_notes")
    with op.batch_alter_table("program_review_log", schema=None) as batch_op:
        batch_op.drop_index("ix_program_review_log_request")

    op.drop_table("program_review_log")
    with op.batch_alter_table("program_review_assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_program_review_assignments_queue")

    op.drop_table("program_review_assignments")
