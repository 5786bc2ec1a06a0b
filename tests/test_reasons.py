"""Typed outcomes: reasons, findings and input problems carry stable codes and facts; the words
are rendered from them, and nothing that decides reads the words back."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import run_case_profile
from toysafe.core import reasons
from toysafe.core.certificates.certificate import build_certificate
from toysafe.core.evidence.verify import report_problems, verify
from toysafe.core.law.engine import assess
from toysafe.core.reasons import CATALOG, Problem, Reason
from toysafe.io.kb import default_kb
from toysafe.io.labs import read_labs
from toysafe.io.profiles import read_profile
from toysafe.io.reports import read_reports
from toysafe.usecases.certify import read_party

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
AS_OF = date(2026, 11, 21)
KB = default_kb()


def _stacker(reports: list[str]) -> tuple[object, ...]:
    profile = read_profile(EX / "products" / "painted-wooden-stacker.yaml")
    found = [r for _, r in read_reports([EX / "reports" / n for n in reports])]
    registry = read_labs(EX / "labs.csv")
    assessment = assess(profile, KB, AS_OF)
    return profile, assessment, verify(profile, assessment, found, KB, AS_OF, registry), found


def test_every_code_is_documented() -> None:
    doc = (ROOT / "docs" / "reason-codes.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`([a-z_]+)`", doc))
    missing = sorted(code for code in CATALOG if code not in documented)
    assert missing == []


def test_a_reason_renders_from_its_facts_and_serializes_them() -> None:
    r = Reason(
        "report_too_old", {"report_no": "R-1", "issued": date(2024, 1, 2), "max_age_months": 12}
    )
    assert str(r) == "report R-1 issued 2024-01-02 is older than 12 months: retest to renew"
    assert r.to_dict()["facts"]["issued"] == "2024-01-02" and r.to_dict()["code"] == r.code


def test_assessment_reasons_are_typed_and_render_to_the_json_reasons() -> None:
    profile = read_profile(EX / "products" / "painted-wooden-stacker.yaml")
    a = assess(profile, KB, AS_OF)
    doc = a.to_dict()
    for req, out in zip(a.requirements, doc["requirements"], strict=True):
        assert all(isinstance(r, Reason) and r.code in CATALOG for r in req.why)
        assert out["reasons"] == list(reasons.texts(req.why))
    for na, out in zip(a.not_applicable, doc["not_applicable"], strict=True):
        assert out["reasons"] == list(reasons.texts(na.why)) and na.why


def test_certificate_exclusions_follow_the_code_not_the_wording(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile, assessment, verification, found = _stacker(
        ["stacker-chemistry-pass.json", "stacker-mechanical-pass.csv"]
    )
    party = read_party(EX / "party.yaml")
    registry = read_labs(EX / "labs.csv")

    def exclusions() -> list[tuple[str, str, str]]:
        doc = build_certificate(profile, assessment, verification, found, registry, party, AS_OF)  # type: ignore[arg-type]
        return [
            (x["requirement"], x["component"], x["citation"])
            for x in doc["certificate"]["exclusions"]
        ]

    before = exclusions()
    assert before  # the stacker relies on Commission determinations (untreated wood)
    monkeypatch.setitem(CATALOG, "determination_exempts", "{note}: exempt ({citation})")
    assert exclusions() == before


def test_verification_findings_carry_codes() -> None:
    *_, failing, _ = _stacker(["stacker-chemistry-fail.json", "stacker-mechanical-pass.csv"])
    assert {"limit_exceeded", "replace_and_retest"} <= failing.codes()  # type: ignore[attr-defined]
    *_, withdrawn, _ = _stacker(["stacker-chemistry-withdrawn-lab.json"])
    assert "lab_not_accepted" in withdrawn.codes()  # type: ignore[attr-defined]
    *_, nothing, _ = _stacker([])
    assert "missing_requirement" in nothing.codes()  # type: ignore[attr-defined]


def test_input_problems_carry_their_location() -> None:
    found = read_reports([EX / "reports" / "stacker-chemistry-pass.json"])
    problems = report_problems(found * 2, KB, date(2020, 1, 1))
    assert all(isinstance(p, Problem) for p in problems)
    locs = {(p.code, p.loc) for p in problems}
    assert ("duplicate_report_no", ("report_no",)) in locs
    assert ("date_in_future", ("issued",)) in locs
    assert ("date_in_future", ("tested", "from")) in locs
    assert str(problems[0]).startswith(f"{problems[0].source}: ")


def test_path_of_a_location() -> None:
    assert reasons.path_of(("results", 0, "unit")) == "results[0].unit"
    assert reasons.path_of(("tested", "from")) == "tested.from"


def test_every_code_the_source_names_has_a_rendering_and_a_doc_entry() -> None:
    """Every ``Reason("code", ...)`` written in src/ renders (CATALOG) and is documented."""
    doc = (ROOT / "docs" / "reason-codes.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`([a-z_]+)`", doc))
    named: set[str] = set()
    for path in (ROOT / "src" / "toysafe").rglob("*.py"):
        named |= set(re.findall(r"\bReason\(\s*\"([a-z_]+)\"", path.read_text(encoding="utf-8")))
    assert {"banned_situation", "edition_assumed", "no_manufacture_date"} <= named
    assert sorted(named - set(CATALOG)) == []
    assert sorted(named - documented) == []


def test_assessment_notes_and_alerts_are_typed_and_rendered_at_the_edge() -> None:
    a = run_case_profile(
        {"manufactured": None, "age_determination": {"min_months": 0, "by": "Acme Labs"}}
    )
    assert [n.code for n in a.notes] == ["age_by_determination", "no_manufacture_date"]
    assert a.notes[0].facts["judged_months"] == 0 and a.notes[0].citation
    doc = a.to_dict(trace=False)
    assert doc["notes"] == [str(n) for n in a.notes]
    assert doc["notes"][0].startswith("judged as intended for children from birth by the age")
    assert [n["code"] for n in doc["note_reasons"]] == [n.code for n in a.notes]


def test_a_banned_situation_is_an_alert_with_a_code_facts_and_citation() -> None:
    a = run_case_profile({"age": {"min_months": 24}, "features": ["small_ball"]})
    assert a.alerts
    for alert in a.alerts:
        rule = KB.by_id[alert.requirement]
        assert alert.code == "banned_situation"
        assert alert.reason.facts["message"] in {v.message for v in rule.violations}
        assert alert.reason.citation and alert.reason.facts["texts"]
        out = alert.to_dict()
        assert out["code"] == "banned_situation" and out["requirement"] == rule.id
        assert out["message"] == alert.message
        assert alert.message.startswith(alert.reason.facts["message"] + " (")
