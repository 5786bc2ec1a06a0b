"""Sessions, throttling, password reset by e-mail, security headers, body limits, admission
control and bounded caches of the web app (on SQLite and PostgreSQL where a database is used)."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.store_fixtures import DB
from toysafe.cli.app import app as cli
from toysafe.settings import Settings
from toysafe.store.db import open_store
from toysafe.web.app import create_app
from toysafe.web.middleware import Admission, BodyLimit, ClientAddress
from toysafe.web.security import Throttle, TTLCache

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

EX = Path(__file__).resolve().parent.parent / "examples"
PASSWORD = "correct-horse-battery"
SELLER = "seller@maple.example"
runner = CliRunner()


def ok(*args: str, stdin: str | None = None) -> str:
    result = runner.invoke(cli, list(args), input=stdin)
    assert result.exit_code == 0, f"{args}: {result.output}"
    return result.output


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Mailbox:
    """A local SMTP server on loopback (aiosmtpd in a thread) keeping what it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        box = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                box.messages.append(message_from_bytes(envelope.content))
                return "250 OK"

        with socket.socket() as probe:  # a free port (the controller checks it by connecting)
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def wait(self, count: int = 1, timeout: float = 5.0) -> None:
        end = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < end:
            time.sleep(0.02)

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    yield box
    box.stop()


class Site:
    def __init__(self, mailbox: Mailbox | None, **overrides: Any) -> None:
        self.clock = Clock()
        settings = Settings(
            smtp_host="127.0.0.1" if mailbox else "",
            smtp_port=mailbox.port if mailbox else 25,
            smtp_from="toysafe@test.example",
            public_url="http://toysafe.test",
            **overrides,
        )
        self.store = open_store()
        self.app = create_app(
            self.store, Path(os.environ["TOYSAFE_HOME"]), secure_cookies=False, settings=settings
        )
        self.app.state.throttle = Throttle(
            settings.login_free_failures,
            settings.login_backoff_base,
            settings.login_backoff_max,
            settings.client_login_failures,
            settings.client_token_failures,
            settings.client_window,
            clock=self.clock,
        )

    def client(self, address: str = "127.0.0.1") -> TestClient:
        return TestClient(self.app, client=(address, 50000))


@pytest.fixture
def workspace(ws_env: DB) -> Iterator[str]:
    ok("init", "--party", str(EX / "party.yaml"))
    ok("users", "add", SELLER, "--org", "default", "--role", "seller", "--password-stdin",
       stdin=PASSWORD + "\n")  # fmt: skip
    token = ok("users", "token", SELLER).strip().splitlines()[-1]
    yield token


@pytest.fixture
def site(workspace: str, mailbox: Mailbox) -> Iterator[Site]:
    s = Site(mailbox)
    yield s
    s.store.engine.dispose()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no csrf field on the page"
    return found[1]


def login(client: TestClient, email: str = SELLER, password: str = PASSWORD) -> Any:
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf": token},
        follow_redirects=False,
    )


# --- sessions ------------------------------------------------------------------------------------


def test_signing_out_ends_the_session_on_the_server(site: Site) -> None:
    browser = site.client()
    assert login(browser).status_code == 303
    stolen = dict(browser.cookies)
    home = browser.get("/")
    assert home.status_code == 200 and SELLER in home.text
    out = browser.post("/logout", data={"csrf": csrf_of(home.text)}, follow_redirects=False)
    assert out.status_code == 303
    replay = site.client()
    replay.cookies.update(stolen)
    answer = replay.get("/", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    assert replay.get("/api/v1/products").status_code == 401


# --- throttling ----------------------------------------------------------------------------------


def test_wrong_passwords_back_off_for_a_bounded_time_then_the_right_one_works(site: Site) -> None:
    browser = site.client()
    for _ in range(5):
        assert login(browser, password="wrong-password").status_code == 401
    blocked = login(browser)
    assert blocked.status_code == 429 and "Too many sign-in attempts" in blocked.text
    assert 1 <= int(blocked.headers["retry-after"]) <= 60
    site.clock.now += 6  # the first wait is 5 s
    assert login(browser).status_code == 303
    # more failures double the wait, but never past the cap of a minute
    for _ in range(12):
        login(browser, password="wrong-password")
        site.clock.now += 61
    site.clock.now += 61
    assert login(browser).status_code == 303


def test_spraying_one_password_over_many_accounts_is_throttled_per_client(site: Site) -> None:
    attacker = site.client("203.0.113.9")
    codes = []
    for i in range(25):
        forged = {"X-Forwarded-For": f"198.51.100.{i}"}  # not from a trusted proxy: ignored
        token = csrf_of(attacker.get("/login").text)
        r = attacker.post(
            "/login",
            data={"email": f"user{i}@maple.example", "password": "Summer2026!!", "csrf": token},
            headers=forged,
            follow_redirects=False,
        )
        codes.append(r.status_code)
    assert codes[:20] == [401] * 20
    assert set(codes[20:]) == {429}
    # the real seller, from another address, is not locked out by the attack
    assert login(site.client("192.0.2.1")).status_code == 303


def test_x_forwarded_for_is_believed_only_from_configured_proxies(workspace: str) -> None:
    s = Site(None, trusted_proxies="10.0.0.0/8")
    try:
        codes = []
        proxy = s.client("10.1.2.3")
        for i in range(25):  # each a different real client behind the proxy
            token = csrf_of(proxy.get("/login", headers={"X-Forwarded-For": "192.0.2.50"}).text)
            r = proxy.post(
                "/login",
                data={"email": f"u{i}@maple.example", "password": "wrong-password", "csrf": token},
                headers={"X-Forwarded-For": f"192.0.2.{i}, 10.9.9.9"},
                follow_redirects=False,
            )
            codes.append(r.status_code)
        assert set(codes) == {401}, "clients behind a trusted proxy are told apart"
    finally:
        s.store.engine.dispose()


def test_client_address_middleware_walks_the_header_from_the_right() -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["client"])

    settings = Settings(trusted_proxies="10.0.0.1, 10.0.0.2")
    mw = ClientAddress(app, settings)

    def call(peer: str, xff: str) -> Any:
        headers = [(b"x-forwarded-for", xff.encode())]
        scope = {"type": "http", "client": (peer, 1), "headers": headers}
        asyncio.run(mw(scope, None, None))
        return seen[-1][0]

    assert call("10.0.0.1", "1.1.1.1, 6.6.6.6, 10.0.0.2") == "6.6.6.6"
    assert call("8.8.8.8", "1.1.1.1") == "8.8.8.8"  # the peer is no proxy: header ignored


