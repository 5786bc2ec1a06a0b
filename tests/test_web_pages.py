"""The web pages (Jinja2 + htmx) through FastAPI's TestClient, on SQLite and PostgreSQL:
sign-in, CSRF, the catalog, the product wizard and its live assessment, report upload,
certificates and their downloads, the lab inbox and the reviewer's view."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.store_fixtures import DB
from toysafe.cli.app import app as cli
from toysafe.store.db import open_store
from toysafe.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
REPORTS = EX / "reports"
PASSWORD = "correct-horse-battery"
runner = CliRunner()

# The example reports date from June 2026; they are moved so that the newest is ten days old
# today, which keeps them within the 12-month certification period whenever the tests run.
RETEST_ISSUED = date(2026, 6, 20)
SHIFT = (date.today() - timedelta(days=10)) - RETEST_ISSUED


def _shift(text: str) -> str:
    return (date.fromisoformat(text) + SHIFT).isoformat()


def report_json(name: str, report_no: str | None = None, issued: date | None = None) -> bytes:
    """An example JSON report, its dates moved by SHIFT (and optionally renumbered/redated)."""
    doc: dict[str, Any] = json.loads((REPORTS / name).read_text(encoding="utf-8"))
    if issued is not None:
        doc["issued"] = issued.isoformat()
        doc["tested"]["from"] = (issued - timedelta(days=5)).isoformat()
        doc["tested"]["to"] = (issued - timedelta(days=1)).isoformat()
    doc["issued"] = _shift(doc["issued"])
    doc["tested"]["from"] = _shift(doc["tested"]["from"])
    doc["tested"]["to"] = _shift(doc["tested"]["to"])
    if report_no:
        doc["report_no"] = report_no
    return json.dumps(doc, indent=2).encode()


def report_csv(name: str) -> bytes:
    rows = list(csv.DictReader(io.StringIO((REPORTS / name).read_text(encoding="utf-8"))))
    for row in rows:
        for key in ("issued", "tested_from", "tested_to"):
            row[key] = _shift(row[key])
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def failing_report() -> bytes:
    return report_json("stacker-chemistry-fail.json")


def retest_report() -> bytes:
    """The passing chemistry report as a retest after the failing one (newer, own number)."""
    return report_json("stacker-chemistry-pass.json", "ETC-2026-0620-03", RETEST_ISSUED)


def ok(*args: str, stdin: str | None = None) -> str:
    result = runner.invoke(cli, list(args), input=stdin)
    assert result.exit_code == 0, f"{args}: {result.output}"
    return result.output


def add_user(email: str, org: str, role: str, *extra: str) -> None:
    ok("users", "add", email, "--org", org, "--role", role, *extra, "--password-stdin",
       stdin=PASSWORD + "\n")  # fmt: skip


@pytest.fixture
def site(ws_env: DB) -> TestClient:
    """A workspace with the stacker (and a rattle) in 'default', another seller organization,
    a lab user of lab 1234, and a reviewer with 'default' enrolled; the app over it."""
    ok("init", "--party", str(EX / "party.yaml"))
    ok("labs", "import", str(EX / "labs.csv"))
    ok("product", "add", str(EX / "products" / "painted-wooden-stacker.yaml"))
    ok("product", "add", str(EX / "products" / "infant-rattle.yaml"))
    ok("init", "--org", "other")
    ok("product", "add", "--org", "other", str(EX / "products" / "diecast-truck.yaml"))
    add_user("seller@maple.example", "default", "seller")
    add_user("other@other.example", "other", "seller")
    add_user("lab@etc.example", "etc-lab", "lab", "--lab-id", "1234")
    add_user("reviewer@market.example", "market", "reviewer")
    ok("enroll", "default", "--reviewer", "market")
    app = create_app(open_store(), Path(os.environ["TOYSAFE_HOME"]), secure_cookies=False)
    return TestClient(app)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no csrf field on the page"
    return found[1]


def login(client: TestClient, email: str, password: str = PASSWORD) -> Any:
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf": token},
        follow_redirects=False,
    )


def signed_in(client: TestClient, email: str) -> str:
    """Sign in and return the session's CSRF token."""
    response = login(client, email)
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/").text)


