"""marketplace program: policy versions, listings, requests, decisions, accounts, appeals

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 17:08:35.368800
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "program_complaints",
        sa.Column("complaint_id", sa.String(length=60), nullable=False),
        sa.Column("listing_id", sa.String(length=40), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("reporter", sa.String(length=200), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("imported_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("complaint_id", name=op.f("pk_program_complaints")),
    )
    with op.batch_alter_table("program_complaints", schema=None) as batch_op:
        batch_op.create_index(
            "ix_program_complaints_listing", ["listing_id", "received_on"], unique=False
        )

    op.create_table(
        "program_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column(
            "at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=True),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_events")),
    )
    with op.batch_alter_table("program_events", schema=None) as batch_op:
        batch_op.create_index("ix_program_events_subject", ["subject"], unique=False)

    op.create_table(
        "program_policies",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("marketplace", sa.String(length=60), nullable=False),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("loaded_on", sa.Date(), nullable=False),
        sa.Column("loaded_by", sa.String(length=100), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_program_policies")),
    )
    with op.batch_alter_table("program_policies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_program_policies_digest"), ["digest"], unique=False)
    op.create_table(
        "program_sweeps",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=100), nullable=False),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("finished", sa.Boolean(), server_default="0", nullable=False),
        sa.Column(
            "summary",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("as_of", name=op.f("pk_program_sweeps")),
    )
    op.create_table(
        "program_accounts",
        sa.Column("seller_org_id", sa.Integer(), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("band", sa.String(length=30), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("trusted", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("computed_on", sa.Date(), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_version"],
            ["program_policies.version"],
            name=op.f("fk_program_accounts_policy_version_program_policies"),
        ),
        sa.ForeignKeyConstraint(
            ["seller_org_id"],
            ["organizations.id"],
            name=op.f("fk_program_accounts_seller_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("seller_org_id", name=op.f("pk_program_accounts")),
    )
    op.create_table(
        "program_seller_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seller_org_id", sa.Integer(), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("added_on", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["seller_org_id"],
            ["organizations.id"],
            name=op.f("fk_program_seller_keys_seller_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_seller_keys")),
        sa.UniqueConstraint("seller_org_id", "public_key", name="uq_program_seller_keys_key"),
    )
    op.create_table(
        "program_listings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.String(length=40), nullable=False),
        sa.Column("seller_org_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("brand", sa.String(length=200), nullable=True),
        sa.Column("model", sa.String(length=100), nullable=True),
        sa.Column("min_age_months", sa.Integer(), nullable=True),
        sa.Column("cautionary_statement", sa.String(length=60), nullable=True),
        sa.Column("listed_on", sa.Date(), nullable=False),
        sa.Column("sku", sa.String(length=100), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("program_category", sa.String(length=60), nullable=True),
        sa.Column("in_scope", sa.Boolean(), nullable=True),
        sa.Column("state", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("state_since", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("last_approved_on", sa.Date(), nullable=True),
        sa.Column("imported_on", sa.Date(), nullable=False),
        sa.Column("updated_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_program_listings_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["seller_org_id"],
            ["organizations.id"],
            name=op.f("fk_program_listings_seller_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_listings")),
        sa.UniqueConstraint("listing_id", name=op.f("uq_program_listings_listing_id")),
    )
    with op.batch_alter_table("program_listings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_program_listings_seller_state", ["seller_org_id", "state"], unique=False
        )

    op.create_table(
        "program_product_facts",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("rules", sa.String(length=64), nullable=False),
        sa.Column("children_product", sa.Boolean(), nullable=False),
        sa.Column(
            "requirements",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "warnings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("computed_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_program_product_facts_product_id_products"),
        ),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_program_product_facts")),
    )
    op.create_table(
        "program_product_rule_dates",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("requirement", sa.String(length=40), nullable=False),
        sa.Column("effective", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_program_product_rule_dates_product_id_products"),
        ),
        sa.PrimaryKeyConstraint(
            "product_id", "requirement", "effective", name=op.f("pk_program_product_rule_dates")
        ),
    )
    op.create_table(
        "program_listing_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_pk", sa.Integer(), nullable=False),
        sa.Column("changed_on", sa.Date(), nullable=False),
        sa.Column(
            "changes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("source", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["listing_pk"],
            ["program_listings.id"],
            name=op.f("fk_program_listing_history_listing_pk_program_listings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_listing_history")),
    )
    with op.batch_alter_table("program_listing_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_program_listing_history_listing_pk"), ["listing_pk"], unique=False
        )

    op.create_table(
        "program_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_pk", sa.Integer(), nullable=False),
        sa.Column("seller_org_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=60), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("opened", sa.Date(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column(
            "requirements",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("requirements_basis", sa.String(length=20), nullable=False),
        sa.Column("extended_days", sa.Integer(), server_default="0", nullable=False),
        sa.Column("trusted", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["listing_pk"],
            ["program_listings.id"],
            name=op.f("fk_program_requests_listing_pk_program_listings"),
        ),
        sa.ForeignKeyConstraint(
            ["policy_version"],
            ["program_policies.version"],
            name=op.f("fk_program_requests_policy_version_program_policies"),
        ),
        sa.ForeignKeyConstraint(
            ["seller_org_id"],
            ["organizations.id"],
            name=op.f("fk_program_requests_seller_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_requests")),
    )
    with op.batch_alter_table("program_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_program_requests_listing_pk"), ["listing_pk"], unique=False
        )
        batch_op.create_index("ix_program_requests_seller", ["seller_org_id"], unique=False)
        batch_op.create_index("ix_program_requests_state_due", ["state", "due"], unique=False)
        batch_op.create_index(
            "uq_program_requests_open_listing",
            ["listing_pk"],
            unique=True,
            sqlite_where=sa.text(
                "state IN ('open', 'submitted', 'revision_requested', 'in_review')"
            ),
            postgresql_where=sa.text(
                "state IN ('open', 'submitted', 'revision_requested', 'in_review')"
            ),
        )

    op.create_table(
        "program_validations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_pk", sa.Integer(), nullable=False),
        sa.Column("trf", sa.String(length=60), nullable=False),
        sa.Column("tic", sa.String(length=60), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("issued", sa.Date(), nullable=False),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("added_on", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["listing_pk"],
            ["program_listings.id"],
            name=op.f("fk_program_validations_listing_pk_program_listings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_validations")),
        sa.UniqueConstraint("listing_pk", name="uq_program_validations_listing"),
    )
    op.create_table(
        "program_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("seller_org_id", sa.Integer(), nullable=False),
        sa.Column("listing_pk", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("prior_state", sa.String(length=20), nullable=True),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column(
            "reasons",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["listing_pk"],
            ["program_listings.id"],
            name=op.f("fk_program_actions_listing_pk_program_listings"),
        ),
        sa.ForeignKeyConstraint(
            ["policy_version"],
            ["program_policies.version"],
            name=op.f("fk_program_actions_policy_version_program_policies"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["program_requests.id"],
            name=op.f("fk_program_actions_request_id_program_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["seller_org_id"],
            ["organizations.id"],
            name=op.f("fk_program_actions_seller_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_actions")),
        sa.UniqueConstraint("key", name=op.f("uq_program_actions_key")),
    )
    with op.batch_alter_table("program_actions", schema=None) as batch_op:
        batch_op.create_index("ix_program_actions_listing", ["listing_pk"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_program_actions_seller_org_id"), ["seller_org_id"], unique=False
        )

    op.create_table(
        "program_appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("seller_org_id", sa.Integer(), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("claim", sa.String(length=20), nullable=False),
        sa.Column("root_cause", sa.Text(), nullable=False),
        sa.Column("fix", sa.Text(), nullable=False),
        sa.Column("prevention", sa.Text(), nullable=False),
        sa.Column(
            "evidence",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_version"],
            ["program_policies.version"],
            name=op.f("fk_program_appeals_policy_version_program_policies"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["program_requests.id"],
            name=op.f("fk_program_appeals_request_id_program_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["seller_org_id"],
            ["organizations.id"],
            name=op.f("fk_program_appeals_seller_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_appeals")),
    )
    with op.batch_alter_table("program_appeals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_program_appeals_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "program_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("seller_org_id", sa.Integer(), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("listing_pk", sa.Integer(), nullable=True),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["listing_pk"],
            ["program_listings.id"],
            name=op.f("fk_program_outbox_listing_pk_program_listings"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["program_requests.id"],
            name=op.f("fk_program_outbox_request_id_program_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["seller_org_id"],
            ["organizations.id"],
            name=op.f("fk_program_outbox_seller_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_outbox")),
        sa.UniqueConstraint("key", name=op.f("uq_program_outbox_key")),
    )
    with op.batch_alter_table("program_outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_program_outbox_seller", ["seller_org_id", "delivered_at"], unique=False
        )

    op.create_table(
        "program_request_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("event", sa.String(length=30), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=True),
        sa.Column("ref", sa.String(length=80), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["program_requests.id"],
            name=op.f("fk_program_request_history_request_id_program_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_request_history")),
    )
    with op.batch_alter_table("program_request_history", schema=None) as batch_op:
        batch_op.create_index(
            "ix_program_request_history_request", ["request_id", "on"], unique=False
        )

    op.create_table(
        "program_request_triggers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("listing_pk", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ref", sa.String(length=80), server_default="", nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column(
            "facts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["listing_pk"],
            ["program_listings.id"],
            name=op.f("fk_program_request_triggers_listing_pk_program_listings"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["program_requests.id"],
            name=op.f("fk_program_request_triggers_request_id_program_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_request_triggers")),
        sa.UniqueConstraint("request_id", "kind", "ref", name="uq_program_request_triggers_kind"),
    )
    with op.batch_alter_table("program_request_triggers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_program_request_triggers_listing", ["listing_pk", "kind"], unique=False
        )

    op.create_table(
        "program_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column(
            "profile",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "certificate",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "reports",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "validation",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["program_requests.id"],
            name=op.f("fk_program_submissions_request_id_program_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_submissions")),
    )
    with op.batch_alter_table("program_submissions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_program_submissions_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "program_violations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seller_org_id", sa.Integer(), nullable=False),
        sa.Column("listing_pk", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("opened", sa.Date(), nullable=False),
        sa.Column("resolved", sa.Date(), nullable=True),
        sa.Column("resolution", sa.String(length=30), nullable=True),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["listing_pk"],
            ["program_listings.id"],
            name=op.f("fk_program_violations_listing_pk_program_listings"),
        ),
        sa.ForeignKeyConstraint(
            ["policy_version"],
            ["program_policies.version"],
            name=op.f("fk_program_violations_policy_version_program_policies"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["program_requests.id"],
            name=op.f("fk_program_violations_request_id_program_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["seller_org_id"],
            ["organizations.id"],
            name=op.f("fk_program_violations_seller_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_violations")),
        sa.UniqueConstraint("request_id", "kind", name="uq_program_violations_request_kind"),
    )
    with op.batch_alter_table("program_violations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_program_violations_seller", ["seller_org_id", "opened"], unique=False
        )

    op.create_table(
        "program_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("seller_org_id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("reason_code", sa.String(length=40), nullable=True),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("automatic", sa.Boolean(), server_default="0", nullable=False),
        sa.Column(
            "reasons",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["policy_version"],
            ["program_policies.version"],
            name=op.f("fk_program_decisions_policy_version_program_policies"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["program_requests.id"],
            name=op.f("fk_program_decisions_request_id_program_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["seller_org_id"],
            ["organizations.id"],
            name=op.f("fk_program_decisions_seller_org_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["program_submissions.id"],
            name=op.f("fk_program_decisions_submission_id_program_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_decisions")),
    )
    with op.batch_alter_table("program_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_program_decisions_request_id"), ["request_id"], unique=False
        )
        batch_op.create_index(
            "ix_program_decisions_seller", ["seller_org_id", "decision"], unique=False
        )

    op.create_table(
        "program_exemptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_pk", sa.Integer(), nullable=False),
        sa.Column("trigger_kind", sa.String(length=20), nullable=False),
        sa.Column("starts", sa.Date(), nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["program_appeals.id"],
            name=op.f("fk_program_exemptions_appeal_id_program_appeals"),
        ),
        sa.ForeignKeyConstraint(
            ["listing_pk"],
            ["program_listings.id"],
            name=op.f("fk_program_exemptions_listing_pk_program_listings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_exemptions")),
    )
    with op.batch_alter_table("program_exemptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_program_exemptions_listing", ["listing_pk", "trigger_kind"], unique=False
        )

    op.create_table(
        "program_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("requirement", sa.String(length=40), nullable=True),
        sa.Column(
            "facts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("next_step", sa.Text(), nullable=False),
        sa.Column("found_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["program_requests.id"],
            name=op.f("fk_program_findings_request_id_program_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["program_submissions.id"],
            name=op.f("fk_program_findings_submission_id_program_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_findings")),
    )
    with op.batch_alter_table("program_findings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_program_findings_request_id"), ["request_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("program_findings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_program_findings_request_id"))

    op.drop_table("program_findings")
    with op.batch_alter_table("program_exemptions", schema=None) as batch_op:
        batch_op.drop_index("ix_program_exemptions_listing")

    op.drop_table("program_exemptions")
    with op.batch_alter_table("program_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_program_decisions_seller")
        batch_op.drop_index(batch_op.f("ix_program_decisions_request_id"))

    op.drop_table("program_decisions")
    with op.batch_alter_table("program_violations", schema=None) as batch_op:
        batch_op.drop_index("ix_program_violations_seller")

    op.drop_table("program_violations")
    with op.batch_alter_table("program_submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_program_submissions_request_id"))

    op.drop_table("program_submissions")
    with op.batch_alter_table("program_request_triggers", schema=None) as batch_op:
        batch_op.drop_index("ix_program_request_triggers_listing")

    op.drop_table("program_request_triggers")
    with op.batch_alter_table("program_request_history", schema=None) as batch_op:
        batch_op.drop_index("ix_program_request_history_request")

    op.drop_table("program_request_history")
    with op.batch_alter_table("program_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_program_outbox_seller")

    op.drop_table("program_outbox")
    with op.batch_alter_table("program_appeals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_program_appeals_request_id"))

    op.drop_table("program_appeals")
    with op.batch_alter_table("program_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_program_actions_seller_org_id"))
        batch_op.drop_index("ix_program_actions_listing")

    op.drop_table("program_actions")
    op.drop_table("program_validations")
    with op.batch_alter_table("program_requests", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_program_requests_open_listing",
            sqlite_where=sa.text(
                "state IN ('open', 'submitted', 'revision_requested', 'in_review')"
            ),
            postgresql_where=sa.text(
                "state IN ('open', 'submitted', 'revision_requested', 'in_review')"
            ),
        )
        batch_op.drop_index("ix_program_requests_state_due")
        batch_op.drop_index("ix_program_requests_seller")
        batch_op.drop_index(batch_op.f("ix_program_requests_listing_pk"))

    op.drop_table("program_requests")
    with op.batch_alter_table("program_listing_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_program_listing_history_listing_pk"))

    op.drop_table("program_listing_history")
    op.drop_table("program_product_rule_dates")
    op.drop_table("program_product_facts")
    with op.batch_alter_table("program_listings", schema=None) as batch_op:
        batch_op.drop_index("ix_program_listings_seller_state")

    op.drop_table("program_listings")
    op.drop_table("program_seller_keys")
    op.drop_table("program_accounts")
    op.drop_table("program_sweeps")
    op.drop_table("program_policies")
    with op.batch_alter_table("program_events", schema=None) as batch_op:
        batch_op.drop_index("ix_program_events_subject")

    op.drop_table("program_events")
    with op.batch_alter_table("program_complaints", schema=None) as batch_op:
        batch_op.drop_index("ix_program_complaints_listing")

    op.drop_table("program_complaints")
