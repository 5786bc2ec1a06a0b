"""The reviewer console and the marketplace admin console.

``/review``: the queue of requests that need a person, most urgent first, with filters, search,
pagination, each queue's SLA and breaches, and two charts. ``/review/requests/{id}``: the
evidence side by side with the pre-check's findings marked, claim / release / escalate,
internal notes and the decision form (the same casework as the API and the CLI).
``/admin/policies``: policy versions, the diff between two, and the dry run of a candidate.
Reviewers and admins of the marketplace only; reviewers read the admin console but do not run
dry runs. Every form posts with the CSRF token and redirects back (post/redirect/get).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

import yaml
from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from toysafe.core.program.decisions import Refusal
from toysafe.core.program.model import TriggerKind
from toysafe.core.program.precheck import REJECT_CODES, REVISE_CODES
from toysafe.core.program.queue import QUEUE_STATES, QUEUES
from toysafe.io.errors import InputError
from toysafe.io.program import policy_from_data
from toysafe.render import charts
from toysafe.render import review as words
from toysafe.store import models as m
from toysafe.store.accounts import Principal
from toysafe.store.memo import TTLCache
from toysafe.store.program import policies, review
from toysafe.store.program.casework import Casework, NotFound
from toysafe.web.deps import Db
from toysafe.web.pages.common import _check_csrf, _flash, _today, _who, page, render
from toysafe.web.program_api import _visible_request, visible_sellers

router = APIRouter(include_in_schema=False)
MARKETPLACE = ("reviewer", "admin")
PER_PAGE = 25
BACKLOG_DAYS = 30
APPROVE_CODES = ("evidence_complete",)
# Decision and reason code in one choice, so that a decision can never go without its code.
DECISION_CHOICES = {
    "approve": list(APPROVE_CODES),
    "revise": sorted(REVISE_CODES),
    "reject": sorted(REJECT_CODES),
}
MAX_POLICY_BYTES = 256 * 1024
# Charts are images: nothing in them runs; matplotlib's SVG styles its shapes inline.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"
# Drawing a chart costs more than the queries behind it: each one is kept a minute per
# workspace, viewer's reach and day (the page's numbers are always fresh).
_CHARTS: TTLCache[tuple[Any, ...], str] = TTLCache(max_size=64, ttl=60.0)


def _marketplace(request: Request) -> Principal:
    who = _who(request)
    if who.role not in MARKETPLACE:
        raise HTTPException(403, "the reviewer console is for the marketplace's reviewers")
    return who


def _choice(value: str | None, allowed: Any) -> str | None:
    value = (value or "").strip()
    return value if value in allowed else None


@router.get("/review", response_class=HTMLResponse)
@page
def queue_page(
    request: Request,
    db: Db,
    state: str | None = None,
    trigger: str | None = None,
    seller: str | None = None,
    queue: str | None = None,
    claimed: str | None = None,
    q: str | None = None,
    p: int = 1,
) -> Response:
    who = _marketplace(request)
    filt = review.QueueFilter(
        _choice(state, QUEUE_STATES),
        _choice(trigger, [k.value for k in TriggerKind]),
        (seller or "").strip() or None,
        _choice(queue, QUEUES),
        (q or "").strip()[:100] or None,
        _choice(claimed, ("me", "unclaimed", "claimed")),
    )
    today = _today()
    if policies.current(db) is None:
        raise HTTPException(409, "no policy is loaded yet: the program has no queue")
    got = review.queue_page(
        db, today, visible_sellers(db, who), filt, who.email, max(1, min(p, 100000)), PER_PAGE
    )
    params = {
        k: v
        for k, v in {
            "state": filt.state,
            "trigger": filt.trigger,
            "seller": filt.seller,
            "queue": filt.queue,
            "claimed": filt.claimed,
            "q": filt.text,
        }.items()
        if v
    }
    return render(
        request,
        "review_queue.html",
        {
            "page": got,
            "filt": filt,
            "words": words,
            "today": today,
            "states": QUEUE_STATES,
            "triggers": [k.value for k in TriggerKind],
            "queues": QUEUES,
            "query": urlencode(params),
            "page_url": lambda n: "/review?" + urlencode({**params, "p": n}),
        },
    )


def _svg(text: str) -> Response:
    return Response(
        text,
        media_type="image/svg+xml",
        headers={"Cache-Control": "private, max-age=60", "Content-Security-Policy": SVG_CSP},
    )


def _chart_key(request: Request, who: Principal, name: str) -> tuple[Any, ...]:
    reach = who.org_id if who.role == "reviewer" else "all"
    return (id(request.app.state.store), name, reach, _today())


@router.get("/review/charts/backlog.svg")
@page
def backlog_chart(request: Request, db: Db) -> Response:
    who = _marketplace(request)
    key = _chart_key(request, who, "backlog")
    svg = _CHARTS.get(key)
    if svg is None:
        today = _today()
        points = review.backlog(
            db, visible_sellers(db, who), today - timedelta(days=BACKLOG_DAYS - 1), today
        )
        svg = _CHARTS[key] = charts.backlog_chart(
            [x.day for x in points],
            [x.waiting for x in points],
            [x.breaching for x in points],
            f"Requests waiting for a reviewer, last {BACKLOG_DAYS} days",
        )
    return _svg(svg)


@router.get("/review/charts/triggers.svg")
@page
def trigger_chart(request: Request, db: Db) -> Response:
    who = _marketplace(request)
    key = _chart_key(request, who, "triggers")
    svg = _CHARTS.get(key)
    if svg is None:
        counts = review.trigger_counts(db, visible_sellers(db, who))
        svg = _CHARTS[key] = charts.trigger_chart(
            counts, words.TRIGGERS, "Requests in the queue by trigger"
        )
    return _svg(svg)


# --- one request --------------------------------------------------------------------------------


def _request_page(
    request: Request, db: Db, who: Principal, ref: str, status: int = 200,
    errors: list[str] | None = None,
) -> Response:  # fmt: skip
    req = _visible_request(db, who, ref)
    today = _today()
    ev = review.evidence(db, req.id, today)
    state = review.review_state(db, req.id)
    seller = db.scalar(select(m.Organization.slug).where(m.Organization.id == req.seller_org_id))
    from toysafe.store.program import views

    health = views.health(db, str(seller), today, marketplace=True)
    timeline = sorted(
        [{"on": h["on"], "what": h["event"].replace("_", " "), "actor": h["actor"],
          "detail": (h["to"] or "")} for h in ev["request"]["history"]]
        + [{"on": x["on"], "what": words.ACTIONS.get(x["action"], x["action"]),
            "actor": x["actor"], "detail": x["reason"] or ""} for x in state["log"]]
        + [{"on": n["on"], "what": "internal note", "actor": n["actor"], "detail": ""}
           for n in state["notes"]],
        key=lambda e: e["on"],
    )  # fmt: skip
    return render(
        request,
        "review_request.html",
        {
            "ev": ev,
            "doc": ev["request"],
            "state": state,
            "health": health,
            "timeline": timeline,
            "words": words,
            "choices": DECISION_CHOICES,
            "awaiting": ev["request"]["state"] in QUEUE_STATES,
            "mine": state["claimed_by"] == who.email,
            "errors": errors or [],
            "marks": {k: set(v) for k, v in ev["marks"].items()},
        },
        status,
    )


@router.get("/review/requests/{ref}", response_class=HTMLResponse)
@page
def request_page(request: Request, ref: str, db: Db) -> Response:
    who = _marketplace(request)
    return _request_page(request, db, who, ref)


def _back(ref: str) -> Response:
    return RedirectResponse(f"/review/requests/{ref}", status_code=303)


def _act(
    request: Request, db: Db, ref: str, csrf: str, fn: Callable[[review.Desk], object], done: str
) -> Response:
    """Run one desk action, flash ``done``, and return to the request (errors: the page again
    with the message, and the status the API would give)."""
    who = _marketplace(request)
    _check_csrf(request, csrf)
    _visible_request(db, who, ref)
    try:
        fn(review.Desk(request.app.state.store, who.email, who.role == "admin"))
    except Refusal as e:
        return _request_page(request, db, who, ref, 409, [e.message])
    except NotFound as e:
        raise HTTPException(404, str(e)) from None
    except InputError as e:
        return _request_page(request, db, who, ref, 422, [str(e)])
    _flash(request, done)
    return _back(ref)


@router.post("/review/requests/{ref}/claim", response_class=HTMLResponse)
@page
def claim(request: Request, ref: str, db: Db, csrf: Annotated[str, Form()] = "") -> Response:
    return _act(request, db, ref, csrf, lambda d: d.claim(ref, _today()), f"You claimed {ref}.")


@router.post("/review/requests/{ref}/release", response_class=HTMLResponse)
@page
def release(request: Request, ref: str, db: Db, csrf: Annotated[str, Form()] = "") -> Response:
    return _act(
        request, db, ref, csrf, lambda d: d.release(ref, _today()), f"{ref} is back in its queue."
    )


@router.post("/review/requests/{ref}/escalate", response_class=HTMLResponse)
@page
def escalate(
    request: Request,
    ref: str,
    db: Db,
    csrf: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    return _act(
        request,
        db,
        ref,
        csrf,
        lambda d: d.escalate(ref, reason, _today()),
        f"{ref} went to the senior queue.",
    )


@router.post("/review/requests/{ref}/notes", response_class=HTMLResponse)
@page
def note(
    request: Request,
    ref: str,
    db: Db,
    csrf: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
) -> Response:
    return _act(
        request,
        db,
        ref,
        csrf,
        lambda d: d.note(ref, body, _today()),
        "Note added (internal: the seller never sees it).",
    )


@router.post("/review/requests/{ref}/decision", response_class=HTMLResponse)
@page
def decide(
    request: Request,
    ref: str,
    db: Db,
    csrf: Annotated[str, Form()] = "",
    decision: Annotated[str, Form()] = "",
) -> Response:
    """``decision`` is ``approve:evidence_complete``, ``revise:model_mismatch``...: refused
    (422, naming the field) without a reason code of that decision (P8)."""
    who = _marketplace(request)
    _check_csrf(request, csrf)
    _visible_request(db, who, ref)
    kind, _, reason = decision.partition(":")
    if kind not in DECISION_CHOICES or reason not in DECISION_CHOICES[kind]:
        return _request_page(
            request, db, who, ref, 422,
            ["decision: choose a decision with its reason code"],
        )  # fmt: skip
    cw = Casework(request.app.state.store, request.app.state.workspace, who.email)
    try:
        out = cw.decide(ref, kind, reason, _today())
    except Refusal as e:
        return _request_page(request, db, who, ref, 409, [e.message])
    except NotFound as e:
        raise HTTPException(404, str(e)) from None
    except InputError as e:
        return _request_page(request, db, who, ref, 422, [str(e)])
    _flash(
        request,
        f"{ref}: {words.DECISIONS[kind].lower()} ({reason}); "
        f"the request is now {str(out.get('state', 'decided')).replace('_', ' ')}.",
    )
    return RedirectResponse("/review", status_code=303)


# --- the marketplace admin console ----------------------------------------------------------------


@router.get("/admin/policies", response_class=HTMLResponse)
@page
def policies_page(request: Request, db: Db, a: int | None = None, b: int | None = None) -> Response:
    who = _marketplace(request)
    versions = review.policy_versions(db)
    changes = None
    if versions and (a is not None or b is not None):
        newest = versions[0]["version"]
        a = a if a is not None else max(1, newest - 1)
        b = b if b is not None else newest
        changes = review.policy_diff(db, a, b)
    elif len(versions) >= 2:
        a, b = versions[1]["version"], versions[0]["version"]
        changes = review.policy_diff(db, a, b)
    return render(
        request,
        "admin_policies.html",
        {
            "versions": versions,
            "a": a,
            "b": b,
            "changes": changes,
            "words": words,
            "may_run": who.role == "admin",
            "result": None,
            "errors": [],
        },
    )


@router.post("/admin/policies/dry-run", response_class=HTMLResponse)
@page
def dry_run(
    request: Request,
    db: Db,
    csrf: Annotated[str, Form()] = "",
    policy: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """What a candidate policy (YAML) would do today: the sweep's dry run, nothing stored."""
    who = _marketplace(request)
    _check_csrf(request, csrf)
    if who.role != "admin":
        raise HTTPException(403, "only the marketplace's admin tries candidate policies")
    versions = review.policy_versions(db)
    numbers = [v["version"] for v in versions]
    ctx: dict[str, Any] = {
        "versions": versions, "a": numbers[1] if len(numbers) > 1 else None,
        "b": numbers[0] if numbers else None, "changes": None, "words": words,
        "may_run": True, "result": None, "errors": [],
    }  # fmt: skip
    raw = policy.file.read(MAX_POLICY_BYTES + 1) if policy is not None else b""
    if not raw:
        ctx["errors"] = ["policy: choose a YAML file (toysafe/policy@1)"]
    elif len(raw) > MAX_POLICY_BYTES:
        ctx["errors"] = [f"policy: at most {MAX_POLICY_BYTES // 1024} KiB"]
    else:
        try:
            candidate = policy_from_data(yaml.safe_load(raw.decode("utf-8")), "policy")
            ctx["result"] = review.dry_run(request.app.state.store, candidate, _today(), who.email)
            ctx["filename"] = policy.filename if policy else None
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            ctx["errors"] = [f"policy: not YAML ({type(e).__name__})"]
        except InputError as e:
            ctx["errors"] = str(e).splitlines()
    return render(request, "admin_policies.html", ctx, 422 if ctx["errors"] else 200)
