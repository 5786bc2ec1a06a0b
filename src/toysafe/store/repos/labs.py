"""The registry of CPSC-accepted labs and their scopes (shared by every organization)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from toysafe.core.evidence.labs import LabRegistry, LabRow
from toysafe.store import memo
from toysafe.store import models as m
from toysafe.store.repos.base import Scope, table
from toysafe.store.repos.events import Events


class Labs:
    def __init__(self, scope: Scope, events: Events) -> None:
        self.scope = scope
        self.events = events

    def upsert(self, s: Session, rows: Sequence[LabRow]) -> tuple[int, int]:
        """Upsert labs and replace their scopes; returns (labs, rows)."""
        by_lab: dict[str, list[LabRow]] = {}
        for r in rows:
            by_lab.setdefault(r.cpsc_id, []).append(r)
        for cpsc_id, lab_rows in by_lab.items():
            first = lab_rows[0]
            lab = s.get(m.Lab, cpsc_id) or m.Lab(cpsc_id=cpsc_id)
            lab.name, lab.country, lab.type, lab.status = (
                first.name,
                first.country,
                first.type,
                first.status,
            )
            lab.status_since = first.status_since
            lab.address = next((r.address for r in lab_rows if r.address), lab.address)
            lab.phone = next((r.phone for r in lab_rows if r.phone), lab.phone)
            s.add(lab)
            s.flush()
            s.execute(delete(m.LabScope).where(m.LabScope.lab_id == cpsc_id))
            scopes: dict[str, date] = {}
            for r in lab_rows:
                scopes[r.scope] = min(scopes.get(r.scope, r.accepted_on), r.accepted_on)
            s.execute(
                insert(table(m.LabScope)),
                [{"lab_id": cpsc_id, "scope": k, "accepted_on": v} for k, v in scopes.items()],
            )
        self.events.record(s, "labs.import", "labs", labs=len(by_lab), rows=len(rows))
        return len(by_lab), len(rows)

    def registry(self, s: Session) -> LabRegistry:
        return self.keyed_registry(s)[1]

    def keyed_registry(self, s: Session) -> tuple[str, LabRegistry]:
        return keyed_registry(s)


def keyed_registry(s: Session) -> tuple[str, LabRegistry]:
    """The registry and a digest of the rows it was built from. The rows are read every
    time (one query); the registry built from them is memoized per process by that digest
    (shared between requests: callers only read it)."""
    rows = s.execute(
        select(
            m.Lab.cpsc_id,
            m.Lab.name,
            m.Lab.country,
            m.Lab.type,
            m.Lab.status,
            m.LabScope.scope,
            m.LabScope.accepted_on,
            m.Lab.address,
            m.Lab.phone,
            m.Lab.status_since,
        )
        .join(m.Lab, m.Lab.cpsc_id == m.LabScope.lab_id)
        .order_by(m.LabScope.lab_id, m.LabScope.scope)
    ).all()
    key = memo.digest([list(r) for r in rows])
    return key, memo.REGISTRIES.get(key, lambda: _build(rows))


def registry_of(s: Session) -> LabRegistry:
    """The lab registry as the tables hold it now (memoized by content).
    Callers must not mutate it."""
    return keyed_registry(s)[1]


def _build(rows: Sequence[Any]) -> LabRegistry:
    fields = (
        "cpsc_id",
        "name",
        "country",
        "type",
        "status",
        "scope",
        "accepted_on",
        "address",
        "phone",
        "status_since",
    )
    return LabRegistry.from_rows(
        [LabRow.model_validate(dict(zip(fields, r, strict=True))) for r in rows]
    )
