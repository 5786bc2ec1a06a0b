"""A filed validation as its request's submission (P7, P8), on the program's casework: the same
state-change rows, automatic decision, statement of reasons, findings and outbox as a seller's
submission, with the channel ``direct_validation``."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from toysafe.core.law.engine import assess
from toysafe.core.program import decisions as d
from toysafe.core.program.model import request_ref
from toysafe.core.program.precheck import Finding, ListingFacts, outcome
from toysafe.core.program.precheck import _listing as listing_checks
from toysafe.io.kb import default_kb
from toysafe.render.program import finding_dict as precheck_finding_dict
from toysafe.render.validation import finding_text, next_step_text
from toysafe.store.program import models as pm
from toysafe.store.program.casework import PRECHECK_ACTOR, Casework, _finding_row

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from toysafe.core.program import validation as v
    from toysafe.store.program.validations import Validations


def _as_precheck(f: v.Finding) -> Finding:
    return Finding(f.code, f.requirement, {"check": f.check, **f.facts})


def submit_validation(
    vals: Validations,
    s: Session,
    req: pm.Request,
    listing: pm.ProgramListing,
    doc: v.Validation,
    data: dict[str, Any],
    filed: v.Outcome,
    as_of: date,
) -> dict[str, Any]:
    """P7 for a validation: its own findings plus the listing checks (age grade, cautionary
    statement, model against the tested profile); clean and auto_approve -> approved (P9);
    clean -> a reviewer; a finding -> revision_requested; forged -> in_review."""
    cw = Casework(vals.store, None, vals.actor)
    ref = request_ref(req.id)
    got = cw._load(s, ref, lock=True)
    facts = ListingFacts(
        listing.listing_id,
        got.seller,
        listing.min_age_months,
        listing.cautionary_statement,
        listing.model,
    )
    assessment = assess(doc.profile, default_kb(), as_of)
    own = [(_as_precheck(f), finding_text(f), next_step_text(f)) for f in filed.findings]
    more = listing_checks(facts, doc.profile, assessment, [])
    shown = [
        {**precheck_finding_dict(p), "message": text, "next_step": step} for p, text, step in own
    ] + [precheck_finding_dict(p) for p in more]
    found = [p for p, _, _ in own] + list(more)
    state = outcome(found, got.category.auto_approve)
    sub = pm.Submission(
        request_id=req.id,
        submitted_on=as_of,
        channel="direct_validation",
        actor=vals.actor,
        profile=data.get("profile"),
        certificate=None,
        reports=[r.model_dump(mode="json", exclude_none=True) for r in doc.reports],
        validation=data,
        outcome=state,
    )
    s.add(sub)
    s.flush()
    cw._history(s, req, as_of, "submitted", req.state, "submitted", vals.actor, channel="tic")
    req.state = "submitted"
    for f, show in zip(found, shown, strict=True):
        s.add(_finding_row(req.id, sub.id, f, show["next_step"], as_of))
    relied = [[r.report_no, r.issued.isoformat()] for r in doc.reports]
    snap = cw._snapshot(s, got)
    window = got.policy.clocks.appeal_window_days
    history = {
        "outcome": state,
        "relied_on": relied,
        "findings": [f.code for f in found],
        "validation": {"trf": doc.trf, "revision": doc.revision, "tic": doc.tic},
    }
    if state == "approved":
        t = d.approve(
            snap,
            [r.issued for r in doc.reports],
            as_of,
            got.category.validity_months,
            window,
            "pre_check_clean",
        )
        cw._history(s, req, as_of, "pre_check", "submitted", "submitted", PRECHECK_ACTOR, **history)
        result = cw._apply(s, got, t, as_of, PRECHECK_ACTOR, automatic=True, submission_id=sub.id)
        reasons = result.get("reasons")
    else:
        codes = [f.code for f in found]
        reasons = cw._hold_after_precheck(
            s,
            got,
            sub.id,
            d.precheck_reasons(snap, state, codes, as_of, window),
            as_of,
            state,
            codes,
            shown,
            **history,
        )["reasons"]
    return {
        "listing_id": listing.listing_id,
        "request": ref,
        "submission": sub.id,
        "state": state,
        "findings": shown,
        "reasons": reasons,
    }
