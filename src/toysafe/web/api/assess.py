"""Assessing a profile without storing anything (toysafe/assessment@1)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter

from toysafe.core.law.engine import assess
from toysafe.io.kb import default_kb
from toysafe.web.api.common import (
    AsOf,
    JSONBody,
    parse_profile,
    today,
)
from toysafe.web.deps import Who

router = APIRouter()


@router.post("/assess", tags=["assess"])
def assess_profile(
    who: Who, profile: dict[str, Any] = JSONBody, as_of: date | None = AsOf
) -> dict[str, Any]:
    """Assess a product profile (toysafe/product@1): the contract's toysafe/assessment@1."""
    return assess(parse_profile(profile), default_kb(), today(as_of)).to_dict()
