"""Bulk commands (contract 9): assess a whole catalog as one set-based computation."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from toysafe.cli.common import app, fail, parse_as_of


class BulkEngine(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


class Dialect(StrEnum):
    duckdb = "duckdb"
    pyspark = "pyspark"


bulk_app = typer.Typer(
    help="Assess whole catalogs at once (DuckDB or Spark).", no_args_is_help=True
)
app.add_typer(bulk_app, name="bulk")


@bulk_app.command("assess")
def bulk_assess(
    input: Annotated[
        Path, typer.Argument(help="JSON Lines of toysafe/product@1, or Parquet (one per row).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Parquet file to write.")],
    engine: Annotated[BulkEngine, typer.Option("--engine")] = BulkEngine.duckdb,
    spark_master: Annotated[
        str | None, typer.Option("--spark-master", help="Spark master URL (default local[2]).")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Assess as of DATE (YYYY-MM-DD).")
    ] = None,
) -> None:
    """One row per product: sku, certificate, toy_standard, requirements, lab_tested, warnings."""
    import pyarrow.parquet as pq
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    from toysafe.bulk.inputs import read_input
    from toysafe.bulk.run import assess_nested, backend_for
    from toysafe.io.errors import InputError
    from toysafe.io.kb import default_kb

    when = parse_as_of(as_of)
    if spark_master and engine is not BulkEngine.spark:
        fail("--spark-master: only with --engine spark")
    if engine is BulkEngine.spark:
        try:
            import pyspark  # noqa: F401
        except ImportError:
            fail("--engine spark needs the 'spark' extra: pip install 'toysafe[spark]'")
    try:
        size = input.stat().st_size
    except OSError as e:
        fail(f"{input}: cannot read: {e.strerror}")
    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        reading = progress.add_task("reading", total=size)
        try:
            nested = read_input(input, lambda n: progress.advance(reading, n))
        except InputError as e:
            progress.stop()
            fail(str(e))
        progress.update(reading, completed=size)
        kb = default_kb()
        assessing = progress.add_task(f"assessing ({engine.value})", total=nested.num_rows)
        with backend_for(engine.value, spark_master) as backend:
            result = assess_nested(
                kb, when, nested, backend, progress=lambda n: progress.advance(assessing, n)
            )
        writing = progress.add_task("writing", total=1)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        try:
            pq.write_table(result, tmp)
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)
        progress.advance(writing)
    counts = dict.fromkeys(("CPC", "GCC", "none"), 0)
    for c in result.column("certificate").to_pylist():
        counts[c] += 1
    typer.echo(
        f"{result.num_rows} products assessed as of {when.isoformat()} -> {out} "
        f"(CPC {counts['CPC']}, GCC {counts['GCC']}, none {counts['none']})",
        err=True,
    )


@bulk_app.command("sql")
def bulk_sql(
    dialect: Annotated[Dialect, typer.Option("--dialect")] = Dialect.duckdb,
) -> None:
    """Print the compiled plan as SQL (for audit or for engines that take only SQL)."""
    from toysafe.bulk.run import compiled
    from toysafe.io.kb import default_kb

    typer.echo(compiled(default_kb(), dialect.value).sql)
