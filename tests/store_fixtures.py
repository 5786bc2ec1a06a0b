"""Database fixtures: every storage test runs on SQLite and on the machine's PostgreSQL.

PostgreSQL tests use a schema of their own (``search_path``). Set ``TOYSAFE_TEST_POSTGRES_URL``
to point elsewhere; ``TOYSAFE_TEST_POSTGRES=0`` skips them (never the default: the PostgreSQL
code path is meant to be tested for real).

``db`` is an empty database. ``store`` and ``ws_env`` are migrated ones, made cheaply: the real
Alembic migrations run once per test process into a template; a SQLite test gets a copy of the
template file, a PostgreSQL test a schema replayed from ``pg_dump`` of the template, and when the
test ends that schema is emptied (rows deleted, sequences restarted: 30 ms, where creating 47
tables costs a second) and handed to the next test. A schema whose tables or migration head a
test changed is dropped instead. ``toysafe init`` on a migrated database is a no-op migration,
so tests that run it behave as on a fresh workspace.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, make_url, text

from toysafe.store.db import Store, make_engine, migrate

PG_URL = os.environ.get(
    "TOYSAFE_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]


def pg_enabled() -> bool:
    return os.environ.get("TOYSAFE_TEST_POSTGRES", "1") != "0"


def _pg_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def _admin(sql: str) -> None:
    admin = make_engine(PG_URL)
    try:
        with admin.begin() as c:
            c.execute(text(sql))
    finally:
        admin.dispose()


class DB:
    """A database and the URL to reach it (for subprocesses too); empty until ``migrate``."""

    def __init__(self, backend: str, tmp: Path) -> None:
        self.backend = backend
        self.tmp = tmp
        self.schema: str | None = None
        self.pooled = False
        if backend == "sqlite":
            self.url = f"sqlite:///{tmp / 'toysafe.db'}"
        else:
            self.schema = f"ts_{uuid.uuid4().hex[:12]}"
            _admin(f"CREATE SCHEMA {self.schema}")
            self.url = _pg_url(self.schema)
        self.engine = make_engine(self.url)

    def store(self) -> Store:
        return Store(self.engine)

    def migrate(self) -> None:
        """Bring this empty database to the newest schema (a copy of the process's template)."""
        if self.backend == "sqlite":
            self.engine.dispose()
            shutil.copyfile(_template("sqlite"), self.tmp / "toysafe.db")
            return
        if self.pooled:
            return
        self.engine.dispose()
        _admin(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
        self.schema = _PG_POOL.take()
        self.pooled = True
        self.url = _pg_url(self.schema)
        self.engine = make_engine(self.url)

    def drop(self) -> None:
        self.engine.dispose()
        if self.schema and self.pooled:
            _PG_POOL.give_back(self.schema)
        elif self.schema:
            _admin(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")


_TEMPLATE_SCHEMA = f"ts_template_{uuid.uuid4().hex[:10]}"
_templates: dict[str, str] = {}


def _template(backend: str) -> str:
    """A migrated template for this test process: a SQLite file, or a PostgreSQL dump script."""
    if backend not in _templates:
        work = Path(tempfile.mkdtemp(prefix="toysafe-template-"))
        if backend == "sqlite":
            engine = make_engine(f"sqlite:///{work / 'template.db'}")
            migrate(engine)
            engine.dispose()
            _templates[backend] = str(work / "template.db")
        else:
            _templates[backend] = str(_pg_template(work))
    return _templates[backend]


def _pg_template(work: Path) -> Path:
    _admin(f"CREATE SCHEMA {_TEMPLATE_SCHEMA}")
    engine = make_engine(_pg_url(_TEMPLATE_SCHEMA))
    try:
        migrate(engine)
        engine.dispose()
        url = make_url(PG_URL)
        cmd = ["pg_dump", "--no-owner", "--no-privileges", "--inserts", "-n", _TEMPLATE_SCHEMA]
        cmd += ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432)]
        cmd += ["-U", url.username or "postgres", url.database or "postgres"]
        env = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
        dump = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    finally:
        engine.dispose()
        _admin(f"DROP SCHEMA IF EXISTS {_TEMPLATE_SCHEMA} CASCADE")
    out = work / "template.sql"
    # psql meta-commands (pg_dump 15.14+ brackets its output with \restrict) are not SQL
    out.write_text("\n".join(line for line in dump.splitlines() if not line.startswith("\\")))
    return out


class _SchemaPool:
    """Migrated PostgreSQL schemas of this test process, emptied between tests."""

    def __init__(self) -> None:
        self.free: list[str] = []
        self.made: set[str] = set()
        self.shape: tuple[frozenset[str], str] | None = None
        atexit.register(self.close)

    def take(self) -> str:
        if self.free:
            return self.free.pop()
        schema = f"ts_{uuid.uuid4().hex[:12]}"
        script = Path(_template("postgresql")).read_text().replace(_TEMPLATE_SCHEMA, schema)
        engine = make_engine(PG_URL)
        try:
            raw = engine.raw_connection()
            try:
                with raw.cursor() as cur:
                    cur.execute(script)
                raw.commit()
            finally:
                raw.close()
        finally:
            engine.dispose()
        self.made.add(schema)
        if self.shape is None:
            self.shape = self._shape(schema)
        return schema

    def give_back(self, schema: str) -> None:
        """Empty the schema for the next test; drop it if the test changed its shape."""
        engine = make_engine(PG_URL)
        try:
            with engine.begin() as c:
                if self._shape(schema, c) != self.shape:
                    c.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    self.made.discard(schema)
                    return
                self._empty(c, schema)
            self.free.append(schema)
        except Exception:
            self.made.discard(schema)
            _admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            engine.dispose()

    @staticmethod
    def _empty(conn: Connection, schema: str) -> None:
        # As the superuser of the test server: triggers (foreign keys) off while deleting, so
        # the order of tables does not matter; DELETE beats TRUNCATE by 30x on small tables.
        tables = conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": schema}
        ).scalars()
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for t in tables:
            if t != "alembic_version":
                conn.execute(text(f'DELETE FROM {schema}."{t}"'))
        seqs = conn.execute(
            text("SELECT sequencename FROM pg_sequences WHERE schemaname = :s"), {"s": schema}
        ).scalars()
        for q in list(seqs):
            conn.execute(text(f"SELECT setval('{schema}.\"{q}\"', 1, false)"))

    def _shape(self, schema: str, c: Connection | None = None) -> tuple[frozenset[str], str]:
        def read(conn: Connection) -> tuple[frozenset[str], str]:
            tables = conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": schema}
            ).scalars()
            names = frozenset(tables)
            head = ""
            if "alembic_version" in names:
                head = ",".join(
                    conn.execute(
                        text(f"SELECT version_num FROM {schema}.alembic_version")
                    ).scalars()
                )
            return names, head

        if c is not None:
            return read(c)
        engine = make_engine(PG_URL)
        try:
            with engine.connect() as conn:
                return read(conn)
        finally:
            engine.dispose()

    def close(self) -> None:
        if not self.made:
            return
        try:
            _admin("; ".join(f"DROP SCHEMA IF EXISTS {s} CASCADE" for s in sorted(self.made)))
        except Exception:  # the server may be gone at exit; the schemas are throwaway anyway
            pass


_PG_POOL = _SchemaPool()


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
    db.migrate()
    return db.store()


@pytest.fixture
def ws_env(db: DB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DB:
    """Environment so that CLI commands use this (migrated) database and a temporary workspace."""
    db.migrate()
    return _environment(db, tmp_path, monkeypatch)


@pytest.fixture
def empty_ws_env(db: DB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DB:
    """``ws_env`` before the first ``toysafe init``: the database has no schema yet."""
    return _environment(db, tmp_path, monkeypatch)


def _environment(db: DB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DB:
    monkeypatch.setenv("TOYSAFE_DATABASE_URL", db.url)
    monkeypatch.setenv("TOYSAFE_HOME", str(tmp_path / "ws"))
    monkeypatch.setenv("TOYSAFE_ACTOR", "tester")
    monkeypatch.delenv("TOYSAFE_SIGNING_KEY", raising=False)
    return db
