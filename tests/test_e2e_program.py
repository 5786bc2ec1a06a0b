"""End to end in Debian's Chromium (Playwright) against `toysafe serve`: a seller whose listing
was suppressed answers the pre-check's finding with corrected evidence and sees the listing
reinstated; a TIC uploads a validation (findings first, then the full one) and extends a
request. Screenshots at 1280 and 390 px wide go to build/test-artifacts/program-*.png."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tests.test_e2e_browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    ensure_chromium,
    free_port,
    wait_until_up,
)
from tests.validation_helpers import document, make_tic, signed
from toysafe.cli.app import app as cli
from toysafe.core.program.validation import dumps

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
PASSWORD = "correct-horse-battery"
SELLER, TIC_USER = "seller@maple.example", "lab@sgs.example"
AS_OF = "2026-11-21"
SGS = make_tic("sgs-us", ("1001",))
STACKER = EX / "products" / "painted-wooden-stacker.yaml"
CHEM = EX / "reports" / "stacker-chemistry-pass.json"
MECH = EX / "reports" / "stacker-mechanical-pass.csv"
WIDTHS = (1280, 390)


def cli_ok(*args: Any, stdin: str | None = None) -> None:
    result = CliRunner().invoke(cli, [str(a) for a in args], input=stdin)
    assert result.exit_code == 0, f"{args}: {result.output}"


def _serve(ws: Path, tmp: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "TOYSAFE_DATABASE_URL"}
    env.update(TOYSAFE_HOME=str(ws), TOYSAFE_SECURE_COOKIES="0")
    log = (tmp / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "toysafe", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/api/v1/health", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _workspace(tmp: Path, monkeypatch: pytest.MonkeyPatch, evidence: str) -> Path:
    """The example marketplace: policy, listings, the sweeps that open the stacker's request
    (2026-11-02) and suppress its listing when it runs late (2026-11-17)."""
    ws = tmp / "ws"
    monkeypatch.setenv("TOYSAFE_HOME", str(ws))
    monkeypatch.delenv("TOYSAFE_DATABASE_URL", raising=False)
    monkeypatch.setenv("TOYSAFE_ACTOR", "e2e")
    policy = yaml.safe_load((EX / "program" / "policy.yaml").read_text())
    policy["categories"]["toys"]["evidence"] = evidence
    policy["approved_tics"] = [SGS.policy_entry()]
    (tmp / "policy.yaml").write_text(yaml.safe_dump(policy))
    cli_ok("init", "--party", EX / "party.yaml")
    cli_ok("labs", "import", EX / "labs.csv", "--as-of", AS_OF)
    cli_ok("program", "policy", "load", tmp / "policy.yaml", "--as-of", "2026-11-01")
    cli_ok("program", "listings", "import", EX / "program" / "listings.csv",
           "--as-of", "2026-11-01")  # fmt: skip
    cli_ok("program", "sweep", "--as-of", "2026-11-02")
    cli_ok("program", "sweep", "--as-of", "2026-11-17")
    for email, org, role, extra in (
        (SELLER, "default", "seller", []),
        (TIC_USER, "sgs", "lab", ["--lab-id", "1001"]),
    ):
        cli_ok("users", "add", email, "--org", org, "--role", role, *extra, "--password-stdin",
               stdin=PASSWORD + "\n")  # fmt: skip
    return ws


@pytest.fixture
def seller_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    ws = _workspace(tmp_path, monkeypatch, "documents")
    cli_ok(
        "certify", STACKER, "--reports", CHEM, MECH, "--labs", EX / "labs.csv",
        "--party", EX / "party.yaml", "--as-of", AS_OF, "--out", tmp_path / "cert",
    )  # fmt: skip
    yield from _serve(ws, tmp_path)


@pytest.fixture
def tic_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    yield from _serve(_workspace(tmp_path, monkeypatch, "direct_validation"), tmp_path)


def shots(page: Any, name: str) -> None:
    """The page at 1280 and at 390 px wide (full height), back at 1280 afterwards."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(ARTIFACTS / f"program-{name}-{width}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
        assert not overflow, f"{name} scrolls sideways at {width} px"
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})


