"""The reviewer queue's REST API on SQLite and PostgreSQL: its authorization matrix (every new
route x every role x the caller's own and another organization's request: 401, 403, 404 as
contract 8.6, and nothing written by a refused call), the queue's JSON, refusals (409), bad
input (422 naming the field), and internal notes that never reach a seller."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from tests.test_program_api import AS_OF, Api
from tests.test_program_api import api as _api_fixture  # noqa: F401 - a fixture, used by name
from toysafe.core.program.model import parse_request_ref
from toysafe.store.program import models as pm
from toysafe.store.program import review
from toysafe.store.program import review_models as rm

EMAILS = {
    "reviewer": "review@market.example",
    "outsider": "review@other.example",
    "admin": "admin@toysafe.example",
}
NOTE = "Internal: lab confirmed by phone, report genuine."


@pytest.fixture
def api(_api_fixture: Api) -> Api:  # noqa: F811 - the fixture imported above
    """tests/test_program_api.py's workspace with both requests (default's, rival's) waiting
    for a reviewer."""
    with _api_fixture.store.transaction() as s:
        s.execute(update(pm.Request).values(state="in_review"))
    return _api_fixture


def _log_rows(api: Api) -> tuple[int, int, int]:
    with api.store.reader() as s:
        return (
            s.scalar(select(func.count()).select_from(rm.ReviewLog)) or 0,
            s.scalar(select(func.count()).select_from(rm.ReviewNote)) or 0,
            s.scalar(select(func.count()).select_from(pm.ProgramEvent)) or 0,
        )


def _reset(api: Api) -> None:
    """Back to no claim and the standard queue (the log stays: it is append-only)."""
    with api.store.transaction() as s:
        s.execute(delete(rm.ReviewAssignment))


def _claim_as(role: str) -> Callable[[Api, str], None]:
    def prepare(api: Api, ref: str) -> None:
        if role in EMAILS:
            review.Desk(api.store, EMAILS[role]).claim(ref, date(2026, 11, 21))

    return prepare


ROUTES: list[tuple[str, str, dict[str, Any] | None, int]] = [
    ("get", "/requests/{ref}/review", None, 200),
    ("post", "/requests/{ref}/claim", None, 200),
    ("post", "/requests/{ref}/release", None, 200),
    ("post", "/requests/{ref}/escalate", {"reason": "needs a chemist"}, 200),
    ("post", "/requests/{ref}/notes", {"body": NOTE}, 201),
]
# role -> (status on default's request, status on rival's request); a role that may not act
# is 403, a request out of reach 404 (its existence is not disclosed).
EXPECTED = {
    None: (401, 401),
    "seller": (403, 404),
    "rival": (404, 403),
    "lab": (403, 403),
    "outsider": (404, 404),
    "reviewer": ("ok", "ok"),
    "admin": ("ok", "ok"),
}


def test_the_authorization_matrix_of_the_review_routes(api: Api) -> None:
    failures = []
    for role, (on_mine, on_theirs) in EXPECTED.items():
        for target, expected in ((api.mine, on_mine), (api.theirs, on_theirs)):
            for method, path, body, ok_status in ROUTES:
                _reset(api)
                if path.endswith("/release"):
                    _claim_as(role or "")(api, target)
                before = _log_rows(api)
                kw: dict[str, Any] = {"params": {"as_of": AS_OF}}
                if body is not None:
                    kw["json"] = body
                r = getattr(api, method)(role, path.format(ref=target), **kw)
                want = ok_status if expected == "ok" else expected
                if r.status_code != want:
                    failures.append(f"{role} {method} {path} on {target}: {r.status_code}")
                if expected != "ok" and not path.endswith("/release"):
                    assert _log_rows(api) == before, f"{role} {path} wrote on {r.status_code}"
    assert not failures, failures


@pytest.mark.parametrize(
    ("role", "status"),
    [(None, 401), ("seller", 403), ("lab", 403), ("reviewer", 200), ("admin", 200)],
)
def test_the_queue_route_by_role(api: Api, role: str | None, status: int) -> None:
    r = api.get(role, "/queue", params={"as_of": AS_OF})
    assert r.status_code == status, r.text
    if status == 200:
        assert {i["request"] for i in r.json()["items"]} == {api.mine, api.theirs}


def test_an_outsider_reviewer_sees_an_empty_queue(api: Api) -> None:
    r = api.get("outsider", "/queue", params={"as_of": AS_OF})
    assert r.status_code == 200 and r.json()["items"] == [] and r.json()["total"] == 0


def test_the_queue_document(api: Api) -> None:
    out = api.get("reviewer", "/queue", params={"as_of": AS_OF, "seller": "rival"}).json()
    assert out["format"] == "toysafe/review-queue@1"
    assert out["queues"]["standard"]["size"] == 2
    assert [i["request"] for i in out["items"]] == [api.theirs]
    item = out["items"][0]
    assert item["listing_id"] == "B0RIVAL001" and item["risk"]["priority"] == "routine"
    assert item["risk"]["factors"] == [
        {"code": "under_36_months", "points": 3, "facts": {"min_age_months": 12}}
    ]
    assert api.get("reviewer", "/queue", params={"trigger": "bogus"}).status_code == 422
    assert api.get("reviewer", "/queue", params={"per_page": 0}).status_code == 422
    assert api.get("reviewer", "/queue", params={"q": api.mine}).json()["total"] == 1


def test_claims_conflict_and_bad_input_is_named(api: Api) -> None:
    assert api.post("reviewer", f"/requests/{api.mine}/claim").status_code == 200
    r = api.post("admin", f"/requests/{api.mine}/claim")
    assert r.status_code == 409 and r.json()["detail"]["refused"] == "claimed_by_other"
    r = api.post("reviewer", f"/requests/{api.mine}/escalate", json={})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "reason"]
    r = api.post("reviewer", f"/requests/{api.mine}/escalate", json={"reason": "   "})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "reason"]
    r = api.post("reviewer", f"/requests/{api.mine}/notes", json={"body": ""})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "body"]
    r = api.post("reviewer", f"/requests/{api.mine}/notes", json={"body": "x", "extra": 1})
    assert r.status_code == 422
    assert api.post("reviewer", "/requests/REQ-999999/claim").status_code == 404
    assert api.post("reviewer", "/requests/garbage/claim").status_code == 404
    with api.store.transaction() as s:
        s.execute(
            update(pm.Request)
            .where(pm.Request.id == parse_request_ref(api.theirs))
            .values(state="approved")
        )
    r = api.post("reviewer", f"/requests/{api.theirs}/claim")
    assert r.status_code == 409 and r.json()["detail"]["refused"] == "not_awaiting_review"


def test_notes_never_reach_the_seller(api: Api) -> None:
    assert api.post("reviewer", f"/requests/{api.mine}/claim").status_code == 200
    r = api.post("reviewer", f"/requests/{api.mine}/notes", json={"body": NOTE})
    assert r.status_code == 201 and r.json()["actor"] == EMAILS["reviewer"]
    state = api.get("reviewer", f"/requests/{api.mine}/review").json()
    assert [n["body"] for n in state["notes"]] == [NOTE]
    assert state["claimed_by"] == EMAILS["reviewer"] and state["claimed_at"]
    for path in ("/requests", f"/requests/{api.mine}", "/listings/B0CW00DST7", "/health"):
        text = api.get("seller", path, params={"as_of": AS_OF}).text
        assert "lab confirmed" not in text and EMAILS["reviewer"] not in text, path
    assert api.get("seller", f"/requests/{api.mine}/review").status_code == 403
