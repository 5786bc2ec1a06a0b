"""Database fixtures: every storage test runs on SQLite and on the machine's PostgreSQL.

PostgreSQL tests use a throwaway schema each (``search_path``), dropped afterwards. Set
``TOYSAFE_TEST_POSTGRES_URL`` to point elsewhere; ``TOYSAFE_TEST_POSTGRES=0`` skips them (never
the default: the PostgreSQL code path is meant to be tested for real).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from toysafe.store.db import Store, make_engine, migrate

PG_URL = os.environ.get(
    "TOYSAFE_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]


def pg_enabled() -> bool:
    return os.environ.get("TOYSAFE_TEST_POSTGRES", "1") != "0"


class DB:
    """A fresh, migrated database and the URL to reach it (for subprocesses too)."""

    def __init__(self, backend: str, tmp: Path) -> None:
        self.backend = backend
        self.schema: str | None = None
        if backend == "sqlite":
            self.url = f"sqlite:///{tmp / 'toysafe.db'}"
        else:
            self.schema = f"ts_{uuid.uuid4().hex[:12]}"
            admin = make_engine(PG_URL)
            with admin.begin() as c:
                c.execute(text(f"CREATE SCHEMA {self.schema}"))
            admin.dispose()
            sep = "&" if "?" in PG_URL else "?"
            self.url = f"{PG_URL}{sep}options=-csearch_path%3D{self.schema}"
        self.engine = make_engine(self.url)

    def store(self) -> Store:
        return Store(self.engine)

    def drop(self) -> None:
        self.engine.dispose()
        if self.schema:
            admin = make_engine(PG_URL)
            with admin.begin() as c:
                c.execute(text(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE"))
            admin.dispose()


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DB]:
    """An empty, unmigrated database on each backend."""
    if request.param == "postgresql" and not pg_enabled():
        pytest.skip("TOYSAFE_TEST_POSTGRES=0")
    database = DB(request.param, tmp_path)
    try:
        yield database
    finally:
        database.drop()


@pytest.fixture
def store(db: DB) -> Store:
    """A migrated database on each backend."""
    migrate(db.engine)
    return db.store()


@pytest.fixture
def ws_env(db: DB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DB:
    """Environment so that CLI commands use this database and a temporary workspace."""
    monkeypatch.setenv("TOYSAFE_DATABASE_URL", db.url)
    monkeypatch.setenv("TOYSAFE_HOME", str(tmp_path / "ws"))
    monkeypatch.setenv("TOYSAFE_ACTOR", "tester")
    monkeypatch.delenv("TOYSAFE_SIGNING_KEY", raising=False)
    return db