def test_guessing_bearer_tokens_is_throttled(site: Site, workspace: str) -> None:
    client = site.client("203.0.113.7")
    codes = [
        client.get("/api/v1/products", headers={"Authorization": f"Bearer ts_guess{i}"}).status_code
        for i in range(35)
    ]
    assert codes[:30] == [401] * 30 and set(codes[30:]) == {429}
    # another client with the real token is not affected
    real = site.client("192.0.2.2").get(
        "/api/v1/products", headers={"Authorization": f"Bearer {workspace}"}
    )
    assert real.status_code == 200


def test_revoking_tokens_takes_effect_at_once(site: Site, workspace: str) -> None:
    client = site.client()
    auth = {"Authorization": f"Bearer {workspace}"}
    assert client.get("/api/v1/products", headers=auth).status_code == 200
    assert "1 token(s) revoked" in ok("users", "revoke-tokens", SELLER)
    assert client.get("/api/v1/products", headers=auth).status_code == 401


# --- password reset by e-mail --------------------------------------------------------------------


def _link(message: Any) -> str:
    body = message.get_payload(decode=True).decode()
    found = re.search(r"http://toysafe\.test(/reset\?token=\S+)", body)
    assert found, body
    return found[1]


def test_password_reset_by_email_once_and_signs_out_everywhere(
    site: Site, mailbox: Mailbox
) -> None:
    other_browser = site.client()
    assert login(other_browser).status_code == 303
    browser = site.client()
    page = browser.get("/forgot")
    assert page.status_code == 200 and 'name="email"' in page.text
    sent = browser.post("/forgot", data={"email": SELLER, "csrf": csrf_of(page.text)})
    assert sent.status_code == 200 and "we sent it a link" in sent.text
    mailbox.wait()
    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert message["To"] == SELLER and message["From"] == "toysafe@test.example"
    link = _link(message)
    form = browser.get(link)
    assert form.status_code == 200 and 'name="password"' in form.text
    token = link.split("token=")[1]
    short = browser.post(
        "/reset", data={"token": token, "password": "short", "csrf": csrf_of(form.text)}
    )
    assert short.status_code == 422 and "at least 10 characters" in short.text
    done = browser.post(
        "/reset",
        data={"token": token, "password": "a-brand-new-password", "csrf": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert login(browser).status_code == 401  # the old password no longer works
    assert login(browser, password="a-brand-new-password").status_code == 303
    assert other_browser.get("/", follow_redirects=False).status_code == 303  # signed out
    assert browser.get(link).status_code == 404  # single use
    again = site.client().post(
        "/api/v1/password-reset/confirm", json={"token": token, "password": "another-password"}
    )
    assert again.status_code == 422 and again.json()["detail"][0]["loc"] == ["body", "token"]


def test_reset_answers_the_same_for_unknown_accounts_and_links_expire(
    workspace: str, mailbox: Mailbox
) -> None:
    s = Site(mailbox, reset_minutes=0.0)
    try:
        client = s.client()
        unknown = client.post("/api/v1/password-reset", json={"email": "nobody@maple.example"})
        known = client.post("/api/v1/password-reset", json={"email": SELLER})
        assert unknown.status_code == known.status_code == 202
        assert unknown.json() == known.json()
        mailbox.wait()
        assert [m["To"] for m in mailbox.messages] == [SELLER]
        link = _link(mailbox.messages[0])
        assert client.get(link).status_code == 404  # expired at once (reset_minutes=0)
        bad = client.post("/api/v1/password-reset", json={"email": "not-an-address"})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "email"]
    finally:
        s.store.engine.dispose()


def test_without_smtp_the_reset_page_says_so(workspace: str) -> None:
    s = Site(None)
    try:
        client = s.client()
        assert "not set up on this server" in client.get("/forgot").text
        assert client.post("/api/v1/password-reset", json={"email": SELLER}).status_code == 404
    finally:
        s.store.engine.dispose()


# --- headers and limits --------------------------------------------------------------------------


def test_every_response_has_the_security_headers(site: Site, workspace: str) -> None:
    client = site.client()
    auth = {"Authorization": f"Bearer {workspace}"}
    for path, headers in [
        ("/login", {}),
        ("/api/v1/products", auth),
        ("/api/v1/products", {}),
        ("/no-such-page", {}),
        ("/static/toysafe.css", {}),
        ("/openapi.json", {}),
    ]:
        r = client.get(path, headers=headers)
        csp = r.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp, path
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["referrer-policy"] == "no-referrer", path
        assert r.headers["x-frame-options"] == "DENY", path


def test_pages_carry_no_inline_script() -> None:
    templates = Path(__file__).resolve().parent.parent / "src/toysafe/web/templates"
    for template in templates.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template.name
        assert not re.search(r"\son[a-z]+\s*=", text), template.name


def test_oversized_bodies_are_refused_before_authentication(workspace: str) -> None:
    s = Site(None, max_body_bytes=1000)
    try:
        client = s.client()
        big = b"{" + b" " * 5000 + b"}"
        declared = client.post(
            "/api/v1/reports", content=big, headers={"Content-Type": "application/json"}
        )
        assert declared.status_code == 413, "refused before the 401 of a missing token"

        def chunks() -> Iterator[bytes]:
            for _ in range(10):
                yield b" " * 500

        streamed = client.post(
            "/api/v1/reports", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert streamed.status_code == 413
        assert "over the limit of 1000 bytes" in streamed.json()["detail"][0]["msg"]
        small = client.post("/api/v1/reports", json={})
        assert small.status_code == 401
    finally:
        s.store.engine.dispose()


def test_body_limit_reads_no_more_than_the_limit() -> None:
    reached = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(True)

    pulled = 0

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"x" * 100, "more_body": True}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    mw = BodyLimit(app, Settings(max_body_bytes=1000))
    asyncio.run(mw({"type": "http", "method": "POST", "headers": []}, receive, send))
    assert sent[0]["status"] == 413 and not reached and pulled == 11


def test_a_saturated_server_sheds_load_with_503_and_retry_after() -> None:
    release = threading.Event()

    async def slow(scope: Any, receive: Any, send: Any) -> None:
        while not release.is_set():
            await asyncio.sleep(0.01)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    mw = Admission(slow, Settings(max_inflight=2, max_queue=1, queue_wait=0.2))

    async def one() -> tuple[int, dict[bytes, bytes]]:
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await mw({"type": "http", "method": "GET", "headers": []}, None, send)
        return sent[0]["status"], dict(sent[0]["headers"])

    async def burst() -> list[tuple[int, dict[bytes, bytes]]]:
        tasks = [asyncio.create_task(one()) for _ in range(5)]
        await asyncio.sleep(0.4)
        release.set()
        return await asyncio.gather(*tasks)

    results = asyncio.run(burst())
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 200, 503, 503, 503]
    assert all(h[b"retry-after"] == b"1" for status, h in results if status == 503)


# --- bounded tables ------------------------------------------------------------------------------


def test_caches_and_limiter_tables_are_bounded() -> None:
    clock = Clock()
    cache: TTLCache[int, int] = TTLCache(max_size=100, ttl=30, clock=clock)
    for i in range(1000):
        cache[i] = i
    assert len(cache) == 100 and cache.get(999) == 999 and cache.get(0) is None
    clock.now += 31
    assert cache.get(999) is None
    throttle = Throttle(clock=clock)
    for i in range(50_000):
        throttle.login_failed(f"user{i}@example.com", f"10.0.{i // 256 % 256}.{i % 256}")
    assert len(throttle.accounts.table) <= 10_000
    assert len(throttle.login_clients.hits) <= 10_000


def test_the_status_cache_of_the_app_is_bounded(site: Site) -> None:
    assert isinstance(site.app.state.status_cache, TTLCache)
    assert site.app.state.status_cache.max_size <= 1000
