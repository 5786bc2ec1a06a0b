"""The compiled sweep on Spark (the shared local session) against the SQL path, in a small case.

A file of its own: Spark's queries cost seconds each, and ``pytest -n auto --dist loadfile``
keeps a file on one worker, so this case runs beside the DuckDB cases of
tests/test_sweep_compiled.py rather than after them. The generated workspace, the days and the
checks (equal documents and tables after each day, a second run that changes nothing) are those
of ``differential`` there.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.test_sweep_compiled import D0, SPEC, differential, make_pair
from toysafe.store.db import Store

pytest.importorskip("pyspark", reason="the spark extra is not installed")

pytestmark = pytest.mark.spark


@pytest.fixture
def spark_pair(tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """One backend is enough on Spark: the plan reads a snapshot, whatever the database."""
    yield from make_pair("sqlite", tmp_path)


def test_spark_sweep_equals_the_sql_path(spark_pair: tuple[Store, Store], spark: Any) -> None:
    made = differential(
        spark_pair,
        2,
        25,
        SPEC,
        engine="spark",
        days=[D0, D0 + timedelta(days=8)],
        spark_session=spark.session,
    )
    assert made["kind:rule_change"] >= 1, made  # the rule-change stage ran on Spark too
