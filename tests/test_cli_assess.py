"""The ``toysafe assess`` command: formats, exit codes and error messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from toysafe.cli.app import app

runner = CliRunner()

PROFILE = {
    "format": "toysafe/product@1",
    "sku": "MAG-01",
    "name": "Magnetic tiles",
    "gtin": "00012345678905",
    "age": {"min_months": 36},
    "manufactured": "2025-03",
    "made_in": {"city": "Ningbo", "country": "CN"},
    "features": ["magnet"],
    "components": [
        {"id": "tile", "material": "plastic_abs"},
        {"id": "magnet-1", "material": "magnet_material", "accessible": False},
    ],
}


def write(tmp_path: Path, data: object, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    text = json.dumps(data) if name.endswith(".json") else yaml.safe_dump(data)
    path.write_text(text, encoding="utf-8")
    return path


def test_json_output_follows_the_contract(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["assess", str(write(tmp_path, PROFILE)), "--as-of", "2026-11-21", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["format"] == "toysafe/assessment@1"
    assert doc["sku"] == "MAG-01" and doc["as_of"] == "2026-11-21"
    assert doc["certificate"] == "CPC" and doc["toy_standard"] == "F963-23"
    magnets = next(r for r in doc["requirements"] if r["id"] == "F963:4.38")
    assert magnets["citation"] == "ASTM F963-23 §4.38, 16 CFR part 1250"
    assert magnets["components"] == [
        {"id": "magnet-1", "third_party_testing": True, "reasons": ["material magnet_material"]}
    ]
    assert "feature magnet" in magnets["reasons"]
    assert "toy for children under 14" in magnets["reasons"]
    sound = next(n for n in doc["not_applicable"] if n["id"] == "F963:4.5")
    assert sound["reasons"] == ["the product produces no sound"]
    assert isinstance(doc["warnings"], list)


def test_json_profiles_are_read_too(tmp_path: Path) -> None:
    path = write(tmp_path, PROFILE, "p.json")
    result = runner.invoke(app, ["assess", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_human_formats(tmp_path: Path, fmt: str) -> None:
    result = runner.invoke(
        app, ["assess", str(write(tmp_path, PROFILE)), "--as-of", "2026-11-21", "--format", fmt]
    )
    assert result.exit_code == 0, result.output
    assert "F963:4.38" in result.stdout and "CPC" in result.stdout


def test_explain_why_and_why_not(tmp_path: Path) -> None:
    path = str(write(tmp_path, PROFILE))
    why = runner.invoke(app, ["assess", path, "--explain", "F963:4.38"])
    assert why.exit_code == 0 and "APPLIES" in why.stdout and "feature magnet" in why.stdout
    why_not = runner.invoke(app, ["assess", path, "--explain", "F963:4.5"])
    assert "DOES NOT APPLY" in why_not.stdout and "produces no sound" in why_not.stdout
    unknown = runner.invoke(app, ["assess", path, "--explain", "F963:9.9"])
    assert unknown.exit_code == 2


def _bad(**changes: object) -> dict[str, object]:
    data = json.loads(json.dumps(PROFILE))
    for key, value in changes.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    return data


BAD_PROFILES = [
    (_bad(age=None), "age: is required"),
    (_bad(age={"max_months": 24}), "age.min_months: is required"),
    (_bad(age={"min_months": -1}), "age.min_months"),
    (_bad(age={"min_months": 36, "max_months": 12}), "max_months is below min_months"),
    (_bad(sku=None), "sku: is required"),
    (_bad(gtin="00012345678906"), "gtin: check digit"),
    (_bad(gtin="12345"), "gtin: must be 8, 12, 13 or 14 digits"),
    (_bad(manufactured="2025-13"), "manufactured: month 13"),
    (_bad(manufactured="March 2025"), "manufactured: 'March 2025' is not a date"),
    (_bad(features=["magnets"]), "features: [0] unknown feature 'magnets'"),
    (_bad(features=[{"sound": {"kind": "loud"}}]), "features: [0] sound.kind"),
    (_bad(features=[{"battery": {"volts": 3}}]), "unknown parameter 'volts'"),
    (_bad(components=[{"id": "a", "material": "plastik"}]), "components[0].material: unknown"),
    (
        _bad(components=[{"id": "a", "material": "metal"}, {"id": "a", "material": "glass"}]),
        "duplicate component id 'a'",
    ),
    (_bad(components=[{"id": "a", "material": "metal", "colour": "red"}]), "colour"),
    (_bad(made_in={"city": "Ningbo", "country": "China"}), "made_in.country"),
    (_bad(wheels=4), "wheels: is not a known field"),
    (_bad(format="toysafe/product@2"), "format"),
]


@pytest.mark.parametrize(("data", "message"), BAD_PROFILES, ids=[m for _, m in BAD_PROFILES])
def test_bad_profiles_exit_2_naming_the_field(tmp_path: Path, data: object, message: str) -> None:
    result = runner.invoke(app, ["assess", str(write(tmp_path, data))])
    assert result.exit_code == 2
    assert message in result.stderr, result.stderr
    assert result.stdout == ""


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["assess", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2 and "cannot read" in missing.stderr
    broken = tmp_path / "b.yaml"
    broken.write_text("sku: [unclosed", encoding="utf-8")
    result = runner.invoke(app, ["assess", str(broken)])
    assert result.exit_code == 2 and "not valid YAML" in result.stderr
    scalar = tmp_path / "s.yaml"
    scalar.write_text("just text", encoding="utf-8")
    result = runner.invoke(app, ["assess", str(scalar)])
    assert result.exit_code == 2 and "expected a mapping" in result.stderr


def test_bad_as_of_and_format(tmp_path: Path) -> None:
    path = str(write(tmp_path, PROFILE))
    result = runner.invoke(app, ["assess", path, "--as-of", "2026-02-30"])
    assert result.exit_code == 2 and "--as-of" in result.stderr
    result = runner.invoke(app, ["assess", path, "--format", "xml"])
    assert result.exit_code == 2
