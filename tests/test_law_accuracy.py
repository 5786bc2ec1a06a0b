"""Issue 10, regulatory accuracy: dated duties, rules not assessed, the manufacturer on
certificates, statements as printed, no legal expiry on a CPC."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tests.conftest import run_case_profile
from tests.test_verify import PROFILE, report, results, run
from toysafe.cli.app import app
from toysafe.core.evidence.labreport import LabReport
from toysafe.core.evidence.verify import is_citation, report_problems
from toysafe.io.kb import default_kb

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
STACKER = EX / "products" / "painted-wooden-stacker.yaml"
PASSING = [
    str(EX / "reports" / "stacker-chemistry-pass.json"),
    str(EX / "reports" / "stacker-mechanical-pass.csv"),
]
runner = CliRunner()


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TOYSAFE_HOME", str(tmp_path / "ws"))
    monkeypatch.delenv("TOYSAFE_SIGNING_KEY", raising=False)
    return tmp_path


# --- 1. duties by date of manufacture ---------------------------------------------------------


def test_a_toy_made_in_2006_gets_no_certificate_and_no_lab_but_the_sale_limits_still_apply() -> (
    None
):
    a = run_case_profile(
        {
            "manufactured": "2006-05",
            "age": {"min_months": 12},
            "components": [{"id": "body", "material": "plastic_pvc"}],
        }
    )
    assert a.certificate == "none" and not a.lab_requirements
    assert a.toy_standard is None  # F963 became mandatory 2009-02-10
    by_id = {r.id: r for r in a.requirements}
    assert by_id["15USC1278a"].basis == "sale" and by_id["16CFR1307"].basis == "sale"
    (note,) = (n for n in a.notes if n.code == "before_certification")
    assert note.facts["from"].isoformat() == "2008-11-12"
    doc = a.to_dict(trace=False)
    assert all(r["basis"] in ("manufacture", "sale") for r in doc["requirements"])
    assert all(r["basis"] in ("manufacture", "sale") for r in doc["not_applicable"])


def test_the_duty_dates_are_kb_data_with_citations() -> None:
    kb = default_kb()
    assert kb.duties["certification"].from_ == date(2008, 11, 12)
    dated = {r.id: r.third_party_duty for r in kb.requirements if r.third_party_duty}
    assert dated["16CFR1303"].from_ == date(2008, 12, 22)
    assert dated["16CFR1501"].from_ == date(2009, 2, 16)
    assert dated["15USC1278a"].from_ == date(2012, 1, 1)
    assert dated["F963:4.38"].from_ == date(2012, 1, 1)
    assert all(d.citation and d.confidence for d in dated.values())


def test_limits_still_judge_results_when_no_lab_test_is_owed() -> None:
    made_2010 = {**PROFILE, "manufactured": "2010-05"}
    v = run(report(results=results(pb_body=350), standard="F963-08"), profile=made_2010)
    check = v.requirement("15USC1278a")
    assert check is not None and check.status == "fail"  # 350 > 300 ppm for 2010
    assert not v.certifiable
    assert v.to_dict()["limit_checks"][0]["id"] == "15USC1278a"


# --- 5. real lab reports ----------------------------------------------------------------------


def _with_other_rules() -> dict[str, Any]:
    rs = results() + [
        {"requirement": "16CFR1500.48", "verdict": "pass"},
        {"requirement": "16CFR1500.49", "verdict": "pass"},
        {
            "requirement": "CA:HSC25214",
            "component": "body",
            "analyte": "Cd",
            "value": 5,
            "unit": "ppm",
        },
        {"requirement": "WALMART:TS-101", "verdict": "pass"},
    ]
    return report(results=rs)


def test_results_for_rules_not_assessed_are_kept_and_listed() -> None:
    v = run(_with_other_rules())
    assert v.certifiable
    listed = {n.requirement for n in v.not_assessed}
    assert listed == {"16CFR1500.48", "16CFR1500.49", "CA:HSC25214", "WALMART:TS-101"}
    doc = v.to_dict()
    assert {n["status"] for n in doc["not_assessed"]} == {"not_assessed"}
    assert any("not assessed" in f for f in doc["findings"])


@pytest.mark.parametrize("bad", ["sharp points", "4.38", "retailer test", "ca:prop65"])
def test_an_id_that_is_not_a_citation_is_bad_input(bad: str) -> None:
    data = report(results=[{"requirement": bad, "verdict": "pass"}])
    problems = report_problems(
        [("r.json", LabReport.model_validate(data))], default_kb(), date(2026, 11, 21)
    )
    assert problems and problems[0].code == "not_a_citation"
    assert "is not a citation" in str(problems[0])
    assert not is_citation(bad)


def test_the_cli_lists_not_assessed_results_and_keeps_the_exit_code(tmp_path: Path) -> None:
    chem = json.loads((EX / "reports" / "stacker-chemistry-pass.json").read_text())
    chem["results"].append({"requirement": "16CFR1500.48", "verdict": "pass"})
    path = tmp_path / "chem.json"
    path.write_text(json.dumps(chem))
    out = runner.invoke(
        app,
        [
            "verify",
            str(STACKER),
            "--reports",
            str(path),
            PASSING[1],
            "--labs",
            str(EX / "labs.csv"),
            "--as-of",
            "2026-11-21",
            "--format",
            "json",
        ],
    )
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert [n["requirement"] for n in doc["not_assessed"]] == ["16CFR1500.48"]


# --- 4. the manufacturer ----------------------------------------------------------------------


def _certify(tmp: Path, profile: Path, party: Path) -> Any:
    return runner.invoke(
        app,
        [
            "certify",
            str(profile),
            "--reports",
            *PASSING,
            "--labs",
            str(EX / "labs.csv"),
            "--party",
            str(party),
            "--as-of",
            "2026-11-21",
            "--out",
            str(tmp / "out"),
            "--lot",
            "L1",
        ],
    )


def _party(tmp: Path, with_manufacturer: bool) -> Path:
    data = yaml.safe_load((EX / "party.yaml").read_text())
    if not with_manufacturer:
        data.pop("manufacturer")
    path = tmp / "party.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _profile(tmp: Path, manufacturer: dict[str, str] | None) -> Path:
    data = yaml.safe_load(STACKER.read_text())
    if manufacturer:
        data["manufacturer"] = manufacturer
    path = tmp / "stacker.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


FACTORY_B = {"name": "Lishui Toy Works", "address": "3 River Rd, Lishui, CN", "phone": "+86 1"}


def test_the_profile_manufacturer_wins_on_certificate_label_and_efiling(ws: Path) -> None:
    result = _certify(ws, _profile(ws, FACTORY_B), _party(ws, True))
    assert result.exit_code == 0, result.output
    doc = json.loads((ws / "out" / "MM-STK-07.cpc.json").read_text())
    assert doc["certificate"]["manufacturer"]["name"] == "Lishui Toy Works"
    from toysafe.core.certificates.efiling import efiling_record

    record = efiling_record(doc)
    assert record["manufacturer_name"] == "Lishui Toy Works"
    assert record["manufacturer_address"] == FACTORY_B["address"]


def test_the_party_manufacturer_is_used_when_the_profile_names_none(ws: Path) -> None:
    result = _certify(ws, STACKER, _party(ws, True))
    assert result.exit_code == 0, result.output
    doc = json.loads((ws / "out" / "MM-STK-07.cpc.json").read_text())
    assert doc["certificate"]["manufacturer"]["name"] == "Yunhe Woodcraft Co."


def test_no_manufacturer_anywhere_refuses_and_writes_nothing(ws: Path) -> None:
    result = _certify(ws, STACKER, _party(ws, False))
    assert result.exit_code == 1 and "manufacturer" in result.stderr
    assert not (ws / "out").exists() or not list((ws / "out").iterdir())


def test_the_tracking_label_names_the_profile_manufacturer() -> None:
    from toysafe.core.certificates.labels import make_label
    from toysafe.core.certificates.party import Party
    from toysafe.core.law.dates import ManufactureDate
    from toysafe.io.profiles import profile_from_data

    data = yaml.safe_load(STACKER.read_text())
    profile = profile_from_data({**data, "manufacturer": FACTORY_B}, "p")
    party = Party.model_validate(yaml.safe_load((EX / "party.yaml").read_text()))
    a = run_case_profile({})
    label = make_label(profile, a, "L1", ManufactureDate.parse("2025-06"), party)
    assert "Factory: Lishui Toy Works, 3 River Rd, Lishui, CN" in label.tracking


def test_a_bad_profile_manufacturer_is_bad_input() -> None:
    from toysafe.io.profiles import profile_from_data

    with pytest.raises(Exception, match="manufacturer"):
        profile_from_data(
            {**yaml.safe_load(STACKER.read_text()), "manufacturer": {"name": "X"}}, "p"
        )


# --- 7. no legal expiry on a CPC --------------------------------------------------------------


def test_the_certificate_carries_no_valid_until(ws: Path) -> None:
    result = _certify(ws, STACKER, _party(ws, True))
    assert result.exit_code == 0, result.output
    doc = json.loads((ws / "out" / "MM-STK-07.cpc.json").read_text())
    assert "valid_until" not in doc["certificate"]
    assert "valid" not in json.dumps(doc["certificate"]).lower().replace("validat", "")


# --- 6. statements exactly as printed ---------------------------------------------------------


def test_every_choking_statement_carries_the_em_dash_and_an_ascii_form() -> None:
    req = default_kb().by_id["16CFR1500.19"]
    for s in req.statements:
        assert "CHOKING HAZARD\u2014" in s.text
        assert s.ascii.isascii() and "CHOKING HAZARD--" in s.ascii
