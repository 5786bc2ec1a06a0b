"""Users, API tokens, product sharing with labs, and reviewer enrollments."""

from __future__ import annotations

import functools
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from toysafe.core.reasons import Problem, Reason
from toysafe.io.errors import InputError
from toysafe.store import models as m
from toysafe.store.db import Store

ROLES = ("seller", "lab", "reviewer", "admin")
TOKEN_PREFIX = "ts_"


@dataclass(frozen=True)
class Principal:
    """Who is asking: the user, their role and organization."""

    user_id: int
    email: str
    role: str
    org_id: int
    org_slug: str
    lab_cpsc_id: str | None


MAX_EMAIL = 100


def _hasher():  # type: ignore[no-untyped-def]
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    from toysafe.settings import settings

    if settings().password_hash_cost == "minimum":
        return PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),))
    return PasswordHash.recommended()


def hash_password(password: str) -> str:
    return str(_hasher().hash(password))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _principal_of(s: Session, where: Any, via: Any) -> Principal | None:
    """The enabled user found through ``via`` (tokens or sessions) matching ``where``."""
    row = s.execute(
        select(m.User, m.Organization.slug)
        .join(via, via.user_id == m.User.id)
        .join(m.Organization, m.Organization.id == m.User.org_id)
        .where(where)
    ).first()
    if row is None or row[0].disabled:
        return None
    user, slug = row
    s.info.setdefault("toysafe_org_slugs", {})[user.org_id] = slug  # for access.org_slug
    return Principal(user.id, user.email, user.role, user.org_id, slug, user.lab_cpsc_id)


def _principal(s: Session, user: m.User) -> Principal:
    org = s.get(m.Organization, user.org_id)
    assert org is not None
    return Principal(user.id, user.email, user.role, org.id, org.slug, user.lab_cpsc_id)


