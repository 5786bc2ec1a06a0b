"""The marketplace program's tables (contract section 8), on the workspace's metadata.

A request's deadline, its triggers and every state change are rows, never recomputed guesses.
Every decision and action records the policy version it was made under and its statement of
reasons (P13). ``program_events`` is append-only.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from toysafe.store.models import Base, _now

# Kept in step with toysafe.core.program.model.OPEN_STATES (the partial index enforces P2).
OPEN_STATES_SQL = "state IN ('open', 'submitted', 'revision_requested', 'in_review')"


class PolicyVersion(Base):
    """Every policy ever loaded, numbered; content-addressed by ``digest``."""

    __tablename__ = "program_policies"
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    digest: Mapped[str] = mapped_column(String(64), index=True)
    marketplace: Mapped[str] = mapped_column(String(60))
    document: Mapped[dict[str, Any]]
    loaded_on: Mapped[date] = mapped_column(Date)
    loaded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class ProgramListing(Base):
    """A marketplace listing from the feed (8.2) and where the program stands on it."""

    __tablename__ = "program_listings"
    __table_args__ = (Index("ix_program_listings_seller_state", "seller_org_id", "state"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[str] = mapped_column(String(40), unique=True)
    seller_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    category: Mapped[str] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(Text)
    brand: Mapped[str | None] = mapped_column(String(200))
    model: Mapped[str | None] = mapped_column(String(100))
    min_age_months: Mapped[int | None] = mapped_column(Integer)
    cautionary_statement: Mapped[str | None] = mapped_column(String(60))
    listed_on: Mapped[date] = mapped_column(Date)
    sku: Mapped[str | None] = mapped_column(String(100))
    # What the sweep worked out (P1) and the program's state of the listing.
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    program_category: Mapped[str | None] = mapped_column(String(60))
    in_scope: Mapped[bool | None] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(20), server_default="pending")
    state_since: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    last_approved_on: Mapped[date | None] = mapped_column(Date)
    imported_on: Mapped[date] = mapped_column(Date)
    updated_on: Mapped[date] = mapped_column(Date)


class ListingChange(Base):
    """A re-import that changed a listing's attributes: what they were and what they became."""

    __tablename__ = "program_listing_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    listing_pk: Mapped[int] = mapped_column(ForeignKey("program_listings.id"), index=True)
    changed_on: Mapped[date] = mapped_column(Date)
    changes: Mapped[dict[str, Any]]  # {field: [before, after]}
    source: Mapped[str | None] = mapped_column(Text)


class Complaint(Base):
    __tablename__ = "program_complaints"
    __table_args__ = (Index("ix_program_complaints_listing", "listing_id", "received_on"),)
    complaint_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    listing_id: Mapped[str] = mapped_column(String(40))
    received_on: Mapped[date] = mapped_column(Date)
    reporter: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    imported_on: Mapped[date] = mapped_column(Date)


class ProductFacts(Base):
    """What toysafe's assessment says of a linked product, cached by the profile's digest and
    the rules: scope (P1), the requirements a request asks for (P4), and the rules taking
    effect for it (P3 rule_change)."""

    __tablename__ = "program_product_facts"
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    rules: Mapped[str] = mapped_column(String(64))
    children_product: Mapped[bool] = mapped_column(Boolean)
    requirements: Mapped[list[Any]]
    warnings: Mapped[list[Any]]
    computed_on: Mapped[date] = mapped_column(Date)


class ProductRuleDate(Base):
    """A requirement that applies to the linked product when made on or after ``effective``."""

    __tablename__ = "program_product_rule_dates"
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    requirement: Mapped[str] = mapped_column(String(40), primary_key=True)
    effective: Mapped[date] = mapped_column(Date, primary_key=True)


