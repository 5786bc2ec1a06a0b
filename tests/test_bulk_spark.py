"""The same compiled plan on Apache Spark (local mode, one session for the whole run): equal to
the per-item engine and to DuckDB. Few, large queries: each Spark query costs seconds."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_bulk import (
    batch_of,
    bulk,
    describe,
    items_st,
    mismatches,
    oracle,
    seeded_batch,
)
from toysafe.bulk.run import DuckDBBackend, SparkBackend

pytest.importorskip("pyspark", reason="the spark extra is not installed")

pytestmark = pytest.mark.spark


def test_spark_agrees_with_the_engine_and_duckdb(spark: SparkBackend) -> None:
    profiles, dates = seeded_batch(4000, seed=13)
    on_spark = bulk(profiles, dates, spark)
    want = [oracle(p, d) for p, d in zip(profiles, dates, strict=True)]
    both = zip(profiles, dates, want, on_spark, strict=True)
    bad = [(p, d, w, g) for p, d, w, g in both if w != g]
    assert not bad, describe(bad)
    duck = DuckDBBackend()
    try:
        assert on_spark == bulk(profiles, dates, duck)
    finally:
        duck.close()


@settings(
    max_examples=2,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(items_st, min_size=50, max_size=150))
def test_differential_spark(spark: SparkBackend, items: list[tuple[dict[str, Any], date]]) -> None:
    profiles, dates = batch_of(items)
    bad = mismatches(profiles, dates, spark)
    assert not bad, describe(bad)


def test_cli_runs_on_spark(spark: SparkBackend, tmp_path: Path) -> None:
    from tests.test_cli_bulk import bulk as cli
    from tests.test_cli_bulk import example_data, expected, write_jsonl

    items = example_data()
    src = write_jsonl(tmp_path / "c.jsonl", items)
    out = tmp_path / "r.parquet"
    result = cli(str(src), "--out", str(out), "--engine", "spark")
    assert result.exit_code == 0, result.output
    assert pq.read_table(out).to_pylist() == expected(items)