def sign_in(page: Any, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def _browser(pw: Any) -> Any:
    return pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def test_a_seller_answers_a_finding_and_the_listing_is_reinstated(
    seller_server: str, tmp_path: Path
) -> None:
    ensure_chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package")
    cert = tmp_path / "cert" / "MM-STK-07.cpc.json"
    assert json.loads(cert.read_text())["format"] == "toysafe/certificate@1"
    with sync_api.sync_playwright() as pw:
        browser = _browser(pw)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(20_000)
            sign_in(page, seller_server, SELLER)
            page.get_by_role("link", name="Program").click()
            page.goto(f"{seller_server}/program?as_of={AS_OF}")
            page.wait_for_selector("h1:has-text('Marketplace program')")
            main = page.locator("main").inner_text()
            assert "overdue by 5 days" in main and "Suppressed" in main
            assert "trusted" not in page.content().lower()
            shots(page, "1-console")

            card = page.locator("#open li", has_text="B0CW00DST7")
            card.locator("a.btn").click()
            page.wait_for_selector("#submit")
            page.set_input_files("#profile", str(STACKER))
            page.set_input_files("#certificate", str(cert))
            page.set_input_files("#reports", [str(CHEM)])  # the mechanical results are missing
            page.get_by_role("button", name="Submit for the pre-check").click()
            page.wait_for_selector("#findings")
            assert "Not yet: the pre-check found" in page.inner_text("main")
            assert "How to answer:" in page.inner_text("#findings")
            shots(page, "2-findings")

            page.set_input_files("#profile", str(STACKER))
            page.set_input_files("#certificate", str(cert))
            page.set_input_files("#reports", [str(CHEM), str(MECH)])
            page.get_by_role("button", name="Submit for the pre-check").click()
            page.get_by_text("Approved: the documents prove the listing compliant.").wait_for()
            main = page.inner_text("main")
            assert page.locator(".page-head .badge-ok", has_text="Active").count() == 1
            assert "reinstated" in main
            shots(page, "3-reinstated")

            page.goto(f"{seller_server}/program?as_of={AS_OF}")
            assert "B0CW00DST7" not in page.inner_text("#open")
            assert "Open requests (3)" in page.inner_text("#open")
            health = page.inner_text("#health")
            assert "no longer counts" in health  # the overdue violation is resolved
            shots(page, "4-console-after")
        finally:
            browser.close()


def test_a_tic_uploads_a_validation_and_extends(tic_server: str, tmp_path: Path) -> None:
    ensure_chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package")
    base = document(SGS, listing_ids=["B0CW00DST7"], seller="default", lab_id="1234")
    base.update(issued="2026-11-20")
    base["reports"][0]["issued"] = "2026-11-10"
    partial = json.loads(json.dumps(base))
    partial["parameters"] = [p for p in partial["parameters"] if p["requirement"] != "16CFR1501"]
    files = {
        "partial": tmp_path / "validation-rev0.json",
        "full": tmp_path / "validation-rev1.json",
        "tampered": tmp_path / "validation-tampered.json",
    }
    files["partial"].write_bytes(dumps(signed(SGS, partial)))
    files["full"].write_bytes(dumps(signed(SGS, {**base, "revision": 1})))
    files["tampered"].write_bytes(
        dumps(signed(SGS, {**base, "revision": 1})).replace(b"Yunhe", b"Yunhf")
    )
    with sync_api.sync_playwright() as pw:
        browser = _browser(pw)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(20_000)
            sign_in(page, tic_server, TIC_USER)
            page.get_by_role("link", name="TIC console").click()
            page.goto(f"{tic_server}/tic?as_of={AS_OF}")
            page.wait_for_selector("h1:has-text('TIC console')")
            shots(page, "5-tic-console")

            page.set_input_files("#file", str(files["tampered"]))
            page.get_by_role("button", name="Upload and check").click()
            page.wait_for_selector("#upload-error")
            assert "signature" in page.inner_text("#upload-error")
            assert "None yet" in page.inner_text("#handled")  # nothing was stored

            page.set_input_files("#file", str(files["partial"]))
            page.get_by_role("button", name="Upload and check").click()
            page.wait_for_selector("#result")
            assert "does not count as proof yet" in page.inner_text("#result")
            assert "16CFR1501" in page.inner_text("#result")
            shots(page, "6-tic-findings")

            page.get_by_role("button", name="Extend by 60 days").click()
            page.get_by_text("extended by 60 days").wait_for()
            assert "Extended once" in page.inner_text("#handled")

            page.set_input_files("#file", str(files["full"]))
            page.get_by_role("button", name="Upload and check").click()
            page.wait_for_selector("#result")
            assert "counts as proof" in page.inner_text("#result")
            assert "Approved" in page.inner_text("#handled")
            shots(page, "7-tic-approved")
        finally:
            browser.close()
