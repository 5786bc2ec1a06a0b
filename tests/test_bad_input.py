"""Every class of bad input is exit 2 with the field or line named, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from toysafe.cli.app import app
from toysafe.core.evidence.units import UnitError, factor, known_unit
from toysafe.io.errors import InputError
from toysafe.io.labs import labs_from_csv, read_labs
from toysafe.io.listings import read_listings, read_listings_file
from toysafe.io.profiles import read_profile
from toysafe.io.reports import read_report_file, report_from_data, reports_from_csv
from toysafe.io.text import decode_text, parse_document
from toysafe.usecases.certify import read_party

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
STACKER = EX / "products" / "painted-wooden-stacker.yaml"
CHEM = EX / "reports" / "stacker-chemistry-pass.json"
MECH = EX / "reports" / "stacker-mechanical-pass.csv"
runner = CliRunner()


def refused(read: Any, *args: Any) -> str:
    with pytest.raises(InputError) as e:
        read(*args)
    return str(e.value)


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


# -- text: encodings, NUL, surrogates, size ---------------------------------------------------


def test_utf16_and_latin1_files_are_refused_with_a_clear_message(tmp_path: Path) -> None:
    text = STACKER.read_text(encoding="utf-8")
    utf16 = write(tmp_path, "p16.yaml", text.encode("utf-16"))
    assert "is UTF-16 text; save it as UTF-8" in refused(read_profile, utf16)
    bare = write(tmp_path, "p16le.yaml", text.encode("utf-16-le"))
    assert "looks like UTF-16" in refused(read_profile, bare)
    latin = write(tmp_path, "p1.yaml", (text + "brand: Café\n").encode("latin-1"))
    message = refused(read_profile, latin)
    assert "not UTF-8 text" in message and "line " in message
    bom = write(tmp_path, "bom.yaml", b"\xef\xbb\xbf" + text.encode())
    assert read_profile(bom).sku == "MM-STK-07"  # a UTF-8 byte-order mark is fine
    assert "not UTF-8" in refused(
        read_labs, write(tmp_path, "l.csv", "cpsc_id\n\xe9".encode("latin-1"))
    )


def test_nul_and_lone_surrogates_are_refused_naming_the_field(tmp_path: Path) -> None:
    assert "NUL byte" in refused(read_profile, write(tmp_path, "n.yaml", b"sku: a\x00b\n"))
    doc = json.loads(CHEM.read_text())
    doc["lab"]["name"] = "Lab\u0000"
    message = refused(read_report_file, write(tmp_path, "r.json", json.dumps(doc)))
    assert "lab.name: contains a NUL character" in message
    doc["lab"]["name"] = "Lab\ud800"
    message = refused(read_report_file, write(tmp_path, "s.json", json.dumps(doc)))
    assert "lab.name: contains a lone surrogate" in message
    # The models refuse them too, whatever the source (a form, the REST API).
    doc["lab"]["name"] = "Lab\x00"
    assert "contains a NUL character" in refused(report_from_data, doc, "api")
    assert "lone surrogate" in refused(parse_document, "sku: '\ud800'", "p.yaml")


def test_files_over_the_size_limit_are_refused_before_reading() -> None:
    assert "larger than" in refused(decode_text, b"x" * 101, "f", 100)


# -- structure: nesting, aliases, numbers, dates ----------------------------------------------


@pytest.mark.parametrize("name", ["p.json", "p.yaml"])
def test_deep_nesting_is_a_message_not_a_recursion_error(name: str) -> None:
    text = "[" * 1000 + "]" * 1000
    assert "nested deeper than 64 levels" in refused(parse_document, text, name)
    yaml_block = "".join("  " * i + "a:\n" for i in range(200)) + "  " * 200 + "b: 1\n"
    assert "nested deeper" in refused(parse_document, yaml_block, "p.yaml")


def test_a_yaml_alias_bomb_is_refused_quickly() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(ord("b"), ord("j")):
        prev = chr(i - 1)
        lines.append(f"{chr(i)}: &{chr(i)} [" + ",".join([f"*{prev}"] * 9) + "]")
    bomb = "\n".join(lines) + "\n"
    assert len(bomb) < 1024
    assert "expands to more than" in refused(parse_document, bomb, "bomb.yaml")
    # A few aliases for repeated values are fine.
    assert parse_document("a: &x [1, 2]\nb: *x\n", "ok.yaml") == {"a": [1, 2], "b": [1, 2]}


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        ('{"a": NaN}', "d.json", "a: nan is not a finite number"),
        ('{"a": [Infinity]}', "d.json", "a[0]: inf is not a finite number"),
        ('{"a": 1e999}', "d.json", "a: inf is not a finite number"),
        ("a: .inf\n", "d.yaml", "a: inf is not a finite number"),
        ("a: .nan\n", "d.yaml", "a: nan is not a finite number"),
        ('{"a": ' + "9" * 5000 + "}", "d.json", "5000 digits is too long"),
        ("a: " + "9" * 5000 + "\n", "d.yaml", "5000 digits is too long"),
        ("issued: 2026-02-30\n", "d.yaml", "'2026-02-30' is not a valid date"),
        ('{"a": 1, "a": 2}', "d.json", "duplicate key 'a'"),
        ("a: 1\na: 2\n", "d.yaml", "duplicate key 'a'"),
        ("a: !!binary aGVsbG8=\n", "d.yaml", "a: a bytes value is not accepted"),
        ("a: !!python/object:os.system {}\n", "d.yaml", "not valid YAML"),
        ("{a: [1, 2", "d.yaml", "not valid YAML"),
    ],
)
def test_numbers_dates_keys_and_tags_at_the_boundary(text: str, name: str, expected: str) -> None:
    assert expected in refused(parse_document, text, name)


def test_an_invalid_unquoted_date_in_a_profile_or_report_file(tmp_path: Path) -> None:
    text = STACKER.read_text().replace("manufactured: 2025-06", "manufactured: 2026-02-30")
    message = refused(read_profile, write(tmp_path, "p.yaml", text))
    assert "2026-02-30" in message and "line" in message


# -- CSV ---------------------------------------------------------------------------------------


def test_a_csv_row_with_more_cells_than_the_header_names_the_line() -> None:
    text = MECH.read_text()
    lines = text.splitlines()
    lines[2] += ",extra,cells"
    message = refused(reports_from_csv, "\n".join(lines) + "\n", "m.csv")
    assert "m.csv line 3:" in message and "cells but the header has" in message
    labs = (EX / "labs.csv").read_text().splitlines()
    labs[1] += ",x,y,z"
    assert "line 2:" in refused(labs_from_csv, "\n".join(labs) + "\n", "labs.csv")


def test_a_repeated_csv_column_is_refused() -> None:
    header = MECH.read_text().splitlines()[0]
    assert "repeated column(s) report_no" in refused(
        reports_from_csv, header + ",report_no\n", "m.csv"
    )


def test_listings_refuse_utf16_and_nul(tmp_path: Path) -> None:
    text = "sku,asin\nA-1,B000000001\n"
    path = write(tmp_path, "l.csv", text.encode("utf-16"))
    assert "UTF-16" in refused(read_listings_file, path)
    assert "NUL" in refused(read_listings, "sku,asin\nA\x00,B000000001\n", "l.csv")
    # Windows-1252, the legacy Amazon export encoding, is still read.
    legacy = write(
        tmp_path, "w.txt", "sku\tasin\titem-name\nA-1\tB000000001\tCaf\xe9\n".encode("cp1252")
    )
    assert read_listings_file(legacy)[0]["title"] == "Café"


# -- units ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "unit", ["1/0", "٣٤", "mg/kg/0", "1", "m" * 50, "ppm)", "kg**kg**kg", "__x"]
)
def test_malformed_units_are_unit_errors(unit: str) -> None:
    assert not known_unit(unit)
    with pytest.raises(UnitError):
        factor(unit, "ppm")


def test_a_malformed_unit_in_a_report_is_exit_1_or_2_not_a_traceback(tmp_path: Path) -> None:
    doc = json.loads(CHEM.read_text())
    for unit in ("1/0", "٣٤", "ppm\u0663"):
        doc["results"][0]["unit"] = unit
        path = write(tmp_path, "r.json", json.dumps(doc))
        result = runner.invoke(app, ["verify", str(STACKER), "--reports", str(path), str(MECH)])
        assert (
            result.exit_code in (1, 2)
            and result.exception is None
            or isinstance(result.exception, SystemExit)
        ), result.output


# -- lengths and measurements -----------------------------------------------------------------


def test_nan_measurements_are_refused(tmp_path: Path) -> None:
    doc = json.loads(CHEM.read_text())
    doc["results"][0]["value"] = "NaN"
    assert "results[0].value" in refused(report_from_data, doc, "r")
    doc["results"][0]["value"] = float("nan")
    assert "results[0].value" in refused(report_from_data, doc, "r")
    doc["results"][0]["value"] = 1.0
    doc["results"][0]["loq"] = float("inf")
    assert "results[0].loq" in refused(report_from_data, doc, "r")


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        (("lab", "name"), 200),
        (("lab", "phone"), 60),
        (("results", 0, "analyte"), 20),
        (("results", 0, "unit"), 20),
        (("results", 0, "component"), 100),
        (("products", 0, "sku"), 100),
    ],
)
def test_strings_longer_than_their_column_are_refused(path: tuple[Any, ...], limit: int) -> None:
    doc = json.loads(CHEM.read_text())
    node: Any = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = "x" * (limit + 1)
    field = ".".join(f"[{p}]" if isinstance(p, int) else p for p in path).replace(".[", "[")
    message = refused(report_from_data, doc, "r")
    assert field in message and f"at most {limit} characters" in message


def test_long_profile_fields_and_party_files(tmp_path: Path) -> None:
    text = STACKER.read_text().replace("model: ", "model: " + "m" * 101, 1)
    assert "model: String should have at most 100" in refused(
        read_profile, write(tmp_path, "p.yaml", text)
    )
    party = (EX / "party.yaml").read_text().replace("Dana Reyes", "Dana\\u0000Reyes")
    party = party.replace("name: Dana\\u0000Reyes", 'name: "Dana\\u0000Reyes"')
    message = refused(read_party, write(tmp_path, "party.yaml", party))
    assert "records_custodian.name: contains a NUL character" in message


def test_cli_answers_exit_2_for_each_class(tmp_path: Path) -> None:
    cases = {
        "deep.json": "[" * 1000 + "]" * 1000,
        "nan.json": '{"sku": NaN}',
        "u16.yaml": STACKER.read_text().encode("utf-16"),
        "date.yaml": "sku: x\nname: y\nage: {min_months: 0}\nmanufactured: 2026-02-30\n",
    }
    for name, data in cases.items():
        path = write(tmp_path, name, data)
        result = runner.invoke(app, ["assess", str(path)])
        assert result.exit_code == 2, (name, result.output)
        assert result.stderr.startswith("error: ") and name in result.stderr
