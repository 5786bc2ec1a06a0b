"""Settings of the web server, in one place (read from the environment once per process).

Every name is ``TOYSAFE_`` + the field name in capitals, e.g. ``TOYSAFE_SMTP_HOST``."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, fields
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class WebSettings:
    # Addresses (or CIDR networks) of reverse proxies whose X-Forwarded-For is believed;
    # from anyone else the header is ignored, so it cannot be used to dodge throttling.
    trusted_proxies: str = ""
    # Largest request body accepted, checked before the body is read or anyone authenticated.
    max_body_bytes: int = 5 * 1024 * 1024
    # Requests served at once per worker; more wait up to queue_wait seconds in a queue of at
    # most max_queue, else get 503 with Retry-After (shedding load instead of piling it up).
    max_inflight: int = 12
    max_queue: int = 200
    queue_wait: float = 2.0
    # Database pool per worker (PostgreSQL): a request holds at most two connections, so
    # pool_size + max_overflow >= 2 * max_inflight; two workers stay well under 100.
    db_pool_size: int = 10
    db_max_overflow: int = 15
    # Sign-in: a per-account backoff after this many wrong passwords (doubling, capped) ...
    login_free_failures: int = 5
    login_backoff_base: float = 5.0
    login_backoff_max: float = 60.0
    # ... and per client address, failed sign-ins (any account) and unknown API tokens.
    client_login_failures: int = 20
    client_token_failures: int = 30
    client_window: float = 300.0
    session_hours: float = 8.0
    # Password reset by e-mail (no SMTP host: reset is not offered).
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "toysafe@localhost"
    reset_minutes: float = 30.0
    # Where links in e-mails point (never taken from the request's Host header).
    public_url: str = "http://127.0.0.1:8000"
    proxy_networks: tuple[Network, ...] = field(default=(), compare=False)

    @classmethod
    def from_env(cls, **overrides: Any) -> WebSettings:
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "proxy_networks":
                continue
            raw = os.environ.get("TOYSAFE_" + f.name.upper())
            if raw is not None and raw != "":
                kind: Any = type(f.default)
                values[f.name] = raw if kind is str else kind(raw)
        values.update(overrides)
        nets = tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in values.get("trusted_proxies", "").split(",")
            if part.strip()
        )
        return cls(**values, proxy_networks=nets)

    def is_proxy(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in net for net in self.proxy_networks)
