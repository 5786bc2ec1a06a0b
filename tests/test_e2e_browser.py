"""End to end in a real browser: the real server (`toysafe serve`) on a prepared workspace, and
Debian's Chromium driven by Playwright. A seller signs in, adds the painted wooden stacker with
the wizard, uploads a failing chemistry report and sees it fail, uploads the retest and the
mechanical results and sees them pass, issues the CPC and downloads it as a PDF.

Screenshots of every step go to build/test-artifacts/e2e-*.png.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tests.test_web_pages import PASSWORD, report_csv, report_json, retest_report
from toysafe.cli.app import app as cli

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
ARTIFACTS = ROOT / "build" / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SELLER = "seller@maple.example"


def ensure_chromium() -> None:
    """Debian's Chromium, installed when missing and we may; otherwise skip with the reason."""
    if CHROMIUM.exists():
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        try:
            subprocess.run(["apt-get", "update", "-qq"], env=env, check=True, timeout=600)
            subprocess.run(
                ["apt-get", "install", "-y", "-qq", "chromium"], env=env, check=True, timeout=1200
            )
        except (subprocess.SubprocessError, OSError) as e:
            pytest.skip(f"{CHROMIUM} is missing and could not be installed: {e}")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing and cannot be installed here (not root or no apt-get)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"toysafe serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"toysafe serve did not answer {url} within {seconds} s")


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A workspace on the embedded SQLite database with the labs, the party and a seller, served
    by `toysafe serve` on a free loopback port."""
    ws = tmp_path / "ws"
    monkeypatch.setenv("TOYSAFE_HOME", str(ws))
    monkeypatch.delenv("TOYSAFE_DATABASE_URL", raising=False)
    monkeypatch.setenv("TOYSAFE_ACTOR", "e2e")
    runner = CliRunner()
    for args, stdin in (
        (["init", "--party", str(EX / "party.yaml")], None),
        (["labs", "import", str(EX / "labs.csv")], None),
        (["users", "add", SELLER, "--org", "default", "--role", "seller", "--password-stdin"],
         PASSWORD + "\n"),
    ):  # fmt: skip
        result = runner.invoke(cli, args, input=stdin)
        assert result.exit_code == 0, result.output
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "TOYSAFE_DATABASE_URL"}
    env.update(TOYSAFE_HOME=str(ws), TOYSAFE_SECURE_COOKIES="0")
    log = (tmp_path / "serve.log").open("wb")
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


def shot(page: Any, name: str, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"e2e-{name}.png"), full_page=full_page)


def fill_wizard(page: Any, profile: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    page.fill("#name", profile["name"])
    page.fill("#sku", profile["sku"])
    page.fill("#brand", profile["brand"])
    page.fill("#model", profile["model"])
    page.fill("#gtin", profile["gtin"])
    page.fill("#asins", ", ".join(profile["asins"]))
    page.fill("#age_years", str(profile["age"]["min_months"] // 12))
    page.fill("#age_months", str(profile["age"]["min_months"] % 12))
    page.fill("#manufactured", profile["manufactured"])
    page.fill("#made_city", profile["made_in"]["city"])
    page.fill("#made_country", profile["made_in"]["country"])
    for i, c in enumerate(profile["components"]):
        if i > 0:
            page.get_by_role("button", name="+ Add a component").click()
            expect(page.locator(f"#c-{i}-id")).to_be_focused()  # the new row takes the focus
        page.fill(f"#c-{i}-id", c["id"])
        page.fill(f"#c-{i}-name", c["name"])
        page.select_option(f"#c-{i}-material", c["material"])
        if c.get("unfinished"):
            page.check(f"#c-{i}-unfinished")


def upload_file(page: Any, base: str, path: Path) -> None:
    page.goto(f"{base}/reports/upload")
    page.set_input_files("#file", str(path))
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_selector("#results")


def test_seller_adds_a_product_tests_it_and_certifies_it(server: str, tmp_path: Path) -> None:
    ensure_chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package")
    profile = yaml.safe_load((EX / "products" / "painted-wooden-stacker.yaml").read_text())
    files = {
        "fail": tmp_path / "stacker-chemistry-fail.json",
        "retest": tmp_path / "stacker-chemistry-retest-pass.json",
        "mechanical": tmp_path / "stacker-mechanical-pass.csv",
    }
    files["fail"].write_bytes(report_json("stacker-chemistry-fail.json"))
    files["retest"].write_bytes(retest_report())
    files["mechanical"].write_bytes(report_csv("stacker-mechanical-pass.csv"))

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1360, "height": 900})
            page = context.new_page()
            page.set_default_timeout(20_000)

            page.goto(server + "/")
            assert page.url.startswith(server + "/login")
            page.fill("#email", SELLER)
            page.fill("#password", PASSWORD)
            shot(page, "1-login")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_selector("h1:has-text('Catalog status')")
            shot(page, "2-dashboard-empty")

            page.get_by_role("link", name="Add a product").first.click()
            page.wait_for_selector("#wizard")
            fill_wizard(page, profile)
            live = page.locator("#assessment")
            live.get_by_text("Lead in paint and similar surface coatings").wait_for()
            assert "Children's Product Certificate (CPC)" in live.inner_text()
            page.locator("#assess-live").get_by_text("requirements apply").wait_for()
            live.get_by_text("Does not apply").click()
            live.get_by_text("the product produces no sound").first.wait_for()
            assert "Why not:" in live.inner_text()
            page.locator("#components legend").first.scroll_into_view_if_needed()
            page.evaluate("document.getElementById('components').scrollIntoView()")
            shot(page, "3-wizard-live-assessment", full_page=False)  # the panel is sticky
            page.get_by_role("button", name="Save product").click()
            page.wait_for_selector(f"h1:has-text('{profile['name'][:30]}')")
            assert "MM-STK-07: added" in page.inner_text("main")
            shot(page, "4-product-page")

            upload_file(page, server, files["fail"])
            results = page.locator("#results")
            assert results.locator(".badge-bad", has_text="fail").count() >= 1
            assert "not certifiable yet" in results.inner_text()
            shot(page, "5-upload-fail")

            upload_file(page, server, files["retest"])
            upload_file(page, server, files["mechanical"])
            results = page.locator("#results")
            assert results.locator(".badge-ok", has_text="pass").count() >= 5
            assert results.locator(".badge-bad", has_text="fail").count() == 0
            assert "ready to certify" in results.inner_text()
            shot(page, "6-upload-pass")

            results.get_by_role("link", name="Go to MM-STK-07 to issue the certificate").click()
            page.get_by_role("button", name="Issue the CPC").click()
            page.get_by_text("Issued CPC").wait_for()
            shot(page, "7-certificate-issued")
            with page.expect_download() as info:
                page.get_by_role("link", name="PDF").first.click()
            download = info.value
            pdf = Path(download.path()).read_bytes()
            assert pdf.startswith(b"%PDF"), pdf[:20]
            assert download.suggested_filename.endswith(".pdf")

            page.goto(server + "/")
            assert page.locator("table .badge-ok", has_text="Certified").count() == 1
            shot(page, "8-dashboard-certified")
        finally:
            browser.close()
