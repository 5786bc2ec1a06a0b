"""Every table of the workspace in its export and backup, and why: the catalog and access tables
are written as contract files (``portable.py``, ``access_export.py``); every other kept table is
written row by row as ``tables/<name>.jsonl`` with ``tables/index.json`` counting the rows. A
few tables are left out on purpose, each with its reason (``EXCLUDED``). A table in none of
these lists makes ``tests/test_backup_tables.py`` fail, so a new table cannot silently go
missing from backups.

Rows keep their own ids (other kept tables refer to them). A reference into a contract-file
table, whose ids a restore assigns anew, is written as that row's natural key (an organization's
slug, ``[org, sku]`` of a product, ``[org, report_no]`` of a report, a user's e-mail) and looked
up again on restore. Dates and times are ISO 8601 (UTC), bytes base64.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Table, insert, select, text
from sqlalchemy.orm import Session

from toysafe.io.errors import InputError
from toysafe.store import models as m

ROWS_DIR = "tables"
ROWS_INDEX = f"{ROWS_DIR}/index.json"
ROWS_FORMAT = "toysafe/backup-tables@1"

# Written as contract files (the export's documented layout and access.json).
AS_CONTRACT_FILES = (
    "organizations",
    "products",
    "product_versions",
    "listings",
    "lots",
    "labs",
    "lab_scopes",
    "reports",
    "report_products",
    "results",
    "certificates",
    "certificate_reports",
    "events",
    "users",
    "api_tokens",
    "product_shares",
    "enrollments",
)

# Written row by row (tables/<name>.jsonl): everything else a workspace records.
AS_ROWS = (
    "report_withdrawals",
    # the marketplace program (migration 0003) and direct validation (0004)
    "program_policies",
    "program_listings",
    "program_listing_history",
    "program_complaints",
    "program_product_facts",
    "program_product_rule_dates",
    "program_requests",
    "program_request_triggers",
    "program_request_history",
    "program_submissions",
    "program_findings",
    "program_decisions",
    "program_violations",
    "program_actions",
    "program_accounts",
    "program_appeals",
    "program_exemptions",
    "program_seller_keys",
    "program_validations",
    "program_outbox",
    "program_events",
    "program_sweeps",
    "program_validation_filings",
    "program_evidence_pins",
    "program_tic_extensions",
    # the reviewer consoles' queue (0007)
    "program_review_assignments",
    "program_review_log",
    "program_review_notes",
    # delivering notices (0008)
    "program_webhooks",
    "program_deliveries",
    "program_delivery_attempts",
)

EXCLUDED = {
    "product_states": "recomputed from the restored record (every organization is refreshed)",
    "web_sessions": "sign-ins are not carried over: after a restore everyone signs in again "
    "(a session is a live credential, not a record)",
    "password_resets": "one-time links that expire within minutes (TOYSAFE_RESET_MINUTES); a "
    "restore must not revive them",
    "throttle_hits": "counters of the last minutes' failed sign-ins, unknown tokens and reset "
    "mails (throttling state, not a record; forgotten after the window anyway)",
    "throttle_backoff": "per-account wrong-password backoff, forgotten an hour after the last "
    "failure; a restore starts with none",
}

# A reference into a contract-file table is written as the referred row's natural key.
NATURAL: dict[str, Callable[[Session], dict[int, Any]]] = {
    "organizations": lambda s: dict(
        s.execute(select(m.Organization.id, m.Organization.slug)).all()
    ),
    "products": lambda s: {
        pid: [slug, sku]
        for pid, slug, sku in s.execute(
            select(m.Product.id, m.Organization.slug, m.Product.sku).join(
                m.Organization, m.Organization.id == m.Product.org_id
            )
        )
    },
    "reports": lambda s: {
        rid: [slug, number]
        for rid, slug, number in s.execute(
            select(m.Report.id, m.Organization.slug, m.Report.report_no).join(
                m.Organization, m.Organization.id == m.Report.org_id
            )
        )
    },
    "users": lambda s: dict(s.execute(select(m.User.id, m.User.email)).all()),
}
_NOUN = {
    "organizations": "organization",
    "products": "product",
    "reports": "report",
    "users": "user",
}


def tables() -> list[Table]:
    """The tables written row by row, parents before children."""
    wanted = set(AS_ROWS)
    return [t for t in m.Base.metadata.sorted_tables if t.name in wanted]


def _references(table: Table) -> dict[str, str]:
    """Column -> the contract-file table its ids point into (written as natural keys)."""
    out = {}
    for col in table.columns:
        for fk in col.foreign_keys:
            target = fk.column.table.name
            if target in NATURAL:
                out[col.name] = target
    return out


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    return value


def _python_type(col: Any) -> type | None:
    try:
        kind: type = col.type.python_type
    except NotImplementedError:
        return None
    return kind


def export_rows(s: Session, put: Callable[[str, bytes], Any]) -> int:
    """Write every AS_ROWS table through ``put``; returns the number of rows."""
    keys = {name: load(s) for name, load in NATURAL.items()}
    counts: dict[str, int] = {}
    for table in tables():
        refs = _references(table)
        order = list(table.primary_key.columns) or list(table.columns)
        lines = []
        for row in s.execute(select(table).order_by(*order)).mappings():
            data = {}
            for name, value in row.items():
                if name in refs and value is not None:
                    value = keys[refs[name]][value]
                data[name] = _encode(value)
            lines.append(json.dumps(data, sort_keys=True, ensure_ascii=False) + "\n")
        put(f"{ROWS_DIR}/{table.name}.jsonl", "".join(lines).encode())
        counts[table.name] = len(lines)
    index = {"format": ROWS_FORMAT, "tables": counts}
    put(ROWS_INDEX, (json.dumps(index, indent=2, sort_keys=True) + "\n").encode())
    return sum(counts.values())


class Rows:
    """What ``import_rows`` reads: the files of an export by relative path."""

    def __init__(
        self,
        files: set[str],
        text_of: Callable[[str], str],
        where: Callable[[str], str],
    ) -> None:
        self.files, self.text_of, self.where = files, text_of, where


def import_rows(s: Session, src: Rows, batch: int = 1000) -> int:
    """Insert every ``tables/*.jsonl`` of an export (none: an export made before them), after
    the contract files were written in the same transaction; any bad row is an InputError
    naming its file, line and column."""
    if ROWS_INDEX not in src.files:
        return 0
    try:
        index = json.loads(src.text_of(ROWS_INDEX))
    except json.JSONDecodeError as e:
        raise InputError(f"{src.where(ROWS_INDEX)}: not valid JSON: {e}") from None
    if not isinstance(index, dict) or index.get("format") != ROWS_FORMAT:
        raise InputError(f"{src.where(ROWS_INDEX)}: format: expected {ROWS_FORMAT}")
    stated = index.get("tables")
    if not isinstance(stated, dict):
        raise InputError(f"{src.where(ROWS_INDEX)}: tables: expected an object of row counts")
    unknown = sorted(set(stated) - set(AS_ROWS))
    if unknown:
        raise InputError(f"{src.where(ROWS_INDEX)}: tables: unknown table {', '.join(unknown)}")
    ids = {name: {_key(v): k for k, v in load(s).items()} for name, load in NATURAL.items()}
    total = 0
    for table in tables():
        rel = f"{ROWS_DIR}/{table.name}.jsonl"
        if table.name not in stated:
            continue  # a table added after this backup was made
        if rel not in src.files:
            raise InputError(f"{src.where(rel)}: missing from the export")
        rows = list(_rows(table, src, rel, ids))
        if len(rows) != stated[table.name]:
            raise InputError(
                f"{src.where(ROWS_INDEX)}: tables.{table.name}: {stated[table.name]} rows, but "
                f"the file holds {len(rows)} (an incomplete export?)"
            )
        for i in range(0, len(rows), batch):
            s.execute(insert(table), rows[i : i + batch])
        total += len(rows)
        _restart_sequence(s, table)
    return total


def _key(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _rows(
    table: Table, src: Rows, rel: str, ids: dict[str, dict[Any, int]]
) -> Iterator[dict[str, Any]]:
    refs = _references(table)
    columns = {c.name: c for c in table.columns}
    for n, line in enumerate(src.text_of(rel).splitlines(), start=1):
        where = f"{src.where(rel)} line {n}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{where}: not valid JSON: {e}") from None
        if not isinstance(data, dict):
            raise InputError(f"{where}: expected an object of column values")
        extra = sorted(set(data) - set(columns))
        if extra:
            raise InputError(f"{where}: {extra[0]}: no such column in {table.name}")
        row = {}
        for name, value in data.items():
            if value is not None and name in refs:
                found = ids[refs[name]].get(_key(value))
                if found is None:
                    noun = _NOUN[refs[name]]
                    raise InputError(f"{where}: {name}: no {noun} {value!r} in the export")
                value = found
            elif value is not None:
                value = _decode(columns[name], value, f"{where}: {name}")
            row[name] = value
        yield row


def _decode(col: Any, value: Any, where: str) -> Any:
    kind = _python_type(col)
    try:
        if kind is datetime:
            return datetime.fromisoformat(value)
        if kind is date:
            return date.fromisoformat(value)
        if kind is bytes:
            return base64.b64decode(value, validate=True)
    except (TypeError, ValueError) as e:
        raise InputError(f"{where}: {e}") from None
    return value


def _restart_sequence(s: Session, table: Table) -> None:
    """PostgreSQL: the id sequence continues after the restored ids (SQLite needs nothing)."""
    col = table.autoincrement_column
    if col is None or s.get_bind().dialect.name != "postgresql":
        return
    s.execute(
        text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', '{col.name}'), "
            f"COALESCE(MAX({col.name}), 1), MAX({col.name}) IS NOT NULL) FROM {table.name}"
        )
    )
