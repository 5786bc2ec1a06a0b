"""The per-process memos behind the web requests (issue 14, serving throughput) never serve a
stale answer: what one worker (or another process, or a restore) writes is in the next answer of
another, because every memo is keyed by the content the request has just read. Two app
instances over one database stand for ``serve --workers 2``; a cold answer (memos cleared) is
the reference. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.store_fixtures import DB
from tests.test_api import AS_OF, CHEM_FILE, EX, STACKER, STACKER_FILE, chem, mech, ok, token_of
from toysafe.store import memo
from toysafe.store import models as m
from toysafe.store.db import Store, open_store
from toysafe.store.repos.reports import report_digest
from toysafe.web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

VERIFY = f"/api/v1/products/{STACKER}/verification"


@dataclass
class Workers:
    a: TestClient
    b: TestClient
    headers: dict[str, str]
    store: Store

    def verification(self, client: TestClient) -> dict[str, Any]:
        r = client.get(VERIFY, params={"as_of": AS_OF}, headers=self.headers)
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        return data

    def cold(self) -> dict[str, Any]:
        for each in memo.every():
            each.clear()
        return self.verification(self.b)


@pytest.fixture
def workers(ws_env: DB) -> Iterator[Workers]:
    ok("init", "--party", str(EX / "party.yaml"))
    ok("labs", "import", str(EX / "labs.csv"), "--as-of", AS_OF)
    ok("product", "add", str(STACKER_FILE), "--as-of", AS_OF)
    token = token_of("seller@maplemoss.example", "--org", "default", "--role", "seller")
    home = Path(os.environ["TOYSAFE_HOME"])
    stores = [open_store(), open_store()]
    clients = [TestClient(create_app(s, home, secure_cookies=False)) for s in stores]
    yield Workers(clients[0], clients[1], {"Authorization": f"Bearer {token}"}, stores[0])
    for s in stores:
        s.engine.dispose()


def used(verification: dict[str, Any]) -> set[str]:
    return {r["report_no"] for r in verification["reports"] if r.get("used", True)}


def test_a_report_stored_by_one_worker_is_in_the_next_answer_of_the_other(
    workers: Workers,
) -> None:
    before = workers.verification(workers.b)  # b's memos now hold the answer without it
    assert workers.verification(workers.b) == before
    r = workers.a.post(
        "/api/v1/reports", json=chem(), params={"as_of": AS_OF}, headers=workers.headers
    )
    assert r.status_code == 201, r.text
    after = workers.verification(workers.b)
    assert chem()["report_no"] in {x["report_no"] for x in after["reports"]}
    assert after != before
    # The upload's own answer (computed in its transaction) is the one a fresh read gives.
    assert r.json()["verification"][STACKER] == after
    assert after == workers.cold()


def test_a_withdrawal_by_one_worker_takes_the_report_out_of_the_other_s_answer(
    workers: Workers,
) -> None:
    for doc in (chem(), mech()):
        r = workers.a.post(
            "/api/v1/reports", json=doc, params={"as_of": AS_OF}, headers=workers.headers
        )
        assert r.status_code == 201, r.text
    with_both = workers.verification(workers.b)
    assert chem()["report_no"] in {x["report_no"] for x in with_both["reports"]}
    no = chem()["report_no"]
    r = workers.a.post(
        f"/api/v1/reports/{no}/withdrawal",
        json={"reason": "lab recalled it"},
        headers=workers.headers,
    )
    assert r.status_code == 201, r.text
    after = workers.verification(workers.b)
    assert no not in {x["report_no"] for x in after["reports"]}
    assert after == workers.cold()


def test_a_lab_registry_change_outside_the_app_is_seen(workers: Workers) -> None:
    workers.a.post("/api/v1/reports", json=chem(), params={"as_of": AS_OF}, headers=workers.headers)
    before = workers.verification(workers.b)
    with workers.store.transaction() as s:  # another process withdraws the lab's acceptance
        s.execute(update(m.Lab).where(m.Lab.cpsc_id == "1234").values(status="withdrawn"))
    after = workers.verification(workers.b)
    assert after != before
    assert after == workers.cold()


def test_a_document_changed_under_the_same_id_is_read_again(workers: Workers) -> None:
    """A restore (or any other writer) may put other content under a report id the memo has
    seen: the key holds the stored digest, so the new content is parsed."""
    r = workers.a.post(
        "/api/v1/reports", json=chem(), params={"as_of": AS_OF}, headers=workers.headers
    )
    assert r.status_code == 201, r.text
    before = workers.verification(workers.b)
    with workers.store.transaction() as s:
        report = s.scalar(select(m.Report).where(m.Report.report_no == chem()["report_no"]))
        assert report is not None
        doc = dict(report.document)
        doc["results"] = [{**x, "value": 900} for x in doc["results"]]  # lead far over limits
        s.execute(
            update(m.Report)
            .where(m.Report.id == report.id)
            .values(document=doc, digest=report_digest(doc))
        )
    after = workers.verification(workers.b)
    assert after != before
    assert after == workers.cold()


def test_an_answer_is_never_changed_by_what_a_caller_does_with_it(workers: Workers) -> None:
    from datetime import date

    from toysafe.store.workspace import Workspace

    ws = Workspace(workers.store, "default")
    first = ws.evidence(STACKER, date.fromisoformat(AS_OF))[2]
    expected = first.to_dict()
    first.found.clear()
    first.requirements.clear()
    again = ws.evidence(STACKER, date.fromisoformat(AS_OF))[2]
    assert again.to_dict() == expected


def test_the_memos_are_bounded() -> None:
    small: memo.Memo[int] = memo.Memo(3)
    for i in range(10):
        assert small.get(i, lambda i=i: i * i) == i * i
    assert len(small) == 3
    assert small.get(9, lambda: -1) == 81  # still there
    assert small.get(0, lambda: -1) == -1  # fell out, computed again


assert CHEM_FILE.exists()
