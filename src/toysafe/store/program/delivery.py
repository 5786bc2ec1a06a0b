"""Delivering the outbox: webhook endpoints, the fan-out of notices into deliveries, and the
worker that claims due deliveries, sends them and records every attempt.

Concurrency: a worker *claims* due deliveries in one short transaction (PostgreSQL: ``SELECT
... FOR UPDATE SKIP LOCKED``; SQLite: one ``UPDATE`` under its write lock, ``BEGIN
IMMEDIATE``), writing a claim token and a lease; it sends outside any transaction, then records
the attempt only if it still holds the claim. So two workers never send the same attempt; a
worker that dies mid-send loses its lease and the delivery is retried (receivers dedupe on
``webhook-id``, which stays the same).
"""

from __future__ import annotations

import random
import secrets
import smtplib
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session

from toysafe.core.program import delivery as core
from toysafe.io import mail
from toysafe.io import webhook as http
from toysafe.io.errors import InputError
from toysafe.render import notices
from toysafe.settings import Settings, settings
from toysafe.store import models as m
from toysafe.store.db import Store
from toysafe.store.program import models as pm

D, E, OUT, A = pm.Delivery, pm.WebhookEndpoint, pm.Outbox, pm.DeliveryAttempt


def _org(s: Session, slug: str) -> m.Organization:
    org = s.scalar(select(m.Organization).where(m.Organization.slug == slug))
    if org is None:
        raise InputError(f"SELLER: no organization '{slug}' in the workspace")
    return org


def policy_of(conf: Settings) -> http.Policy:
    return http.Policy(conf.webhook_allow_http, conf.webhook_allow_private)


def check_url(url: str, policy: http.Policy | None = None) -> str:
    """An absolute https URL (http only when allowed) with a host that is not, and does not
    resolve to, a private or otherwise internal address (unless allowed), or InputError
    naming URL. Checked again at every delivery (io/webhook.py)."""
    if len(url) > 2000:
        raise InputError("URL: longer than 2000 characters")
    try:
        http.check_target(url, policy or policy_of(settings()))
    except http.Refused as e:
        raise InputError(f"URL: {e}") from None
    return url


class Webhooks:
    """Endpoints per organization. The secret is generated here and shown once."""

    def __init__(self, store: Store, policy: http.Policy | None = None) -> None:
        self.store, self.policy = store, policy

    def add(self, org_slug: str, url: str) -> tuple[dict[str, Any], str]:
        check_url(url, self.policy)
        secret = core.encode_secret(secrets.token_bytes(32))
        with self.store.transaction() as s:
            org = _org(s, org_slug)
            row = E(org_id=org.id, url=url, secret=secret, enabled=True)
            s.add(row)
            s.flush()
            return _endpoint(row, org.slug), secret

    def list(self, org_slug: str | None = None) -> list[dict[str, Any]]:
        with self.store.reader() as s:
            q = select(E, m.Organization.slug).join(m.Organization, m.Organization.id == E.org_id)
            if org_slug is not None:
                q = q.where(E.org_id == _org(s, org_slug).id)
            return [_endpoint(e, slug) for e, slug in s.execute(q.order_by(E.id))]

    def remove(self, endpoint_id: int, at: float | None = None) -> None:
        """Disable the endpoint (kept: its deliveries and attempts refer to it)."""
        with self.store.transaction() as s:
            row = s.get(E, endpoint_id)
            if row is None:
                raise InputError(f"ENDPOINT: no webhook endpoint {endpoint_id}")
            _disable(s, row, "removed", time.time() if at is None else at)


def _endpoint(e: pm.WebhookEndpoint, slug: str) -> dict[str, Any]:
    return {
        "id": e.id,
        "organization": slug,
        "url": e.url,
        "enabled": e.enabled,
        "disabled_reason": e.disabled_reason,
    }


def _disable(s: Session, e: pm.WebhookEndpoint, reason: str, at: float) -> None:
    if e.enabled:
        e.enabled, e.disabled_reason, e.disabled_at = False, reason, at
    s.execute(
        update(D)
        .where(D.webhook_id == e.id, D.state == "pending")
        .values(state="disabled", claim=None, claimed_until=None)
    )


