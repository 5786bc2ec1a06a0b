"""Posting one webhook over HTTP(S): the status code, or the error when nothing answered.
Redirects are not followed (Standard Webhooks: a 3xx is a failure; the URL should be fixed).

Targets are guarded against server-side request forgery: only https (http when
``TOYSAFE_WEBHOOK_ALLOW_HTTP``), and no loopback, private, link-local, multicast, reserved or
otherwise non-global address (unless ``TOYSAFE_WEBHOOK_ALLOW_PRIVATE``). The check is made when
an endpoint is registered and again at each delivery, on the very addresses the connection then
uses (the name is resolved once per send and the socket opened to a checked address), so a DNS
answer that changed since registration cannot lead the request inside."""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import urllib.parse
from dataclasses import dataclass
from typing import Any

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(ValueError):
    """A webhook target the policy does not allow; the message says why (no field name)."""


@dataclass(frozen=True)
class Policy:
    allow_http: bool = False
    allow_private: bool = False


def address_refusal(address: Address) -> str | None:
    """Why ``address`` is no place to send a webhook to, or None when it is a global one."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    for what, flag in (
        ("a loopback", address.is_loopback),
        ("an unspecified", address.is_unspecified),
        ("a link-local", address.is_link_local),
        ("a multicast", address.is_multicast),
        ("a reserved", address.is_reserved),
        ("a private", address.is_private),
    ):
        if flag:
            return f"{address} is {what} address"
    if not address.is_global:
        return f"{address} is not a public address"
    return None


def check_static(url: str, policy: Policy) -> urllib.parse.SplitResult:
    """The URL's scheme, host and form (no network); raises Refused."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("must be an absolute https:// URL with a host")
    if parts.scheme == "http" and not policy.allow_http:
        raise Refused("must be https:// (plain http only when TOYSAFE_WEBHOOK_ALLOW_HTTP=1)")
    if parts.username or parts.password:
        raise Refused("must not carry a user name or password")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as e:
        raise Refused(f"bad port: {e}") from None
    host = parts.hostname
    if not policy.allow_private:
        literal = _literal(host)
        if literal is not None:
            why = address_refusal(literal)
            if why:
                raise Refused(f"{why} (allowed only when TOYSAFE_WEBHOOK_ALLOW_PRIVATE=1)")
        elif host.rstrip(".").lower() == "localhost" or host.lower().endswith(".localhost"):
            raise Refused("localhost is a loopback name (TOYSAFE_WEBHOOK_ALLOW_PRIVATE=1)")
    return parts


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return None


def resolve(host: str, port: int, policy: Policy) -> list[tuple[Any, ...]]:
    """The host's addresses (getaddrinfo), each allowed by ``policy``; raises Refused when
    any is not (a name must not point inside at all), OSError when it does not resolve."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if not policy.allow_private:
        for info in infos:
            why = address_refusal(ipaddress.ip_address(str(info[4][0]).split("%")[0]))
            if why:
                raise Refused(
                    f"{host} resolves to {why} (allowed only when TOYSAFE_WEBHOOK_ALLOW_PRIVATE=1)"
                )
    return infos


def check_target(url: str, policy: Policy) -> None:
    """At registration: the static checks, and the host's current addresses when it resolves
    (one that does not resolve yet is checked at each delivery)."""
    parts = check_static(url, policy)
    assert parts.hostname is not None
    try:
        resolve(parts.hostname, parts.port or 443, policy)
    except OSError:
        pass


def _guarded(policy: Policy) -> Any:
    """``socket.create_connection`` that connects only to addresses the policy allows."""

    def connect(
        address: tuple[str, int], timeout: Any = None, source_address: Any = None
    ) -> socket.socket:
        host, port = address
        error: OSError | None = None
        for family, kind, proto, _, sockaddr in resolve(host, port, policy):
            sock = socket.socket(family, kind, proto)
            try:
                if timeout is not None:
                    sock.settimeout(timeout)
                if source_address:
                    sock.bind(source_address)
                sock.connect(sockaddr)  # the very address that was checked
                return sock
            except OSError as e:
                error = e
                sock.close()
        raise error or OSError(f"{host}: no address to connect to")

    return connect


@dataclass(frozen=True)
class Answer:
    status: int | None
    error: str | None = None


def post(
    url: str, headers: dict[str, str], body: bytes, timeout: float, policy: Policy | None = None
) -> Answer:
    """POST ``body``; never raises for what the network or the receiver does. A target the
    policy refuses answers ``Answer(None, "refused: ...")`` without a connection."""
    policy = policy or Policy()
    try:
        parts = check_static(url, policy)
    except Refused as e:
        return Answer(None, f"refused: {e}"[:300])
    assert parts.hostname is not None
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    conn._create_connection = _guarded(policy)  # type: ignore[attr-defined]
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read(65_536)
        return Answer(response.status)  # a 3xx too: never followed
    except Refused as e:
        return Answer(None, f"refused: {e}"[:300])
    except (OSError, http.client.HTTPException, ValueError) as e:
        return Answer(None, f"{type(e).__name__}: {e}"[:300])
    finally:
        conn.close()
