"""Marketplace feeds into the program (contract 8.2): listings and complaints, in bulk.

Listings: a new id is inserted; a known one has its changed attributes updated, and the change
(before and after) is kept in ``program_listing_history``; a listing missing from the feed is
never deleted. Complaints: an id seen before is skipped. One transaction per file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import JSON, Connection, Table, bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from toysafe.io.program import ComplaintRow, ListingRow
from toysafe.store import models as m
from toysafe.store.db import Store
from toysafe.store.program import models as pm

CHUNK = 5000
ATTRIBUTES = (
    "category",
    "title",
    "brand",
    "model",
    "min_age_months",
    "cautionary_statement",
    "listed_on",
    "sku",
)


def table(model: type[m.Base]) -> Table:
    t = model.__table__
    assert isinstance(t, Table)
    return t


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def bulk_insert(s: Session, t: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows in the session's transaction: PostgreSQL's COPY (psycopg sends an
    executemany row by row), SQLite's executemany. Every row has the same keys."""
    if not rows:
        return
    conn = s.connection()
    if conn.dialect.name == "sqlite":
        _sqlite_insert(conn, t, rows)
        return
    if conn.dialect.name != "postgresql":
        for part in chunks(rows):
            conn.execute(insert(t), list(part))
        return
    cols = list(rows[0])
    as_json = {c for c in cols if isinstance(t.c[c].type, JSON)}
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cur:
        names = ", ".join(f'"{c}"' for c in cols)
        with cur.copy(f'COPY "{t.name}" ({names}) FROM STDIN') as copy:
            for r in rows:
                copy.write_row(
                    [json.dumps(r[c]) if c in as_json and r[c] is not None else r[c] for c in cols]
                )


def insert_returning_ids(s: Session, t: Table, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert rows and return their new ``id`` values, in the order of ``rows``."""
    if not rows:
        return []
    conn = s.connection()
    if conn.dialect.name == "postgresql":
        ids = list(
            conn.execute(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"
                ),
                {"t": t.name, "n": len(rows)},
            ).scalars()
        )
        ids.sort()
        bulk_insert(s, t, [{"id": i, **r} for i, r in zip(ids, rows, strict=True)])
        return ids
    if conn.dialect.name == "sqlite":
        # One writer holds the database (BEGIN IMMEDIATE): the rows just inserted are the
        # newest ids, numbered in insertion order.
        _sqlite_insert(conn, t, rows)
        raw: Any = conn.connection.driver_connection
        got = raw.execute(f'SELECT id FROM "{t.name}" ORDER BY id DESC LIMIT ?', (len(rows),))
        return [r[0] for r in reversed(got.fetchall())]
    out: list[int] = []
    for part in chunks(rows):
        got = conn.execute(insert(t).returning(t.c.id, sort_by_parameter_order=True), list(part))
        out += [r[0] for r in got]
    return out


def _sqlite_insert(conn: Connection, t: Table, rows: Sequence[dict[str, Any]]) -> None:
    """SQLite: tuples through the driver's ``executemany`` in the session's transaction, each
    value converted by its column type's own bind processor (exactly what SQLAlchemy would
    store), Python-side column defaults filled in per row as SQLAlchemy fills them."""
    cols = list(rows[0])
    extra = [
        c
        for c in t.columns
        if c.name not in rows[0] and c.default is not None and not c.primary_key
    ]
    procs = [t.c[c].type.bind_processor(conn.dialect) for c in cols]
    xprocs = [c.type.bind_processor(conn.dialect) for c in extra]

    def default(c: Any) -> Any:
        d: Any = c.default
        return d.arg if d.is_scalar else d.arg(None)

    out = []
    for r in rows:
        vals = [r[c] if p is None else p(r[c]) for c, p in zip(cols, procs, strict=True)]
        for c, p in zip(extra, xprocs, strict=True):
            v = default(c)
            vals.append(v if p is None else p(v))
        out.append(tuple(vals))
    names = ", ".join(f'"{n}"' for n in cols + [c.name for c in extra])
    marks = ", ".join("?" for _ in range(len(cols) + len(extra)))
    raw: Any = conn.connection.driver_connection
    raw.executemany(f'INSERT INTO "{t.name}" ({names}) VALUES ({marks})', out)


def bulk_update(s: Session, t: Table, key: str, rows: Sequence[dict[str, Any]]) -> None:
    """Update many rows by ``key`` (every row has the same keys): on SQLite tuples through the
    driver's ``executemany`` (values converted by the column types' bind processors), elsewhere
    SQLAlchemy's executemany."""
    if not rows:
        return
    conn = s.connection()
    cols = [c for c in rows[0] if c != key]
    if conn.dialect.name == "postgresql":
        _pg_update(conn, t, key, cols, rows)
        return
    if conn.dialect.name != "sqlite":
        stmt = (
            update(t)
            .where(t.c[key] == bindparam(f"b_{key}"))
            .values(**{c: bindparam(f"b_{c}") for c in cols})
        )
        for part in chunks(rows):
            conn.execute(stmt, [{f"b_{k}": v for k, v in r.items()} for r in part])
        return
    order = [*cols, key]
    procs = [t.c[c].type.bind_processor(conn.dialect) for c in order]
    out = [
        tuple(r[c] if p is None else p(r[c]) for c, p in zip(order, procs, strict=True))
        for r in rows
    ]
    sets = ", ".join(f'"{c}" = ?' for c in cols)
    raw: Any = conn.connection.driver_connection
    raw.executemany(f'UPDATE "{t.name}" SET {sets} WHERE "{key}" = ?', out)


