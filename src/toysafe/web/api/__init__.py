"""The REST API under /api/v1: the same engine and store as the CLI, scoped by role. One router
per area; this module assembles them (in this order: it is the order of the OpenAPI paths)."""

from __future__ import annotations

from fastapi import APIRouter

from toysafe.web.api import (
    accounts,
    assess,
    certificates,
    labs,
    listings,
    meta,
    products,
    record,
    reports,
    status,
)
from toysafe.web.api.reports import store_report
from toysafe.web.api.status import catalog_status

__all__ = ["catalog_status", "router", "store_report"]

router = APIRouter(prefix="/api/v1")
AREAS = (meta, assess, products, record, reports, listings, labs, certificates, status, accounts)
for area in AREAS:
    router.include_router(area.router)
