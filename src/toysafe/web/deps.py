"""Request dependencies: the store, and who is asking (bearer token or session cookie)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from toysafe.store.accounts import Accounts, Principal
from toysafe.store.db import Store
from toysafe.web.security import RateLimit, SharedGuessLimit, csrf_ok


def store(request: Request) -> Store:
    found: Store = request.app.state.store
    return found


def session(request: Request) -> Iterator[Session]:
    """A read-only session for the request; writes go through the Workspace's transactions."""
    with request.app.state.store.reader() as s:
        yield s


Db = Annotated[Session, Depends(session)]
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def client_of(request: Request) -> str:
    """The client's address (X-Forwarded-For is applied by ClientAddress for trusted proxies)."""
    return request.client.host if request.client else "unknown"


def principal_or_none(request: Request, db: Session | None = None) -> Principal | None:
    """The user of a bearer token, else of the session cookie (whose writes need the CSRF
    token in ``X-CSRF-Token``, since a browser sends cookies on its own). Unknown tokens count
    against the client: guessing is throttled (429). Asked in ``db`` (the request's read
    session) when given, so that a request checks out one connection, not two."""
    if "principal" in request.scope:  # resolved once per request
        cached: Principal | None = request.scope["principal"]
        return cached
    who = _resolve(request, db)
    request.scope["principal"] = who
    return who


def _resolve(request: Request, db: Session | None) -> Principal | None:
    accounts: Accounts = request.app.state.accounts
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        # Counted across workers; a valid token meets no database round trip for the count.
        guesses: RateLimit | SharedGuessLimit = request.app.state.throttle.token_clients
        client = client_of(request)
        wait = guesses.retry_after(client)
        if wait is not None:
            raise HTTPException(
                429, "too many unknown API tokens from your address", {"Retry-After": f"{wait:.0f}"}
            )
        who = accounts.by_token(header[7:].strip(), db)
        if who is None:
            guesses.hit(client)
        return who
    sid = request.session.get("sid") if "session" in request.scope else None
    if not sid:
        return None
    who = accounts.by_session(sid, db)
    if who is None:
        return None
    if (
        request.method not in SAFE_METHODS
        and request.url.path.startswith("/api/")
        and not (csrf_ok(request.session.get("csrf"), request.headers.get("x-csrf-token")))
    ):
        raise HTTPException(403, "missing or wrong X-CSRF-Token for a cookie-authenticated write")
    return who


def principal(request: Request, db: Db) -> Principal:
    who = principal_or_none(request, db)
    if who is None:
        raise HTTPException(
            401,
            "sign in, or send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return who


Who = Annotated[Principal, Depends(principal)]