class Request(Base):
    """A compliance request (REQ-000001): one listing, one deadline, its own policy version."""

    __tablename__ = "program_requests"
    __table_args__ = (
        # P2: never two open requests for one listing, enforced by the database too.
        Index(
            "uq_program_requests_open_listing",
            "listing_pk",
            unique=True,
            sqlite_where=text(OPEN_STATES_SQL),
            postgresql_where=text(OPEN_STATES_SQL),
        ),
        Index("ix_program_requests_state_due", "state", "due"),
        Index("ix_program_requests_seller", "seller_org_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    listing_pk: Mapped[int] = mapped_column(ForeignKey("program_listings.id"), index=True)
    seller_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    category: Mapped[str] = mapped_column(String(60))
    state: Mapped[str] = mapped_column(String(20))
    opened: Mapped[date] = mapped_column(Date)
    due: Mapped[date] = mapped_column(Date)
    policy_version: Mapped[int] = mapped_column(ForeignKey("program_policies.version"))
    requirements: Mapped[list[Any]]
    requirements_basis: Mapped[str] = mapped_column(String(20))  # assessment | baseline
    extended_days: Mapped[int] = mapped_column(Integer, server_default="0")
    trusted: Mapped[bool] = mapped_column(Boolean, server_default="0")
    closed_on: Mapped[date | None] = mapped_column(Date)


class RequestTrigger(Base):
    """Why a request exists; a later trigger on an open request is added here (P2).

    ``ref`` names the occurrence so that it is never counted twice: the period of a random
    audit, ``requirement@date`` of a rule change, the validity end of a renewal."""

    __tablename__ = "program_request_triggers"
    __table_args__ = (
        UniqueConstraint("request_id", "kind", "ref", name="uq_program_request_triggers_kind"),
        Index("ix_program_request_triggers_listing", "listing_pk", "kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("program_requests.id"))
    listing_pk: Mapped[int] = mapped_column(ForeignKey("program_listings.id"))
    kind: Mapped[str] = mapped_column(String(20))
    ref: Mapped[str] = mapped_column(String(80), server_default="")
    on: Mapped[date] = mapped_column(Date)
    facts: Mapped[dict[str, Any]]


class RequestHistory(Base):
    """Every state change and clock event of a request, as a row (opened, trigger_added,
    reminded, submitted, decided, extended, overdue, closed...)."""

    __tablename__ = "program_request_history"
    __table_args__ = (Index("ix_program_request_history_request", "request_id", "on"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("program_requests.id"))
    on: Mapped[date] = mapped_column(Date)
    event: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    ref: Mapped[str | None] = mapped_column(String(80))
    actor: Mapped[str] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]]


class Submission(Base):
    """What a seller (documents) or a TIC (direct validation) sent for a request."""

    __tablename__ = "program_submissions"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("program_requests.id"), index=True)
    submitted_on: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(20))  # documents | direct_validation
    actor: Mapped[str] = mapped_column(String(100))
    profile: Mapped[dict[str, Any] | None]
    certificate: Mapped[dict[str, Any] | None]
    reports: Mapped[list[Any]]
    validation: Mapped[dict[str, Any] | None]
    outcome: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class Finding(Base):
    """One failed check of a pre-check (P7), or a scope note (``age_grade_missing``)."""

    __tablename__ = "program_findings"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("program_requests.id"), index=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("program_submissions.id"))
    code: Mapped[str] = mapped_column(String(40))
    requirement: Mapped[str | None] = mapped_column(String(40))
    facts: Mapped[list[Any]]
    next_step: Mapped[str] = mapped_column(Text)
    found_on: Mapped[date] = mapped_column(Date)


class DecisionRow(Base):
    """A decision on a request (P8, P9): automatic or a reviewer's, with its reason code."""

    __tablename__ = "program_decisions"
    __table_args__ = (Index("ix_program_decisions_seller", "seller_org_id", "decision"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("program_requests.id"), index=True)
    seller_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("program_submissions.id"))
    decided_on: Mapped[date] = mapped_column(Date)
    decision: Mapped[str] = mapped_column(String(10))  # approve | revise | reject
    reason_code: Mapped[str | None] = mapped_column(String(40))
    policy_version: Mapped[int] = mapped_column(ForeignKey("program_policies.version"))
    actor: Mapped[str] = mapped_column(String(100))
    automatic: Mapped[bool] = mapped_column(Boolean, server_default="0")
    reasons: Mapped[dict[str, Any]]


