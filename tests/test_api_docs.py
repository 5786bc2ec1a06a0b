"""/api/docs works offline (issue 12): the vendored Swagger UI, a strict CSP with no other
host, no inline script; and in a real browser the docs render without any outside request or
CSP violation."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.test_e2e_browser import CHROMIUM, CHROMIUM_ARGS, ensure_chromium, server  # noqa: F401
from toysafe.store.db import open_store
from toysafe.web.app import create_app

VENDOR = Path(__file__).resolve().parent.parent / "src" / "toysafe" / "web" / "static" / "vendor"


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("TOYSAFE_HOME", str(tmp_path))
    monkeypatch.delenv("TOYSAFE_DATABASE_URL", raising=False)
    from toysafe.store.db import migrate

    store = open_store(tmp_path, create=True)
    migrate(store.engine)
    return TestClient(create_app(store, tmp_path, secure_cookies=False))


def test_docs_reference_no_other_host_and_the_assets_are_served(client: TestClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "http" not in csp and "cdn" not in csp and "'unsafe-inline'" not in csp
    assert "script-src 'self'" in csp
    html = page.text
    assert re.search(r"<script>\s*\S", html) is None  # no inline script
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs and all(r.startswith("/") and not r.startswith("//") for r in refs), refs
    assert "https://" not in html and "http://" not in html
    for ref, kind in (
        ("/static/vendor/swagger-ui/swagger-ui-bundle.js", "javascript"),
        ("/static/vendor/swagger-ui/swagger-ui.css", "text/css"),
        ("/static/vendor/swagger-ui/favicon-32x32.png", "image/png"),
        ("/static/swagger-init.js", "javascript"),
    ):
        assert ref in refs
        got = client.get(ref)
        assert got.status_code == 200 and kind in got.headers["content-type"], ref
        assert "content-security-policy" in got.headers
    init = client.get("/static/swagger-init.js").text
    assert "http" not in init
    assert client.get("/openapi.json").status_code == 200


def test_the_vendored_assets_carry_their_license_and_version() -> None:
    folder = VENDOR / "swagger-ui"
    assert "Apache License" in (folder / "LICENSE").read_text()
    assert re.search(r"swagger-ui-dist 5\.\d+\.\d+", (folder / "VERSION").read_text())


def test_the_docs_render_offline_in_a_browser(server: str) -> None:  # noqa: F811
    ensure_chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package")
    outside: list[str] = []
    violations: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()

            def route(r: Any) -> None:
                if r.request.url.startswith(server):
                    r.continue_()
                else:
                    outside.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            page.on(
                "console",
                lambda m: violations.append(m.text) if "Content Security" in m.text else None,
            )
            page.goto(f"{server}/api/docs")
            page.wait_for_selector(".opblock", timeout=20_000)
            assert page.locator(".opblock").count() > 10
        finally:
            browser.close()
    assert outside == []
    assert violations == []


def test_the_wheel_carries_the_static_files_and_the_knowledge_base(tmp_path: Path) -> None:
    import subprocess
    import sys
    import zipfile

    root = VENDOR.parents[4]
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
        + ["-w", str(tmp_path), str(root)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    [wheel] = tmp_path.glob("toysafe-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for rel in (
        "web/static/swagger-init.js",
        "web/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "web/static/vendor/swagger-ui/swagger-ui.css",
        "web/static/vendor/swagger-ui/LICENSE",
        "web/static/htmx.min.js",
    ):
        assert f"toysafe/{rel}" in names, rel
    kb = root / "src" / "toysafe" / "kb"
    expected = {
        "toysafe/" + str(p.relative_to(root / "src" / "toysafe"))
        for p in kb.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert expected and expected <= names
    # the simulator's defaults (policy, candidate, profiles) are package data, not examples/
    sim = root / "src" / "toysafe" / "sim" / "data"
    pkg = root / "src" / "toysafe"
    wanted = {"toysafe/" + str(p.relative_to(pkg)) for p in sim.rglob("*.y*ml")}
    assert "toysafe/sim/data/policy.yaml" in wanted and wanted <= names
