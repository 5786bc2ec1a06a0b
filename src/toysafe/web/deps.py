"""Request dependencies: the store, and who is asking (bearer token or session cookie)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from toysafe.store.accounts import Accounts, Principal
from toysafe.store.db import Store


def store(request: Request) -> Store:
    found: Store = request.app.state.store
    return found


def session(request: Request) -> Iterator[Session]:
    """A read-only session for the request; writes go through the Workspace's transactions."""
    with request.app.state.store.reader() as s:
        yield s


def principal_or_none(request: Request) -> Principal | None:
    accounts: Accounts = request.app.state.accounts
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return accounts.by_token(header[7:].strip())
    user_id = request.session.get("user_id") if "session" in request.scope else None
    return accounts.by_id(int(user_id)) if user_id else None


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