@dataclass(frozen=True)
class Config:
    schedule: core.Schedule = field(default_factory=core.Schedule)
    timeout: float = 15.0
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "toysafe@localhost"
    seed: int | None = None
    policy: http.Policy = field(default_factory=http.Policy)  # where webhooks may go

    @property
    def lease(self) -> float:
        """How long a claim holds: well past one send's timeout."""
        return 2 * self.timeout + 30.0

    @classmethod
    def from_settings(cls, conf: Settings, seed: int | None = None) -> Config:
        return cls(
            schedule=core.Schedule(
                conf.deliver_max_attempts,
                conf.deliver_backoff_base,
                conf.deliver_backoff_max,
                conf.deliver_jitter,
            ),
            timeout=conf.deliver_timeout,
            smtp_host=conf.smtp_host,
            smtp_port=conf.smtp_port,
            smtp_from=conf.smtp_from,
            seed=seed,
            policy=policy_of(conf),
        )


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker holds, with everything needed to send it."""

    id: int
    token: str
    attempts: int
    channel: str
    msg_id: str
    outbox_id: int
    notice_key: str
    kind: str
    created_on: Any
    payload: dict[str, Any]
    seller_slug: str
    seller_name: str
    url: str | None
    secret: str | None
    recipient: str | None


class Deliverer:
    """One delivery worker. ``clock`` gives UNIX seconds (injected by tests)."""

    def __init__(
        self,
        store: Store,
        config: Config,
        worker: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store, self.config, self.clock = store, config, clock
        self.worker = worker or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self.pg = store.engine.dialect.name == "postgresql"

    # --- fan-out: one delivery per notice and target, once ----------------------------------

    def _has_target(self) -> Any:
        webhook = exists().where(E.org_id == OUT.seller_org_id, E.enabled.is_(True))
        if not self.config.smtp_host:
            return webhook
        return or_(webhook, exists().where(*_recipient_filter(OUT.seller_org_id)))

    def fan_out(self, limit: int) -> int:
        """Queue up to ``limit`` notices that have somewhere to go; returns how many."""
        now = self.clock()
        with self.store.transaction() as s:
            q = (
                select(OUT.id, OUT.key, OUT.seller_org_id)
                .where(OUT.queued_at.is_(None), self._has_target())
                .order_by(OUT.id)
                .limit(limit)
            )
            if self.pg:
                q = q.with_for_update(of=OUT, skip_locked=True)
            rows = s.execute(q).all()
            queued = 0
            for oid, key, seller in rows:
                done = s.execute(
                    update(OUT).where(OUT.id == oid, OUT.queued_at.is_(None)).values(queued_at=now)
                )
                if done.rowcount != 1:  # type: ignore[attr-defined]
                    continue  # another worker queued it a moment ago
                queued += 1
                mid = core.msg_id(key)
                for eid in s.scalars(
                    select(E.id).where(E.org_id == seller, E.enabled.is_(True)).order_by(E.id)
                ):
                    s.add(_new(oid, "webhook", f"webhook:{eid}", mid, now, webhook_id=eid))
                if self.config.smtp_host:
                    for email in s.scalars(
                        select(m.User.email)
                        .where(*_recipient_filter(seller))
                        .order_by(m.User.email)
                    ):
                        s.add(_new(oid, "email", f"email:{email}", mid, now, recipient=email))
            return queued

    # --- claiming ----------------------------------------------------------------------------

    def claim(self, limit: int) -> list[Claimed]:
        """Take up to ``limit`` due deliveries for this worker (never one another holds)."""
        now, token = self.clock(), uuid.uuid4().hex
        due = and_(
            D.state == "pending",
            D.next_at <= now,
            or_(D.claimed_until.is_(None), D.claimed_until < now),
        )
        with self.store.transaction() as s:
            pick = select(D.id).where(due).order_by(D.next_at, D.id).limit(limit)
            if self.pg:
                ids = list(s.scalars(pick.with_for_update(skip_locked=True)))
                if not ids:
                    return []
                target: Any = D.id.in_(ids)
            else:
                target = D.id.in_(pick.scalar_subquery())
            s.execute(
                update(D)
                .where(target, due)
                .values(claim=token, claimed_until=now + self.config.lease)
                .execution_options(synchronize_session=False)
            )
            rows = s.execute(
                select(D, OUT, m.Organization, E)
                .join(OUT, OUT.id == D.outbox_id)
                .join(m.Organization, m.Organization.id == OUT.seller_org_id)
                .outerjoin(E, E.id == D.webhook_id)
                .where(D.claim == token)
                .order_by(D.next_at, D.id)
            ).all()
            return [
                Claimed(
                    id=d.id,
                    token=token,
                    attempts=d.attempts,
                    channel=d.channel,
                    msg_id=d.msg_id,
                    outbox_id=o.id,
                    notice_key=o.key,
                    kind=o.kind,
                    created_on=o.created_on,
                    payload=dict(o.payload),
                    seller_slug=org.slug,
                    seller_name=org.name,
                    url=e.url if e is not None else None,
                    secret=e.secret if e is not None else None,
                    recipient=d.recipient,
                )
                for d, o, org, e in rows
            ]

    # --- sending one attempt -----------------------------------------------------------------

    def _u(self, delivery_id: int, attempt: int) -> float:
        if self.config.seed is None:
            return secrets.SystemRandom().random()
        # Per delivery and attempt, so the schedule does not depend on which worker sends.
        return random.Random(f"{self.config.seed}:{delivery_id}:{attempt}").random()

    def _send(self, c: Claimed, n: int) -> tuple[int | None, str | None, core.Outcome]:
        schedule = self.config.schedule
        if c.channel == "webhook":
            assert c.url is not None and c.secret is not None
            payload = core.body(c.notice_key, c.kind, c.created_on, c.seller_slug, c.payload)
            stamp = int(self.clock())
            answer = http.post(
                c.url, core.headers(c.secret, c.msg_id, stamp, payload), payload,
                self.config.timeout, self.config.policy,
            )  # fmt: skip
            return answer.status, answer.error, core.outcome(answer.status, n, schedule)
        assert c.recipient is not None
        notice = core.Notice.of(c.kind, c.payload)
        try:
            mail.send_mail(
                self.config.smtp_host,
                self.config.smtp_port,
                self.config.smtp_from,
                c.recipient,
                notices.subject(notice),
                notices.text(notice, c.seller_name),
                timeout=self.config.timeout,
                headers={"Message-ID": f"<{c.msg_id}.{c.id}@toysafe>"},
            )
        except (smtplib.SMTPException, OSError) as e:
            failed = core.Outcome.dead if n >= schedule.max_attempts else core.Outcome.retry
            return None, f"{type(e).__name__}: {e}"[:300], failed
        return None, None, core.Outcome.delivered

    def attempt(self, c: Claimed) -> core.Outcome | None:
        """Send once and record it; None when the claim was lost meanwhile (not recorded)."""
        n = c.attempts + 1
        sent_at = self.clock()
        status, error, result = self._send(c, n)
        now = self.clock()
        next_at = (
            now + self.config.schedule.delay(n, self._u(c.id, n))
            if result is core.Outcome.retry
            else None
        )
        state = {
            core.Outcome.delivered: "delivered",
            core.Outcome.retry: "pending",
            core.Outcome.dead: "dead",
            core.Outcome.disabled: "disabled",
        }[result]
        with self.store.transaction() as s:
            held = s.execute(
                update(D)
                .where(D.id == c.id, D.claim == c.token)
                .values(
                    attempts=n,
                    state=state,
                    next_at=next_at if next_at is not None else now,
                    claim=None,
                    claimed_until=None,
                    delivered_at=now if result is core.Outcome.delivered else None,
                )
            )
            if held.rowcount != 1:  # type: ignore[attr-defined]
                return None
            s.add(
                A(
                    delivery_id=c.id,
                    n=n,
                    at=sent_at,
                    worker=self.worker[:100],
                    status_code=status,
                    error=error,
                    outcome=result.value,
                    next_at=next_at,
                )
            )
            if result is core.Outcome.delivered:
                s.execute(
                    update(OUT)
                    .where(OUT.id == c.outbox_id, OUT.delivered_at.is_(None))
                    .values(delivered_at=datetime.fromtimestamp(now, UTC))
                )
            elif result is core.Outcome.disabled:
                endpoint = s.scalar(select(E).join(D, D.webhook_id == E.id).where(D.id == c.id))
                if endpoint is not None:
                    _disable(s, endpoint, "gone_410", now)
        return result

    def run_once(self, limit: int = 100) -> dict[str, int]:
        """Fan out new notices, then claim and send what is due (at most ``limit`` each)."""
        queued = self.fan_out(limit)
        counts: Counter[str] = Counter()
        for c in self.claim(limit):
            result = self.attempt(c)
            counts[result.value if result is not None else "lost"] += 1
        return {
            "queued": queued,
            "attempted": sum(counts.values()),
            **{k: counts.get(k, 0) for k in ("delivered", "retry", "dead", "disabled", "lost")},
        }


def _recipient_filter(org_id: Any) -> list[Any]:
    return [m.User.org_id == org_id, m.User.role == "seller", m.User.disabled.is_(False)]


def _new(outbox_id: int, channel: str, target: str, mid: str, now: float, **kw: Any) -> Any:
    return D(
        outbox_id=outbox_id,
        channel=channel,
        target=target,
        msg_id=mid,
        state="pending",
        attempts=0,
        next_at=now,
        **kw,
    )


def deliveries(store: Store, state: str | None = None) -> list[dict[str, Any]]:
    """Every delivery with its attempts (dead ones stay visible here)."""
    with store.reader() as s:
        q = select(D, OUT.key, OUT.kind).join(OUT, OUT.id == D.outbox_id).order_by(D.id)
        if state is not None:
            q = q.where(D.state == state)
        out = []
        for d, key, kind in s.execute(q):
            tries = s.scalars(select(A).where(A.delivery_id == d.id).order_by(A.n))
            out.append(
                {
                    "id": d.id,
                    "notice": key,
                    "kind": kind,
                    "channel": d.channel,
                    "target": d.target,
                    "webhook_id": d.msg_id,
                    "state": d.state,
                    "attempts": [
                        {
                            "n": a.n,
                            "at": _iso(a.at),
                            "status_code": a.status_code,
                            "error": a.error,
                            "outcome": a.outcome,
                            "next_attempt": _iso(a.next_at),
                        }
                        for a in tries
                    ],
                }
            )
        return out


def _iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")
