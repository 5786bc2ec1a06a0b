"""Words for direct validation: why a TIC's document was refused, and each finding with the
next step, rendered from codes and facts."""

from __future__ import annotations

from typing import Any

from toysafe.core.program.validation import Finding, Outcome, Refusal

_REFUSAL: dict[str, str] = {
    "tic_not_approved": "TIC '{tic}' is not one the marketplace's policy approves "
    "(approved_tics); nothing was stored",
    "unknown_key": "the document is signed with key '{key_id}', not the key the policy holds "
    "for TIC '{tic}'; nothing was stored",
    "bad_signature": "the signature does not verify with the key of TIC '{tic}': the document "
    "was changed after signing, or signed by another key; nothing was stored",
    "replayed_revision": "{sent_trf} revision {sent_revision} is lower than revision "
    "{on_file_revision} on file for {listing_id} (a replay); nothing was stored",
    "revision_conflict": "{sent_trf} revision {sent_revision} is already on file for "
    "{listing_id} with different content: a change needs a higher revision; nothing was stored",
    "stale_validation": "{listing_id} has {on_file_trf} (issued {on_file_issued}) on file; "
    "{sent_trf} issued {sent_issued} is not later; nothing was stored",
    "wrong_tic": "a lab user of TIC '{uploader}' cannot upload a validation signed by TIC "
    "'{tic}'; nothing was stored",
}

_FINDING: dict[str, str] = {
    "missing": "{req} ({title}) applies to this product but is not in the validation: the "
    "program takes full testing only",
    "na_applies": "{req} ({title}) is marked n/a, but toysafe's assessment says it applies",
    "na_unjustified": "{req} is marked n/a without a justification",
    "pass_without_data": "{req} is marked pass without supporting test data",
    "failed": "{req} failed",
    "report_too_old": "report {report_no} (issued {issued}) is {age_days} days old at the "
    "validation's issue date {validation_issued}; the policy allows {max_report_age_days}",
    "lab_not_accepted": "no lab relied on was CPSC-accepted for {req} on its test date",
    "report_pinned": "report {report_no} is on file with other content: this may be forged "
    "or altered",
}

_NEXT: dict[str, str] = {
    "missing": "The TIC tests {req} and issues a new revision.",
    "na_applies": "The TIC tests {req} and issues a new revision.",
    "na_unjustified": "The TIC justifies the n/a for {req} in a new revision.",
    "pass_without_data": "The TIC adds the supporting data for {req} in a new revision.",
    "failed": "Fix the product, retest, and have the TIC issue a new revision.",
    "report_too_old": "Retest: the report is older than the policy allows.",
    "lab_not_accepted": "Retest {req} at a lab CPSC accepted for it on the test date.",
    "report_pinned": "A reviewer compares the document with the one on file.",
}


def _flat(facts: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in dict(facts).items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}_"))
        else:
            out[f"{prefix}{k}"] = v
    return out


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def refusal_text(r: Refusal) -> str:
    return _REFUSAL[r.code].format_map(_Missing(_flat(r.facts)))


def finding_text(f: Finding) -> str:
    text = _FINDING[f.check].format_map(_Missing(req=f.requirement, **_flat(f.facts)))
    if f.check == "lab_not_accepted":
        text += " (" + "; ".join(str(r["registry"]) for r in f.facts.get("reports", [])) + ")"
    return text


def next_step_text(f: Finding) -> str:
    return _NEXT[f.check].format(req=f.requirement or "each requirement")


def finding_dict(f: Finding) -> dict[str, Any]:
    return {**f.to_dict(), "message": finding_text(f), "next_step": next_step_text(f)}


def outcome_dict(o: Outcome) -> dict[str, Any]:
    """The outcome as the CLI and API print it: codes and facts, plus the words."""
    out = o.to_dict()
    if o.refusal is not None:
        out["refusal"]["message"] = refusal_text(o.refusal)
    out["findings"] = [finding_dict(f) for f in o.findings]
    return out
