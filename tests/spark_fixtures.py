"""One Spark session (local mode) shared by every test that asks for it (``spark``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A ``SparkBackend`` over the one local[2] session of the test run."""
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    from toysafe.bulk.run import SparkBackend, spark_session

    session = spark_session("local[2]", "toysafe-tests", shuffle_partitions=2)
    session.sparkContext.setLogLevel("ERROR")
    yield SparkBackend(session)
    session.stop()