class Accounts:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add_user(
        self,
        email: str,
        org: str,
        role: str,
        password: str | None = None,
        lab_cpsc_id: str | None = None,
    ) -> Principal:
        email = email.strip().lower()
        if role not in ROLES:
            raise InputError(f"--role: '{role}' is not one of {', '.join(ROLES)}")
        if "@" not in email:
            raise InputError(f"EMAIL: '{email}' is not an e-mail address")
        if len(email) > MAX_EMAIL:  # an e-mail names the actor of every event (100 characters)
            raise InputError(f"EMAIL: longer than {MAX_EMAIL} characters")
        if "\x00" in email or "\x00" in (password or ""):
            raise InputError("EMAIL: contains a NUL character")
        if role == "lab" and not (lab_cpsc_id and lab_cpsc_id.isdigit() and len(lab_cpsc_id) == 4):
            raise InputError("--lab-id: a lab user needs its 4-digit CPSC lab id")
        if password is not None and len(password) < 10:
            raise InputError("password: use at least 10 characters")
        with self.store.transaction() as s:
            if s.scalar(select(m.User).where(m.User.email == email)) is not None:
                raise InputError(f"EMAIL: a user {email} already exists")
            organization = s.scalar(select(m.Organization).where(m.Organization.slug == org))
            if organization is None:
                organization = m.Organization(slug=org, name=org)
                s.add(organization)
                s.flush()
            user = m.User(
                email=email,
                org_id=organization.id,
                role=role,
                lab_cpsc_id=lab_cpsc_id if role == "lab" else None,
                password_hash=hash_password(password) if password else None,
                disabled=False,
            )
            s.add(user)
            s.flush()
            s.add(
                m.Event(
                    actor="toysafe users",
                    org_id=organization.id,
                    kind="user.add",
                    subject=email,
                    detail={"role": role},
                )
            )
            return _principal(s, user)

    def exists(self, email: str) -> bool:
        with self.store.reader() as s:
            return (
                s.scalar(select(m.User.id).where(m.User.email == email.strip().lower())) is not None
            )

    def new_token(self, email: str, name: str = "cli") -> str:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.store.transaction() as s:
            user = s.scalar(select(m.User).where(m.User.email == email.strip().lower()))
            if user is None:
                raise InputError(f"EMAIL: no user {email}")
            s.add(m.ApiToken(user_id=user.id, token_hash=token_hash(token), name=name))
        return token

    def by_token(self, token: str, s: Session | None = None) -> Principal | None:
        """The user of an API token, asked of the database every time (one indexed join), so
        that revoking a token takes effect at once."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
            return None
        if s is not None:  # the request's own read session: one connection per request
            return _principal_of(s, m.ApiToken.token_hash == token_hash(token), m.ApiToken)
        with self.store.reader() as own:
            return _principal_of(own, m.ApiToken.token_hash == token_hash(token), m.ApiToken)

    def revoke_tokens(self, email: str, name: str | None = None) -> int:
        """Delete a user's API tokens (all, or those called ``name``); effective immediately."""
        with self.store.transaction() as s:
            user = s.scalar(select(m.User).where(m.User.email == email.strip().lower()))
            if user is None:
                raise InputError(f"EMAIL: no user {email}")
            query = delete(m.ApiToken).where(m.ApiToken.user_id == user.id)
            if name is not None:
                query = query.where(m.ApiToken.name == name)
            count = int(s.execute(query).rowcount or 0)  # type: ignore[attr-defined]
            s.add(
                m.Event(
                    actor="toysafe users",
                    org_id=user.org_id,
                    kind="user.tokens_revoked",
                    subject=user.email,
                    detail={"count": count, "name": name},
                )
            )
            return count

    # --- browser sessions, kept on the server so that signing out ends them ---------------

    def start_session(self, user_id: int, hours: float = 8.0) -> str:
        """A new session id for the cookie (the database keeps its hash)."""
        sid = secrets.token_urlsafe(32)
        now = time.time()
        with self.store.transaction() as s:
            s.add(
                m.WebSession(
                    id_hash=token_hash(sid),
                    user_id=user_id,
                    created=now,
                    expires=now + hours * 3600,
                    revoked=False,
                )
            )
        return sid

    def by_session(self, sid: str, s: Session | None = None) -> Principal | None:
        """The user of a live session (not signed out, not expired, user not disabled)."""
        if not isinstance(sid, str) or len(sid) > 100:
            return None
        live = (
            (m.WebSession.id_hash == token_hash(sid))
            & (m.WebSession.revoked.is_(False))
            & (m.WebSession.expires > time.time())
        )
        if s is not None:
            return _principal_of(s, live, m.WebSession)
        with self.store.reader() as own:
            return _principal_of(own, live, m.WebSession)

    def end_session(self, sid: str) -> None:
        with self.store.transaction() as s:
            found = s.get(m.WebSession, token_hash(sid))
            if found is not None:
                found.revoked = True

    def end_all_sessions(self, s: Session, user_id: int) -> None:
        s.execute(update(m.WebSession).where(m.WebSession.user_id == user_id).values(revoked=True))

    # --- password reset by e-mail ----------------------------------------------------------

    def new_reset(self, email: str, minutes: float = 30.0) -> tuple[str, str] | None:
        """A one-time reset token for an enabled user with this address, and the address;
        None when there is no such user (the caller answers the same either way)."""
        token = secrets.token_urlsafe(32)
        with self.store.transaction() as s:
            user = s.scalar(select(m.User).where(m.User.email == email.strip().lower()))
            if user is None or user.disabled:
                return None
            s.add(
                m.PasswordReset(
                    token_hash=token_hash(token),
                    user_id=user.id,
                    expires=time.time() + minutes * 60,
                    used=False,
                )
            )
            s.add(
                m.Event(
                    actor=user.email,
                    org_id=user.org_id,
                    kind="user.reset_requested",
                    subject=user.email,
                    detail={},
                )
            )
            return token, user.email

    def reset_is_valid(self, token: str) -> bool:
        with self.store.reader() as s:
            found = s.get(m.PasswordReset, token_hash(token)) if len(token) < 100 else None
            return found is not None and not found.used and found.expires > time.time()

    def use_reset(self, token: str, password: str) -> Principal:
        """Set the password with a reset token: once, before it expires. Every session of
        the user ends (whoever knew the old password is signed out)."""
        if len(password) < 10:
            raise _reset_error("password", Reason("password_too_short", {"min": 10}))
        if len(password) > 1000:
            raise _reset_error("password", Reason("password_too_long", {"max": 1000}))
        with self.store.transaction() as s:
            found = s.get(m.PasswordReset, token_hash(token)) if len(token) < 100 else None
            if found is None or found.used or found.expires <= time.time():
                raise _reset_error("token", Reason("reset_link_invalid"))
            # Single use even against a concurrent second request: only one UPDATE matches.
            claimed = s.execute(
                update(m.PasswordReset)
                .where(
                    m.PasswordReset.token_hash == found.token_hash,
                    m.PasswordReset.used.is_(False),
                )
                .values(used=True)
            )
            if not claimed.rowcount:  # type: ignore[attr-defined]
                raise _reset_error("token", Reason("reset_link_invalid"))
            user = s.get(m.User, found.user_id)
            assert user is not None
            user.password_hash = hash_password(password)
            self.end_all_sessions(s, user.id)
            s.add(
                m.Event(
                    actor=user.email,
                    org_id=user.org_id,
                    kind="user.password_reset",
                    subject=user.email,
                    detail={},
                )
            )
            return _principal(s, user)

    def by_id(self, user_id: int) -> Principal | None:
        with self.store.reader() as s:
            user = s.get(m.User, user_id)
            if user is None or user.disabled:
                return None
            return _principal(s, user)

    def authenticate(self, email: str, password: str) -> Principal | None:
        """The user whose password this is; a dummy hash keeps timing the same otherwise."""
        hasher = _hasher()
        with self.store.reader() as s:
            user = s.scalar(select(m.User).where(m.User.email == email.strip().lower()))
            stored = user.password_hash if user is not None else None
            if stored is None:
                hasher.verify(password, dummy_hash())
                return None
            if not hasher.verify(password, stored) or user is None or user.disabled:
                return None
            return _principal(s, user)

    def share(
        self, org: str, sku: str, lab_cpsc_id: str, on: bool = True, actor: str = "toysafe"
    ) -> str | None:
        """Share (or stop sharing) a product with a lab; returns a warning when the lab's CPSC
        acceptance was withdrawn (its reports would not count as evidence)."""
        with self.store.transaction() as s:
            product = s.execute(
                select(m.Product)
                .join(m.Organization, m.Organization.id == m.Product.org_id)
                .where(m.Organization.slug == org, m.Product.sku == sku)
            ).scalar()
            if product is None:
                raise InputError(f"no product '{sku}' in organization {org}")
            s.execute(
                delete(m.ProductShare).where(
                    m.ProductShare.product_id == product.id,
                    m.ProductShare.lab_cpsc_id == lab_cpsc_id,
                )
            )
            if on:
                s.add(m.ProductShare(product_id=product.id, lab_cpsc_id=lab_cpsc_id))
            s.add(
                m.Event(
                    actor=actor,
                    org_id=product.org_id,
                    kind="product.share",
                    subject=sku,
                    detail={"lab": lab_cpsc_id, "shared": on},
                )
            )
            lab = s.get(m.Lab, lab_cpsc_id)
            if on and lab is not None and lab.status != "accepted":
                return (
                    f"lab {lab_cpsc_id} ({lab.name}) is {lab.status} in the CPSC registry: "
                    "its reports do not count as evidence"
                )
            return None

    def enroll(self, reviewer_org: str, org: str) -> None:
        with self.store.transaction() as s:
            ids = {}
            for slug in (reviewer_org, org):
                found = s.scalar(select(m.Organization.id).where(m.Organization.slug == slug))
                if found is None:
                    raise InputError(f"no organization '{slug}'")
                ids[slug] = found
            if s.get(m.Enrollment, (ids[reviewer_org], ids[org])) is None:
                s.add(m.Enrollment(reviewer_org_id=ids[reviewer_org], org_id=ids[org]))


@functools.cache
def dummy_hash() -> str:
    """A hash to verify against for an unknown e-mail, so sign-in takes as long either way."""
    return hash_password(secrets.token_hex(16))


def _reset_error(field: str, reason: Reason) -> InputError:
    """A password-reset problem: the field it is about (``token`` or ``password``) is the
    problem's location, so the web form can tell a dead link from a weak password."""
    problem = Problem("reset", (field,), reason)
    return InputError(f"{field}: {problem.message}", [problem])
