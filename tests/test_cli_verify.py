"""``toysafe verify`` and ``toysafe plan`` from the command line: exit codes and bad input."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from toysafe.cli.app import app

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
STACKER = str(EX / "products" / "painted-wooden-stacker.yaml")
CHEM_PASS = EX / "reports" / "stacker-chemistry-pass.json"
CHEM_FAIL = EX / "reports" / "stacker-chemistry-fail.json"
MECH = str(EX / "reports" / "stacker-mechanical-pass.csv")
LABS = str(EX / "labs.csv")
runner = CliRunner()


def verify(*args: str) -> Any:
    return runner.invoke(app, ["verify", STACKER, *args, "--as-of", "2026-11-21"])


def test_the_examples_verify_with_the_contract_exit_codes() -> None:
    ok = verify("--reports", str(CHEM_PASS), MECH, "--labs", LABS, "--format", "json")
    assert ok.exit_code == 0, ok.output
    doc = json.loads(ok.stdout)
    assert doc["format"] == "toysafe/verification@1" and doc["certifiable"] is True
    assert {r["status"] for r in doc["requirements"]} == {"pass"}
    bad = verify("--reports", str(CHEM_FAIL), MECH, "--labs", LABS, "--format", "json")
    assert bad.exit_code == 1
    doc = json.loads(bad.stdout)
    lead = next(r for r in doc["requirements"] if r["id"] == "16CFR1303")
    assert lead["status"] == "fail"
    assert any("Pb 95 ppm in paint-red exceeds 90 ppm" in f for f in lead["findings"])
    assert {"report_no": "ETC-2026-0614-07", "component": "paint-red", "analytes": ["Pb"]} in (
        lead["evidence"]
    )


def test_the_table_says_certifiable_or_not() -> None:
    ok = verify("--reports", str(CHEM_PASS), "--reports", MECH, "--labs", LABS)
    assert ok.exit_code == 0 and "CERTIFIABLE" in ok.stdout
    missing = verify("--reports", MECH, "--labs", LABS)
    assert missing.exit_code == 1 and "NOT CERTIFIABLE" in missing.stdout
    assert "missing" in missing.stdout


def _report(tmp_path: Path, name: str = "r.json", **changes: Any) -> str:
    data = json.loads(CHEM_PASS.read_text(encoding="utf-8"))
    for key, value in changes.items():
        data[key] = value
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def _result(tmp_path: Path, **changes: Any) -> str:
    data = json.loads(CHEM_PASS.read_text(encoding="utf-8"))
    data["results"][0].update(changes)
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


BAD_REPORTS = [
    (lambda t: _result(t, value="abc"), "results[0].value: 'abc' is not a number"),
    (lambda t: _result(t, value=True), "results[0].value"),
    (lambda t: _result(t, value=-1), "must not be negative"),
    (lambda t: _result(t, unit="ppmm"), "results[0].unit: unknown unit 'ppmm'"),
    (lambda t: _result(t, unit="mg/L"), "'mg/L' cannot be converted to 'ppm'"),
    (lambda t: _result(t, unit=None), "a measured value needs a unit"),
    (lambda t: _result(t, analyte="Zn"), "16CFR1303 sets no limit for 'Zn'"),
    # Contract 4 (v1.1): a citation toysafe does not assess is kept; free text is bad input.
    (lambda t: _result(t, requirement="sharp points"), "'sharp points' is not a citation"),
    (lambda t: _result(t, verdict="ok"), "results[0].verdict"),
    (lambda t: _report(t, issued="2026-06-05"), "tested.to 2026-06-10 is after the issue date"),
    (lambda t: _report(t, issued="yesterday"), "issued"),
    (lambda t: _report(t, tested={"from": "2026-06-10", "to": "2026-06-02"}), "'to' is before"),
    (
        lambda t: _report(
            t, issued="2027-01-05", tested={"from": "2027-01-01", "to": "2027-01-02"}
        ),
        "is in the future",
    ),
    (lambda t: _report(t, products=[]), "products"),
    (lambda t: _report(t, products=[{"colour": "red"}]), "products[0].colour"),
    (lambda t: _report(t, standard="EN71"), "is not an ASTM F963 edition"),
    (lambda t: _report(t, lab={"cpsc_id": "12", "name": "x"}), "lab.cpsc_id"),
    (lambda t: _report(t, report_no=None), "report_no: Input should be a valid string"),
]


@pytest.mark.parametrize(("make", "message"), BAD_REPORTS, ids=[m for _, m in BAD_REPORTS])
def test_malformed_reports_exit_2_naming_the_field(tmp_path: Path, make: Any, message: str) -> None:
    result = verify("--reports", make(tmp_path), "--labs", LABS)
    assert result.exit_code == 2, result.output
    assert message in result.stderr, result.stderr
    assert result.stdout == ""


def test_duplicate_report_numbers_exit_2(tmp_path: Path) -> None:
    a = _report(tmp_path, "a.json")
    b = _report(tmp_path, "b.json")
    result = verify("--reports", a, b)
    assert result.exit_code == 2 and "also the number of a report in" in result.stderr


def _csv(tmp_path: Path, rows: list[dict[str, str]], header: list[str] | None = None) -> str:
    path = tmp_path / "r.csv"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header or list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return str(path)


def _mech_rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(Path(MECH).read_text(encoding="utf-8"))))


def test_csv_reports_name_the_line(tmp_path: Path) -> None:
    rows = _mech_rows()
    rows[2]["issued"] = "2026-06-13"
    result = verify("--reports", _csv(tmp_path, rows))
    assert result.exit_code == 2 and "line 4: issued: '2026-06-13' differs from line 2" in (
        result.stderr
    )
    rows = _mech_rows()
    rows[3]["verdict"] = "maybe"
    result = verify("--reports", _csv(tmp_path, rows))
    assert result.exit_code == 2 and "line 5: results[3].verdict" in result.stderr
    rows = _mech_rows()
    header = [h for h in rows[0] if h != "products"]
    result = verify("--reports", _csv(tmp_path, [{h: r[h] for h in header} for r in rows]))
    assert result.exit_code == 2 and "missing column(s) products" in result.stderr


def test_a_broken_lab_registry_exits_2_naming_the_line(tmp_path: Path) -> None:
    text = Path(LABS).read_text(encoding="utf-8").splitlines()
    text[2] = text[2].replace("independent", "indie")
    labs = tmp_path / "labs.csv"
    labs.write_text("\n".join(text) + "\n", encoding="utf-8")
    result = verify("--reports", str(CHEM_PASS), "--labs", str(labs))
    assert result.exit_code == 2 and "labs.csv line 3: type" in result.stderr
    text[2] = text[2].replace("indie", "independent").replace("Ningbo)", "Ningbo) Ltd")
    labs.write_text("\n".join(text) + "\n", encoding="utf-8")
    result = verify("--reports", str(CHEM_PASS), "--labs", str(labs))
    assert result.exit_code == 2 and "line 3: name" in result.stderr and "differs" in result.stderr


def test_no_reports_is_bad_input() -> None:
    assert verify().exit_code == 2


def test_plan_lists_one_line_per_requirement_and_component() -> None:
    result = runner.invoke(app, ["plan", STACKER, "--as-of", "2026-11-21", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    paints = [r for r in rows if r["requirement"] == "16CFR1303"]
    assert [r["component"] for r in paints] == [
        "paint-red",
        "paint-orange",
        "paint-yellow",
        "paint-green",
        "paint-blue",
        "paint-purple",
    ]
    assert all(r["analytes"] == "Pb" for r in paints)
    elements = next(r for r in rows if r["requirement"] == "F963:4.3.5.1(2)")
    assert elements["analytes"] == "As, Ba, Cd, Cr, Hg, Pb, Sb, Se"
    assert "8.3" in elements["method"]
    assert not [r for r in rows if r["component"] in ("base", "rings")]  # exempt wood
    doc = json.loads(
        runner.invoke(app, ["plan", STACKER, "--as-of", "2026-11-21", "--format", "json"]).stdout
    )
    assert doc["format"] == "toysafe/test-plan@1" and len(doc["lines"]) == len(rows)
    table = runner.invoke(app, ["plan", STACKER, "--as-of", "2026-11-21"])
    assert table.exit_code == 0 and "16CFR1303" in table.stdout