def _pg_update(
    conn: Connection, t: Table, key: str, cols: list[str], rows: Sequence[dict[str, Any]]
) -> None:
    """PostgreSQL: the new values COPY'd into a temporary table, then one UPDATE ... FROM."""
    order = [key, *cols]
    as_json = {c for c in order if isinstance(t.c[c].type, JSON)}
    names = ", ".join(f'"{c}"' for c in order)
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cur:
        cur.execute(
            f'CREATE TEMP TABLE "_upd_{t.name}" ON COMMIT DROP AS '
            f'SELECT {names} FROM "{t.name}" WITH NO DATA'
        )
        with cur.copy(f'COPY "_upd_{t.name}" ({names}) FROM STDIN') as copy:
            for r in rows:
                copy.write_row(
                    [json.dumps(r[c]) if c in as_json and r[c] is not None else r[c] for c in order]
                )
        sets = ", ".join(f'"{c}" = u."{c}"' for c in cols)
        cur.execute(
            f'UPDATE "{t.name}" SET {sets} FROM "_upd_{t.name}" AS u '
            f'WHERE "{t.name}"."{key}" = u."{key}"'
        )
        cur.execute(f'DROP TABLE "_upd_{t.name}"')


@dataclass(frozen=True)
class ImportResult:
    added: int
    updated: int
    unchanged: int
    sellers_added: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "sellers_added": self.sellers_added,
        }


def seller_ids(s: Session, slugs: Iterable[str]) -> tuple[dict[str, int], int]:
    """Organization ids of these seller slugs; a seller the workspace does not know yet is
    created (its name is its slug) and enrolled with the marketplace of the current policy."""
    wanted = sorted(set(slugs))
    found: dict[str, int] = {}
    for part in chunks(wanted):
        rows = s.execute(
            select(m.Organization.slug, m.Organization.id).where(m.Organization.slug.in_(part))
        )
        found.update(dict(rows.all()))
    missing = [slug for slug in wanted if slug not in found]
    if missing:
        s.execute(insert(table(m.Organization)), [{"slug": x, "name": x} for x in missing])
        for part in chunks(missing):
            rows = s.execute(
                select(m.Organization.slug, m.Organization.id).where(m.Organization.slug.in_(part))
            )
            found.update(dict(rows.all()))
        market = marketplace_org(s)
        if market is not None:
            enroll(s, market, [found[x] for x in missing])
    return found, len(missing)


def marketplace_org(s: Session) -> int | None:
    """The organization of the current policy's marketplace, if a policy is loaded."""
    slug = s.scalar(
        select(pm.PolicyVersion.marketplace).order_by(pm.PolicyVersion.version.desc()).limit(1)
    )
    if slug is None:
        return None
    return s.scalar(select(m.Organization.id).where(m.Organization.slug == slug))


