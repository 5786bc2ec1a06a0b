"""Every table is in the backup or left out with a reason (issue 14): a new table that is in
neither list fails here. A round trip SQLite -> PostgreSQL and back compares every table, each
holding at least one row: the catalog built for real, every other table filled generically
from its columns (so a table added later is filled and compared too)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    Table,
    insert,
    inspect,
    select,
)
from sqlalchemy.types import JSON
from typer.testing import CliRunner

from tests.store_fixtures import DB, pg_enabled
from tests.test_backup_whole import AS_OF, EX, STACKER, build
from toysafe.cli.app import app
from toysafe.io.errors import InputError
from toysafe.io.keys import load_or_create
from toysafe.store import models as m
from toysafe.store.backup_tables import AS_CONTRACT_FILES, AS_ROWS, EXCLUDED, NATURAL
from toysafe.store.db import Store, migrate
from toysafe.store.portable import backup, restore
from toysafe.store.workspace import Workspace
from toysafe.usecases.certify import certify_stored, read_party

runner = CliRunner()


def test_every_table_is_backed_up_or_excluded_with_a_reason(tmp_path: Path) -> None:
    db = DB("sqlite", tmp_path)
    try:
        migrate(db.engine)  # the tables the migrations make, beside the models'
        migrated = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
    finally:
        db.drop()
    modelled = {t.name for t in m.Base.metadata.sorted_tables}
    assert migrated == modelled, "the migrations and the models disagree on the tables"
    lists = [set(AS_CONTRACT_FILES), set(AS_ROWS), set(EXCLUDED)]
    for table in sorted(modelled):
        placed = [i for i, names in enumerate(lists) if table in names]
        assert placed, (
            f"table {table} is neither backed up (backup_tables.AS_ROWS or AS_CONTRACT_FILES) "
            "nor listed in backup_tables.EXCLUDED with a reason"
        )
        assert len(placed) == 1, f"table {table} is in more than one list"
    assert set().union(*lists) == modelled, "a list names a table that does not exist"
    assert all(len(reason) > 20 for reason in EXCLUDED.values())
    # A row-by-row table may point at another one (ids are kept), at a contract-file table
    # through a natural key, or at a contract-file row whose key is itself kept.
    for table in m.Base.metadata.sorted_tables:
        if table.name not in AS_ROWS:
            continue
        for col in table.columns:
            for fk in col.foreign_keys:
                target = fk.column.table
                assert (
                    target.name in AS_ROWS
                    or target.name in NATURAL
                    or (target.name in AS_CONTRACT_FILES and target.autoincrement_column is None)
                ), f"{table.name}.{col.name} refers to {target.name}, whose ids are not kept"


# --- the round trip ------------------------------------------------------------------------


def _sample(table: Table, col: Any) -> Any:
    kind = col.type
    if isinstance(kind, DateTime):
        return datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    if isinstance(kind, Date):
        return date(2026, 3, 4)
    if isinstance(kind, Boolean):
        return True
    if isinstance(kind, Integer):
        return 7
    if isinstance(kind, Float):
        return 1.5
    if isinstance(kind, LargeBinary):
        return b"\x00\xff"
    if isinstance(kind, JSON) or isinstance(getattr(kind, "impl", None), JSON):
        return {"k": ["v", 1]}
    length = getattr(kind, "length", None) or 200
    return f"{table.name[:12]}.{col.name}"[:length]


def build_catalog(db: DB, tmp_path: Path) -> None:
    """The catalog and access tables for real: products, reports, users, a token, a share, an
    enrollment, a certificate (with the reports it relied on), a listing and a lot."""
    build(db)
    store = db.store()
    ws = Workspace(store, who="alice")
    key, _ = load_or_create(tmp_path / "keys")
    certify_stored(ws, STACKER, read_party(EX / "party.yaml"), key, AS_OF)
    ws.import_listings(
        [{"marketplace": "amazon.com", "listing_id": "B0X", "sku": STACKER, "title": "Stacker"}]
    )
    assert ws.add_lot(STACKER, "L1", "2025-07", "Yunhe", "CN")


def fill_every_other_table(store: Store) -> None:
    """One row in every table that is not a contract-file one, referring to existing rows."""
    with store.transaction() as s:
        for table in m.Base.metadata.sorted_tables:
            if table.name in AS_CONTRACT_FILES or table.name in EXCLUDED:
                continue
            row = {}
            for col in table.columns:
                if col.foreign_keys:
                    ref = next(iter(col.foreign_keys)).column
                    row[col.name] = s.execute(select(ref).order_by(ref.desc()).limit(1)).scalar()
                elif col is not table.autoincrement_column:
                    row[col.name] = _sample(table, col)
            s.execute(insert(table), [row])


def _norm(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).astimezone(UTC)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value


def snapshot(store: Store) -> dict[str, list[Any]]:
    """Every kept table's rows; ids a restore assigns anew (the contract-file tables') are
    replaced by the content of the row they name, so the comparison is of meaning, not ids."""
    tables = [t for t in m.Base.metadata.sorted_tables if t.name not in EXCLUDED]
    with store.reader() as s:
        rows = {t.name: [dict(r) for r in s.execute(select(t)).mappings()] for t in tables}
    by_id: dict[str, dict[Any, dict[str, Any]]] = {}
    for t in tables:
        if t.autoincrement_column is not None:
            by_id[t.name] = {r[t.autoincrement_column.name]: r for r in rows[t.name]}

    def canon(table: Table, row: dict[str, Any]) -> tuple[Any, ...]:
        out = []
        for col in table.columns:
            value = row[col.name]
            if col is table.autoincrement_column and table.name in AS_CONTRACT_FILES:
                continue
            for fk in col.foreign_keys:
                target = fk.column.table
                if value is not None and target.name in AS_CONTRACT_FILES and target.name in by_id:
                    value = canon(target, by_id[target.name][value])
            out.append((col.name, _norm(value)))
        return tuple(out)

    return {t.name: sorted((canon(t, r) for r in rows[t.name]), key=repr) for t in tables}


PAIRS = [("sqlite", "postgresql"), ("postgresql", "sqlite")]


@pytest.fixture(params=PAIRS, ids=lambda p: f"{p[0]}-to-{p[1]}")
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[DB, DB]]:
    if not pg_enabled():
        pytest.skip("TOYSAFE_TEST_POSTGRES=0")
    dirs = [tmp_path / "a", tmp_path / "b"]
    for d in dirs:
        d.mkdir()
    a, b = DB(request.param[0], dirs[0]), DB(request.param[1], dirs[1])
    try:
        a.migrate()  # copies of the migrated template (restore finds b at the newest schema)
        b.migrate()
        yield a, b
    finally:
        a.drop()
        b.drop()


def test_a_round_trip_keeps_every_table(
    pair: tuple[DB, DB], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, target = pair
    monkeypatch.delenv("TOYSAFE_SIGNING_KEY", raising=False)
    build_catalog(source, tmp_path)
    fill_every_other_table(source.store())
    before = snapshot(source.store())
    empty = sorted(name for name, rows in before.items() if not rows)
    assert not empty, f"the test left tables empty: {empty}"
    file = tmp_path / "ws.zip"
    monkeypatch.setenv("TOYSAFE_DATABASE_URL", source.url)
    ws = ["--workspace", str(tmp_path / "ws")]
    result = runner.invoke(app, ["backup", str(file), *ws, "--without-keys"])
    assert result.exit_code == 0, result.output
    assert f"{len(AS_ROWS)} table rows" in result.stdout
    monkeypatch.setenv("TOYSAFE_DATABASE_URL", target.url)
    result = runner.invoke(app, ["restore", str(file), *ws])
    assert result.exit_code == 0, result.output
    after = snapshot(target.store())
    for name in before:
        changed = [
            (x[0], y[0])
            for a, b in zip(after[name], before[name], strict=False)
            for x, y in zip(a, b, strict=True)
            if x != y
        ]
        assert after[name] == before[name], f"table {name} differs: {changed[:3]}"
    # New rows get fresh ids after the restored ones (PostgreSQL's sequences moved on).
    from toysafe.store.program import models as pm

    with target.store().transaction() as s:
        org = s.scalar(select(m.Organization.id).limit(1))
        s.add(pm.WebhookEndpoint(org_id=org, url="https://example.com/h", secret="s" * 32))
        s.flush()


def test_a_bad_table_row_is_refused_naming_its_line_and_nothing_is_written(
    store: Store, tmp_path: Path
) -> None:
    import zipfile

    from toysafe.store.program import models as pm

    Workspace(store, who="t").init()
    with store.transaction() as s:
        org = s.scalar(select(m.Organization.id))
        s.add(pm.WebhookEndpoint(org_id=org, url="https://example.com/h", secret="s" * 32))
    good = tmp_path / "good.zip"
    backup(store, good)
    before = snapshot(store)
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as out:
        for item in src.namelist():
            data = src.read(item)
            if item == "tables/program_webhooks.jsonl":
                row = json.loads(data)
                row["org_id"] = "no-such-org"
                data = (json.dumps(row) + "\n").encode()
            out.writestr(item, data)
    with pytest.raises(InputError, match=r"program_webhooks.jsonl line 1: org_id: no organization"):
        restore(store, bad, force=True)
    assert snapshot(store) == before


def test_a_workspace_holding_only_program_records_or_users_is_not_replaced_without_force(
    db: DB, tmp_path: Path
) -> None:
    db.migrate()
    store = db.store()
    Workspace(store, who="t").init()
    empty = tmp_path / "empty.zip"
    backup(store, empty)
    from toysafe.store.program import models as pm

    with store.transaction() as s:  # a webhook only: no product, report or certificate
        org = s.scalar(select(m.Organization.id))
        s.add(pm.WebhookEndpoint(org_id=org, url="https://example.com/h", secret="s" * 32))
    before = snapshot(store)
    with pytest.raises(InputError, match=r"already holds 1 program_webhooks: use --force"):
        restore(store, empty)
    assert snapshot(store) == before
    restore(store, empty, force=True)
    assert snapshot(store)["program_webhooks"] == []
