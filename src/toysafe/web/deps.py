"""Request dependencies: the store, and who is asking (bearer token or session cookie)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from toysafe.store.accounts import Accounts, Principal
from toysafe.store.db import Store
from toysafe.web.security import csrf_ok


def store(request: Request) -> Store:
    found: Store = request.app.state.store
    return found


def session(request: Request) -> Iterator[Session]:
    """A read-only session for the request; writes go through the Workspace's transactions."""
    with request.app.state.store.reader() as s:
        yield s


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def principal_or_none(request: Request) -> Principal | None:
    """The user of a bearer token, else of the session cookie (whose writes need the CSRF
    token in ``X-CSRF-Token``, since a browser sends cookies on its own)."""
    accounts: Accounts = request.app.state.accounts
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return accounts.by_token(header[7:].strip())
    user_id = request.session.get("user_id") if "session" in request.scope else None
    if not user_id:
        return None
    if (
        request.method not in SAFE_METHODS
        and request.url.path.startswith("/api/")
        and not (csrf_ok(request.session.get("csrf"), request.headers.get("x-csrf-token")))
    ):
        raise HTTPException(403, "missing or wrong X-CSRF-Token for a cookie-authenticated write")
    return accounts.by_id(int(user_id))


def principal(request: Request) -> Principal:
    who = principal_or_none(request)
    if who is None:
        raise HTTPException(
            401,
            "sign in, or send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return who


Who = Annotated[Principal, Depends(principal)]
Db = Annotated[Session, Depends(session)]
