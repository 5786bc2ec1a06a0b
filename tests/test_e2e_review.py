"""End to end in Debian's Chromium (Playwright) against `toysafe serve`: a reviewer opens the queue,
takes the most urgent request (a certificate whose signature does not verify), claims it,
notes something, finds that the decision cannot be sent without a reason code, rejects it
for forgery and sees it leave the queue; then the queue, a request and the policy console at
390 px wide.

Screenshots at 1280 and 390 px go to build/test-artifacts/review-*.png.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tests.program_seed import POLICY_FILE, open_request, policy, seed_listing, seed_policy
from tests.test_e2e_browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    ensure_chromium,
    free_port,
    wait_until_up,
)
from tests.test_web_pages import PASSWORD
from toysafe.cli.app import app as cli
from toysafe.io.reports import read_report_file
from toysafe.store.db import open_store
from toysafe.store.program.casework import Casework

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
STACKER = EX / "products" / "painted-wooden-stacker.yaml"
CHEM = EX / "reports" / "stacker-chemistry-pass.json"
MECH = EX / "reports" / "stacker-mechanical-pass.csv"
REVIEWER = "reviewer@market.example"
ADMIN = "admin@market.example"


def _ok(*args: Any, stdin: str | None = None) -> None:
    result = CliRunner().invoke(cli, [str(a) for a in args], input=stdin)
    assert result.exit_code == 0, result.output


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A marketplace with four requests waiting for a reviewer, one of them sent to review by
    a certificate altered after signing; served by `toysafe serve` on a free port."""
    ws = tmp_path / "ws"
    monkeypatch.setenv("TOYSAFE_HOME", str(ws))
    monkeypatch.delenv("TOYSAFE_DATABASE_URL", raising=False)
    monkeypatch.delenv("TOYSAFE_SIGNING_KEY", raising=False)
    monkeypatch.setenv("TOYSAFE_ACTOR", "e2e")
    today = date.today()
    _ok("init", "--party", EX / "party.yaml")
    _ok("labs", "import", EX / "labs.csv")
    out = tmp_path / "cert"
    _ok("certify", STACKER, "--reports", CHEM, MECH, "--labs", EX / "labs.csv",
        "--party", EX / "party.yaml", "--as-of", today, "--out", out)  # fmt: skip
    for email, org, role in ((REVIEWER, "demo-market", "reviewer"), (ADMIN, "ops", "admin")):
        _ok("users", "add", email, "--org", org, "--role", role, "--password-stdin",
            stdin=PASSWORD + "\n")  # fmt: skip
    store = open_store()
    seed_policy(store)
    seed_policy(store, policy(clocks={"response_days": 21}), today - timedelta(days=1))
    forged = open_request(store, seed_listing(store), today - timedelta(days=4))
    for i, (age, state) in enumerate(((48, "in_review"), (96, "submitted"), (None, "submitted"))):
        pk = seed_listing(store, f"B0OTHER{i:03d}", "hoppy", model=f"HP-{i}", min_age_months=age)
        open_request(store, pk, today - timedelta(days=6 - i), state=state)
    _ok("enroll", "default", "--reviewer", "demo-market")
    _ok("enroll", "hoppy", "--reviewer", "demo-market")
    cert = json.loads((out / "MM-STK-07.cpc.json").read_text())
    cert["certificate"] = {**cert["certificate"], "toy_standard": "F963-17"}  # altered
    reports = [("chem", read_report_file(CHEM)[0][1]), ("mech", read_report_file(MECH)[0][1])]
    from toysafe.core.law.profile import Profile

    profile = Profile.model_validate(yaml.safe_load(STACKER.read_text()))
    got = Casework(store, ws, "seller@maplemoss.example").submit(
        forged, profile, cert, reports, today
    )
    assert got["state"] == "in_review", got
    store.engine.dispose()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "TOYSAFE_DATABASE_URL"}
    env.update(TOYSAFE_HOME=str(ws), TOYSAFE_SECURE_COOKIES="0")
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "toysafe", "serve", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
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


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"review-{name}.png"), full_page=True)


