"""The reviewer console's tables (migration 0007): who is working a request and in which queue,
the append-only log of claims, releases and escalations, and internal notes.

``program_review_assignments`` is the current state (one row per request that a reviewer ever
touched; no row means the standard queue, unclaimed), kept so the queue is one indexed join.
``program_review_log`` and ``program_review_notes`` are append-only: every change of the
assignment is a log row with its actor, a note is never edited. Nothing here reaches a seller.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from toysafe.store.models import Base, _now


class ReviewAssignment(Base):
    """Where a request stands with the reviewers: its queue, since when, and who claimed it."""

    __tablename__ = "program_review_assignments"
    __table_args__ = (Index("ix_program_review_assignments_queue", "queue", "claimed_by"),)
    request_id: Mapped[int] = mapped_column(ForeignKey("program_requests.id"), primary_key=True)
    queue: Mapped[str] = mapped_column(String(20))
    queue_since: Mapped[date | None] = mapped_column(Date)  # escalated on (senior queue)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class ReviewLog(Base):
    """Every claim, release and escalation (append-only), with its actor and reason."""

    __tablename__ = "program_review_log"
    __table_args__ = (Index("ix_program_review_log_request", "request_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("program_requests.id"))
    on: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))  # claimed | released | escalated
    queue: Mapped[str] = mapped_column(String(20))  # the queue after the action
    reason: Mapped[str | None] = mapped_column(Text)


class ReviewNote(Base):
    """An internal note on a request (append-only; never shown to the seller)."""

    __tablename__ = "program_review_notes"
    __table_args__ = (Index("ix_program_review_notes_request", "request_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("program_requests.id"))
    on: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