def upload(client: TestClient, token: str, name: str, content: bytes) -> Any:
    kind = "text/csv" if name.endswith(".csv") else "application/json"
    return client.post(
        "/reports/upload", data={"csrf": token}, files={"file": (name, content, kind)}
    )


def stacker_form(token: str, **changes: str) -> dict[str, Any]:
    form: dict[str, Any] = {
        "csrf": token,
        "name": "Rainbow stacker",
        "sku": "WEB-STK-01",
        "brand": "Maple & Moss",
        "model": "WEB-STK-01",
        "gtin": "860004317517",
        "asins": "B0CW00DST7",
        "age_years": "1",
        "age_months": "0",
        "manufactured": "2025-06",
        "made_city": "Yunhe",
        "made_country": "cn",
        "c-0-id": "base",
        "c-0-name": "Unfinished beech base",
        "c-0-material": "wood_unfinished",
        "c-0-fiber": "",
        "c-0-accessible": "1",
        "c-0-unfinished": "1",
        "c-1-id": "paint-red",
        "c-1-name": "Red paint",
        "c-1-material": "surface_coating",
        "c-1-fiber": "",
        "c-1-accessible": "1",
    }
    form.update(changes)
    return form


# --- sign-in, sessions and CSRF -------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(site: TestClient) -> None:
    for path in ("/", "/products/new", "/products/MM-STK-07", "/reports/upload"):
        response = site.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login"), path
    page = site.get("/login")
    assert page.status_code == 200
    assert '<html lang="en">' in page.text and 'href="#main"' in page.text
    assert '<label for="email">' in page.text and '<label for="password">' in page.text


