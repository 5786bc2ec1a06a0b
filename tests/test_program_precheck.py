"""P7 pre-check: every check, its reason code, facts and next step; the outcome."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from toysafe.core.certificates import seal
from toysafe.core.certificates.certificate import build_certificate
from toysafe.core.evidence.labreport import LabReport
from toysafe.core.evidence.verify import verify
from toysafe.core.law.engine import assess
from toysafe.core.program.precheck import (
    CAUTIONARY_STATEMENT,
    Finding,
    ListingFacts,
    PreCheck,
    outcome,
    precheck,
    report_digest,
)
from toysafe.io.kb import default_kb
from toysafe.io.labs import read_labs
from toysafe.io.profiles import parse_document, profile_from_data, read_profile
from toysafe.io.reports import read_reports
from toysafe.render.program import finding_text, next_step_text
from toysafe.usecases.certify import read_party

EX = Path(__file__).resolve().parent.parent / "examples"
KB = default_kb()
AS_OF = date(2026, 11, 21)
PROFILE = read_profile(EX / "products" / "painted-wooden-stacker.yaml")
REPORTS = [
    r
    for _, r in read_reports(
        [
            EX / "reports" / "stacker-chemistry-pass.json",
            EX / "reports" / "stacker-mechanical-pass.csv",
        ]
    )
]
REGISTRY = read_labs(EX / "labs.csv")
PARTY = read_party(EX / "party.yaml")
KEY = Ed25519PrivateKey.generate()
KEY_ID = seal.key_id(KEY.public_key())
LISTING = ListingFacts("B0CW00DST7", "maple", 12, None, "MM-STK-07")
BASELINE = ["F963", "16CFR1303", "15USC1278a", "16CFR1307", "16CFR1501", "15USC2063(a)(5)"]


def certificate(reports: list[LabReport] = REPORTS, key: Ed25519PrivateKey = KEY) -> Any:
    a = assess(PROFILE, KB, AS_OF)
    v = verify(PROFILE, a, reports, KB, AS_OF, REGISTRY)
    return seal.sign(build_certificate(PROFILE, a, v, reports, REGISTRY, PARTY, AS_OF), key)


CERT = certificate()


def run(
    *,
    cert: Any = None,
    reports: list[LabReport] | None = None,
    listing: ListingFacts = LISTING,
    as_of: date = AS_OF,
    max_days: int = 365,
    trusted: tuple[str, ...] = (KEY_ID,),
    on_file: dict[str, str] | None = None,
    required: list[str] = BASELINE,
    registry: Any = REGISTRY,
) -> PreCheck:
    return precheck(
        required=required,
        profile=PROFILE,
        certificate=CERT if cert is None else cert,
        reports=REPORTS if reports is None else reports,
        listing=listing,
        kb=KB,
        as_of=as_of,
        max_report_age_days=max_days,
        registry=registry,
        trusted_keys=trusted,
        on_file=on_file,
    )


def codes(pc: PreCheck) -> list[str]:
    return [f.code for f in pc.findings]


def test_a_complete_submission_is_clean_and_auto_approved() -> None:
    pc = run()
    assert pc.findings == ()
    assert pc.outcome(auto_approve=True) == "approved"
    assert pc.outcome(auto_approve=False) == "in_review"
    assert pc.oldest_report == date(2026, 6, 12)
    assert {n for n, _ in pc.relied_on} == {"ETC-2026-0612-01", "ETC-2026-0612-02"}


def test_without_a_lab_registry_a_person_reviews_even_a_clean_submission() -> None:
    pc = run(registry=None)
    assert pc.outcome(auto_approve=True) == "in_review"


def test_a_missing_requirement_names_it_and_asks_for_the_test() -> None:
    chem = [r for r in REPORTS if r.report_no == "ETC-2026-0612-01"]
    pc = run(reports=chem)
    missing = [f for f in pc.findings if f.code == "missing_requirement"]
    assert {"F963:4.6", "16CFR1501"} <= {f.requirement for f in missing}
    assert missing[0].next_step_code == "test_requirement"
    assert pc.outcome(True) == "revision_requested"
    text = finding_text(missing[0])
    assert str(missing[0].requirement) in text


def test_a_requirement_not_asked_but_untested_is_not_full_testing() -> None:
    chem = [r for r in REPORTS if r.report_no == "ETC-2026-0612-01"]
    pc = run(reports=chem, required=["16CFR1303"])
    assert "not_full_testing" in codes(pc)
    assert "missing_requirement" not in codes(pc)


def test_a_report_older_than_the_policy_allows_is_too_old() -> None:
    pc = run(as_of=date(2026, 11, 21), max_days=100)
    old = [f for f in pc.findings if f.code == "report_too_old" and f.requirement is None]
    assert {f.facts["report_no"] for f in old} == {"ETC-2026-0612-01", "ETC-2026-0612-02"}
    assert old[0].facts["age_days"] == (AS_OF - date(2026, 6, 12)).days
    assert old[0].facts["max_report_age_days"] == 100
    assert old[0].next_step_code == "submit_recent_report"


def test_a_failing_result_is_failed_test() -> None:
    fail = read_reports([EX / "reports" / "stacker-chemistry-fail.json"])[0][1]
    mech = [r for r in REPORTS if r.report_no == "ETC-2026-0612-02"]
    pc = run(reports=[fail, *mech])
    assert "failed_test" in codes(pc)
    assert next(f for f in pc.findings if f.code == "failed_test").requirement == "16CFR1303"


def test_a_lab_withdrawn_before_the_test_is_not_accepted() -> None:
    withdrawn = read_reports([EX / "reports" / "stacker-chemistry-withdrawn-lab.json"])[0][1]
    mech = [r for r in REPORTS if r.report_no == "ETC-2026-0612-02"]
    pc = run(reports=[withdrawn, *mech])
    lab = [f for f in pc.findings if f.code == "lab_not_accepted"]
    assert lab and lab[0].next_step_code == "retest_at_accepted_lab"


def test_the_listing_age_must_be_at_or_above_the_report_age_grade() -> None:
    pc = run(listing=ListingFacts("L", "maple", 6, None, "MM-STK-07"))
    f = next(f for f in pc.findings if f.code == "age_grade_mismatch")
    assert f.facts["listing_min_age_months"] == 6 and f.facts["age_grade_min_months"] == 12
    assert run(listing=ListingFacts("L", "maple", 36, None, "MM-STK-07")).findings == ()


def test_a_listing_without_an_age_grade_is_a_mismatch() -> None:
    pc = run(listing=ListingFacts("L", "maple", None, None, "MM-STK-07"))
    assert codes(pc) == ["age_grade_mismatch"]


def test_a_warning_stated_when_none_is_due_is_a_mismatch() -> None:
    pc = run(listing=ListingFacts("L", "maple", 12, "choking_hazard_small_parts", "MM-STK-07"))
    f = next(f for f in pc.findings if f.code == "warning_mismatch")
    assert f.facts["due"] == ["no_warning_applicable"]
    ok = run(listing=ListingFacts("L", "maple", 12, "no_warning_applicable", "MM-STK-07"))
    assert ok.findings == ()


def test_a_due_warning_missing_from_the_listing_is_a_mismatch() -> None:
    # the same stacker for 3 years and up with a small loose peg: the small-parts warning is due
    text = (EX / "products" / "painted-wooden-stacker.yaml").read_text()
    text = text.replace("age: {min_months: 12}", "age: {min_months: 36}")
    text += "  - {id: peg, name: Loose peg, material: wood_unfinished, small_part: true}\n"
    prof = profile_from_data(parse_document(text, "stacker"))
    due = [w.key for w in assess(prof, KB, AS_OF).warnings]
    assert "small_parts" in due
    pc = precheck(
        required=BASELINE,
        profile=prof,
        certificate=CERT,
        reports=REPORTS,
        listing=ListingFacts("L", "maple", 36, None, "MM-STK-07"),
        kb=KB,
        as_of=AS_OF,
        max_report_age_days=365,
        registry=REGISTRY,
        trusted_keys=(KEY_ID,),
    )
    f = next(f for f in pc.findings if f.code == "warning_mismatch")
    assert f.facts["due"] == [CAUTIONARY_STATEMENT["small_parts"]]
    assert f.next_step_code == "correct_listing_warning"


def test_the_listing_model_must_be_the_tested_model() -> None:
    pc = run(listing=ListingFacts("L", "maple", 12, None, "MM-STK-08"))
    f = next(f for f in pc.findings if f.code == "model_mismatch")
    assert f.facts == {"listing_model": "MM-STK-08", "tested": ["MM-STK-07"]}
    assert run(listing=ListingFacts("L", "maple", 12, None, "mm stk 07")).findings == ()
    assert codes(run(listing=ListingFacts("L", "maple", 12, None, None))) == ["model_mismatch"]


def test_a_certificate_changed_after_signing_is_forged_and_goes_to_a_person() -> None:
    cert = copy.deepcopy(CERT)
    cert["certificate"]["product"]["model"] = "OTHER"
    pc = run(cert=cert)
    f = next(f for f in pc.findings if f.code == "forged_or_altered")
    assert f.facts["signature"] == "invalid"
    assert pc.outcome(True) == "in_review"
    assert f.next_step_code == "await_review"


def test_a_certificate_signed_by_a_key_not_trusted_for_the_seller_is_forged() -> None:
    pc = run(trusted=("0000000000000000",))
    f = next(f for f in pc.findings if f.code == "forged_or_altered")
    assert f.facts["signature"] == "unknown_key" and f.facts["key_id"] == KEY_ID


def test_an_unsigned_certificate_must_be_signed() -> None:
    cert = {k: v for k, v in CERT.items() if k != "signature"}
    pc = run(cert=cert)
    assert codes(pc) == ["certificate_element_missing"]
    assert pc.findings[0].next_step_code == "sign_certificate"


@pytest.mark.parametrize(
    ("path", "element"),
    [
        (("records_custodian", "address"), "records_custodian.address"),
        (("certifier", "name"), "certifier.name"),
        (("manufacture", "city"), "manufacture.city"),
        (("manufacture", "date"), "manufacture.date"),
    ],
)
def test_each_16cfr1110_element_is_required(path: tuple[str, str], element: str) -> None:
    doc = copy.deepcopy(CERT)
    doc["certificate"][path[0]].pop(path[1])
    pc = run(cert=seal.sign(doc, KEY))
    assert {"code": "certificate_element_missing", "element": element} in [
        {"code": f.code, "element": f.facts.get("element")} for f in pc.findings
    ]


def test_a_rule_asked_for_but_not_cited_on_the_certificate_is_missing() -> None:
    doc = copy.deepcopy(CERT)
    doc["certificate"]["rules"] = [r for r in doc["certificate"]["rules"] if r["id"] != "16CFR1303"]
    pc = run(cert=seal.sign(doc, KEY))
    f = next(f for f in pc.findings if f.code == "certificate_element_missing")
    assert f.requirement == "16CFR1303" and f.facts["element"] == "rules"


def test_a_lab_relied_on_must_be_on_the_certificate() -> None:
    doc = copy.deepcopy(CERT)
    doc["certificate"]["labs"] = []
    pc = run(cert=seal.sign(doc, KEY))
    assert any(f.facts.get("element") == "labs" for f in pc.findings)


def test_a_report_that_differs_from_the_one_on_file_is_forged() -> None:
    on_file = {r.report_no: report_digest(r) for r in REPORTS}
    assert run(on_file=on_file).findings == ()  # the same report again is fine
    on_file["ETC-2026-0612-01"] = "sha256:something-else"
    pc = run(on_file=on_file)
    f = next(f for f in pc.findings if f.code == "forged_or_altered")
    assert f.facts == {"report_no": "ETC-2026-0612-01", "document": "report"}
    assert pc.outcome(True) == "in_review"


def test_the_digest_ignores_the_format_marker_but_not_content() -> None:
    r = REPORTS[0]
    assert report_digest(r) == report_digest(r.model_copy(update={"format": None}))
    assert report_digest(r) != report_digest(r.model_copy(update={"report_no": "X"}))


def test_forgery_outranks_other_findings() -> None:
    assert outcome([Finding("model_mismatch"), Finding("forged_or_altered")], True) == "in_review"


def test_every_code_has_words_for_the_seller() -> None:
    from toysafe.core.program.precheck import NEXT_STEP

    for code in NEXT_STEP:
        f = Finding(code, "F963:4.6", {})  # type: ignore[arg-type]
        assert finding_text(f)
        assert next_step_text(f)
