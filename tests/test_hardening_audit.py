"""Issue 14 audit probes that no other test covered: over HTTP on SQLite and PostgreSQL, a
non-finite measurement, an overlong field and NUL are client errors (never a 500 from the
database), and even an unexpected server error carries the security headers."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.test_api import STACKER, V1, A, Api, chem, stacker_profile
from tests.test_api import api as _api_fixture  # noqa: F401 - the fixture
from tests.test_web_pages import signed_in, site, stacker_form  # noqa: F401 - site: a fixture
from toysafe.cli.app import app as cli
from toysafe.store.db import Store, make_engine, migrate
from toysafe.web.app import create_app


@pytest.fixture
def api(_api_fixture: Api) -> Api:  # noqa: F811 - the fixture imported above
    return _api_fixture


def _raw(api: Api, path: str, body: str) -> Any:
    headers = {**api.auth("seller"), "content-type": "application/json"}
    with TestClient(api.client.app, raise_server_exceptions=False) as client:
        return client.post(V1 + path, params=A, content=body.encode(), headers=headers)


def test_non_finite_measurements_over_http_are_422(api: Api) -> None:
    for number in ("NaN", "Infinity", "-Infinity", "1e999"):
        doc = chem()
        doc["results"][0]["value"] = "__N__"
        body = json.dumps(doc).replace('"__N__"', number)
        r = _raw(api, "/reports", body)
        assert r.status_code == 422, (number, r.status_code, r.text[:300])
    assert api.get("seller", f"/products/{STACKER}").status_code == 200  # nothing broken


def test_fields_longer_than_their_columns_over_http_are_422(api: Api) -> None:
    profile = stacker_profile()
    profile["sku"] = "MM-" + "X" * 400
    r = _raw(api, "/products", json.dumps(profile))
    assert r.status_code == 422 and "sku" in json.dumps(r.json()["detail"])
    report = chem()
    report["report_no"] = "R" * 400
    r = _raw(api, "/reports", json.dumps(report))
    assert r.status_code == 422 and "report_no" in json.dumps(r.json()["detail"])


def test_an_e_mail_longer_than_an_actor_is_refused_at_the_door(ws_env: Any) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    email = "u" * 120 + "@example.com"
    result = runner.invoke(
        cli, ["users", "add", email, "--org", "default", "--role", "seller", "--password-stdin"],
        input="a long enough password\n",
    )  # fmt: skip
    assert result.exit_code == 2 and "EMAIL: longer than" in result.stderr


def test_an_unexpected_server_error_still_has_the_security_headers() -> None:
    home = Path(tempfile.mkdtemp())
    engine = make_engine(f"sqlite:///{home / 'toysafe.db'}")
    migrate(engine)
    application = create_app(Store(engine), home, secure_cookies=False)

    @application.get("/boom")
    def boom() -> None:
        raise RuntimeError("unexpected")

    with TestClient(application, raise_server_exceptions=False) as client:
        r = client.get("/boom")
    engine.dispose()
    assert r.status_code == 500 and "unexpected" not in r.text
    assert "frame-ancestors 'none'" in r.headers.get("content-security-policy", "")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"


# --- contract 10 in the web: create never overwrites; a costly change asks first ---------------


def test_the_web_refuses_an_existing_sku_and_asks_before_a_costly_change(
    site: TestClient,  # noqa: F811 - the fixture imported above
) -> None:
    client = site
    token = signed_in(client, "seller@maple.example")
    saved = client.post(
        "/products/new", data=stacker_form(token, action="save"), follow_redirects=False
    )
    assert saved.status_code == 303
    again = client.post("/products/new", data=stacker_form(token, action="save", name="Other"))
    assert again.status_code == 409 and "already exists" in again.text
    assert "Other" not in client.get("/products/WEB-STK-01").text  # nothing replaced
    material = {"c-1-material": "wood_unfinished", "editing": "1", "action": "save"}
    asked = client.post("/products/new", data=stacker_form(token, **material))
    assert asked.status_code == 200 and "Saving this change invalidates evidence" in asked.text
    assert "material change" in asked.text
    assert "saved as a new version" not in client.get("/products/WEB-STK-01").text
    done = client.post("/products/new", data=stacker_form(token, confirm="1", **material))
    assert "saved as a new version" in done.text
