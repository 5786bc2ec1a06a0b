"""The seller's program console through the TestClient, on SQLite and PostgreSQL: its own
organization only (another's request is 404), never the trusted tier, a multipart submission
(the API's and the web form's) with the same outcome as the JSON one, form errors that name the
field, appeals, and the account-health chart."""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import update
from typer.testing import CliRunner

from tests.program_seed import EX, open_request, seed_listing, seed_policy
from tests.store_fixtures import DB
from toysafe.cli.app import app as cli
from toysafe.core.program.health import PastViolation, counts_on, score_on, stops_counting
from toysafe.store.db import Store, open_store
from toysafe.store.program import models as pm
from toysafe.store.program import views
from toysafe.web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

STACKER = EX / "products" / "painted-wooden-stacker.yaml"
CHEM = EX / "reports" / "stacker-chemistry-pass.json"
MECH = EX / "reports" / "stacker-mechanical-pass.csv"
AS_OF = "2026-11-21"
PASSWORD = "correct-horse-battery"
SELLER, RIVAL, REVIEWER = "seller@maplemoss.example", "seller@rival.example", "r@market.example"
runner = CliRunner()


def ok(*args: Any, stdin: str | None = None) -> str:
    result = runner.invoke(cli, [str(a) for a in args], input=stdin)
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no csrf field on the page"
    return found[1]