def enroll(s: Session, market_id: int, org_ids: Sequence[int]) -> None:
    """Enroll sellers with the marketplace (so that its reviewers see them), once."""
    have = set(
        s.scalars(select(m.Enrollment.org_id).where(m.Enrollment.reviewer_org_id == market_id))
    )
    new = [{"reviewer_org_id": market_id, "org_id": o} for o in set(org_ids) - have]
    if new:
        s.execute(insert(table(m.Enrollment)), new)


def import_listings(
    store: Store, rows: Sequence[ListingRow], as_of: date, actor: str, source: str | None = None
) -> ImportResult:
    with store.transaction() as s:
        sellers, sellers_added = seller_ids(s, (r.seller for r in rows))
        existing: dict[str, dict[str, Any]] = {}
        t = table(pm.ProgramListing)
        cols = [t.c.id, t.c.listing_id, t.c.seller_org_id, *(t.c[a] for a in ATTRIBUTES)]
        for part in chunks([r.listing_id for r in rows]):
            for rec in s.execute(select(*cols).where(t.c.listing_id.in_(part))).mappings():
                existing[rec["listing_id"]] = dict(rec)
        new, changed, history = [], [], []
        unchanged = 0
        for r in rows:
            values = {**r.attributes(), "seller_org_id": sellers[r.seller]}
            old = existing.get(r.listing_id)
            if old is None:
                new.append(
                    {
                        "listing_id": r.listing_id,
                        **values,
                        "state": "pending",
                        "imported_on": as_of,
                        "updated_on": as_of,
                    }
                )
                continue
            delta = {k: v for k, v in values.items() if old[k] != v}
            if not delta:
                unchanged += 1
                continue
            changed.append(
                {"b_id": old["id"], "b_on": as_of, **{f"b_{k}": v for k, v in values.items()}}
            )
            history.append(
                {
                    "listing_pk": old["id"],
                    "changed_on": as_of,
                    "changes": {k: [_json(old[k]), _json(v)] for k, v in delta.items()},
                    "source": source,
                }
            )
        bulk_insert(s, t, new)
        if changed:
            stmt = (
                update(t)
                .where(t.c.id == bindparam("b_id"))
                .values(
                    seller_org_id=bindparam("b_seller_org_id"),
                    updated_on=bindparam("b_on"),
                    product_id=None,  # relinked by the next sweep (the sku may have changed)
                    **{a: bindparam(f"b_{a}") for a in ATTRIBUTES},
                )
            )
            s.connection().execute(stmt, changed)
            s.execute(insert(table(pm.ListingChange)), history)
        result = ImportResult(len(new), len(changed), unchanged, sellers_added)
        log(s, as_of, actor, "listings_imported", source or "listings", None, result.to_dict())
    return result


def import_complaints(
    store: Store, rows: Sequence[ComplaintRow], as_of: date, actor: str, source: str | None = None
) -> ImportResult:
    with store.transaction() as s:
        seen: set[str] = set()
        t = table(pm.Complaint)
        for part in chunks([r.complaint_id for r in rows]):
            seen.update(s.scalars(select(t.c.complaint_id).where(t.c.complaint_id.in_(part))))
        new = [{**r.model_dump(), "imported_on": as_of} for r in rows if r.complaint_id not in seen]
        bulk_insert(s, t, new)
        result = ImportResult(len(new), 0, len(rows) - len(new))
        log(s, as_of, actor, "complaints_imported", source or "complaints", None, result.to_dict())
    return result


def log(
    s: Session,
    on: date,
    actor: str,
    kind: str,
    subject: str,
    policy_version: int | None,
    detail: dict[str, Any],
) -> None:
    """Append one row to the program's event log."""
    s.execute(
        insert(table(pm.ProgramEvent)),
        [
            {
                "on": on,
                "actor": actor,
                "kind": kind,
                "subject": subject[:200],
                "policy_version": policy_version,
                "detail": detail,
            }
        ],
    )


def _json(v: Any) -> Any:
    return v.isoformat() if isinstance(v, date) else v
