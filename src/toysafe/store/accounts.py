"""Users, API tokens, product sharing with labs, and reviewer enrollments."""

from __future__ import annotations

import functools
import hashlib
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

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

    return PasswordHash.recommended()


def hash_password(password: str) -> str:
    return str(_hasher().hash(password))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _principal(s: Session, user: m.User) -> Principal:
    org = s.get(m.Organization, user.org_id)
    assert org is not None
    return Principal(user.id, user.email, user.role, org.id, org.slug, user.lab_cpsc_id)


TOKEN_TTL = 10.0  # seconds a resolved token is trusted without asking the database again


class Accounts:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._tokens: dict[str, tuple[float, Principal]] = {}

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

    def by_token(self, token: str) -> Principal | None:
        """The user of an API token (cached for a few seconds: tokens are checked per request)."""
        key = token_hash(token)
        cached = self._tokens.get(key)
        if cached is not None and time.monotonic() - cached[0] < TOKEN_TTL:
            return cached[1]
        found = self._by_token_hash(key)
        if found is not None:
            self._tokens[key] = (time.monotonic(), found)
        return found

    def _by_token_hash(self, key: str) -> Principal | None:
        with self.store.reader() as s:
            row = s.execute(
                select(m.User)
                .join(m.ApiToken, m.ApiToken.user_id == m.User.id)
                .where(m.ApiToken.token_hash == key)
            ).scalar()
            if row is None or row.disabled:
                return None
            return _principal(s, row)

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
                hasher.verify(password, _dummy_hash())
                return None
            if not hasher.verify(password, stored) or user is None or user.disabled:
                return None
            return _principal(s, user)

    def share(
        self, org: str, sku: str, lab_cpsc_id: str, on: bool = True, actor: str = "toysafe"
    ) -> None:
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
                    actor="toysafe",
                    org_id=product.org_id,
                    kind="product.share",
                    subject=sku,
                    detail={"lab": lab_cpsc_id, "shared": on},
                )
            )

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
def _dummy_hash() -> str:
    return hash_password(secrets.token_hex(16))
