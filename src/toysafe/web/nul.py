"""Reject NUL characters at the edge: PostgreSQL text cannot hold them, and no legitimate
toysafe input contains one. Also reject JSON (or YAML) bodies nested deeper than any toysafe
document (``io.text.MAX_DEPTH``) before FastAPI parses them: 422 naming the body, never a
RecursionError. A pure ASGI middleware over the (size-limited) body."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

from toysafe.io.text import MAX_DEPTH

NUL_BODY = (b"\x00", b"\\u0000")
MESSAGE = "NUL characters (\\u0000) are not allowed"
DEPTH_MESSAGE = f"nested deeper than {MAX_DEPTH} levels: not a toysafe document"
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


def too_deep(body: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether brackets outside JSON strings nest deeper than ``limit`` (a linear scan)."""
    depth = 0
    for m in _BRACKET.finditer(_STRING.sub(b'""', body)):
        depth += 1 if m[0] in b"[{" else -1
        if depth > limit:
            return True
    return False


def _structured(content_type: bytes) -> bool:
    kind = content_type.split(b";")[0].strip().lower()
    return not kind or kind.endswith((b"json", b"yaml", b"yml")) or kind == b"text/plain"


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
        if _structured(headers.get(b"content-type", b"")) and too_deep(body):
            await _reject(send, ["body"], DEPTH_MESSAGE)
            return
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _reject(send: Any, loc: list[str], message: str = MESSAGE) -> None:
    payload = json.dumps({"detail": [{"loc": loc, "msg": message, "type": "value_error"}]})
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": payload.encode()})
