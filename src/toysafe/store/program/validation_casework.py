"""A filed validation as a request's submission (P7, P8): built on the program's casework."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from toysafe.core.program import validation as v
    from toysafe.store.program import models as pm
    from toysafe.store.program.validations import Validations


def submit_validation(
    vals: Validations,
    s: Session,
    req: pm.Request,
    listing: pm.ProgramListing,
    doc: v.Validation,
    data: dict[str, Any],
    outcome: v.Outcome,
    as_of: date,
) -> dict[str, Any]:
    # Wired to the casework of branch program2 when it is merged (see docs/direct-validation.md).
    raise NotImplementedError("feeding a request needs the program casework")