@dataclass
class Site:
    app: Any
    store: Store
    cert: bytes
    token: str  # the seller's API token
    mine: list[str]  # three open requests of the seller, on identical listings
    theirs: str

    def client(self, email: str) -> TestClient:
        c = TestClient(self.app)
        token = csrf_of(c.get("/login").text)
        r = c.post(
            "/login",
            data={"email": email, "password": PASSWORD, "csrf": token},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        return c

    def files(self, reports: list[Path]) -> list[tuple[str, tuple[str, bytes, str]]]:
        out = [
            ("profile", ("stacker.yaml", STACKER.read_bytes(), "application/yaml")),
            ("certificate", ("MM-STK-07.cpc.json", self.cert, "application/json")),
        ]
        out += [("reports", (p.name, p.read_bytes(), "text/plain")) for p in reports]
        return out


@pytest.fixture
def site(ws_env: DB, tmp_path: Path) -> Iterator[Site]:
    ok("init", "--party", EX / "party.yaml")
    ok("labs", "import", EX / "labs.csv", "--as-of", AS_OF)
    out = tmp_path / "cert"
    ok(
        "certify", STACKER, "--reports", CHEM, MECH, "--labs", EX / "labs.csv",
        "--party", EX / "party.yaml", "--as-of", AS_OF, "--out", out,
    )  # fmt: skip
    for email, org, role in (
        (SELLER, "default", "seller"),
        (RIVAL, "rival", "seller"),
        (REVIEWER, "demo-market", "reviewer"),
    ):
        ok("users", "add", email, "--org", org, "--role", role, "--password-stdin",
           stdin=PASSWORD + "\n")  # fmt: skip
    token = (
        ok("users", "add", "api@maplemoss.example", "--org", "default", "--role", "seller",
           "--token").strip().splitlines()[-1]
    )  # fmt: skip
    ok("enroll", "default", "--reviewer", "demo-market")
    ok("enroll", "rival", "--reviewer", "demo-market")
    store = open_store()
    seed_policy(store)
    mine = [
        open_request(store, seed_listing(store, lid))
        for lid in ("B0CW00DST7", "B0CW00DST8", "B0CW00DST9")
    ]
    theirs = open_request(store, seed_listing(store, "B0RIVAL001", "rival", model="RV-1"))
    app = create_app(store, Path(os.environ["TOYSAFE_HOME"]), secure_cookies=False)
    cert = (out / "MM-STK-07.cpc.json").read_bytes()
    with TestClient(app):
        yield Site(app, store, cert, token, mine, theirs)
    store.engine.dispose()


def test_the_console_shows_health_and_the_open_requests_with_their_countdown(site: Site) -> None:
    c = site.client(SELLER)
    r = c.get("/program", params={"as_of": AS_OF})
    assert r.status_code == 200, r.text
    html = r.text
    assert all(ref in html for ref in site.mine) and site.theirs not in html
    # opened 2026-11-01, due 2026-11-15: six days late on 2026-11-21
    assert "overdue by 6 days" in html
    assert "Submit the product profile, the signed Children" in html
    assert 'href="/program"' in c.get("/").text  # the navigation links the console
    early = c.get("/program", params={"as_of": "2026-11-10"}).text
    assert "5 days left" in early and "overdue" not in early


def test_another_organizations_request_is_404_and_other_roles_403(site: Site) -> None:
    c = site.client(SELLER)
    assert c.get(f"/program/requests/{site.theirs}").status_code == 404
    assert c.get("/program/requests/REQ-999999").status_code == 404
    assert c.get("/program/requests/garbage").status_code == 404
    token = csrf_of(c.get("/program").text)
    post = c.post(f"/program/requests/{site.theirs}/submission", data={"csrf": token},
                  files=site.files([CHEM]))  # fmt: skip
    assert post.status_code == 404
    rival = site.client(RIVAL)
    assert rival.get(f"/program/requests/{site.mine[0]}").status_code == 404
    reviewer = site.client(REVIEWER)
    assert reviewer.get("/program").status_code == 403
    assert reviewer.get("/program/health.svg").status_code == 403
    assert 'href="/program"' not in reviewer.get("/").text


def test_the_seller_never_sees_the_trusted_tier(site: Site) -> None:
    with site.store.transaction() as s:  # the account is trusted and has a violation
        s.add(pm.AccountRow(seller_org_id=_org(site, "default"), since=date(2024, 1, 1),
                            score=1000, band="healthy", state="active", trusted=True,
                            computed_on=date(2026, 11, 1), policy_version=1))  # fmt: skip
    c = site.client(SELLER)
    token = csrf_of(c.get("/program").text)
    for path in ("/program", f"/program/requests/{site.mine[0]}", "/program/health.svg"):
        body = c.get(path, params={"as_of": AS_OF}).text.lower()
        assert "trusted" not in body and "min_approved" not in body, path
    c.post(f"/program/requests/{site.mine[0]}/submission",
           data={"csrf": token, "as_of": AS_OF}, files=site.files([CHEM]))  # fmt: skip
    assert "trusted" not in c.get(f"/program/requests/{site.mine[0]}").text.lower()


def _org(site: Site, slug: str) -> int:
    from sqlalchemy import select

    from toysafe.store import models as m

    with site.store.reader() as s:
        return int(s.scalar(select(m.Organization.id).where(m.Organization.slug == slug)))


def _outcome(out: dict[str, Any]) -> tuple[str, list[tuple[str, Any, Any]]]:
    return out["state"], sorted(
        (f["code"], f["requirement"], json.dumps(f["facts"], sort_keys=True))
        for f in out["pre_check"]["findings"]
    )


@pytest.mark.parametrize("reports", [[CHEM], [CHEM, MECH]], ids=["findings", "clean"])
def test_multipart_and_the_form_give_the_json_outcome(site: Site, reports: list[Path]) -> None:
    from toysafe.io.reports import read_report_file

    auth = {"Authorization": f"Bearer {site.token}"}
    api = TestClient(site.app)
    body = {
        "profile": yaml.safe_load(STACKER.read_text()),
        "certificate": json.loads(site.cert),
        "reports": [
            r.model_dump(mode="json", by_alias=True, exclude_none=True)
            for p in reports
            for _, r in read_report_file(p)
        ],
    }
    path = "/api/v1/program/requests/{}/submission"
    as_json = api.post(path.format(site.mine[0]), json=body, headers=auth,
                       params={"as_of": AS_OF})  # fmt: skip
    assert as_json.status_code == 200, as_json.text
    multipart = api.post(path.format(site.mine[1]), files=site.files(reports), headers=auth,
                         params={"as_of": AS_OF})  # fmt: skip
    assert multipart.status_code == 200, multipart.text
    assert _outcome(multipart.json()) == _outcome(as_json.json())

    c = site.client(SELLER)
    token = csrf_of(c.get("/program").text)
    form = c.post(f"/program/requests/{site.mine[2]}/submission",
                  data={"csrf": token, "as_of": AS_OF}, files=site.files(reports),
                  follow_redirects=False)  # fmt: skip
    assert form.status_code == 303, form.text
    page = c.get(form.headers["location"]).text
    with site.store.reader() as s:
        (doc,) = views.requests(s, date.fromisoformat(AS_OF), ids=[int(site.mine[2][4:])])
    state = as_json.json()["state"]
    assert doc["state"] == state
    if state == "revision_requested":
        assert {f["code"] for f in doc["findings"]} == {f[0] for f in _outcome(as_json.json())[1]}
        assert "Findings to answer" in page and "How to answer:" in page
        assert "Submit corrected documents" in page
    else:
        assert "Approved: the documents prove the listing compliant." in page
        assert "Active" in page


def test_form_errors_name_the_field_and_store_nothing(site: Site) -> None:
    c = site.client(SELLER)
    ref = site.mine[0]
    token = csrf_of(c.get(f"/program/requests/{ref}").text)
    no_cert = [f for f in site.files([CHEM]) if f[0] != "certificate"]
    r = c.post(f"/program/requests/{ref}/submission", data={"csrf": token}, files=no_cert)
    assert r.status_code == 422
    assert 'href="#certificate"' in r.text and 'id="certificate-error"' in r.text
    bad = site.files([CHEM])
    bad[0] = ("profile", ("p.yaml", b"- just\n- a list\n", "application/yaml"))
    r = c.post(f"/program/requests/{ref}/submission", data={"csrf": token}, files=bad)
    assert r.status_code == 422 and 'id="profile-error"' in r.text
    broken = site.files([CHEM])
    broken[2] = ("reports", ("r.json", b'{"report_no": "X"}', "application/json"))
    r = c.post(f"/program/requests/{ref}/submission", data={"csrf": token}, files=broken)
    assert r.status_code == 422 and 'id="reports-error"' in r.text
    forged = c.post(f"/program/requests/{ref}/submission", data={"csrf": "nope"},
                    files=site.files([CHEM]))  # fmt: skip
    assert forged.status_code == 403
    with site.store.reader() as s:
        (doc,) = views.requests(s, date.fromisoformat(AS_OF), ids=[int(ref[4:])])
    assert doc["state"] == "open" and not doc["findings"]
    api = TestClient(site.app)
    r = api.post(f"/api/v1/program/requests/{ref}/submission",
                 files=[f for f in site.files([]) if f[0] != "reports"],
                 headers={"Authorization": f"Bearer {site.token}"})  # fmt: skip
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "reports"]