class ViolationRow(Base):
    """A violation on a seller's account (P6, P8); resolving it restores its points (P9)."""

    __tablename__ = "program_violations"
    __table_args__ = (
        UniqueConstraint("request_id", "kind", name="uq_program_violations_request_kind"),
        Index("ix_program_violations_seller", "seller_org_id", "opened"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    seller_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    listing_pk: Mapped[int | None] = mapped_column(ForeignKey("program_listings.id"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("program_requests.id"))
    kind: Mapped[str] = mapped_column(String(30))
    severity: Mapped[str] = mapped_column(String(10))
    opened: Mapped[date] = mapped_column(Date)
    resolved: Mapped[date | None] = mapped_column(Date)
    resolution: Mapped[str | None] = mapped_column(String(30))  # approved | overturned
    policy_version: Mapped[int] = mapped_column(ForeignKey("program_policies.version"))


class ActionRow(Base):
    """An action on a listing or an account (suppress, remove, reinstate, suspend), with its
    statement of reasons. ``key`` makes the sweep's actions happen once (P14)."""

    __tablename__ = "program_actions"
    __table_args__ = (Index("ix_program_actions_listing", "listing_pk"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    seller_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    listing_pk: Mapped[int | None] = mapped_column(ForeignKey("program_listings.id"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("program_requests.id"))
    action: Mapped[str] = mapped_column(String(20))
    on: Mapped[date] = mapped_column(Date)
    prior_state: Mapped[str | None] = mapped_column(String(20))
    policy_version: Mapped[int] = mapped_column(ForeignKey("program_policies.version"))
    actor: Mapped[str] = mapped_column(String(100))
    reasons: Mapped[dict[str, Any]]


class AccountRow(Base):
    """A seller's account health (P10) and tier (P12), as the last sweep or decision left it."""

    __tablename__ = "program_accounts"
    seller_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    since: Mapped[date] = mapped_column(Date)
    score: Mapped[int] = mapped_column(Integer)
    band: Mapped[str] = mapped_column(String(30))
    state: Mapped[str] = mapped_column(String(20))
    trusted: Mapped[bool] = mapped_column(Boolean, server_default="0")
    computed_on: Mapped[date] = mapped_column(Date)
    policy_version: Mapped[int] = mapped_column(ForeignKey("program_policies.version"))


class AppealRow(Base):
    """An appeal (P11) with its plan of action: root cause, fix, prevention, evidence."""

    __tablename__ = "program_appeals"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("program_requests.id"), index=True)
    seller_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    filed_on: Mapped[date] = mapped_column(Date)
    claim: Mapped[str] = mapped_column(String(20))
    root_cause: Mapped[str] = mapped_column(Text)
    fix: Mapped[str] = mapped_column(Text)
    prevention: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[Any]]
    state: Mapped[str] = mapped_column(String(20))  # pending | upheld | overturned
    decided_on: Mapped[date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    policy_version: Mapped[int] = mapped_column(ForeignKey("program_policies.version"))
    actor: Mapped[str] = mapped_column(String(100))


class Exemption(Base):
    """A human decision that exempts a listing from a trigger kind until a date (P11)."""

    __tablename__ = "program_exemptions"
    __table_args__ = (Index("ix_program_exemptions_listing", "listing_pk", "trigger_kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    listing_pk: Mapped[int] = mapped_column(ForeignKey("program_listings.id"))
    trigger_kind: Mapped[str] = mapped_column(String(20))
    starts: Mapped[date] = mapped_column(Date)
    until: Mapped[date] = mapped_column(Date)
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("program_appeals.id"))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))


class SellerKey(Base):
    """A certificate-signing public key a seller registered with the marketplace (P7)."""

    __tablename__ = "program_seller_keys"
    __table_args__ = (
        UniqueConstraint("seller_org_id", "public_key", name="uq_program_seller_keys_key"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    seller_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    public_key: Mapped[str] = mapped_column(Text)
    added_on: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(100))


class Validation(Base):
    """A TIC's direct validation (8.3); one per listing, a higher revision replaces it."""

    __tablename__ = "program_validations"
    __table_args__ = (UniqueConstraint("listing_pk", name="uq_program_validations_listing"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    listing_pk: Mapped[int] = mapped_column(ForeignKey("program_listings.id"))
    trf: Mapped[str] = mapped_column(String(60))
    tic: Mapped[str] = mapped_column(String(60))
    revision: Mapped[int] = mapped_column(Integer)
    issued: Mapped[date] = mapped_column(Date)
    document: Mapped[dict[str, Any]]
    added_on: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(100))


class Outbox(Base):
    """A notification addressed to a seller, as data (delivery comes later). ``key`` makes each
    notice once-only (a sweep run twice sends nothing new)."""

    __tablename__ = "program_outbox"
    __table_args__ = (Index("ix_program_outbox_seller", "seller_org_id", "delivered_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    seller_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    created_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(30))  # request_opened, reminder, action, decision
    request_id: Mapped[int | None] = mapped_column(ForeignKey("program_requests.id"))
    listing_pk: Mapped[int | None] = mapped_column(ForeignKey("program_listings.id"))
    payload: Mapped[dict[str, Any]]
    # Set when the notice first reached the seller through one of its channels (delivery.py).
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # UNIX seconds at which the deliveries of this notice were fanned out (once).
    queued_at: Mapped[float | None] = mapped_column(Float)


class WebhookEndpoint(Base):
    """Where an organization wants its notices as signed webhooks (Standard Webhooks). A 410
    answer disables it (kept, with the reason); removing it disables it too."""

    __tablename__ = "program_webhooks"
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))  # whsec_<base64>
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(40))
    disabled_at: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class Delivery(Base):
    """One notice to one target (a webhook endpoint or an e-mail address): its state and when
    it is next due. ``claim``/``claimed_until`` are the lease a worker holds while sending."""

    __tablename__ = "program_deliveries"
    __table_args__ = (
        UniqueConstraint("outbox_id", "target", name="uq_program_deliveries_outbox_target"),
        Index("ix_program_deliveries_due", "state", "next_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("program_outbox.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))  # webhook | email
    target: Mapped[str] = mapped_column(String(220))  # webhook:<id> | email:<address>
    webhook_id: Mapped[int | None] = mapped_column(ForeignKey("program_webhooks.id"))
    recipient: Mapped[str | None] = mapped_column(String(200))
    msg_id: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(12), default="pending")  # delivered|dead|disabled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[float] = mapped_column(Float)
    claim: Mapped[str | None] = mapped_column(String(40))
    claimed_until: Mapped[float | None] = mapped_column(Float)
    delivered_at: Mapped[float | None] = mapped_column(Float)


class DeliveryAttempt(Base):
    """Append-only: every attempt, with what came back and when the next one is due."""

    __tablename__ = "program_delivery_attempts"
    __table_args__ = (
        UniqueConstraint("delivery_id", "n", name="uq_program_delivery_attempts_delivery_n"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("program_deliveries.id"), index=True)
    n: Mapped[int] = mapped_column(Integer)
    at: Mapped[float] = mapped_column(Float)
    worker: Mapped[str] = mapped_column(String(100))
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(300))
    outcome: Mapped[str] = mapped_column(String(12))  # delivered | retry | dead | disabled
    next_at: Mapped[float | None] = mapped_column(Float)


class ProgramEvent(Base):
    """Append-only log of everything the program did, with the policy version in force."""

    __tablename__ = "program_events"
    __table_args__ = (Index("ix_program_events_subject", "subject"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    on: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200))
    policy_version: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]]


class SweepRun(Base):
    """One sweep per date: the row is the lock that keeps several workers from sweeping the
    same day twice, and the record of what the sweep did."""

    __tablename__ = "program_sweeps"
    as_of: Mapped[date] = mapped_column(Date, primary_key=True)
    policy_version: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    finished: Mapped[bool] = mapped_column(Boolean, server_default="0")
    summary: Mapped[dict[str, Any]]
