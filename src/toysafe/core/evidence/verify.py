"""Verification: do the lab reports cover, pass and still count for every lab requirement?

Pure functions over an assessment, validated lab reports and (optionally) the lab registry.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from toysafe.core.evidence.labreport import LabReport, Result
from toysafe.core.evidence.labs import LabRegistry
from toysafe.core.evidence.units import UnitError, convert, factor, known_unit
from toysafe.core.evidence.verification import (
    SEVERITY,
    ComponentCheck,
    Evidence,
    NotAssessed,
    ReportUse,
    RequirementCheck,
    Status,
    Verification,
)
from toysafe.core.law.assessment import Applicable, Assessment, ComponentDecision
from toysafe.core.law.dates import add_months
from toysafe.core.law.facts import ComponentFacts, mouthing
from toysafe.core.law.knowledge import REQUIREMENT_ID, KnowledgeBase, Limit, Requirement
from toysafe.core.law.profile import Component, Profile

CERTIFICATION_PERIOD = ("marketplace-certification-period", "default")
#: A citation toysafe does not assess: a state law or a retailer's own test, written as
#: AUTHORITY:section (e.g. ``CA:HSC25214``, ``WALMART:TS-101``, ``EN71-1:8.2``).
OTHER_CITATION = re.compile(r"^[A-Z][A-Z0-9-]{1,19}:[A-Za-z0-9][A-Za-z0-9._()/§-]*$")
NO_AGE_LIMIT_MONTHS = 12 * 200  # a limit binds a product whatever the age of the report


def is_citation(rid: str) -> bool:
    """Whether a report line names a rule (assessed or not), rather than free text.

    >>> [is_citation(x) for x in ("16CFR1500.48", "CA:Prop65", "sharp points", "4.38")]
    [True, True, False, False]
    """
    return bool(REQUIREMENT_ID.match(rid) or OTHER_CITATION.match(rid))


PERIODIC_TESTING = "16CFR1107.21"


# --- checking reports against the knowledge base (bad input, exit 2) --------------------------


def report_problems(
    reports: Sequence[tuple[str, LabReport]], kb: KnowledgeBase, as_of: date
) -> list[str]:
    """Everything wrong with a set of reports, each naming its source and field."""
    problems: list[str] = []
    seen: dict[str, str] = {}
    for source, r in reports:
        if r.report_no in seen:
            problems.append(
                f"{source}: report_no: '{r.report_no}' is also the number of a report "
                f"in {seen[r.report_no]}"
            )
        seen.setdefault(r.report_no, source)
        for name, d in (
            ("issued", r.issued),
            ("tested.from", r.tested.from_),
            ("tested.to", r.tested.to),
        ):
            if d > as_of:
                problems.append(
                    f"{source}: {name}: {d.isoformat()} is in the future "
                    f"(as of {as_of.isoformat()})"
                )
        for i, res in enumerate(r.results):
            where = f"{source}: results[{i}]"
            req = kb.by_id.get(res.requirement)
            if req is None:
                if not is_citation(res.requirement):  # a rule we do not assess is kept
                    problems.append(
                        f"{where}.requirement: '{res.requirement}' is not a citation: use a "
                        f"requirement id (e.g. 16CFR1303, F963:4.6) or AUTHORITY:section "
                        f"for a state law or a retailer's test (e.g. CA:HSC25214)"
                    )
                continue
            if res.unit is not None and not known_unit(res.unit):
                problems.append(f"{where}.unit: unknown unit '{res.unit}'")
                continue
            if res.analyte is None or res.unit is None:
                continue
            limits = [lim for lim in req.limits if lim.analyte.lower() == res.analyte.lower()]
            if req.limits and not limits:
                names = ", ".join(sorted({lim.analyte for lim in req.limits}))
                problems.append(
                    f"{where}.analyte: {res.requirement} sets no limit for "
                    f"'{res.analyte}' (it limits {names})"
                )
                continue
            for lim in limits[:1]:
                try:
                    factor(res.unit, lim.unit)
                except UnitError as e:
                    problems.append(f"{where}.unit: {e}")
    return problems


# --- limits ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppliedLimit:
    analyte: str
    limit: Limit
    review: Limit | None  # an unconfirmed, stricter value to flag for review


def limits_for(
    req: Requirement, c: ComponentFacts | None, made: date, as_of: date
) -> dict[str, AppliedLimit]:
    """The limit in force per analyte for a component: a specific confirmed limit wins over the
    general one; an unconfirmed specific limit is kept only for review."""
    general: dict[str, Limit] = {}
    specific: dict[str, Limit] = {}
    for lim in req.limits:
        if not lim.in_force(made, as_of):
            continue
        if lim.test is None:
            general[lim.analyte] = lim
        elif c is not None and lim.test(c)[0]:
            specific[lim.analyte] = lim
    out: dict[str, AppliedLimit] = {}
    for analyte in general.keys() | specific.keys():
        spec = specific.get(analyte)
        gen = general.get(analyte)
        if spec is not None and (spec.confidence != "unconfirmed" or gen is None):
            out[analyte] = AppliedLimit(analyte, spec, None)
        elif gen is not None:
            out[analyte] = AppliedLimit(analyte, gen, spec)
    return out


# --- verification ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Row:
    report: LabReport
    result: Result


def verify(
    profile: Profile,
    assessment: Assessment,
    reports: Sequence[LabReport],
    kb: KnowledgeBase,
    as_of: date,
    registry: LabRegistry | None = None,
    period_months: int | None = None,
) -> Verification:
    """Check each lab requirement of ``assessment`` against the reports."""
    max_age, age_note = _max_age(profile, kb, period_months)
    made = profile.manufactured.last if profile.manufactured else as_of
    components = {c.id: c for c in profile.components}
    findings: list[str] = [age_note] if age_note else []
    if registry is None:
        findings.append(
            "no lab registry given (--labs): CPSC acceptance of the labs was not checked"
        )
    uses: list[ReportUse] = []
    mine: list[LabReport] = []
    for r in reports:
        named = r.names(profile.sku, profile.model, profile.gtin)
        notes = (
            []
            if named
            else [
                f"report {r.report_no} does not name this product (sku "
                f"{profile.sku}, model {profile.model}, gtin {profile.gtin})"
            ]
        )
        if named and r.age_grade and r.age_grade.min_months != profile.age.min_months:
            notes.append(
                f"report {r.report_no} tested the product as a toy from "
                f"{r.age_grade.min_months} months, but the profile says from "
                f"{profile.age.min_months} months: age-dependent tests may not hold"
            )
        uses.append(
            ReportUse(r.report_no, f"{r.lab.name} ({r.lab.cpsc_id})", r.issued, named, notes)
        )
        findings.extend(notes)
        if named:
            mine.append(r)
        for res in r.results if named else ():
            if res.component and res.component not in components:
                findings.append(
                    f"report {r.report_no} has results for component "
                    f"'{res.component}', which the profile does not list"
                )

    rows: dict[str, list[_Row]] = {}
    for r in sorted(mine, key=lambda x: x.issued, reverse=True):
        for res in r.results:
            rows.setdefault(res.requirement, []).append(_Row(r, res))

    checks = [
        _check_requirement(
            app,
            kb.by_id[app.id],
            rows.get(app.id, []),
            components,
            profile,
            assessment,
            made,
            as_of,
            max_age,
            registry,
        )
        for app in assessment.lab_requirements
    ]
    unowed = _limit_checks(rows, components, profile, assessment, kb, made, as_of)
    not_assessed = _not_assessed(rows, kb)
    findings.extend(
        f"{n.requirement} (report {n.report_no}): not assessed: toysafe does not judge this "
        f"rule; the result is kept with the report"
        for n in not_assessed
    )
    judged = {a.id for a in assessment.lab_requirements} | {c.id for c in unowed}
    for rid in sorted(set(rows) - judged - {n.requirement for n in not_assessed}):
        applicable = assessment.requirement(rid) is not None
        findings.append(
            f"results for {rid} were not needed: "
            + (
                "it applies but needs no lab test"
                if applicable
                else "it does not apply to this product"
            )
        )
    used = {e.report_no for c in checks for e in c.evidence}
    for u in uses:
        u.used = u.report_no in used
    return Verification(
        sku=profile.sku,
        as_of=as_of,
        certifiable=all(c.status == "pass" for c in checks)
        and not any(c.status == "fail" for c in unowed),
        requirements=checks,
        reports=uses,
        findings=findings,
        max_age_months=max_age,
        labs_checked=registry is not None,
        limit_checks=unowed,
        not_assessed=not_assessed,
    )


def _not_assessed(rows: dict[str, list[_Row]], kb: KnowledgeBase) -> list[NotAssessed]:
    """Report lines for rules outside the knowledge base, kept and listed (contract 4)."""
    return [
        NotAssessed(
            rid,
            row.report.report_no,
            row.result.component,
            row.result.verdict,
            None if row.result.value is None else f"{row.result.value} {row.result.unit or ''}",
        )
        for rid in sorted(set(rows) - set(kb.by_id))
        for row in rows[rid]
    ]


def _limit_checks(
    rows: dict[str, list[_Row]],
    components: dict[str, Component],
    profile: Profile,
    assessment: Assessment,
    kb: KnowledgeBase,
    made: date,
    as_of: date,
) -> list[RequirementCheck]:
    """Measured results for rules that apply but owe no lab test (made before the testing
    duty, or no certificate due) are still judged against the limit in force: a limit binds
    the product whether or not a lab test was owed. A failure blocks certification."""
    out: list[RequirementCheck] = []
    for app in assessment.requirements:
        req = kb.by_id[app.id]
        mine = rows.get(app.id, [])
        if app.third_party_testing or not req.limits or not any(r.result.analyte for r in mine):
            continue
        targeted = Applicable(
            app.id,
            app.title,
            app.citation,
            True,
            app.reasons,
            tuple(ComponentDecision(c.id, True, c.reasons) for c in app.components),
        )
        check = _check_requirement(
            targeted,
            req,
            mine,
            components,
            profile,
            assessment,
            made,
            as_of,
            NO_AGE_LIMIT_MONTHS,
            None,
        )
        if check.status in ("pass", "fail"):
            out.append(check)
    return out


def _max_age(profile: Profile, kb: KnowledgeBase, period: int | None) -> tuple[int, str]:
    months = period if period is not None else kb.months(*CERTIFICATION_PERIOD).months
    if profile.testing_plan is not None:
        plan = kb.months(PERIODIC_TESTING, profile.testing_plan)
        if plan.months < months:
            return plan.months, (
                f"evidence may be at most {plan.months} months old: "
                f"{profile.testing_plan} testing plan ({plan.citation})"
            )
    return months, ""


def _check_requirement(
    app: Applicable,
    req: Requirement,
    rows: list[_Row],
    components: dict[str, Component],
    profile: Profile,
    assessment: Assessment,
    made: date,
    as_of: date,
    max_age: int,
    registry: LabRegistry | None,
) -> RequirementCheck:
    per_component = req.components is not None and req.components.required
    targets: list[str | None] = (
        [c.id for c in app.components if c.third_party_testing] if per_component else [None]
    )
    findings: list[str] = []
    valid: list[_Row] = []
    kinds: dict[int, str] = {}  # why each unusable row was rejected
    for i, row in enumerate(rows):
        problem = _validity(row.report, req, assessment, as_of, max_age, registry)
        if problem is None:
            valid.append(row)
            continue
        kinds[i] = problem[0]
        if problem[1] not in findings:
            findings.append(problem[1])
    stray = [r for r in valid if r.result.component is None]
    if per_component and stray:
        findings.append(
            f"{len(stray)} result(s) for {req.id} name no component and cannot be counted"
        )

    checks: list[ComponentCheck] = []
    for target in targets:
        comp = components.get(target) if target else None
        facts = ComponentFacts(comp, *mouthing(comp, profile)) if comp else None
        mine = [r for r in valid if target is None or r.result.component == target]
        check = _check_component(req, target, comp, facts, mine, made, as_of, max_age)
        if check.status == "missing":
            unusable = {
                k for i, k in kinds.items() if target is None or rows[i].result.component == target
            }
            if "not_in_scope" in unusable:
                check.status = "not_in_scope"
            elif "expired" in unusable:
                check.status = "expired"
        checks.append(check)
        findings.extend(check.findings)
    status: Status = max((c.status for c in checks), key=SEVERITY.__getitem__, default="pass")
    return RequirementCheck(app.id, app.title, status, checks, findings)


def _validity(
    report: LabReport,
    req: Requirement,
    assessment: Assessment,
    as_of: date,
    max_age: int,
    registry: LabRegistry | None,
) -> tuple[str, str] | None:
    if registry is not None:
        ok, why = registry.acceptance(report.lab.cpsc_id, req.id, report.tested.from_)
        if not ok:
            return "not_in_scope", (
                f"report {report.report_no} (tested from "
                f"{report.tested.from_.isoformat()}): {why}; retest at a lab "
                f"CPSC accepted for {req.id}"
            )
    if report.issued > as_of:
        return "future", (
            f"report {report.report_no} was issued {report.issued.isoformat()}, "
            f"after {as_of.isoformat()}: it is not evidence on that date"
        )
    until = add_months(report.issued, max_age)
    if as_of > until:
        return "expired", (
            f"report {report.report_no} issued {report.issued.isoformat()} is "
            f"older than {max_age} months: retest to renew"
        )
    if req.instrument == "astm_f963" and assessment.toy_standard:
        if report.standard is None:
            return "edition", (
                f"report {report.report_no} does not say which ASTM F963 edition "
                f"it tested to; {assessment.toy_standard} is in force"
            )
        if report.standard != assessment.toy_standard:
            return "edition", (
                f"report {report.report_no} tested to {report.standard}, but "
                f"{assessment.toy_standard} is in force for this manufacture "
                f"date: retest to {assessment.toy_standard}"
            )
    return None


def _check_component(
    req: Requirement,
    target: str | None,
    comp: Component | None,
    facts: ComponentFacts | None,
    rows: list[_Row],
    made: date,
    as_of: date,
    max_age: int,
) -> ComponentCheck:
    label = f"{comp.name} ({target})" if comp and comp.name else (target or "the product")
    where = f" in {target}" if target else ""
    check = ComponentCheck(target, "missing")
    limits = limits_for(req, facts, made, as_of)
    if not limits:
        return _check_verdicts(req, check, rows, label, max_age)

    latest: dict[str, _Row] = {}
    for row in rows:  # newest report first
        res = row.result
        if res.analyte is None:
            if res.verdict == "fail":
                check.status = "fail"
                check.findings.append(f"report {row.report.report_no} fails {req.id}{where}")
            continue
        key = next((a for a in limits if a.lower() == res.analyte.lower()), None)
        if key is not None and key not in latest:
            latest[key] = row
    if check.status == "fail":
        return check
    for analyte, row in latest.items():
        verdict, finding = _judge(row.result, limits[analyte], where)
        if finding:
            check.findings.append(f"report {row.report.report_no}: {finding}")
        if verdict == "fail":
            check.status = "fail"
            check.findings.append(f"replace or reformulate {label}, then retest it")
        if verdict in ("pass", "fail"):
            check.evidence.append(Evidence(row.report.report_no, target, analyte))
            _extend(check, row.report.issued, max_age)
    if check.status == "fail":
        return check
    needed = sorted(a for a, lim in limits.items() if lim.limit.required)
    judged = {e.analyte for e in check.evidence}
    gaps = [a for a in needed if a not in judged]
    if not gaps:
        check.status = "pass"
        return check
    if any(r.result.analyte is None and r.result.verdict == "pass" for r in rows):
        check.findings.append(
            f"{req.id}{where}: the report gives a verdict without the measured "
            f"values; ask the lab for the figures"
        )
    check.findings.append(
        f"{req.id}{where}: no usable result for {', '.join(gaps)}: send "
        f"{label} to a CPSC-accepted lab for {req.title.lower()} testing"
    )
    return check


def _check_verdicts(
    req: Requirement, check: ComponentCheck, rows: list[_Row], label: str, max_age: int
) -> ComponentCheck:
    """Requirements judged by the lab's verdict alone (mechanical and physical tests)."""
    for row in rows:  # the newest report decides
        verdict = row.result.verdict
        if verdict == "n/a":
            check.findings.append(
                f"report {row.report.report_no} marks {req.id} not applicable, "
                f"but it applies to this product"
            )
            continue
        if verdict is None:
            continue
        check.status = "pass" if verdict == "pass" else "fail"
        check.evidence.append(Evidence(row.report.report_no, check.component))
        _extend(check, row.report.issued, max_age)
        if verdict == "fail":
            check.findings.append(
                f"report {row.report.report_no} fails {req.id} ({req.title}) for {label}"
            )
        return check
    check.findings.append(
        f"{req.id}: no result: send {label} to a CPSC-accepted lab for {req.title.lower()} testing"
    )
    return check


