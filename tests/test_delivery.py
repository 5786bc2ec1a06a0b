"""The outbox delivered (issue 12): Standard Webhooks signatures checked by an independent
receiver on loopback, retries on the backoff schedule, dead after the last attempt, 410
disables, e-mail through a local SMTP server, and concurrent workers sending each once —
on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.program_seed import org_id
from tests.store_fixtures import DB
from toysafe.core.program import delivery as core
from toysafe.io.webhook import Policy
from toysafe.store import models as m
from toysafe.store.db import Store
from toysafe.store.program import models as pm
from toysafe.store.program.delivery import Config, Deliverer, Webhooks, deliveries


def spec_verify(secret: str, headers: Any, body: bytes, tolerance: int = 300) -> bool:
    """The Standard Webhooks check as a receiver does it, written from the spec alone."""
    msg_id, stamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(time.time() - int(stamp)) > tolerance:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(
        hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    ).decode()
    for sig in headers["webhook-signature"].split(" "):
        version, _, value = sig.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False


class Receiver:
    """A threaded HTTP server on loopback answering scripted statuses, keeping what came."""

    def __init__(self) -> None:
        self.script: list[int] = []
        self.default = 200
        self.secret = ""
        self.got: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        box = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                with box.lock:
                    status = box.script.pop(0) if box.script else box.default
                    box.got.append(
                        {
                            "id": self.headers["webhook-id"],
                            "valid": spec_verify(box.secret, self.headers, body),
                            "body": json.loads(body),
                            "status": status,
                        }
                    )
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def notice(store: Store, seller: str, key: str, kind: str = "request_opened") -> int:
    sid = org_id(store, seller)
    payloads = {
        "request_opened": {
            "request": "REQ-000001",
            "listing_id": "B0TOY00001",
            "due": "2026-01-19",
            "triggers": ["new_listing"],
            "requirements": ["F963:4.6", "16CFR1501"],
        },
        "reminder": {
            "request": "REQ-000001",
            "listing_id": "B0TOY00001",
            "due": "2026-01-19",
            "days_left": 3,
        },
    }
    with store.transaction() as s:
        row = pm.Outbox(
            key=key,
            seller_org_id=sid,
            created_on=date(2026, 1, 5),
            kind=kind,
            payload=payloads[kind],
        )
        s.add(row)
        s.flush()
        return row.id


SCHEDULE = core.Schedule(max_attempts=4, base=10.0, cap=1000.0, jitter=0.5)
# The receivers here listen on plain http on loopback: allowed on purpose, as in development
# (by default toysafe refuses both; tests/test_webhook_targets.py).
LOOPBACK = Policy(allow_http=True, allow_private=True)


@pytest.fixture(autouse=True)
def _loopback_receivers_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOYSAFE_WEBHOOK_ALLOW_HTTP", "1")
    monkeypatch.setenv("TOYSAFE_WEBHOOK_ALLOW_PRIVATE", "1")


def add_hook(store: Store, url: str, seller: str = "hoppy") -> tuple[dict[str, Any], str]:
    org_id(store, seller)
    return Webhooks(store, LOOPBACK).add(seller, url)


def worker(store: Store, clock: Clock, name: str = "w1", **kw: Any) -> Deliverer:
    config = Config(schedule=SCHEDULE, timeout=5.0, seed=7, policy=LOOPBACK, **kw)
    return Deliverer(store, config, name, clock)


def test_the_signature_is_the_specifications_test_vector() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    got = core.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    assert got == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    with pytest.raises(ValueError):
        core.sign(secret, "msg.with.dots", 1, b"{}")
    fresh = core.encode_secret(b"k" * 32)
    assert fresh.startswith("whsec_") and core.decode_secret(fresh) == b"k" * 32


def test_outcomes_follow_the_specification() -> None:
    s = core.Schedule(max_attempts=3)
    assert core.outcome(204, 1, s) is core.Outcome.delivered
    assert core.outcome(410, 1, s) is core.Outcome.disabled
    assert core.outcome(301, 1, s) is core.Outcome.retry  # redirects are failures
    assert core.outcome(None, 2, s) is core.Outcome.retry
    assert core.outcome(500, 3, s) is core.Outcome.dead


def test_a_signed_webhook_is_verified_by_the_receiver(store: Store, receiver: Receiver) -> None:
    endpoint, secret = add_hook(store, receiver.url)
    receiver.secret = secret
    nid = notice(store, "hoppy", "opened:REQ-000001")
    clock = Clock()
    result = worker(store, clock).run_once()
    assert result["queued"] == 1 and result["delivered"] == 1
    assert len(receiver.got) == 1 and receiver.got[0]["valid"]
    body = receiver.got[0]["body"]
    assert body["type"] == "program.request_opened"
    assert body["data"]["request"] == "REQ-000001" and body["data"]["seller"] == "hoppy"
    assert receiver.got[0]["id"] == core.msg_id("opened:REQ-000001")
    with store.reader() as s:
        assert s.get(pm.Outbox, nid).delivered_at is not None  # type: ignore[union-attr]
    # Nothing more to do; a second pass sends nothing (idempotent).
    assert worker(store, clock).run_once()["attempted"] == 0
    assert len(receiver.got) == 1
    # A wrong secret fails the independent check (the check can fail).
    receiver.secret = core.encode_secret(b"x" * 32)
    assert endpoint["enabled"]


def test_failures_then_success_follow_the_backoff_schedule(
    store: Store, receiver: Receiver
) -> None:
    _, receiver.secret = add_hook(store, receiver.url)
    notice(store, "hoppy", "reminder:1:3", "reminder")
    receiver.script = [500, 503]
    clock = Clock()
    w = worker(store, clock)
    start = clock.now
    assert w.run_once()["retry"] == 1
    [d] = deliveries(store)
    first = d["attempts"][0]
    assert first["status_code"] == 500 and first["outcome"] == "retry"
    with store.reader() as s:
        row = s.scalars(select(pm.Delivery)).one()
        delay1 = row.next_at - start
    assert 10.0 <= delay1 < 15.0  # base 10 s, jitter up to 50 %
    clock.now = start + delay1 - 1
    assert w.run_once()["attempted"] == 0  # not yet due
    clock.now = start + delay1
    assert w.run_once()["retry"] == 1
    with store.reader() as s:
        row = s.scalars(select(pm.Delivery)).one()
        delay2 = row.next_at - clock.now
    assert 20.0 <= delay2 < 30.0  # doubled
    clock.now += delay2
    assert w.run_once()["delivered"] == 1
    [d] = deliveries(store)
    assert [a["outcome"] for a in d["attempts"]] == ["retry", "retry", "delivered"]
    assert d["state"] == "delivered" and all(g["valid"] for g in receiver.got)
    assert len({g["id"] for g in receiver.got}) == 1  # the same webhook-id on every retry
    # The same seed gives the same schedule.
    assert delay1 == pytest.approx(SCHEDULE.delay(1, w._u(row.id, 1)), abs=1e-3)
    assert delay2 == pytest.approx(SCHEDULE.delay(2, w._u(row.id, 2)), abs=1e-3)


def test_dead_after_the_last_attempt_and_kept_visible(store: Store, receiver: Receiver) -> None:
    _, receiver.secret = add_hook(store, receiver.url)
    nid = notice(store, "hoppy", "opened:REQ-000002")
    receiver.default = 500
    clock = Clock()
    w = worker(store, clock)
    for _ in range(SCHEDULE.max_attempts):
        w.run_once()
        clock.now += 10_000
    [d] = deliveries(store, "dead")
    assert len(d["attempts"]) == SCHEDULE.max_attempts
    assert d["attempts"][-1]["outcome"] == "dead" and d["attempts"][-1]["next_attempt"] is None
    assert w.run_once()["attempted"] == 0  # dead stays dead
    assert len(receiver.got) == SCHEDULE.max_attempts
    with store.reader() as s:
        assert s.get(pm.Outbox, nid).delivered_at is None  # type: ignore[union-attr]


def test_410_disables_the_endpoint(store: Store, receiver: Receiver) -> None:
    endpoint, receiver.secret = add_hook(store, receiver.url)
    notice(store, "hoppy", "opened:REQ-000003")
    notice(store, "hoppy", "opened:REQ-000004")
    receiver.default = 410
    clock = Clock()
    w = worker(store, clock)
    assert w.fan_out(10) == 2
    result = w.run_once(limit=1)
    assert result["disabled"] == 1
    [listed] = Webhooks(store).list("hoppy")
    assert not listed["enabled"] and listed["disabled_reason"] == "gone_410"
    clock.now += 100
    assert worker(store, clock).run_once()["attempted"] == 0
    assert len(receiver.got) == 1
    states = sorted(d["state"] for d in deliveries(store))
    assert states == ["disabled", "disabled"]


def test_email_reaches_a_local_smtp_server(store: Store) -> None:
    from aiosmtpd.controller import Controller

    got: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            got.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(Handler(), hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        sid = org_id(store, "hoppy")
        with store.transaction() as s:
            s.add(m.User(email="ops@hoppy.test", org_id=sid, role="seller"))
            s.add(m.User(email="gone@hoppy.test", org_id=sid, role="seller", disabled=True))
        notice(store, "hoppy", "reminder:9:3", "reminder")
        clock = Clock()
        w = worker(store, clock, smtp_host="127.0.0.1", smtp_port=port, smtp_from="n@toysafe.test")
        assert w.run_once()["delivered"] == 1
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.02)
        [(to, msg)] = got
        assert to == ["ops@hoppy.test"]
        assert msg["Subject"] == "Reminder: 3 days left for listing B0TOY00001 (REQ-000001)"
        text = msg.get_payload(decode=True).decode()
        assert "due on 2026-01-19 (3 days left)" in text and "Hello hoppy" in text
    finally:
        smtp.stop()


def test_an_unreachable_smtp_server_is_retried(store: Store) -> None:
    sid = org_id(store, "hoppy")
    with store.transaction() as s:
        s.add(m.User(email="ops@hoppy.test", org_id=sid, role="seller"))
    notice(store, "hoppy", "reminder:10:3", "reminder")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    w = worker(store, Clock(), smtp_host="127.0.0.1", smtp_port=closed)
    assert w.run_once()["retry"] == 1
    [d] = deliveries(store)
    assert "ConnectionRefused" in d["attempts"][0]["error"]


def test_concurrent_workers_deliver_each_notice_once(store: Store, receiver: Receiver) -> None:
    _, receiver.secret = add_hook(store, receiver.url)
    _, second = add_hook(store, receiver.url + "/two")
    keys = [f"opened:REQ-{i:06d}" for i in range(40)]
    for k in keys:
        notice(store, "hoppy", k)
    clock = Clock()
    errors: list[BaseException] = []

    def work(name: str) -> None:
        w = worker(store, clock, name)
        try:
            while True:
                r = w.run_once(limit=3)
                if r["attempted"] == 0 and r["queued"] == 0:
                    return
        except BaseException as e:  # noqa: BLE001 - reported by the test
            errors.append(e)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(receiver.got) == 2 * len(keys)  # one per notice and endpoint, none twice
    ids = [g["id"] for g in receiver.got]
    assert sorted(ids) == sorted([core.msg_id(k) for k in keys] * 2)
    with store.reader() as s:
        assert all(o.delivered_at is not None for o in s.scalars(select(pm.Outbox)))
        attempts = s.scalars(select(pm.DeliveryAttempt)).all()
    assert len(attempts) == 2 * len(keys) and {a.n for a in attempts} == {1}
    assert len({a.worker for a in attempts}) >= 1
    assert second.startswith("whsec_")


def test_the_command_line_adds_lists_removes_and_delivers(
    ws_env: DB, receiver: Receiver, tmp_path: Any
) -> None:
    from toysafe.cli.app import app

    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    bad = runner.invoke(app, ["program", "webhooks", "add", "hoppy", "ftp://x"])
    assert bad.exit_code == 2 and "URL" in bad.stderr
    s = ws_env.store()
    org_id(s, "hoppy")
    out = runner.invoke(app, ["program", "webhooks", "add", "hoppy", receiver.url])
    assert out.exit_code == 0, out.output
    secret = out.stdout.split("signing secret (shown once): ")[1].strip()
    assert secret.startswith("whsec_") and len(core.decode_secret(secret)) == 32
    receiver.secret = secret
    listed = runner.invoke(app, ["program", "webhooks", "list", "--format", "json"])
    assert secret not in listed.stdout and json.loads(listed.stdout)[0]["enabled"]
    notice(s, "hoppy", "opened:REQ-000009")
    done = runner.invoke(app, ["program", "deliver", "--once", "--format", "json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["delivered"] == 1 and receiver.got[0]["valid"]
    shown = runner.invoke(app, ["program", "deliveries", "--format", "json"])
    assert json.loads(shown.stdout)[0]["state"] == "delivered"
    gone = runner.invoke(app, ["program", "webhooks", "remove", "1"])
    assert gone.exit_code == 0
    listed = json.loads(
        runner.invoke(app, ["program", "webhooks", "list", "--format", "json"]).stdout
    )
    assert listed[0]["disabled_reason"] == "removed"
    assert runner.invoke(app, ["program", "webhooks", "remove", "99"]).exit_code == 2
