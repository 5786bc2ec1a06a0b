"""Delivering the program's notices: the Standard Webhooks signature, the retry schedule and
what an answer means. Pure: the caller supplies times, randomness and the bytes to sign.

Standard Webhooks 1.0 (symmetric scheme): the secret is shown as ``whsec_`` + base64 of 24 to
64 random bytes; the signed content is ``{msg_id}.{timestamp}.{body}``; the header value is
``v1,`` + base64(HMAC-SHA256(secret bytes, content)), several space-separated when keys rotate.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"


class NoticeKind(StrEnum):
    request_opened = "request_opened"
    reminder = "reminder"
    action = "action"
    decision = "decision"
    appeal_received = "appeal_received"


class Notice(BaseModel):
    """An outbox payload read as what it is; keys the program adds later are kept (extra)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    kind: NoticeKind
    request: str | None = None
    listing_id: str | None = None
    due: date | None = None
    days_left: int | None = None
    triggers: list[str] = Field(default_factory=list)
    requirements: list[str] = Field(default_factory=list)
    action: str | None = None
    decision: str | None = None
    reason: str | None = None
    state: str | None = None
    findings: list[dict[str, Any]] = Field(default_factory=list)
    reasons: dict[str, Any] | None = None
    appeal: str | None = None

    @classmethod
    def of(cls, kind: str, payload: dict[str, Any]) -> Notice:
        return cls.model_validate({**payload, "kind": kind})


def encode_secret(raw: bytes) -> str:
    """The secret as shown to the endpoint's owner (``whsec_...``)."""
    if not 24 <= len(raw) <= 64:
        raise ValueError("a webhook secret has 24 to 64 bytes")
    return SECRET_PREFIX + base64.b64encode(raw).decode("ascii")


def decode_secret(secret: str) -> bytes:
    """The key bytes of a ``whsec_`` secret (the prefix is optional, as receivers accept)."""
    text = secret.removeprefix(SECRET_PREFIX)
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise ValueError("a webhook secret is whsec_ followed by base64") from None
    if not 24 <= len(raw) <= 64:
        raise ValueError("a webhook secret has 24 to 64 bytes")
    return raw


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one key."""
    if "." in msg_id:
        raise ValueError("a webhook id may not contain '.'")
    content = f"{msg_id}.{timestamp}.".encode() + body
    mac = hmac.new(decode_secret(secret), content, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(mac).decode('ascii')}"


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
        "content-type": "application/json",
    }


def msg_id(notice_key: str) -> str:
    """A stable id per notice (the same on every retry and endpoint: receivers dedupe on it)."""
    return "msg_" + hashlib.sha256(notice_key.encode()).hexdigest()[:28]


def body(notice_key: str, kind: str, on: date, seller: str, payload: dict[str, Any]) -> bytes:
    """The webhook payload (``type``, ``timestamp``, ``data``), minified with sorted keys so
    that every retry sends the very bytes that were signed the first time."""
    doc = {
        "type": f"program.{kind}",
        "timestamp": f"{on.isoformat()}T00:00:00Z",
        "data": {"notice": notice_key, "seller": seller, **payload},
    }
    return json.dumps(doc, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


@dataclass(frozen=True)
class Schedule:
    """Exponential backoff with jitter: attempt n (1-based) failed -> wait
    ``min(cap, base * 2**(n-1)) * (1 + jitter * u)`` with ``u`` in [0, 1); after
    ``max_attempts`` failures the delivery is dead."""

    max_attempts: int = 8
    base: float = 5.0
    cap: float = 86_400.0
    jitter: float = 0.2

    def delay(self, attempt: int, u: float) -> float:
        if attempt < 1:
            raise ValueError("attempts count from 1")
        if not 0.0 <= u < 1.0:
            raise ValueError("u is in [0, 1)")
        return min(self.cap, self.base * 2 ** (attempt - 1)) * (1.0 + self.jitter * u)


class Outcome(StrEnum):
    delivered = "delivered"
    retry = "retry"
    dead = "dead"
    disabled = "disabled"


def outcome(status: int | None, attempt: int, schedule: Schedule) -> Outcome:
    """What an answer means (Standard Webhooks): 2xx delivered; 410 Gone disables the
    endpoint; anything else (3xx included, or no answer: ``status`` None) is a failure, retried
    until the schedule's last attempt."""
    if status is not None and 200 <= status < 300:
        return Outcome.delivered
    if status == 410:
        return Outcome.disabled
    return Outcome.dead if attempt >= schedule.max_attempts else Outcome.retry
