"""direct validation: filings, evidence pins, TIC extensions

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 17:19:15.025623
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "program_evidence_pins",
        sa.Column("report_no", sa.String(length=100), nullable=False),
        sa.Column("issued", sa.Date(), nullable=False),
        sa.Column("cpsc_lab_id", sa.String(length=8), nullable=False),
        sa.Column("content_hash", sa.String(length=80), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("pinned_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("report_no", name=op.f("pk_program_evidence_pins")),
    )
    op.create_table(
        "program_validation_filings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trf", sa.String(length=100), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("tic", sa.String(length=100), nullable=False),
        sa.Column("seller", sa.String(length=100), nullable=False),
        sa.Column("issued", sa.Date(), nullable=False),
        sa.Column("content_hash", sa.String(length=80), nullable=False),
        sa.Column(
            "listing_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "findings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("counts", sa.Boolean(), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["policy_version"],
            ["program_policies.version"],
            name=op.f("fk_program_validation_filings_policy_version_program_policies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_validation_filings")),
        sa.UniqueConstraint(
            "content_hash", name=op.f("uq_program_validation_filings_content_hash")
        ),
        sa.UniqueConstraint("trf", "revision", name="uq_program_validation_filings_revision"),
    )
    op.create_table(
        "program_tic_extensions",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("tic", sa.String(length=100), nullable=False),
        sa.Column("granted_on", sa.Date(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("due_before", sa.Date(), nullable=False),
        sa.Column("due_after", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["program_requests.id"],
            name=op.f("fk_program_tic_extensions_request_id_program_requests"),
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_program_tic_extensions")),
    )


def downgrade() -> None:

    op.drop_table("program_tic_extensions")
    op.drop_table("program_validation_filings")
    op.drop_table("program_evidence_pins")
