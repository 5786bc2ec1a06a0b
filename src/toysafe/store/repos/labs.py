"""The registry of CPSC-accepted labs and their scopes (shared by every organization)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from toysafe.core.evidence.labs import LabRegistry, LabRow
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
        rows = []
        scopes = s.execute(select(m.LabScope.lab_id, m.LabScope.scope, m.LabScope.accepted_on))
        labs = {lab.cpsc_id: lab for lab in s.scalars(select(m.Lab))}
        for lab_id, scope, accepted in scopes:
            lab = labs[lab_id]
            rows.append(
                LabRow.model_validate(
                    {
                        "cpsc_id": lab.cpsc_id,
                        "name": lab.name,
                        "country": lab.country,
                        "type": lab.type,
                        "status": lab.status,
                        "scope": scope,
                        "accepted_on": accepted,
                        "address": lab.address,
                        "phone": lab.phone,
                        "status_since": lab.status_since,
                    }
                )
            )
        return LabRegistry.from_rows(rows)
