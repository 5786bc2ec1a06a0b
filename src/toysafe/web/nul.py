"""Reject NUL characters at the edge: PostgreSQL text cannot hold them, and no legitimate
toysafe input contains one. A pure ASGI middleware, so bodies are checked as they stream."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

NUL_BODY = (b"\x00", b"\\u0000")
MESSAGE = "NUL characters (\\u0000) are not allowed"


class RejectNul:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or scope.get("path", "").encode()
        query = scope.get("query_string", b"")
        if "\x00" in unquote(raw_path.decode("latin-1")) or "\x00" in unquote(
            query.decode("latin-1")
        ):
            await _reject(send, ["path" if "\x00" in scope.get("path", "") else "query"])
            return
        headers = dict(scope.get("headers") or [])
        if headers.get(b"content-type", b"").startswith(b"multipart/"):
            # Uploaded files are decoded and checked by the page that reads them.
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if any(n in body for n in NUL_BODY):
            await _reject(send, ["body"])
            return
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _reject(send: Any, loc: list[str]) -> None:
    payload = json.dumps({"detail": [{"loc": loc, "msg": MESSAGE, "type": "value_error"}]})
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": payload.encode()})
