"""The lab registry."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from fastapi import APIRouter, Body, Request
from sqlalchemy import select

from toysafe.core.evidence.labs import LabRow
from toysafe.io.errors import InputError
from toysafe.store import models as m
from toysafe.web.access import (
    require,
)
from toysafe.web.api.common import (
    AsOf,
    today,
    unprocessable,
    workspace_for,
)
from toysafe.web.deps import Db, Who

router = APIRouter()


@router.get("/labs", tags=["labs"])
def list_labs(who: Who, db: Db) -> list[dict[str, Any]]:
    scopes: dict[str, list[dict[str, Any]]] = {}
    for sc in db.scalars(select(m.LabScope).order_by(m.LabScope.scope)):
        scopes.setdefault(sc.lab_id, []).append({"scope": sc.scope, "accepted_on": sc.accepted_on})
    return [
        {
            "cpsc_id": lab.cpsc_id,
            "name": lab.name,
            "country": lab.country,
            "type": lab.type,
            "status": lab.status,
            "scopes": scopes.get(lab.cpsc_id, []),
        }
        for lab in db.scalars(select(m.Lab).order_by(m.Lab.cpsc_id))
    ]


@router.post("/labs", tags=["labs"])
def import_labs(
    request: Request,
    who: Who,
    body: str = Body(..., media_type="text/csv"),
    as_of: date | None = AsOf,
) -> dict[str, int]:
    """Import the lab registry (toysafe/labs@1 CSV text); admins only."""
    require(who, "admin")
    from toysafe.io.labs import labs_from_csv

    try:
        labs_from_csv(body, "body")
    except InputError as e:
        raise unprocessable(str(e), "body", "csv") from None
    rows = [
        LabRow.model_validate({k: v for k, v in r.items() if v})
        for r in csv.DictReader(io.StringIO(body))
    ]
    labs, scopes = workspace_for(request, who.org_slug, who).import_labs(rows, today(as_of))
    return {"labs": labs, "scopes": scopes}
