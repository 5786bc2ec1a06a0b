"""The workspace schema. Profiles, reports and certificates keep their contract documents as
JSON; the columns beside them exist for lookups and joins."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JSONType = JSON().with_variant(JSONB(), "postgresql")
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSONType, list[Any]: JSONType}


def _now() -> Any:
    return func.now()


class Organization(Base):
    """A certifier (importer or domestic manufacturer) and its party file."""

    __tablename__ = "organizations"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    party: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("org_id", "sku"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    sku: Mapped[str] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(100), index=True)
    gtin: Mapped[str | None] = mapped_column(String(14), index=True)
    latest_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class ProductVersion(Base):
    """Every profile a product ever had; never overwritten."""

    __tablename__ = "product_versions"
    __table_args__ = (UniqueConstraint("product_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    version: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    profile: Mapped[dict[str, Any]]
    changed_components: Mapped[list[Any]]
    created_on: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class Listing(Base):
    __tablename__ = "listings"
    __table_args__ = (UniqueConstraint("org_id", "marketplace", "listing_id", "sku"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    marketplace: Mapped[str] = mapped_column(String(60))
    listing_id: Mapped[str] = mapped_column(String(40))
    sku: Mapped[str] = mapped_column(String(100), index=True)
    title: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class Lot(Base):
    __tablename__ = "lots"
    __table_args__ = (UniqueConstraint("product_id", "lot_no"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    lot_no: Mapped[str] = mapped_column(String(60))
    manufactured: Mapped[str] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(2))


class Lab(Base):
    __tablename__ = "labs"
    cpsc_id: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    status_since: Mapped[date | None] = mapped_column(Date)
    address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(60))


class LabScope(Base):
    __tablename__ = "lab_scopes"
    __table_args__ = (UniqueConstraint("lab_id", "scope"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[str] = mapped_column(ForeignKey("labs.cpsc_id"))
    scope: Mapped[str] = mapped_column(String(40))
    accepted_on: Mapped[date] = mapped_column(Date)


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("org_id", "report_no"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    report_no: Mapped[str] = mapped_column(String(100))
    lab_cpsc_id: Mapped[str] = mapped_column(String(8))
    issued: Mapped[date] = mapped_column(Date)
    tested_from: Mapped[date] = mapped_column(Date)
    tested_to: Mapped[date] = mapped_column(Date)
    standard: Mapped[str | None] = mapped_column(String(12))
    digest: Mapped[str] = mapped_column(String(64))
    document: Mapped[dict[str, Any]]
    source: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class ReportProduct(Base):
    """The products a report names (one report may cover several SKUs, models, colourways)."""

    __tablename__ = "report_products"
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    sku: Mapped[str | None] = mapped_column(String(100), index=True)
    model: Mapped[str | None] = mapped_column(String(100), index=True)
    gtin: Mapped[str | None] = mapped_column(String(14), index=True)


class Result(Base):
    __tablename__ = "results"
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    requirement: Mapped[str] = mapped_column(String(40))
    component: Mapped[str | None] = mapped_column(String(100))
    analyte: Mapped[str | None] = mapped_column(String(20))
    value: Mapped[str | None] = mapped_column(String(40))
    loq: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(20))
    verdict: Mapped[str | None] = mapped_column(String(8))


class Certificate(Base):
    __tablename__ = "certificates"
    __table_args__ = (UniqueConstraint("product_id", "version"),)
    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    product_version: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(4))
    issued: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    toy_standard: Mapped[str | None] = mapped_column(String(12))
    digest: Mapped[str] = mapped_column(String(80))
    document: Mapped[dict[str, Any]]
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class CertificateReport(Base):
    """The reports a certificate relied on."""

    __tablename__ = "certificate_reports"
    certificate_id: Mapped[str] = mapped_column(ForeignKey("certificates.id"), primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), primary_key=True)


class ProductState(Base):
    """What the evidence says about a product, recomputed whenever its inputs change."""

    __tablename__ = "product_states"
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    computed_on: Mapped[date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer)
    certificate_type: Mapped[str] = mapped_column(String(4))
    toy_standard: Mapped[str | None] = mapped_column(String(12))
    lab_requirements: Mapped[list[Any]]
    certifiable: Mapped[bool] = mapped_column(Boolean)
    problems: Mapped[list[Any]]
    evidence_valid_until: Mapped[date | None] = mapped_column(Date)
    last_test: Mapped[date | None] = mapped_column(Date)
    testing_plan: Mapped[str | None] = mapped_column(String(12))
    # The knowledge base that computed this state; another one means the state is stale.
    rules_version: Mapped[str | None] = mapped_column(String(64))


class Event(Base):
    """Append-only log: who did what, when."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_subject", "subject"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    actor: Mapped[str] = mapped_column(String(100))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]]


class User(Base):
    """A person who signs in: seller, lab, reviewer or admin of an organization."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    role: Mapped[str] = mapped_column(String(10))
    lab_cpsc_id: Mapped[str | None] = mapped_column(String(8))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class ApiToken(Base):
    """A bearer token for scripts; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class ProductShare(Base):
    """A seller shares a product with a lab, which may then upload reports for it."""

    __tablename__ = "product_shares"
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    lab_cpsc_id: Mapped[str] = mapped_column(String(8), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class Enrollment(Base):
    """A seller organization enrolled with a reviewer organization (read-only access)."""

    __tablename__ = "enrollments"
    reviewer_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)


class WebSession(Base):
    """A signed-in browser session, so that signing out ends it on the server. The cookie holds
    the session id; only its SHA-256 is stored. Times are UNIX seconds (no time zone issues)."""

    __tablename__ = "web_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created: Mapped[float] = mapped_column(Float)
    expires: Mapped[float] = mapped_column(Float)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class PasswordReset(Base):
    """A one-time, expiring password-reset link sent by e-mail; only its SHA-256 is stored."""

    __tablename__ = "password_resets"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    expires: Mapped[float] = mapped_column(Float)
    used: Mapped[bool] = mapped_column(Boolean, default=False)


class ReportWithdrawal(Base):
    """A report taken out of the evidence (contract 10): it stays stored and in the history,
    with who withdrew it, when and why."""

    __tablename__ = "report_withdrawals"
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)


class ThrottleHit(Base):
    """One counted failure (a sign-in, an unknown token, a reset mail) of a key in a scope,
    shared by every server process; rows older than the scope's window are deleted."""

    __tablename__ = "throttle_hits"
    __table_args__ = (Index("ix_throttle_hits_key", "scope", "key", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(200))
    at: Mapped[float] = mapped_column(Float, index=True)


class ThrottleBackoff(Base):
    """An account's wrong passwords in a row and when it may try again (shared by every
    server process); forgotten an hour after the last failure."""

    __tablename__ = "throttle_backoff"
    key: Mapped[str] = mapped_column(String(220), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    not_before: Mapped[float] = mapped_column(Float)
    updated: Mapped[float] = mapped_column(Float, index=True)


# The marketplace program's tables share this metadata (migrations, restore, portability).
from toysafe.store.program import models as _program_models  # noqa: E402, F401
