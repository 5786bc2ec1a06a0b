"""Posting one webhook over HTTP(S): the status code, or the error when nothing answered.
Redirects are not followed (Standard Webhooks: a 3xx is a failure; the URL should be fixed)."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


@dataclass(frozen=True)
class Answer:
    status: int | None
    error: str | None = None


def post(url: str, headers: dict[str, str], body: bytes, timeout: float) -> Answer:
    """POST ``body``; never raises for what the network or the receiver does."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(65_536)
            return Answer(response.status)
    except urllib.error.HTTPError as e:
        return Answer(e.code)
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        return Answer(None, f"{type(e).__name__}: {reason}"[:300])
