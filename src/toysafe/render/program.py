"""Words for sellers and reviewers: the program's findings and next steps, rendered from codes
and facts (the core never writes prose that anything parses back)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from toysafe.core.program.decisions import Reasons
from toysafe.core.program.precheck import Finding

_WHAT: dict[str, str] = {
    "missing_requirement": "no passing result from a CPSC-accepted lab covers {req}",
    "not_full_testing": "{req} applies to this product but was not tested: "
    "the program takes full testing only, no selection of tests",
    "report_too_old": "the evidence for {req} is too old",
    "lab_not_accepted": "the lab that tested {req} was not CPSC-accepted for it on the test date",
    "tic_not_approved": "the validation does not come from a TIC the marketplace approves",
    "age_grade_mismatch": "the listing's minimum age does not match the tested age grade",
    "warning_mismatch": "the listing's cautionary statement does not match the warnings due",
    "model_mismatch": "the listing's model is not the model the reports tested",
    "certificate_element_missing": "the certificate lacks an element 16 CFR part 1110 requires",
    "failed_test": "the product fails {req}",
    "forged_or_altered": "a document does not match what was signed or what is on file",
}

_NEXT: dict[str, str] = {
    "test_requirement": "Send the product to a CPSC-accepted lab for {req} and submit the report.",
    "submit_recent_report": "Submit a report issued within the policy's maximum report age, "
    "or retest.",
    "retest_at_accepted_lab": "Retest {req} at a lab CPSC accepted for it on the test date.",
    "use_approved_tic": "Have one of the marketplace's approved TICs validate the product.",
    "correct_listing_age": "Set the listing's manufacturer minimum age to at least the age "
    "grade in the test report, or retest for the listed age.",
    "correct_listing_warning": "Change the listing's cautionary statement to the one due.",
    "correct_listing_model": "Correct the listing's model number, or submit reports for the "
    "listed model.",
    "complete_certificate": "Issue a new certificate with every element (16 CFR 1110.11).",
    "sign_certificate": "Submit the certificate as signed by your certification system.",
    "test_fully": "Have every applicable requirement tested, {req} included.",
    "fix_product_and_retest": "Fix the product (materials, design), retest it, and submit the "
    "new report; the listing stays down until then.",
    "await_review": "A reviewer will look at the documents; you will be told the decision.",
    # next steps of decisions and actions (statements of reasons, P13)
    "resubmit_before_due": "Correct what the findings name and submit again before the due date.",
    "renew_before_valid_until": "Nothing now; submit current evidence before the approval ends.",
    "appeal_with_evidence": "If the documents are genuine, appeal with the lab's confirmation.",
    "none": "Nothing: the matter is closed.",
}


def _facts(facts: Mapping[str, Any]) -> str:
    """The facts, in a stable, readable order."""
    parts = []
    for key, value in facts.items():
        if isinstance(value, list | tuple):
            value = ", ".join(str(v) for v in value) or "none"
        elif value is None:
            value = "none"
        parts.append(f"{key.replace('_', ' ')}: {value}")
    return "; ".join(parts)


def finding_text(f: Finding) -> str:
    """One sentence: what failed, on which facts."""
    what = _WHAT[f.code].format(req=f.requirement or "a requirement")
    facts = _facts(f.facts)
    return f"{what} ({facts})" if facts else what


def next_step_text(f: Finding) -> str:
    return _NEXT[f.next_step_code].format(req=f.requirement or "each requirement asked")


def next_step_words(code: str, requirement: str | None = None) -> str:
    """The words for a next-step code (statements of reasons carry codes too)."""
    return _NEXT.get(code, code).format(req=requirement or "each requirement asked")


def finding_dict(f: Finding) -> dict[str, Any]:
    """A finding as the program's outputs carry it: codes and facts, plus the words."""
    return {**f.to_dict(), "message": finding_text(f), "next_step": next_step_text(f)}


def reasons_dict(r: Reasons, how: str | None = None) -> dict[str, Any]:
    """A statement of reasons as outputs carry it (contract 8.5): the next step in words."""
    out = r.to_dict()
    out["next_step"] = next_step_words(r.next_step)
    if how:
        out["appeal"]["how"] = how
    return out
