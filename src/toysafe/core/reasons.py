"""Typed outcomes: every reason the core gives is a stable code with structured facts (and a
citation when the law is cited); the sentence for people is rendered from them, here and only
here, by ``render``. Code that decides anything (certificate exclusions, the program's
pre-check) reads codes and facts, never the sentence.

The catalog below is the whole list of codes with their wording (docs/reason-codes.md
describes them). Facts are plain values (str, int, float, date, tuples of them) or nested
``Reason``s; rendering a date gives its ISO form.

Reasons are named tuples rather than pydantic models: the engine makes dozens per assessment
on its hot path, and a tuple costs a fraction of a model's (or a frozen dataclass's)
construction; ``to_dict`` gives the JSON form.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Any, NamedTuple

from toysafe.core.law.dates import from_age

Facts = Mapping[str, Any]
_NO_FACTS: Facts = MappingProxyType({})


class Reason(NamedTuple):
    """One reason: a stable ``code``, the ``facts`` it rests on, the ``citation`` it relies on.
    Immutable; a named tuple because the engine makes dozens per assessment (cheap to build)."""

    code: str
    facts: Facts = _NO_FACTS
    citation: str | None = None

    @property
    def text(self) -> str:
        return render(self)

    def __str__(self) -> str:
        return render(self)

    def codes(self) -> Iterator[str]:
        """This reason's code and those of the reasons nested in its facts."""
        yield self.code
        for value in self.facts.values():
            items = (value,) if isinstance(value, Reason) or not isinstance(value, tuple) else value
            for item in items:
                if isinstance(item, Reason):
                    yield from item.codes()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: code, facts (dates as ISO strings), citation and the sentence."""
        out: dict[str, Any] = {"code": self.code, "facts": _jsonable(dict(self.facts))}
        if self.citation:
            out["citation"] = self.citation
        out["text"] = self.text
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, Reason):
        return value.to_dict()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


def render(reason: Reason) -> str:
    """The sentence for people."""
    template = CATALOG[reason.code]
    if isinstance(template, str):
        return template.format_map(reason.facts)
    return template(reason.facts)


def texts(reasons: Any) -> tuple[str, ...]:
    """The sentences of several reasons, in order (a ``condition`` gives one per test)."""
    out: list[str] = []
    for r in reasons:
        if r.code == CONDITION:
            out.extend(r.facts["texts"])
        else:
            out.append(render(r))
    return tuple(out)


# The reasons a knowledge-base condition gave, in the KB's own words (``texts``, one per test
# that decided): kept as one reason so the engine's hot path builds one object, not several.
CONDITION = "condition"


def _joined(key: str, sep: str = ", ") -> Callable[[Facts], str]:
    return lambda f: sep.join(str(x) for x in f[key])


def _not_in_force(f: Facts) -> str:
    note = f" ({f['note']})" if f.get("note") else ""
    return (
        f"not in force: applies to products {f['basis']} on or after {f['from']}, "
        f"this one {f['date']}{note}"
    )


def _no_component(f: Facts) -> str:
    return f.get("text") or "no component is subject"


def _results_not_needed(f: Facts) -> str:
    why = (
        "it applies but needs no lab test" if f["applies"] else "it does not apply to this product"
    )
    return f"results for {f['requirement']} were not needed: {why}"


def _report_result(f: Facts) -> str:
    return f"report {f['report_no']}: " + "; ".join(str(p) for p in f["parts"])


def _lab_status(f: Facts) -> str:
    since = f" since {f['since']}" if f.get("since") else ""
    return f"{f['name']} ({f['cpsc_id']}) was {f['status']}{since}"


def _where(f: Facts) -> str:
    return f" in {f['component']}" if f.get("component") else ""


def _missing_result(f: Facts) -> str:
    if f.get("analytes"):
        return (
            f"{f['requirement']}{_where(f)}: no usable result for {', '.join(f['analytes'])}: "
            f"send {f['label']} to a CPSC-accepted lab for {f['test']} testing"
        )
    return (
        f"{f['requirement']}: no result: send {f['label']} to a CPSC-accepted lab for "
        f"{f['test']} testing"
    )


def _shown(f: Facts) -> str:
    shown = f"{f['value']:g} {f['unit']}"
    if f.get("converted") is not None:
        shown += f" (= {f['converted']:g} {f['limit_unit']})"
    return shown


CATALOG: dict[str, str | Callable[[Facts], str]] = {
    # --- the assessment (core/law/engine.py): why a requirement applies or is set aside ------
    "not_in_force": _not_in_force,
    "no_longer_in_force": "no longer in force for products {basis} on or after {to}",
    "toy_standard_scope": "toy for children under {age}",
    "not_a_toy_standard_toy": "not a toy: ASTM F963 covers toys only",
    "age_outside_toy_standard": (
        "intended for ages {ages}: ASTM F963 covers toys for children under 14 (section 1.3)"
    ),
    "made_before_toy_standard": "made before any edition of ASTM F963 was mandatory",
    "children_product": "children's product (for children {age} and under)",
    "declared_not_children_product": "declared not a children's product",
    "not_children_product_by_age": (
        "not a children's product: intended for ages {ages} (children's products are for "
        "children {age} and under)"
    ),
    "not_a_toy": "not a toy",
    "section_not_in_edition": (
        "section {section} first appears in {first}; {edition} is the edition in force "
        "for this product"
    ),
    "restated_elsewhere": "restates {cited}, which is cited instead (CPSC toy guidance)",
    "exception_applies": "{text} ({citation})",
    # A condition of the knowledge base held or failed; its words are the KB's own.
    "condition": lambda f: "; ".join(f["texts"]),
    "statements_due": lambda f: "statements due: " + ", ".join(f["keys"]),
    "no_statement_due": "no cautionary statement of this rule is due",
    "no_component_subject": _no_component,
    "component_excluded": "{component}: {reason}",
    "component_subject": "{text}",
    "no_lab_test_by_condition": "{text}",
    # Duties by date of manufacture (KB `third_party_duty` and `duties`).
    "before_third_party_duty": lambda f: (
        f"no third-party test: made {f['made']}, before third-party testing became due for "
        f"products made on or after {f['from']} ({f['citation']}"
        + (f"; {f['note']}" if f["note"] else "")
        + ")"
    ),
    "before_certification": lambda f: (
        f"no certificate: made {f['made']}, before certificates became due for products "
        f"made on or after {f['from']} ({f['citation']})"
    ),
    "general_use_no_lab": (
        "not a children's product: a general certificate may rest on a reasonable testing "
        "program; no CPSC-accepted lab is required (CPSA section 14(a)(1))"
    ),
    "all_components_exempt": (
        "every component is exempt from testing by a Commission determination"
    ),
    "no_third_party_test": "no third-party test: {basis}",
    "lab_test_source_unconfirmed": "lab test required per {basis} ({confidence} source)",
    # Commission determinations per component (16 CFR 1500.91, 1251, 1252, 1253 ...).
    "determination_exempts": "{note}: no test needed ({citation})",
    "determination_out_of_scope": "{note}: outside the requirement ({citation})",
    "determination_unconfirmed": (
        "{note}: {citation} may exempt it, but that is unconfirmed, so it is still listed "
        "for testing"
    ),
    # Notes on an assessment (``Assessment.notes``) and its alerts (``Alert``).
    "edition_assumed": (
        "the toy-standard edition changes within {period} ({edition} from {from}): "
        "{edition} is assumed; give the full manufacture date to be sure"
    ),
    "age_by_determination": lambda f: (
        f"judged as intended for children {from_age(f['judged_months'])} by the age "
        f"determination of {f['by']}, not by the labelled {from_age(f['labelled_months'])} "
        f"(16 CFR 1200.2(a): a stated age counts only when reasonable)"
    ),
    "no_manufacture_date": (
        "no manufacture date: rules in force on the assessment date are used; a "
        "certificate needs the manufacture date"
    ),
    # A banned situation: the KB's words (``message``) and the tests that held (``texts``).
    "banned_situation": lambda f: f"{f['message']} ({'; '.join(f['texts'])})",
    # Notes on a label (core/certificates/labels.py).
    "tracking_label_not_required": (
        "not a children's product: a tracking label is not required, only good practice"
    ),
    # --- verification (core/evidence/verify.py): findings about the evidence -----------------
    "evidence_age_limit": (
        "evidence may be at most {months} months old: {plan} testing plan ({citation})"
    ),
    "labs_not_checked": (
        "no lab registry given (--labs): CPSC acceptance of the labs was not checked"
    ),
    "model_mismatch": (
        "report {report_no} does not name this product (sku {sku}, model {model}, gtin {gtin})"
    ),
    "age_grade_mismatch": (
        "report {report_no} tested the product as a toy from {report_months} months, but the "
        "profile says from {profile_months} months: age-dependent tests may not hold"
    ),
    "unknown_component": (
        "report {report_no} has results for component '{component}', which the profile "
        "does not list"
    ),
    "results_not_needed": _results_not_needed,
    "results_without_component": (
        "{count} result(s) for {requirement} name no component and cannot be counted"
    ),
    # The lab (P7 lab_not_accepted / lab_not_in_scope); ``lab`` is one of the lab_* reasons.
    "lab_not_accepted": (
        "report {report_no} (tested from {tested_from}): {lab}; retest at a lab CPSC "
        "accepted for {requirement}"
    ),
    "lab_not_in_scope": (
        "report {report_no} (tested from {tested_from}): {lab}; retest at a lab CPSC "
        "accepted for {requirement}"
    ),
    "lab_not_in_registry": "lab {cpsc_id} is not in the registry of CPSC-accepted labs",
    "lab_status": _lab_status,
    "lab_scope_missing": "{name} ({cpsc_id}) is not accepted for {requirement}",
    "lab_accepted_after_testing": (
        "{name} ({cpsc_id}) was accepted for {requirement} on {accepted_on}, after testing "
        "began {tested_from}"
    ),
    "lab_accepted": "{name} ({cpsc_id}) accepted for {requirement} since {accepted_on}",
    "report_issued_later": (
        "report {report_no} was issued {issued}, after {as_of}: it is not evidence on that date"
    ),
    "report_too_old": (
        "report {report_no} issued {issued} is older than {max_age_months} months: retest to renew"
    ),
    "edition_not_stated": (
        "report {report_no} does not say which ASTM F963 edition it tested to; {in_force} is "
        "in force"
    ),
    "wrong_edition": (
        "report {report_no} tested to {tested_to}, but {in_force} is in force for this "
        "manufacture date: retest to {in_force}"
    ),
    "failed_test": lambda f: (
        f"report {f['report_no']} fails {f['requirement']} ({f['title']}) for {f['label']}"
        if f.get("title")
        else f"report {f['report_no']} fails {f['requirement']}{_where(f)}"
    ),
    "report_result": _report_result,
    "limit_exceeded": lambda f: (
        f"{f['analyte']} {_shown(f)}{_where(f)} exceeds {f['limit']:g} {f['limit_unit']} "
        f"({f['citation']})"
    ),
    "above_review_level": lambda f: (
        f"{f['analyte']} {_shown(f)}{_where(f)} is within {f['limit']:g} {f['limit_unit']} "
        f"but above the {f['review']:g} {f['review_unit']} reported for this material "
        f"({f['citation']}, UNCONFIRMED): confirm with the lab"
    ),
    "quantitation_limit_too_high": lambda f: (
        f"{f['analyte']} not detected{_where(f)}, but the quantitation limit {f['loq']:g} "
        f"{f['unit']} is above the {f['limit']:g} {f['limit_unit']} limit: ask for a more "
        f"sensitive method"
    ),
    "verdict_contradiction": lambda f: (
        f"the lab's verdict '{f['lab_verdict']}' for {f['analyte']}{_where(f)} contradicts "
        f"the measured value, which toysafe judges '{f['verdict']}'"
    ),
    "replace_and_retest": "replace or reformulate {label}, then retest it",
    "values_missing": lambda f: (
        f"{f['requirement']}{_where(f)}: the report gives a verdict without the measured "
        f"values; ask the lab for the figures"
    ),
    "missing_requirement": _missing_result,
    "marked_not_applicable": (
        "report {report_no} marks {requirement} not applicable, but it applies to this product"
    ),
    # --- catalog (core/catalog/status.py) -----------------------------------------------------
    "material_change": (
        "report {report_no}: results for {component} predate its material change on "
        "{changed_on} and no longer count (16 CFR 1107.23)"
    ),
}


def path_of(loc: tuple[str | int, ...]) -> str:
    """``("results", 0, "unit")`` -> ``results[0].unit``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem with an input: its source (a file, "report"), where in it (a field path,
    and the line when the source has lines), and what (a reason with a code)."""

    source: str
    loc: tuple[str | int, ...]
    reason: Reason
    line: int | None = None

    @property
    def code(self) -> str:
        return self.reason.code

    @property
    def message(self) -> str:
        return render(self.reason)

    def __str__(self) -> str:
        where = f"{self.source} line {self.line}" if self.line is not None else self.source
        path = path_of(self.loc)
        return f"{where}: {path}: {self.message}" if path else f"{where}: {self.message}"


CATALOG.update(
    {
        # --- input problems (core/evidence/verify.py report_problems, io/ readers) ---------
        "duplicate_report_no": ("'{report_no}' is also the number of a report in {other}"),
        "date_in_future": "{date} is in the future (as of {as_of})",
        "unknown_requirement": "unknown requirement '{requirement}'",
        "not_assessed": (
            "{requirement} (report {report_no}): not assessed: toysafe does not judge this "
            "rule; the result is kept with the report"
        ),
        "evidence_note": "{text}",
        "not_a_citation": (
            "'{requirement}' is not a citation: use a requirement id (e.g. 16CFR1303, F963:4.6) "
            "or AUTHORITY:section for a state law or a retailer's test (e.g. CA:HSC25214)"
        ),
        "unknown_unit": "unknown unit '{unit}'",
        "analyte_without_limit": (
            "{requirement} sets no limit for '{analyte}' (it limits {limits})"
        ),
        "unit_mismatch": "{text}",
        # A validation's listings (store/program/validations.py).
        "unknown_listing": "no listing '{id}' in the program",
        "listing_of_other_seller": "listing '{id}' belongs to seller '{owner}', not '{seller}'",
        "no_listing_in_policy": "no listing is in a category of the program's policy",
        # A plan of action (core/program/decisions.py plan_of_action).
        "unknown_claim": "'{claim}' is not not_applicable or decision_wrong",
        "plan_part_missing": "a plan of action must say it (root cause, fix, prevention)",
        # A password reset (store/accounts.py use_reset).
        "reset_link_invalid": "this reset link is unknown, used or expired",
        "password_too_short": "use at least {min} characters",
        "password_too_long": "at most {max} characters",
        "invalid_value": "{text}",
    }
)