def _extend(check: ComponentCheck, issued: date, max_age: int) -> None:
    until = add_months(issued, max_age)
    check.valid_until = until if check.valid_until is None else min(check.valid_until, until)


def _fmt(x: float) -> str:
    return f"{x:g}"


def _judge(res: Result, applied: AppliedLimit, where: str) -> tuple[str, str]:
    """('pass' | 'fail' | 'inconclusive', finding) for one measured result."""
    lim = applied.limit
    assert res.unit is not None
    name = applied.analyte
    if res.not_detected:
        bound = res.below
        if bound is None:
            verdict, finding = "pass", ""
        else:
            b = convert(bound, res.unit, lim.unit)
            if b <= lim.max:
                verdict, finding = "pass", ""
            else:
                verdict = "inconclusive"
                finding = (
                    f"{name} not detected{where}, but the quantitation limit "
                    f"{_fmt(bound)} {res.unit} is above the {_fmt(lim.max)} {lim.unit} "
                    f"limit: ask for a more sensitive method"
                )
    else:
        assert res.measured is not None
        v = convert(res.measured, res.unit, lim.unit)
        shown = f"{_fmt(res.measured)} {res.unit}"
        if res.unit != lim.unit:
            shown += f" (= {_fmt(v)} {lim.unit})"
        if v <= lim.max:
            verdict, finding = "pass", ""
            if applied.review is not None and v > applied.review.max:
                finding = (
                    f"{name} {shown}{where} is within {_fmt(lim.max)} {lim.unit} but above "
                    f"the {_fmt(applied.review.max)} {applied.review.unit} reported for "
                    f"this material ({applied.review.citation}, UNCONFIRMED): confirm "
                    f"with the lab"
                )
        else:
            verdict = "fail"
            finding = f"{name} {shown}{where} exceeds {_fmt(lim.max)} {lim.unit} ({lim.citation})"
    if res.verdict in ("pass", "fail") and verdict in ("pass", "fail") and res.verdict != verdict:
        finding = (finding + "; " if finding else "") + (
            f"the lab's verdict '{res.verdict}' for {name}{where} contradicts the measured "
            f"value, which toysafe judges '{verdict}'"
        )
    return verdict, finding
