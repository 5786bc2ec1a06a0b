"""``toysafe bulk assess`` (contract 9): inputs, output rows, agreement with ``toysafe assess``,
and bad input (exit 2, the line or row and the field named, nothing written)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from tests.test_bulk import oracle
from toysafe.bulk.tables import nested_table
from toysafe.cli.app import app
from toysafe.io.profiles import profile_from_data

runner = CliRunner()
EXAMPLES = Path(__file__).parent.parent / "examples" / "products"
AS_OF = "2026-11-21"


def example_data() -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for p in sorted(EXAMPLES.glob("*.yaml"))]


def write_jsonl(path: Path, items: list[Any]) -> Path:
    path.write_text("".join(json.dumps(x, default=str) + "\n" for x in items), encoding="utf-8")
    return path


def bulk(*args: str) -> Any:
    return runner.invoke(app, ["bulk", "assess", *args, "--as-of", AS_OF])


def expected(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [oracle(profile_from_data(d), date.fromisoformat(AS_OF)) for d in items]


def test_json_lines_in_parquet_out_agrees_with_assess(tmp_path: Path) -> None:
    items = example_data()
    src = write_jsonl(tmp_path / "catalog.jsonl", items)
    out = tmp_path / "out" / "result.parquet"
    result = bulk(str(src), "--out", str(out))
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    for name in ("sku", "certificate", "toy_standard", "requirements", "lab_tested", "warnings"):
        assert name in table.column_names
    assert table.schema.field("requirements").type == pa.list_(pa.string())
    assert table.to_pylist() == expected(items)
    assert f"{len(items)} products assessed" in result.output


def test_parquet_in_gives_the_same_rows(tmp_path: Path) -> None:
    items = example_data()
    src = tmp_path / "catalog.parquet"
    pq.write_table(nested_table([profile_from_data(d) for d in items]), src)
    out = tmp_path / "result.parquet"
    result = bulk(str(src), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert pq.read_table(out).to_pylist() == expected(items)


def test_parquet_with_names_only_features_and_missing_optional_columns(tmp_path: Path) -> None:
    src = tmp_path / "slim.parquet"
    pq.write_table(
        pa.table(
            {
                "sku": ["A", "B"],
                "name": ["Magnet set", "Ball"],
                "age": [{"min_months": 36}, {"min_months": 12, "max_months": 48}],
                "features": [["magnet"], []],
            }
        ),
        src,
    )
    out = tmp_path / "r.parquet"
    result = bulk(str(src), "--out", str(out))
    assert result.exit_code == 0, result.output
    items = [
        {"sku": "A", "name": "Magnet set", "age": {"min_months": 36}, "features": ["magnet"]},
        {"sku": "B", "name": "Ball", "age": {"min_months": 12, "max_months": 48}},
    ]
    assert pq.read_table(out).to_pylist() == expected(items)


def test_a_bad_line_names_the_line_and_the_field(tmp_path: Path) -> None:
    items = example_data()[:3]
    items[1] = {**items[1], "age": {"min_months": -1}}
    src = write_jsonl(tmp_path / "bad.jsonl", items)
    out = tmp_path / "result.parquet"
    result = bulk(str(src), "--out", str(out))
    assert result.exit_code == 2
    assert "line 2: age.min_months" in result.output
    assert not out.exists()


def test_a_line_that_is_not_json(tmp_path: Path) -> None:
    src = tmp_path / "bad.jsonl"
    src.write_text(json.dumps(example_data()[0]) + "\n{not json\n", encoding="utf-8")
    result = bulk(str(src), "--out", str(tmp_path / "r.parquet"))
    assert result.exit_code == 2
    assert "line 2: not valid JSON" in result.output


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"components": [{"id": "a", "material": "unobtainium"}]},
            "row 2: components[0].material",
        ),
        ({"features": [{"name": "laser"}]}, "row 2: features"),
        ({"age": {"min_months": 30, "max_months": 12}}, "row 2: age"),
        ({"manufactured": "2025-13"}, "row 2: manufactured"),
        ({"sku": ""}, "row 2: sku"),
    ],
)
def test_a_bad_parquet_row_names_the_row_and_the_field(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    good = {"sku": "A", "name": "Toy", "age": {"min_months": 36}, "manufactured": "2025-03"}
    rows = [good, {**good, "sku": "B", **change}]
    src = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_struct_array(pa.array(rows)), src)
    out = tmp_path / "r.parquet"
    result = bulk(str(src), "--out", str(out))
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not out.exists()


def test_an_unknown_parquet_column(tmp_path: Path) -> None:
    src = tmp_path / "bad.parquet"
    pq.write_table(
        pa.table({"sku": ["A"], "name": ["x"], "age": [{"min_months": 3}], "colour": ["red"]}),
        src,
    )
    result = bulk(str(src), "--out", str(tmp_path / "r.parquet"))
    assert result.exit_code == 2
    assert "column 'colour': is not a known field" in result.output


def test_a_bad_gtin_in_parquet(tmp_path: Path) -> None:
    src = tmp_path / "bad.parquet"
    pq.write_table(
        pa.table(
            {
                "sku": ["A", "B"],
                "name": ["x", "y"],
                "age": [{"min_months": 3}, {"min_months": 3}],
                "gtin": ["00012345678905", "00012345678906"],
            }
        ),
        src,
    )
    result = bulk(str(src), "--out", str(tmp_path / "r.parquet"))
    assert result.exit_code == 2
    assert "row 2: gtin" in result.output


def test_spark_master_needs_the_spark_engine(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "c.jsonl", example_data()[:1])
    result = bulk(str(src), "--out", str(tmp_path / "r.parquet"), "--spark-master", "local[1]")
    assert result.exit_code == 2
    assert "--spark-master" in result.output


def test_the_plan_as_sql() -> None:
    result = runner.invoke(app, ["bulk", "sql", "--dialect", "duckdb"])
    assert result.exit_code == 0
    assert "toysafe_products" in result.output and "toysafe_components" in result.output