def sign_in(page: Any, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("h1")


def watch(page: Any, errors: list[str]) -> None:
    """Collect console errors (CSP violations) and failed loads (the favicon aside)."""

    def console(m: Any) -> None:
        if m.type == "error" and not m.text.startswith("Failed to load resource"):
            errors.append(m.text)

    def response(r: Any) -> None:
        if r.status >= 400 and not r.url.endswith("/favicon.ico"):
            errors.append(f"{r.status} {r.url}")

    page.on("console", console)
    page.on("response", response)


def images_loaded(page: Any, seconds: float = 20) -> None:
    """Every chart drawn (polled: the strict CSP forbids wait_for_function's eval)."""
    import time

    deadline = time.monotonic() + seconds
    check = "[...document.images].every(i => i.complete && i.naturalWidth > 0)"
    while not page.evaluate(check):
        assert time.monotonic() < deadline, "a chart did not load"
        time.sleep(0.2)


def no_overflow(page: Any) -> None:
    """Nothing wider than the viewport (no sideways scrolling at 390 px)."""
    wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert wide <= 1, f"the page is {wide} px wider than the viewport"


def test_a_reviewer_works_a_request_from_the_queue_to_a_decision(server: str) -> None:
    ensure_chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            errors: list[str] = []
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.set_default_timeout(20_000)
            watch(page, errors)
            sign_in(page, server, REVIEWER)
            page.get_by_role("link", name="Review queue").click()
            page.wait_for_selector("h1:has-text('Review queue')")
            items = page.locator(".queue-item")
            assert items.count() == 4
            assert "Forgery finding" in items.first.inner_text()
            images_loaded(page)
            shot(page, "1280-1-queue")

            items.first.locator("a.qi-ref").click()
            page.wait_for_selector("h2:has-text('Evidence side by side')")
            assert page.locator(".mismatch").count() >= 1
            page.get_by_role("button", name="Claim").click()
            page.get_by_text("You claimed").wait_for()
            page.fill("#body", "Signature fails: the standard edition was changed after signing.")
            page.get_by_role("button", name="Add the note").click()
            page.get_by_text("Note added").wait_for()
            shot(page, "1280-2-request-claimed")

            # the decision cannot be sent without its reason code
            url = page.url
            page.get_by_role("button", name="Send the decision").click()
            assert page.url == url
            assert page.locator("#decision").evaluate("e => e.validity.valueMissing")
            page.select_option("#decision", "reject:forged_or_altered")
            page.get_by_role("button", name="Send the decision").click()
            page.get_by_text("the request is now rejected").wait_for()
            assert page.locator(".queue-item").count() == 3
            shot(page, "1280-3-after-decision")
            assert not errors, errors  # no CSP violations, no failed loads

            narrow = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
            narrow.set_default_timeout(20_000)
            watch(narrow, errors)
            sign_in(narrow, server, REVIEWER)
            narrow.goto(server + "/review")
            images_loaded(narrow)
            shot(narrow, "390-1-queue")
            no_overflow(narrow)
            narrow.locator(".queue-item a.qi-ref").first.click()
            narrow.wait_for_selector("h2:has-text('Evidence side by side')")
            shot(narrow, "390-2-request")
            no_overflow(narrow)
            narrow.get_by_role("link", name="Program policy").click()
            narrow.wait_for_selector("h1:has-text('Program policy')")
            assert "clocks.response_days" in narrow.inner_text("main")  # version 1 -> 2
            shot(narrow, "390-3-policy-diff")
            no_overflow(narrow)

            # the marketplace's admin tries a candidate policy: nothing is stored
            narrow = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
            narrow.set_default_timeout(20_000)
            watch(narrow, errors)
            sign_in(narrow, server, ADMIN)
            narrow.goto(server + "/admin/policies")
            candidate = yaml.safe_load(POLICY_FILE.read_text())
            candidate["review"] = {"queues": {"standard": {"sla_days": 1}}}
            path = ARTIFACTS / "candidate-policy.yaml"
            path.write_text(yaml.safe_dump(candidate))
            narrow.set_input_files("#policy", str(path))
            narrow.get_by_role("button", name="Dry run").click()
            narrow.get_by_text("nothing was stored").wait_for()
            text = narrow.inner_text("main")
            assert "Published today" in text and "review.queues.standard.sla_days" in text
            shot(narrow, "390-4-dry-run")
            no_overflow(narrow)
            assert not errors, errors
        finally:
            browser.close()
