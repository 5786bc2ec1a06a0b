"""Direct validation's own tables (migration 0004): every filing of a TIC's validation, the
evidence pins that expose a report number reused with other content, and TIC extensions.

The validation on file for a listing is ``program_validations`` (one per listing); these tables
keep the history and the pins beside it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from toysafe.store.models import Base, _now


class ValidationFiling(Base):
    """Every validation document ever accepted (a no-op re-post adds nothing)."""

    __tablename__ = "program_validation_filings"
    __table_args__ = (
        UniqueConstraint("trf", "revision", name="uq_program_validation_filings_revision"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    trf: Mapped[str] = mapped_column(String(100))
    revision: Mapped[int] = mapped_column(Integer)
    tic: Mapped[str] = mapped_column(String(100))
    seller: Mapped[str] = mapped_column(String(100))
    issued: Mapped[date] = mapped_column(Date)
    content_hash: Mapped[str] = mapped_column(String(80), unique=True)
    listing_ids: Mapped[list[Any]]
    document: Mapped[dict[str, Any]]
    findings: Mapped[list[Any]]
    counts: Mapped[bool] = mapped_column(Boolean)
    filed_on: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(100))
    policy_version: Mapped[int] = mapped_column(ForeignKey("program_policies.version"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class EvidencePin(Base):
    """The first content seen under a report number; a later different one is forged."""

    __tablename__ = "program_evidence_pins"
    report_no: Mapped[str] = mapped_column(String(100), primary_key=True)
    issued: Mapped[date] = mapped_column(Date)
    cpsc_lab_id: Mapped[str] = mapped_column(String(8))
    content_hash: Mapped[str] = mapped_column(String(80))
    source: Mapped[str] = mapped_column(String(200))
    pinned_on: Mapped[date] = mapped_column(Date)


class TicExtension(Base):
    """P5: the one TIC extension a request may have."""

    __tablename__ = "program_tic_extensions"
    request_id: Mapped[int] = mapped_column(ForeignKey("program_requests.id"), primary_key=True)
    tic: Mapped[str] = mapped_column(String(100))
    granted_on: Mapped[date] = mapped_column(Date)
    days: Mapped[int] = mapped_column(Integer)
    due_before: Mapped[date] = mapped_column(Date)
    due_after: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
