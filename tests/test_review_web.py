"""The reviewer and marketplace admin consoles on SQLite and PostgreSQL: who may open them, the
queue page (order, SLA, breaches, filters, search, pagination), the request page (evidence side
by side with the findings marked, claim / release / escalate / notes with the CSRF token, a
decision that cannot go without its reason code), the charts (SVG, no script), and the policy
versions, their diff and a candidate's dry run."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from tests.program_seed import POLICY_FILE
from tests.test_program_api import AS_OF, Api
from tests.test_program_api import api as _api_fixture  # noqa: F401 - a fixture, used by name
from toysafe.cli.app import app as cli
from toysafe.core.program.model import parse_request_ref
from toysafe.store.program import models as pm
from toysafe.store.program import review_models as rm
from toysafe.web.pages import common

PASSWORD = "correct-horse-battery"
REVIEWER = "review@market.example"
runner = CliRunner()


def _user(email: str, org: str, role: str) -> None:
    result = runner.invoke(
        cli, ["users", "add", email, "--org", org, "--role", role, "--password-stdin"],
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no csrf field on the page"
    return found[1]


@pytest.fixture
def site(_api_fixture: Api, monkeypatch: pytest.MonkeyPatch) -> Api:  # noqa: F811
    """The program API's workspace; default's request sent to review by a forged certificate;
    users who sign in with a password; the pages' today is the workspace's day."""
    api = _api_fixture
    cert = dict(api.cert)
    cert["certificate"] = {**cert["certificate"], "toy_standard": "F963-17"}  # altered
    out = api.post(
        "seller",
        f"/requests/{api.mine}/submission",
        json=api.submission(certificate=cert),
        params={"as_of": AS_OF},
    ).json()
    assert out["state"] == "in_review"
    with api.store.transaction() as s:  # rival's request: submitted, waiting too
        s.execute(
            update(pm.Request)
            .where(pm.Request.id == parse_request_ref(api.theirs))
            .values(state="submitted")
        )
    _user("web-review@market.example", "demo-market", "reviewer")
    _user("web-admin@toysafe.example", "operators", "admin")
    _user("web-seller@maplemoss.example", "default", "seller")
    monkeypatch.setattr(common, "_today", lambda: date(2026, 11, 21))
    return api


def _sign_in(api: Api, email: str) -> str:
    c = api.client
    c.cookies.clear()
    token = _csrf(c.get("/login").text)
    r = c.post("/login", data={"email": email, "password": PASSWORD, "csrf": token},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text
    return _csrf(c.get("/").text)


def _count(api: Api, model: Any) -> int:
    with api.store.reader() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_only_the_marketplace_opens_the_consoles(site: Api) -> None:
    c = site.client
    c.cookies.clear()
    assert c.get("/review", follow_redirects=False).status_code == 303  # to sign in
    _sign_in(site, "web-seller@maplemoss.example")
    home = c.get("/").text
    assert "/review" not in home and "/admin/policies" not in home
    for path in ("/review", f"/review/requests/{site.mine}", "/admin/policies",
                 "/review/charts/backlog.svg"):  # fmt: skip
        assert c.get(path).status_code == 403, path
    _sign_in(site, "web-review@market.example")
    home = c.get("/").text
    assert 'href="/review"' in home and 'href="/admin/policies"' in home


def test_the_queue_page_in_risk_order_with_sla_and_filters(site: Api) -> None:
    _sign_in(site, "web-review@market.example")
    html = site.client.get("/review").text
    assert html.index(site.mine) < html.index(site.theirs)  # the forgery first
    assert "Forgery finding" in html and "for children under 3 (from 12 months)" in html
    assert "SLA 2 days" in html and "SLA 5 days" in html
    assert "<script" not in html.replace('<script src="/static/htmx.min.js" defer></script>', "")
    only = site.client.get("/review", params={"seller": "rival"}).text
    assert site.theirs in only and f"{site.mine}<" not in only
    found = site.client.get("/review", params={"q": "b0rival"}).text
    assert "1 request match" in found.replace("\n", " ") or "1 request" in found
    assert site.theirs in found
    assert "Nothing waits" in site.client.get("/review", params={"q": "no-such-thing"}).text
    assert site.client.get("/review", params={"p": "x"}).status_code == 422


def test_working_a_request_claim_note_escalate_release(site: Api) -> None:
    c = site.client
    token = _sign_in(site, "web-review@market.example")
    url = f"/review/requests/{site.mine}"
    page = c.get(url).text
    assert "Evidence side by side" in page and "forged_or_altered" in page
    assert 'class="kv-row mismatch"' in page  # the certificate's signature is marked
    assessment = page.split('id="pane-assessment"')[1].split("</article>")[0]
    assert "16CFR1303" in assessment and "Warnings due" in assessment  # the submitted profile
    assert c.post(f"{url}/claim", data={}).status_code == 403  # no CSRF token
    assert _count(site, rm.ReviewLog) == 0
    r = c.post(f"{url}/claim", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303
    page = c.get(url).text
    assert "Claimed by <strong>web-review@market.example</strong>" in page
    r = c.post(f"{url}/notes", data={"csrf": token, "body": "Asked the lab."})
    assert r.status_code == 200 and "Asked the lab." in r.text
    r = c.post(f"{url}/escalate", data={"csrf": token, "reason": ""})
    assert r.status_code == 422 and "reason" in r.text
    r = c.post(f"{url}/escalate", data={"csrf": token, "reason": "signature question"})
    assert "Senior queue" in r.text
    assert "signature question" in r.text  # in the history
    # the seller's own request document carries none of it
    seller_doc = site.get("seller", f"/requests/{site.mine}").text
    assert "Asked the lab" not in seller_doc and "signature question" not in seller_doc


def test_a_decision_needs_its_reason_code(site: Api) -> None:
    c = site.client
    token = _sign_in(site, "web-review@market.example")
    url = f"/review/requests/{site.mine}"
    page = c.get(url).text
    assert '<select id="decision" name="decision" required' in page
    for bad in ("", "reject", "reject:model_mismatch", "approve:forged_or_altered"):
        r = c.post(f"{url}/decision", data={"csrf": token, "decision": bad})
        assert r.status_code == 422 and "decision: choose a decision" in r.text, bad
    with site.store.reader() as s:
        assert s.scalar(select(func.count()).select_from(pm.DecisionRow).where(
            pm.DecisionRow.automatic.is_(False))) == 0  # fmt: skip
    r = c.post(f"{url}/decision", data={"csrf": token, "decision": "reject:forged_or_altered"},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/review"
    doc = site.get("reviewer", f"/requests/{site.mine}").json()
    assert doc["state"] == "rejected"
    assert doc["history"][-1]["actor"] == "web-review@market.example"
    after = c.get("/review").text
    assert "the request is now rejected" in after  # the flash message
    assert f'href="/review/requests/{site.mine}"' not in after


def test_the_charts_are_svg_images(site: Api) -> None:
    _sign_in(site, "web-review@market.example")
    for name in ("backlog", "triggers"):
        r = site.client.get(f"/review/charts/{name}.svg")
        assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
        assert r.text.lstrip().startswith("<?xml") and "<script" not in r.text
        assert "default-src 'none'" in r.headers["content-security-policy"]
    assert "New listing" in site.client.get("/review/charts/triggers.svg").text


def test_policy_versions_diff_and_dry_run(site: Api) -> None:
    data = yaml.safe_load(POLICY_FILE.read_text())
    data["review"] = {"queues": {"standard": {"sla_days": 1}}}
    data["clocks"] = {**data.get("clocks", {}), "response_days": 21}
    candidate = yaml.safe_dump(data).encode()
    with site.store.transaction() as s:
        version = s.scalar(select(func.max(pm.PolicyVersion.version)))
    token = _sign_in(site, "web-review@market.example")
    page = site.client.get("/admin/policies").text
    assert "Versions" in page and "Try a candidate policy" not in page
    r = site.client.post("/admin/policies/dry-run", data={"csrf": token},
                         files={"policy": ("p.yaml", candidate, "application/yaml")})  # fmt: skip
    assert r.status_code == 403
    token = _sign_in(site, "web-admin@toysafe.example")
    r = site.client.post("/admin/policies/dry-run", data={"csrf": token},
                         files={"policy": ("p.yaml", candidate, "application/yaml")})  # fmt: skip
    assert r.status_code == 200, r.text
    assert re.search(r"Published today \([\d-]+\): <strong>\d+ requests?</strong>", r.text)
    assert "review.queues.standard.sla_days" in r.text and "clocks.response_days" in r.text
    with site.store.reader() as s:  # nothing stored
        assert s.scalar(select(func.max(pm.PolicyVersion.version))) == version
    bad = {"policy": ("p.yaml", b"format: nope", "application/yaml")}
    r = site.client.post("/admin/policies/dry-run", data={"csrf": token}, files=bad)
    assert r.status_code == 422 and "policy" in r.text
    r = site.client.post("/admin/policies/dry-run", data={"csrf": token},
                         files={"policy": ("p.yaml", b"a: [", "application/yaml")})  # fmt: skip
    assert r.status_code == 422 and "not YAML" in r.text
    # a second version: the page shows the diff per key
    from toysafe.io.program import policy_from_data
    from toysafe.store.program.policies import load_policy

    load_policy(site.store, policy_from_data(data), date(2026, 11, 21), "test")
    page = site.client.get("/admin/policies", params={"a": version, "b": version + 1}).text
    assert "<code>clocks.response_days</code>" in page and ">14<" in page and ">21<" in page
    assert site.client.get("/admin/policies", params={"a": 99, "b": 1}).status_code == 422


def test_the_chart_module_imports_matplotlib_only_to_draw() -> None:
    import os
    import subprocess
    import sys
    from datetime import date
    from pathlib import Path

    from toysafe.render import charts

    src = str(Path(charts.__file__).resolve().parents[2])
    code = "import sys, toysafe.render.charts; print('matplotlib' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": src}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert done.stdout.strip() == "False"

    charts.warm_up()
    charts.warm_up()  # once is enough; a second call does nothing
    svg = charts.backlog_chart([date(2026, 1, 1)], [3], [1], "Backlog")
    assert svg.startswith("<?xml") and "past SLA" in svg and "waiting within SLA" in svg
