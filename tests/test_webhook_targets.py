"""Webhook targets cannot reach inside (issue 14, SSRF): only https, no loopback, private,
link-local, multicast or reserved address, checked at registration (an error naming URL) and
again at each delivery on the address the connection really uses, and no redirect followed.
``TOYSAFE_WEBHOOK_ALLOW_HTTP`` / ``TOYSAFE_WEBHOOK_ALLOW_PRIVATE`` allow them (tests, dev)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.program_seed import org_id
from tests.store_fixtures import DB
from tests.test_delivery import SCHEDULE, Clock, notice
from toysafe.io import webhook
from toysafe.io.errors import InputError
from toysafe.io.webhook import Policy
from toysafe.store.db import Store
from toysafe.store.program import models as pm
from toysafe.store.program.delivery import Config, Deliverer, Webhooks

STRICT = Policy()
PUBLIC = "93.184.216.34"  # a global address (documentation ranges are not global)

REFUSED = [
    ("http://hooks.example.com/h", "must be https"),
    ("https://127.0.0.1/h", "loopback"),
    ("https://127.8.9.10:8443/h", "loopback"),
    ("https://localhost/h", "loopback"),
    ("https://10.1.2.3/h", "private"),
    ("https://172.16.0.1/h", "private"),
    ("https://192.168.1.1/h", "private"),
    ("https://169.254.169.254/latest/meta-data", "link-local"),
    ("https://[::1]/h", "loopback"),
    ("https://[fe80::1]/h", "link-local"),
    ("https://[fd00::1]/h", "private"),
    ("https://[::ffff:127.0.0.1]/h", "loopback"),
    ("https://224.0.0.251/h", "multicast"),
    ("https://240.0.0.1/h", "reserved"),
    ("https://0.0.0.0/h", "unspecified"),
    ("https://100.64.0.1/h", "not a public address"),
    ("ftp://x/h", "https"),
    ("https://user:pw@hooks.example.com/h", "user name"),
]


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A fake resolver: name -> address (what the test says the DNS answers now)."""
    answers: dict[str, str] = {}
    real = socket.getaddrinfo

    def fake(host: str, port: Any, *args: Any, **kw: Any) -> Any:
        if host in answers:
            return real(answers[host], port, *args, **kw)
        return real(host, port, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return answers


@pytest.mark.parametrize(("url", "why"), REFUSED)
def test_registration_refuses_internal_and_plain_targets(
    store: Store, url: str, why: str, dns: dict[str, str]
) -> None:
    dns["hooks.example.com"] = PUBLIC
    org_id(store, "hoppy")
    with pytest.raises(InputError, match=rf"^URL: .*{why}"):
        Webhooks(store, STRICT).add("hoppy", url)
    with store.reader() as s:
        assert s.scalars(select(pm.WebhookEndpoint)).all() == []


def test_a_name_that_resolves_inside_is_refused_and_public_ones_pass(
    store: Store, dns: dict[str, str]
) -> None:
    org_id(store, "hoppy")
    dns["intranet.example.com"] = "10.0.0.7"
    with pytest.raises(InputError, match=r"URL: intranet.example.com resolves to 10.0.0.7 is a"):
        Webhooks(store, STRICT).add("hoppy", "https://intranet.example.com/h")
    dns["hooks.example.com"] = PUBLIC
    endpoint, _ = Webhooks(store, STRICT).add("hoppy", "https://hooks.example.com/h")
    assert endpoint["url"] == "https://hooks.example.com/h"
    allowed = Webhooks(store, Policy(allow_http=True, allow_private=True))
    assert allowed.add("hoppy", "http://127.0.0.1:9/h")[0]["enabled"]


def test_the_settings_decide_the_policy(
    ws_env: DB, monkeypatch: pytest.MonkeyPatch, dns: dict[str, str]
) -> None:
    from toysafe.cli.app import app

    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    org_id(ws_env.store(), "hoppy")
    monkeypatch.delenv("TOYSAFE_WEBHOOK_ALLOW_HTTP", raising=False)
    monkeypatch.delenv("TOYSAFE_WEBHOOK_ALLOW_PRIVATE", raising=False)
    refused = runner.invoke(app, ["program", "webhooks", "add", "hoppy", "https://10.0.0.1/h"])
    assert refused.exit_code == 2 and "URL: 10.0.0.1 is a private address" in refused.stderr
    assert "TOYSAFE_WEBHOOK_ALLOW_PRIVATE" in refused.stderr
    monkeypatch.setenv("TOYSAFE_WEBHOOK_ALLOW_PRIVATE", "1")
    plain = runner.invoke(app, ["program", "webhooks", "add", "hoppy", "http://10.0.0.1/h"])
    assert plain.exit_code == 2 and "must be https" in plain.stderr
    monkeypatch.setenv("TOYSAFE_WEBHOOK_ALLOW_HTTP", "1")
    ok = runner.invoke(app, ["program", "webhooks", "add", "hoppy", "http://10.0.0.1/h"])
    assert ok.exit_code == 0, ok.output


class Counter:
    """A loopback HTTP server counting every request; POST /h answers ``status``."""

    def __init__(self, status: int = 204, location: str | None = None) -> None:
        self.requests: list[str] = []
        box = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                box.requests.append(f"{self.command} {self.path}")
                self.send_response(status)
                if location:
                    self.send_header("location", location)
                self.send_header("content-length", "0")
                self.end_headers()

            do_POST = do_GET = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def counter() -> Iterator[Counter]:
    c = Counter()
    yield c
    c.stop()


def test_delivery_checks_the_address_again_when_the_dns_changed(
    store: Store, counter: Counter, dns: dict[str, str]
) -> None:
    """Registered while the name pointed outside, then re-pointed at loopback (DNS rebinding):
    the delivery refuses before connecting, and records why."""
    org_id(store, "hoppy")
    dns["hooks.example.com"] = PUBLIC
    policy = Policy(allow_http=True)  # http for the loopback receiver; private still refused
    Webhooks(store, policy).add("hoppy", f"http://hooks.example.com:{counter.port}/h")
    dns["hooks.example.com"] = "127.0.0.1"
    notice(store, "hoppy", "opened:REQ-000001")
    clock = Clock()
    config = Config(schedule=SCHEDULE, timeout=5.0, seed=7, policy=policy)
    Deliverer(store, config, "w1", clock).run_once()
    with store.reader() as s:
        [attempt] = s.scalars(select(pm.DeliveryAttempt)).all()
    assert attempt.status_code is None and attempt.outcome == "retry"
    assert attempt.error is not None and attempt.error.startswith(
        "refused: hooks.example.com resolves to 127.0.0.1 is a loopback address"
    )
    assert counter.requests == []  # nothing reached the inside
    # Allowed on purpose, the same name now reaches the receiver through the checked address.
    allowed = Config(schedule=SCHEDULE, timeout=5.0, seed=7, policy=Policy(True, True))
    clock.now += 10_000
    Deliverer(store, allowed, "w2", clock).run_once()
    assert counter.requests == ["POST /h"]


def test_redirects_are_not_followed() -> None:
    c = Counter(status=307, location="/elsewhere")
    try:
        answer = webhook.post(
            f"http://127.0.0.1:{c.port}/h", {"content-type": "application/json"}, b"{}", 5.0,
            Policy(True, True),
        )  # fmt: skip
    finally:
        c.stop()
    assert answer.status == 307 and c.requests == ["POST /h"]


def test_post_refuses_without_connecting_by_default(counter: Counter) -> None:
    answer = webhook.post(f"http://127.0.0.1:{counter.port}/h", {}, b"{}", 5.0)
    assert answer.status is None and answer.error is not None
    assert answer.error.startswith("refused: must be https")
    answer = webhook.post(f"http://127.0.0.1:{counter.port}/h", {}, b"{}", 5.0, Policy(True))
    assert answer.error is not None and "loopback" in answer.error
    assert counter.requests == []
