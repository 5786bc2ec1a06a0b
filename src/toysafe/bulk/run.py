"""Run the compiled plan on DuckDB (embedded, default) or Spark: Arrow in, Arrow out.

The plan is built once per knowledge base as ibis expressions over unbound tables and compiled by
ibis to each engine's SQL dialect (``ibis.to_sql``), which is also what an auditor reads. Building
and compiling costs seconds; running costs milliseconds per thousand products, so the SQL is cached
per knowledge base and dialect.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import ibis
import numpy as np
import pyarrow as pa

from toysafe.bulk.compile import Plan, compile_kb, decisions
from toysafe.bulk.tables import COMPONENTS_SCHEMA, PRODUCTS_SCHEMA, flatten
from toysafe.core.law.knowledge import KnowledgeBase

Engine = Literal["duckdb", "spark"]
PRODUCTS, COMPONENTS = "toysafe_products", "toysafe_components"

OUTPUT_SCHEMA = pa.schema(
    [
        ("sku", pa.string()),
        ("certificate", pa.string()),
        ("toy_standard", pa.string()),
        ("requirements", pa.list_(pa.string())),
        ("lab_tested", pa.list_(pa.string())),
        ("warnings", pa.list_(pa.string())),
        ("warning_keys", pa.list_(pa.string())),
    ]
)


@dataclass(frozen=True)
class Compiled:
    plan: Plan
    sql: str


_CACHE: dict[tuple[int, str], tuple[KnowledgeBase, Compiled]] = {}


def cache_dir() -> Path | None:
    """Where compiled SQL is kept between runs: ``TOYSAFE_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/toysafe`` or ``~/.cache/toysafe``; ``TOYSAFE_CACHE_DIR=off`` keeps none."""
    from toysafe.settings import cache_dir as configured

    return configured()


def sql_key(kb: KnowledgeBase, dialect: str) -> str:
    """What the compiled SQL depends on: every rule and edition of ``kb``, the compiler's own
    source, the table layout, the dialect, and the ibis and sqlglot versions."""
    import sqlglot

    from toysafe.bulk import compile as compile_mod
    from toysafe.bulk import tables as tables_mod

    rules = [r.model_dump(mode="json") for r in kb.requirements]
    editions = [(e.id, e.effective_from.isoformat(), e.rank) for e in kb.editions]
    h = hashlib.sha256()
    h.update(json.dumps([rules, editions], sort_keys=True, default=str).encode())
    for mod in (compile_mod, tables_mod):
        h.update(Path(str(mod.__file__)).read_bytes())
    h.update(f"{dialect}|{ibis.__version__}|{sqlglot.__version__}".encode())
    return h.hexdigest()


def compiled(kb: KnowledgeBase, dialect: str = "duckdb") -> Compiled:
    """The plan for ``kb`` and its SQL in ``dialect``: cached while ``kb`` lives, and on disk
    (``cache_dir``) by ``sql_key``, since building and compiling the expression costs seconds
    and running it on a batch costs less."""
    hit = _CACHE.get((id(kb), dialect))
    if hit is not None and hit[0] is kb:
        return hit[1]
    plan = compile_kb(kb)
    where = cache_dir()
    path = where / "bulk-sql" / f"{sql_key(kb, dialect)}.sql" if where else None
    sql: str | None = None
    if path is not None and path.is_file():
        sql = path.read_text()
    if not sql:
        products = ibis.table(ibis.Schema.from_pyarrow(PRODUCTS_SCHEMA), name=PRODUCTS)
        components = ibis.table(ibis.Schema.from_pyarrow(COMPONENTS_SCHEMA), name=COMPONENTS)
        sql = str(ibis.to_sql(decisions(plan, products, components), dialect=dialect, pretty=False))
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
                tmp.write_text(sql)
                os.replace(tmp, path)
            except OSError:
                pass  # a read-only home: compile every run, as before
    out = Compiled(plan, sql)
    _CACHE[(id(kb), dialect)] = (kb, out)
    return out


class Backend:
    """An engine that runs the compiled SQL over two registered Arrow tables."""

    dialect: str

    def run(self, sql: str, products: pa.Table, components: pa.Table) -> pa.Table:
        raise NotImplementedError

    def close(self) -> None:
        pass


class DuckDBBackend(Backend):
    dialect = "duckdb"

    def __init__(self, threads: int | None = None) -> None:
        import duckdb

        self.con = duckdb.connect()
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")

    def run(self, sql: str, products: pa.Table, components: pa.Table) -> pa.Table:
        self.con.register(PRODUCTS, products)
        self.con.register(COMPONENTS, components)
        try:
            return self.con.sql(sql).to_arrow_table()
        finally:
            self.con.unregister(PRODUCTS)
            self.con.unregister(COMPONENTS)

    def close(self) -> None:
        self.con.close()


def spark_session(
    master: str = "local[2]",
    app: str = "toysafe-bulk",
    shuffle_partitions: int = 4,
    extra: dict[str, str] | None = None,
) -> Any:
    """A Spark session set up for exact agreement with the per-item engine (UTC, ANSI);
    ``extra`` adds settings (those of the JVM only count when this call starts it)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:  # pragma: no cover - depends on the extra
        raise RuntimeError(
            "the spark engine needs the 'spark' extra: pip install 'toysafe[spark]'"
        ) from e
    builder = (
        SparkSession.builder.master(master)
        .appName(app)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.ansi.enabled", "true")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    for key, value in (extra or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


class SparkBackend(Backend):
    dialect = "pyspark"

    def __init__(self, session: Any) -> None:
        self.session = session

    def run(self, sql: str, products: pa.Table, components: pa.Table) -> pa.Table:
        s = self.session
        s.createDataFrame(products).createOrReplaceTempView(PRODUCTS)
        s.createDataFrame(components).createOrReplaceTempView(COMPONENTS)
        table: pa.Table = s.sql(sql).toArrow()
        return table


@contextmanager
def backend_for(engine: Engine, spark_master: str | None = None) -> Iterator[Backend]:
    """An engine for one run (a Spark session is started and stopped around it)."""
    if engine == "duckdb":
        b: Backend = DuckDBBackend()
        try:
            yield b
        finally:
            b.close()
        return
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and spark_master is None:
        # A session already running in this process (tests, notebooks) is reused, not stopped.
        yield SparkBackend(active)
        return
    session = spark_session(spark_master or "local[2]")
    try:
        yield SparkBackend(session)
    finally:
        session.stop()


def _lists(mask: np.ndarray, ids: np.ndarray) -> pa.ListArray:
    """Row ``i`` lists ``ids[j]`` for every ``mask[i, j]``, in column order."""
    rows, cols = np.nonzero(mask)
    counts = np.bincount(rows, minlength=mask.shape[0])
    offsets = np.zeros(mask.shape[0] + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    values = pa.array(ids.tolist(), pa.string()).take(pa.array(cols, pa.int64()))
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def _matrix(table: pa.Table, names: list[str], order: np.ndarray) -> np.ndarray:
    if not names:
        return np.zeros((table.num_rows, 0), dtype=bool)
    return np.column_stack(
        [
            np.asarray(table.column(n).to_numpy(zero_copy_only=False), dtype=bool)[order]
            for n in names
        ]
    )


def shape_output(plan: Plan, flags: pa.Table) -> pa.Table:
    """The engine's boolean columns as the contract's lists of ids, in input order."""
    order = np.argsort(
        np.asarray(flags.column("pid").to_numpy(zero_copy_only=False)), kind="stable"
    )
    ids = np.array(plan.requirement_ids, dtype=object)
    req = _matrix(flags, [f"req__{r.index}" for r in plan.rules], order)
    lab = _matrix(flags, [f"lab__{r.index}" for r in plan.rules], order)
    warn = _matrix(flags, [f"warn__{j}" for j in range(len(plan.statements))], order)
    wkeys = np.array([s.key for s in plan.statements], dtype=object)
    # `warnings` names each requirement once (several statements share 16 CFR 1500.19);
    # `warning_keys` names every statement due.
    groups: dict[str, list[int]] = {}
    for j, s in enumerate(plan.statements):
        groups.setdefault(s.requirement, []).append(j)
    by_req = (
        np.column_stack([warn[:, js].any(axis=1) for js in groups.values()])
        if groups
        else np.zeros((flags.num_rows, 0), dtype=bool)
    )
    take = pa.array(order)
    return pa.table(
        {
            "sku": flags.column("sku").take(take),
            "certificate": flags.column("certificate").take(take),
            "toy_standard": flags.column("toy_standard").take(take),
            "requirements": _lists(req, ids),
            "lab_tested": _lists(lab, ids),
            "warnings": _lists(by_req, np.array(list(groups), dtype=object)),
            "warning_keys": _lists(warn, wkeys),
        },
        schema=OUTPUT_SCHEMA,
    )


def assess_flat(
    kb: KnowledgeBase, products: pa.Table, components: pa.Table, backend: Backend
) -> pa.Table:
    """Run the plan over flat tables; the contract's output rows, in input order."""
    c = compiled(kb, backend.dialect)
    return shape_output(c.plan, backend.run(c.sql, products, components))


def assess_flat_raw(
    kb: KnowledgeBase, products: pa.Table, components: pa.Table, backend: Backend
) -> list[dict[str, Any]]:
    """Like ``assess_flat``, as rows, with the children's-product flag (input order)."""
    c = compiled(kb, backend.dialect)
    flags = backend.run(c.sql, products, components)
    shaped = shape_output(c.plan, flags).to_pylist()
    order = np.argsort(
        np.asarray(flags.column("pid").to_numpy(zero_copy_only=False)), kind="stable"
    )
    children = np.asarray(flags.column("children").to_numpy(zero_copy_only=False))[order]
    for row, child in zip(shaped, children, strict=True):
        row["children"] = bool(child)
    return shaped


def assess_nested(
    kb: KnowledgeBase,
    as_of: date,
    nested: pa.Table,
    backend: Backend,
    progress: Callable[[int], None] | None = None,
    batch_rows: int = 1_000_000,
) -> pa.Table:
    """Assess nested profiles (one per row, already validated) in batches of ``batch_rows``."""
    out = []
    for start in range(0, nested.num_rows, batch_rows):
        part = nested.slice(start, batch_rows)
        products, components = flatten(part, as_of)
        out.append(assess_flat(kb, products, components, backend))
        if progress:
            progress(part.num_rows)
    return pa.concat_tables(out) if out else OUTPUT_SCHEMA.empty_table()