def test_sign_in_success_failure_and_sign_out(site: TestClient) -> None:
    bad = login(site, "seller@maple.example", "wrong-password")
    assert bad.status_code == 401
    assert "do not match an account" in bad.text
    unknown = login(site, "nobody@maple.example", "wrong-password")
    assert unknown.status_code == 401 and "do not match an account" in unknown.text
    good = login(site, "seller@maple.example")
    assert good.status_code == 303 and good.headers["location"] == "/"
    home = site.get("/")
    assert home.status_code == 200 and "seller@maple.example" in home.text
    token = csrf_of(home.text)
    assert site.post("/logout", data={"csrf": "forged"}).status_code == 403
    out = site.post("/logout", data={"csrf": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert site.get("/", follow_redirects=False).status_code == 303


def test_sign_in_returns_to_the_page_asked_for(site: TestClient) -> None:
    first = site.get("/products/MM-STK-07", follow_redirects=False)
    target = first.headers["location"]
    page = site.get(target)
    assert 'name="next" value="/products/MM-STK-07"' in page.text
    response = site.post(
        "/login",
        data={
            "email": "seller@maple.example",
            "password": PASSWORD,
            "csrf": csrf_of(page.text),
            "next": "/products/MM-STK-07",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/products/MM-STK-07"


def test_sign_in_is_rate_limited(site: TestClient) -> None:
    for _ in range(5):
        assert login(site, "seller@maple.example", "wrong-password").status_code == 401
    blocked = login(site, "seller@maple.example")
    assert blocked.status_code == 429
    assert "Too many sign-in attempts" in blocked.text


def test_state_changing_posts_need_the_csrf_token(site: TestClient) -> None:
    token = signed_in(site, "seller@maple.example")
    forged = stacker_form("forged", action="save")
    assert site.post("/products/new", data=forged).status_code == 403
    assert site.post("/products/new", data={**forged, "csrf": ""}).status_code == 403
    assert upload(site, "forged", "r.json", failing_report()).status_code == 403
    refused = site.post("/products/MM-STK-07/certify", data={"csrf": "forged"})
    assert refused.status_code == 403 and "csrf" in refused.text
    share = site.post("/products/MM-STK-07/share", data={"lab_id": "1234"})
    assert share.status_code == 403
    # htmx sends the token as a header
    live = site.post(
        "/products/new/assess",
        data={k: v for k, v in stacker_form(token).items() if k != "csrf"},
        headers={"X-CSRF-Token": token},
    )
    assert live.status_code == 200
    # a sign-in form without the session's token is refused too
    fresh = TestClient(site.app)
    response = fresh.post("/login", data={"email": "seller@maple.example", "password": PASSWORD})
    assert response.status_code == 403


# --- the catalog ----------------------------------------------------------------------------------


def test_dashboard_shows_status_badges_and_counts(site: TestClient) -> None:
    signed_in(site, "seller@maple.example")
    page = site.get("/").text
    assert "<h1>Catalog status</h1>" in page
    assert 'class="badge badge-warn"' in page and "Missing evidence" in page
    assert "MM-STK-07" in page and "LN-RTL-02" in page and "RH-DC-F24" not in page
    # Issue 10: the 12-month window is the marketplace's policy, not a legal expiry of the CPC.
    assert '<th scope="col">Renewal due (marketplace policy)</th>' in page
    assert '<th scope="col">Next due</th>' in page
    assert "send for testing" in page
    assert re.search(r'<span class="count">2</span> products', page)
    assert 'href="/?status=missing_evidence"' in page


def test_dashboard_filters_by_status(site: TestClient) -> None:
    token = signed_in(site, "seller@maple.example")
    for name in ("stacker-chemistry-retest.json", "stacker-mechanical-pass.csv"):
        data = retest_report() if name.endswith(".json") else report_csv(name)
        assert upload(site, token, name, data).status_code == 200
    ready = site.get("/?status=ready_to_certify").text
    assert "MM-STK-07" in ready and "LN-RTL-02" not in ready
    assert "Showing 1 of 2 products" in ready
    missing = site.get("/?status=missing_evidence").text
    assert "LN-RTL-02" in missing and "MM-STK-07" not in missing
    assert "LN-RTL-02" in site.get("/?status=nonsense").text


def test_reviewer_sees_only_enrolled_organizations(site: TestClient) -> None:
    signed_in(site, "reviewer@market.example")
    page = site.get("/").text
    assert "MM-STK-07" in page
    assert '<option value="default"' in page
    assert 'value="other"' not in page and "RH-DC-F24" not in page
    assert site.get("/?org=other").status_code == 404
    assert site.get("/products/MM-STK-07?org=default").status_code == 200
    truck = site.get("/products/RH-DC-F24?org=other")
    assert truck.status_code == 404
    # reviewers read; they do not write
    assert site.get("/products/new").status_code == 403
    assert site.get("/reports/upload").status_code == 403


# --- the product wizard ---------------------------------------------------------------------------


def test_live_assessment_shows_requirements_why_and_why_not(site: TestClient) -> None:
    token = signed_in(site, "seller@maple.example")
    partial = site.post("/products/new/assess", data=stacker_form(token))
    assert partial.status_code == 200
    html = partial.text
    assert "<html" not in html  # a fragment for htmx
    assert 'id="assess-live"' in html and 'hx-swap-oob="true"' in html
    assert "Lead in paint and similar surface coatings" in html and "16 CFR part 1303" in html
    assert "<strong>Why:</strong>" in html and "children&#39;s product" in html
    assert "Lab test" in html and "No lab test" in html
    assert "Does not apply" in html and "<strong>Why not:</strong>" in html
    assert "the product produces no sound" in html
    assert "Children&#39;s Product Certificate (CPC)" in html and "F963-23" in html
    # a feature with a parameter changes what applies
    sound = site.post(
        "/products/new/assess",
        data={**stacker_form(token), "feature": "sound", "fp-sound-kind": "close_to_ear"},
    )
    assert "Sound-producing toys" in sound.text.split("Does not apply")[0]
    # without an age it says what to answer, naming the field
    blank = site.post("/products/new/assess", data=stacker_form(token, age_years=""))
    assert blank.status_code == 200
    assert "Youngest intended age" in blank.text and "is required" in blank.text


def test_wizard_page_is_a_complete_form_without_javascript(site: TestClient) -> None:
    signed_in(site, "seller@maple.example")
    page = site.get("/products/new").text
    assert 'action="/products/new"' in page and 'method="post"' in page
    assert 'hx-post="/products/new/assess"' in page
    for field in ("name", "sku", "gtin", "age_years", "manufactured", "c-0-material"):
        assert f'<label for="{field}">' in page, field
    assert "Paint, lacquer, varnish or other coating (surface_coating)" in page
    assert "Produces sound" in page and 'name="fp-sound-kind"' in page
    assert 'name="fp-battery-cell"' in page


def test_wizard_adds_and_removes_components_without_javascript(site: TestClient) -> None:
    token = signed_in(site, "seller@maple.example")
    more = site.post("/products/new", data=stacker_form(token, action="add_component"))
    assert more.status_code == 200
    assert 'id="c-2-id"' in more.text and "autofocus" in more.text
    fewer = site.post("/products/new", data=stacker_form(token, action="remove:0"))
    assert 'id="c-1-id"' not in fewer.text and 'value="paint-red"' in fewer.text
    live = site.post(
        "/products/new", data=stacker_form(token, action="remove:1"), headers={"HX-Request": "true"}
    )
    assert live.headers["HX-Trigger-After-Settle"] == "components-changed"


def test_wizard_saves_a_product_and_names_bad_fields(site: TestClient) -> None:
    token = signed_in(site, "seller@maple.example")
    bad = site.post(
        "/products/new",
        data=stacker_form(
            token, action="save", gtin="860004317518", made_country="China", **{"c-1-material": ""}
        ),
    )
    assert bad.status_code == 422
    assert "Please correct" in bad.text
    assert "GTIN (barcode number)" in bad.text and "check digit" in bad.text
    assert "Made in: country" in bad.text
    assert "Component 2: material" in bad.text
    assert 'aria-invalid="true"' in bad.text
    saved = site.post(
        "/products/new", data=stacker_form(token, action="save"), follow_redirects=False
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/products/WEB-STK-01"
    page = site.get("/products/WEB-STK-01")
    assert page.status_code == 200
    assert "Rainbow stacker" in page.text and "WEB-STK-01: added" in page.text
    assert "paint-red" in page.text and "Yunhe, CN" in page.text
    again = site.post(
        "/products/new", data=stacker_form(token, action="save", editing="1", name="Renamed")
    )
    assert "saved as a new version" in again.text and "version 2" in again.text


# --- reports, certificates and downloads ----------------------------------------------------------


def test_upload_fail_then_pass_then_certify_and_download(site: TestClient) -> None:
    from toysafe.usecases.audit_pack import check_pack

    token = signed_in(site, "seller@maple.example")
    early = site.post("/products/MM-STK-07/certify", data={"csrf": token})
    assert early.status_code == 409 and "verification does not pass" in early.text
    assert "Issue the CPC" not in site.get("/products/MM-STK-07").text

    failed = upload(site, token, "stacker-chemistry-fail.json", failing_report())
    assert failed.status_code == 200, failed.text
    assert 'badge-bad"><span class="badge-icon" aria-hidden="true">✕</span>fail<' in failed.text
    assert "exceeds" in failed.text or "90 ppm" in failed.text
    assert "not certifiable yet" in failed.text

    passed = upload(site, token, "stacker-chemistry-retest.json", retest_report())
    assert passed.status_code == 200
    mechanical = upload(
        site, token, "stacker-mechanical-pass.csv", report_csv("stacker-mechanical-pass.csv")
    )
    assert mechanical.status_code == 200
    assert ">pass<" in mechanical.text and ">fail<" not in mechanical.text
    assert "ready to certify" in mechanical.text
    again = upload(
        site, token, "stacker-mechanical-pass.csv", report_csv("stacker-mechanical-pass.csv")
    )
    assert "already stored, unchanged" in again.text

    page = site.get("/products/MM-STK-07").text
    assert "Issue the CPC" in page and "Ready to certify" in page
    issued = site.post(
        "/products/MM-STK-07/certify", data={"csrf": token, "lot": "L-0001"}, follow_redirects=False
    )
    assert issued.status_code == 303
    page = site.get("/products/MM-STK-07").text
    assert "Issued CPC" in page
    cert_id = re.search(r"/certificates/(CPC-[A-Z0-9-]+)/pdf", page)
    assert cert_id, page
    pdf = site.get(f"/certificates/{cert_id[1]}/pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    doc = site.get(f"/certificates/{cert_id[1]}/json").json()
    assert doc["certificate"]["id"] == cert_id[1]
    pack = site.get(f"/certificates/{cert_id[1]}/audit-pack")
    assert pack.status_code == 200 and pack.headers["content-type"] == "application/zip"
    path = Path(os.environ["TOYSAFE_HOME"]) / "pack.zip"
    path.write_bytes(pack.content)
    names = zipfile.ZipFile(path).namelist()
    assert "assessment.json" in names and "verification.json" in names
    assert any(n.startswith("reports/ETC-2026-0620-03") for n in names)
    assert check_pack(path).valid, check_pack(path).problems
    assert "certificate issue" in site.get("/products/MM-STK-07").text
    assert site.get("/").text.count("Certified") >= 1
    # someone outside the organization cannot download it
    other = TestClient(site.app)
    signed_in(other, "other@other.example")
    assert other.get(f"/certificates/{cert_id[1]}/pdf").status_code == 404


def test_upload_errors_name_the_field(site: TestClient) -> None:
    token = signed_in(site, "seller@maple.example")
    broken = upload(site, token, "r.json", b'{"format": "toysafe/lab-report@1", "report_no": 1')
    assert broken.status_code == 422 and "r.json" in broken.text
    missing = json.loads(failing_report())
    del missing["lab"]
    named = upload(site, token, "r.json", json.dumps(missing).encode())
    assert named.status_code == 422 and "lab: is required" in named.text
    header = upload(site, token, "r.csv", b"report_no,colour\nX,red\n")
    assert header.status_code == 422 and "missing column" in header.text
    binary = upload(site, token, "r.csv", b"\xff\xfe\x00bad")
    assert binary.status_code == 422 and "UTF-8" in binary.text
    nothing = site.post("/reports/upload", data={"csrf": token})
    assert nothing.status_code == 422 and "choose a report file" in nothing.text
    stranger = json.loads(failing_report())
    stranger["products"] = [{"sku": "NO-SUCH-SKU"}]
    unknown = upload(site, token, "r.json", json.dumps(stranger).encode())
    assert unknown.status_code == 422 and "names no product you can see" in unknown.text


def test_lab_inbox_shows_only_shared_products(site: TestClient) -> None:
    lab = TestClient(site.app)
    lab_token = signed_in(lab, "lab@etc.example")
    assert "No product has been shared with your lab yet" in lab.get("/").text
    refused = upload(lab, lab_token, "stacker-chemistry-fail.json", failing_report())
    assert refused.status_code == 403
    assert "not shared with your lab" in refused.text

    token = signed_in(site, "seller@maple.example")
    bad = site.post("/products/MM-STK-07/share", data={"csrf": token, "lab_id": "12"})
    assert bad.status_code == 422 and "lab_id" in bad.text
    shared = site.post(
        "/products/MM-STK-07/share", data={"csrf": token, "lab_id": "1234"}, follow_redirects=False
    )
    assert shared.status_code == 303
    assert "Stop sharing" in site.get("/products/MM-STK-07").text

    inbox = lab.get("/").text
    assert "MM-STK-07" in inbox and "LN-RTL-02" not in inbox and "RH-DC-F24" not in inbox
    assert "/reports/upload?sku=MM-STK-07" in inbox
    assert lab.get("/products/MM-STK-07?org=default").status_code == 200
    assert lab.get("/products/LN-RTL-02?org=default").status_code == 404
    accepted = upload(lab, lab_token, "stacker-chemistry-fail.json", failing_report())
    assert accepted.status_code == 200 and ">fail<" in accepted.text
    rattle = json.loads(failing_report())
    rattle["report_no"] = "ETC-RATTLE-1"
    rattle["products"] = [{"sku": "LN-RTL-02"}]
    assert upload(lab, lab_token, "r.json", json.dumps(rattle).encode()).status_code == 403
    assert lab.get("/products/new").status_code == 403
    assert lab.post("/products/MM-STK-07/certify", data={"csrf": lab_token}).status_code == 403


def test_unknown_pages_are_pages_not_json(site: TestClient) -> None:
    signed_in(site, "seller@maple.example")
    missing = site.get("/products/NO-SUCH")
    assert missing.status_code == 404
    assert "text/html" in missing.headers["content-type"] and "no product" in missing.text
    assert site.get("/certificates/NOPE/pdf").status_code == 404
    assert site.get("/products/new?edit=NO-SUCH").status_code == 404
    edit = site.get("/products/new?edit=MM-STK-07")
    assert edit.status_code == 200 and 'value="paint-purple"' in edit.text
