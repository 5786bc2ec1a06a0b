"""One Spark session (local mode) shared by every test that asks for it (``spark``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

#: The tests' queries are many and small: the JVM's C2 compiler, which competes for the two
#: cores and pays off only in long runs, is left out (measured at load 12-16: a cold first query
#: 45 s -> 13 s, the next ones 10-12 s -> 2-3 s). No console progress bars in the test log.
TEST_JVM = {
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1",
    "spark.ui.showConsoleProgress": "false",
}


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A ``SparkBackend`` over the one local[2] session of the test run."""
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    from toysafe.bulk.run import SparkBackend, spark_session

    session = spark_session("local[2]", "toysafe-tests", shuffle_partitions=2, extra=TEST_JVM)
    session.sparkContext.setLogLevel("ERROR")
    yield SparkBackend(session)
    session.stop()
