"""Events: every write leaves one behind, written together just before its transaction commits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from toysafe.store import models as m
from toysafe.store.repos.base import Scope, table


class Events:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A transaction whose events are written together, just before it commits."""
        with self.scope.store.transaction() as s:
            s.info["events"] = []
            yield s
            events = s.info.pop("events")
            if events:
                s.execute(insert(table(m.Event)), events)

    def record(self, s: Session, kind: str, subject: str, **detail: Any) -> None:
        """Queue an event of the scope's organization in the open transaction."""
        known = s.info.get("toysafe_orgs", {}).get(self.scope.org_slug)  # Scope.org read it
        if "org_id" not in s.info and known is not None:
            s.info["org_id"] = known.id
        if "org_id" not in s.info:
            s.info["org_id"] = s.scalar(
                select(m.Organization.id).where(m.Organization.slug == self.scope.org_slug)
            )
        s.info["events"].append(
            {
                "actor": self.scope.who,
                "org_id": s.info["org_id"],
                "kind": kind,
                "subject": subject,
                "detail": detail,
            }
        )

    def of(self, s: Session, org_id: int, subject: str) -> list[dict[str, Any]]:
        """The events about one subject (a SKU), oldest first."""
        return [
            {"at": e.at.isoformat(), "actor": e.actor, "kind": e.kind, "detail": e.detail}
            for e in s.scalars(
                select(m.Event)
                .where(m.Event.subject == subject, m.Event.org_id == org_id)
                .order_by(m.Event.id)
            )
        ]
