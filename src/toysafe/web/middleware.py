"""ASGI middleware at the edge of the app: security headers on every response, the client's
address (X-Forwarded-For believed only from configured proxies), admission control (bounded
concurrency and queue, 503 + Retry-After when saturated) and the request body limit (413,
before the body is read whole or anyone is authenticated)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from toysafe.settings import Settings

Scope = dict[str, Any]

# The pages load their script and styles from /static and use no inline script or handler.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# The API docs (/api/docs) are the vendored Swagger UI under /static, started by a script
# file: the same strict policy as every page, nothing from another host.
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # Reset links carry their token in the URL: never pass it on.
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeaders:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = PAGE_CSP.encode()
        started = False

        async def with_headers(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in HEADERS if k not in present]
                if b"content-security-policy" not in present:
                    extra.append((b"content-security-policy", csp))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        except Exception:
            # Starlette's own 500 is made outside every middleware, without these headers:
            # answer it here (the error still propagates, to be logged).
            if not started:
                body = b"Internal Server Error"
                await with_headers(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
            raise


class ClientAddress:
    """Replace the peer address by the client named in X-Forwarded-For, but only when the peer
    is a trusted proxy: walking the header from the right, the first address that is not a
    trusted proxy is the client (so a client cannot forge its address by sending the header)."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app, self.settings = app, settings

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.settings.proxy_networks and scope.get("client"):
            peer, port = scope["client"]
            if self.settings.is_proxy(peer):
                forwarded = [
                    v.decode("latin-1")
                    for k, v in scope.get("headers", [])
                    if k.lower() == b"x-forwarded-for"
                ]
                hops = [h.strip() for h in ",".join(forwarded).split(",") if h.strip()]
                client = peer
                for hop in reversed(hops):
                    client = hop
                    if not self.settings.is_proxy(hop):
                        break
                scope = {**scope, "client": (client, port)}
        await self.app(scope, receive, send)


async def _answer(send: Any, status: int, msg: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"detail": [{"loc": ["body"], "msg": msg, "type": "value_error"}]})
    if status == 503:
        body = json.dumps({"detail": msg})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})


class Admission:
    """At most ``max_inflight`` requests at once; up to ``max_queue`` more wait at most
    ``queue_wait`` seconds for a turn; beyond that, 503 with Retry-After. Latency stays bounded
    instead of growing with the backlog."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app, self.settings = app, settings
        self.inflight = 0
        self.waiting = 0
        self._turns: asyncio.Semaphore | None = None

    def _semaphore(self) -> asyncio.Semaphore:
        if self._turns is None:  # created in the server's event loop
            self._turns = asyncio.Semaphore(self.settings.max_inflight)
        return self._turns

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        turns = self._semaphore()
        if turns.locked():
            if self.waiting >= self.settings.max_queue:
                await self._busy(send)
                return
            self.waiting += 1
            try:
                await asyncio.wait_for(turns.acquire(), self.settings.queue_wait)
            except TimeoutError:
                await self._busy(send)
                return
            finally:
                self.waiting -= 1
        else:
            await turns.acquire()
        try:
            await self.app(scope, receive, send)
        finally:
            turns.release()

    async def _busy(self, send: Any) -> None:
        await _answer(
            send, 503, "the server is busy; try again in a moment", [(b"retry-after", b"1")]
        )


class BodyLimit:
    """Refuse bodies over ``max_body_bytes`` with 413: at once when Content-Length says so, else
    as soon as the streamed bytes pass the limit. The body is read here (never more than the
    limit) and handed on whole, before any route or authentication runs."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app, self.limit = app, settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_big = f"the request body is over the limit of {self.limit} bytes"
        for k, v in scope.get("headers", []):
            if k.lower() == b"content-length":
                try:
                    declared = int(v)
                except ValueError:
                    await _answer(send, 400, "Content-Length is not a number", [])
                    return
                if declared > self.limit:
                    await _answer(send, 413, too_big, [(b"connection", b"close")])
                    return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await _answer(send, 413, too_big, [(b"connection", b"close")])
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        delivered = False

        async def replay() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
