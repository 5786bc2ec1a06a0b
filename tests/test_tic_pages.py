"""The TIC console through the TestClient, on SQLite and PostgreSQL: only a lab user of an
approved TIC has it; the upload form applies the API's checks (a tampered file is refused and
nothing is stored) and shows the findings; the requests it handles and the one extension."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.store_fixtures import DB
from tests.test_validation_api import BV, EX, SGS, STACKER, Api, ok, stacker_doc
from tests.validation_helpers import signed
from toysafe.core.program.validation import dumps
from toysafe.store.db import open_store
from toysafe.web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PASSWORD = "correct-horse-battery"
AS_OF = "2026-11-06"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found[1]


@pytest.fixture
def tic_site(ws_env: DB, tmp_path: Path) -> Iterator[tuple[Any, Api]]:
    policy = yaml.safe_load((EX / "program" / "policy.yaml").read_text())
    policy["categories"]["toys"]["evidence"] = "direct_validation"
    policy["approved_tics"] = [SGS.policy_entry(), BV.policy_entry()]
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    ok("init", "--party", str(EX / "party.yaml"))
    ok("labs", "import", str(EX / "labs.csv"))
    ok("program", "policy", "load", str(path), "--as-of", "2026-11-01")
    ok("program", "listings", "import", str(EX / "program" / "listings.csv"),
       "--as-of", "2026-11-01")  # fmt: skip
    ok("program", "sweep", "--as-of", "2026-11-02")
    for email, org, role, lab in (
        ("lab@sgs.example", "sgs", "lab", "1001"),
        ("lab@etc.example", "etc", "lab", "1234"),
        ("seller@maplemoss.example", "default", "seller", None),
    ):
        extra = ["--lab-id", lab] if lab else []
        r = ok_stdin("users", "add", email, "--org", org, "--role", role, *extra,
                     "--password-stdin")  # fmt: skip
        assert r
    store = open_store()
    app = create_app(store, Path(os.environ["TOYSAFE_HOME"]), secure_cookies=False)
    with TestClient(app) as client:
        yield app, Api(client, {}, store)
    store.engine.dispose()


def ok_stdin(*args: str) -> str:
    from typer.testing import CliRunner

    from toysafe.cli.app import app as cli

    r = CliRunner().invoke(cli, list(args), input=PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    return str(r.stdout) or "ok"


def signed_in(app: Any, email: str) -> tuple[TestClient, str]:
    c = TestClient(app)
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"email": email, "password": PASSWORD, "csrf": token},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    return c, csrf_of(c.get("/tic" if "lab@sgs" in email else "/").text)


def upload(c: TestClient, token: str, content: bytes) -> Any:
    return c.post("/tic/validations", data={"csrf": token, "as_of": AS_OF},
                  files={"file": ("validation.json", content, "application/json")})  # fmt: skip


def test_only_an_approved_tics_lab_user_has_the_console(tic_site: tuple[Any, Api]) -> None:
    app, _ = tic_site
    sgs, _ = signed_in(app, "lab@sgs.example")
    page = sgs.get("/tic")
    assert page.status_code == 200 and "TIC console · sgs-us labs" in page.text
    assert 'href="/tic"' in sgs.get("/").text
    assert sgs.get("/program", follow_redirects=False).headers["location"] == "/tic"
    etc, _ = signed_in(app, "lab@etc.example")
    assert etc.get("/tic").status_code == 403
    assert 'href="/tic"' not in etc.get("/").text
    seller, _ = signed_in(app, "seller@maplemoss.example")
    assert seller.get("/tic").status_code == 403
    assert 'href="/tic"' not in seller.get("/").text


def test_a_tampered_file_is_refused_and_nothing_stored(tic_site: tuple[Any, Api]) -> None:
    app, api = tic_site
    c, token = signed_in(app, "lab@sgs.example")
    raw = dumps(signed(SGS, stacker_doc(SGS))).replace(b"Yunhe", b"Yunhf")
    r = upload(c, token, raw)
    assert r.status_code == 422
    assert "Refused: nothing was stored" in r.text and "signature" in r.text
    assert api.stored() == (0, 0) and api.request_state(STACKER) == "open"
    r = c.post("/tic/validations", data={"csrf": token})
    assert r.status_code == 422 and "file: choose" in r.text
    other = upload(c, token, dumps(signed(BV, stacker_doc(BV))))
    assert other.status_code == 403 and "wrong_tic" in other.text
    assert api.stored() == (0, 0)


def test_findings_then_the_extension_then_approval(tic_site: tuple[Any, Api]) -> None:
    app, api = tic_site
    c, token = signed_in(app, "lab@sgs.example")
    doc = stacker_doc(SGS)
    doc["parameters"] = [p for p in doc["parameters"] if p["requirement"] != "16CFR1501"]
    r = upload(c, token, dumps(signed(SGS, doc)))
    assert r.status_code == 200, r.text
    assert "does not count as proof yet" in r.text and "16CFR1501" in r.text
    assert "Revision requested" in r.text
    ref = api.request_ref(STACKER)
    page = c.get("/tic", params={"as_of": AS_OF}).text
    assert ref in page and "Extend by 60 days" in page
    r = c.post(f"/tic/requests/{ref}/extension", data={"csrf": token, "as_of": AS_OF},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    page = c.get(r.headers["location"]).text
    assert "extended by 60 days, now due 2027-01-15" in page and "Extended once" in page
    again = c.post(f"/tic/requests/{ref}/extension", data={"csrf": token, "as_of": AS_OF})
    assert again.status_code == 409 and "already_extended" in again.text
    r = upload(c, token, dumps(signed(SGS, stacker_doc(SGS, revision=1))))
    assert r.status_code == 200 and "counts as proof" in r.text and "Approved" in r.text
    assert api.request_state(STACKER) == "approved"
    assert c.post(f"/tic/requests/{ref}/extension", data={"csrf": "x"}).status_code == 403