def test_an_appeal_with_its_plan_of_action(site: Site) -> None:
    c = site.client(SELLER)
    ref = site.mine[0]
    page = c.get(f"/program/requests/{ref}", params={"as_of": "2026-11-05"}).text
    assert "you may appeal until <strong>2027-04-30</strong>" in page
    token = csrf_of(page)
    data = {
        "csrf": token,
        "as_of": "2026-11-05",
        "claim": "not_applicable",
        "root_cause": "an adult collectible",
        "fix": "",
        "prevention": "catalog review",
    }
    r = c.post(f"/program/requests/{ref}/appeal", data=data)
    assert r.status_code == 422 and 'id="fix-error"' in r.text
    assert "catalog review" in r.text  # what was typed comes back
    r = c.post(f"/program/requests/{ref}/appeal", data={**data, "claim": ""})
    assert r.status_code == 422 and 'id="claim-error"' in r.text
    r = c.post(f"/program/requests/{ref}/appeal", data={**data, "fix": "category corrected"},
               files=[("evidence", ("manual.txt", b"for adults", "text/plain"))],
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text
    after = c.get(r.headers["location"]).text
    assert "Appeal APL-000001 filed" in after
    assert "An appeal of this request is already with a reviewer." in after


def test_the_health_chart_and_the_score_history(site: Site) -> None:
    with site.store.transaction() as s:
        s.execute(update(pm.Request).where(pm.Request.id == int(site.mine[0][4:]))
                  .values(state="rejected"))  # fmt: skip
        s.add(pm.ViolationRow(seller_org_id=_org(site, "default"), listing_pk=None,
                              request_id=int(site.mine[0][4:]), kind="failed_test",
                              severity="high", opened=date(2026, 9, 1), resolved=None,
                              policy_version=1))  # fmt: skip
    c = site.client(SELLER)
    html = c.get("/program", params={"as_of": AS_OF}).text
    assert '<span class="score-value">700</span>' in html
    assert "2027-02-28" in html  # opened 2026-09-01 + 180 days: when it stops counting
    assert "It stops counting on 2027-02-28" in html
    r = c.get("/program/health.svg", params={"as_of": AS_OF})
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert "script-src" not in r.headers["content-security-policy"]
    assert r.content.startswith(b"<?xml") and b"<script" not in r.content
    assert b"700 at the end" in r.content
    assert "2026-09-01: 700" in html  # the text alternative lists the change


def test_the_score_at_past_dates_is_the_read_models(site: Site) -> None:
    """The chart's pure score function against the read model on every day around the edges."""
    seller = _org(site, "default")
    with site.store.transaction() as s:
        for opened, resolved, severity in (
            (date(2026, 3, 1), None, "medium"),
            (date(2026, 5, 1), date(2026, 6, 1), "high"),
            (date(2026, 8, 10), None, "low"),
        ):
            s.add(pm.ViolationRow(seller_org_id=seller, listing_pk=None, request_id=None,
                                  kind="missing_documents", severity=severity, opened=opened,
                                  resolved=resolved, policy_version=1))  # fmt: skip
    points = {"medium": 100, "high": 300, "low": 25}
    past = [
        PastViolation(date(2026, 3, 1), None, points["medium"]),
        PastViolation(date(2026, 5, 1), date(2026, 6, 1), points["high"]),
        PastViolation(date(2026, 8, 10), None, points["low"]),
    ]
    assert stops_counting(past[0], 180) == date(2026, 8, 28)
    assert not counts_on(past[0], date(2026, 8, 28), 180) and counts_on(
        past[0], date(2026, 8, 27), 180
    )
    edges = [date(2026, 3, 1), date(2026, 5, 1), date(2026, 6, 1), date(2026, 8, 10),
             date(2026, 8, 28), date(2026, 10, 28), date(2027, 2, 6)]  # fmt: skip
    days = [e + timedelta(days=k) for e in edges for k in (-1, 0, 1)]
    with site.store.reader() as s:
        for day in days:
            expected = views.health(s, "default", day)["score"]
            assert score_on(past, day, 1000, 180) == expected, day
