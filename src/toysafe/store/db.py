"""Connecting to the workspace database: SQLite in the workspace by default, PostgreSQL when
``TOYSAFE_DATABASE_URL`` says so. Schema changes go through Alembic."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

from toysafe.io.errors import InputError
from toysafe.settings import env_name, settings

URL_ENV = env_name("database_url")
DB_FILE = "toysafe.db"
MIGRATIONS = Path(__file__).parent / "migrations"


def database_url(ws: Path | None = None) -> str:
    config = settings()
    if config.database_url:
        return config.database_url
    return f"sqlite:///{config.workspace(ws) / DB_FILE}"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # Reuse connections (their PRAGMAs are set once), but never make a request wait for
        # one: the pool grows as needed (max_overflow=-1) and shrinks back to pool_size.
        engine = create_engine(
            url,
            connect_args={"timeout": 60, "check_same_thread": False},
            pool_size=16,
            max_overflow=-1,
        )
        _sqlite_pragmas(engine)
        return engine
    config = settings()
    # A web request holds at most two connections and a worker admits TOYSAFE_MAX_INFLIGHT
    # requests at once (toysafe.settings); the defaults (10 + 15 per process) keep two workers
    # and a command or two well under PostgreSQL's default max_connections of 100.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=config.db_pool_size,
        max_overflow=config.db_max_overflow,
        pool_timeout=10,
    )


def _sqlite_pragmas(engine: Engine) -> None:
    """WAL, foreign keys, and BEGIN IMMEDIATE so concurrent writers queue instead of failing."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's begin event issue BEGIN
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # Writers take the lock up front; readers (``Store.reader``) never block a writer.
        read_only = conn.get_execution_options().get("toysafe_read_only")
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (from empty, or from an older version)."""
    from alembic import command

    command.upgrade(alembic_config(engine), "head")


def is_initialized(engine: Engine) -> bool:
    return inspect(engine).has_table("alembic_version")


class Store:
    """An open workspace database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        reading: dict[str, Any] = {"toysafe_read_only": True}
        if engine.dialect.name == "postgresql":
            # Under READ COMMITTED every statement sees its own snapshot whether or not it is
            # in a transaction, so a read-only unit of work loses nothing in autocommit and
            # saves the BEGIN and ROLLBACK round trips of every web request.
            reading["isolation_level"] = "AUTOCOMMIT"
        self.readers = sessionmaker(engine.execution_options(**reading), expire_on_commit=False)

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A read-only unit of work (never takes SQLite's write lock)."""
        with self.readers() as session, session.begin():
            yield session

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed whole, or rolled back whole."""
        with self.sessions() as session, session.begin():
            yield session


def open_store(ws: Path | None = None, create: bool = False) -> Store:
    url = database_url(ws)
    if url.startswith("sqlite:///") and create:
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite:///") and not create:
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            raise InputError(
                f"no workspace at {path.parent}: run 'toysafe init' first (or set "
                f"--workspace, TOYSAFE_HOME or {URL_ENV})"
            )
    engine = make_engine(url)
    if create:
        migrate(engine)
    elif not is_initialized(engine):
        raise InputError(
            f"the database {engine.url.render_as_string(hide_password=True)} has "
            f"no toysafe schema: run 'toysafe init' first"
        )
    return Store(engine)
