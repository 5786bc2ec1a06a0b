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
from toysafe.core.reasons import Problem, Reason

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
) -> list[Problem]:
    """Everything wrong with a set of reports, each with its source and field."""
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for source, r in reports:
        if r.report_no in seen:
            problems.append(
                Problem(
                    source,
                    ("report_no",),
                    Reason(
                        "duplicate_report_no",
                        {"report_no": r.report_no, "other": seen[r.report_no]},
                    ),
                )
            )
        seen.setdefault(r.report_no, source)
        for loc, d in (
            (("issued",), r.issued),
            (("tested", "from"), r.tested.from_),
            (("tested", "to"), r.tested.to),
        ):
            if d > as_of:
                problems.append(
                    Problem(
                        source,
                        loc,
                        Reason(
                            "date_in_future", {"field": ".".join(loc), "date": d, "as_of": as_of}
                        ),
                    )
                )
        for i, res in enumerate(r.results):
            req = kb.by_id.get(res.requirement)
            if req is None:
                if not is_citation(res.requirement):  # a rule we do not assess is kept
                    problems.append(
                        Problem(
                            source,
                            ("results", i, "requirement"),
                            Reason("not_a_citation", {"requirement": res.requirement}),
                        )
                    )
                continue
            if res.unit is not None and not known_unit(res.unit):
                problems.append(
                    Problem(
                        source, ("results", i, "unit"), Reason("unknown_unit", {"unit": res.unit})
                    )
                )
                continue
            if res.analyte is None or res.unit is None:
                continue
            limits = [lim for lim in req.limits if lim.analyte.lower() == res.analyte.lower()]
            if req.limits and not limits:
                names = ", ".join(sorted({lim.analyte for lim in req.limits}))
                problems.append(
                    Problem(
                        source,
                        ("results", i, "analyte"),
                        Reason(
                            "analyte_without_limit",
                            {
                                "requirement": res.requirement,
                                "analyte": res.analyte,
                                "limits": names,
                            },
                        ),
                    )
                )
                continue
            for lim in limits[:1]:
                try:
                    factor(res.unit, lim.unit)
                except UnitError as e:
                    problems.append(
                        Problem(
                            source,
                            ("results", i, "unit"),
                            Reason("unit_mismatch", {"text": str(e), "unit": res.unit}),
                        )
                    )
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
    findings: list[Reason] = [age_note] if age_note else []
    if registry is None:
        findings.append(Reason("labs_not_checked"))
    uses: list[ReportUse] = []
    mine: list[LabReport] = []
    for r in reports:
        named = r.names(profile.sku, profile.model, profile.gtin)
        notes = (
            []
            if named
            else [
                Reason(
                    "model_mismatch",
                    {
                        "report_no": r.report_no,
                        "sku": profile.sku,
                        "model": profile.model,
                        "gtin": profile.gtin,
                    },
                )
            ]
        )
        if named and r.age_grade and r.age_grade.min_months != profile.age.min_months:
            notes.append(
                Reason(
                    "age_grade_mismatch",
                    {
                        "report_no": r.report_no,
                        "report_months": r.age_grade.min_months,
                        "profile_months": profile.age.min_months,
                    },
                )
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
                    Reason(
                        "unknown_component", {"report_no": r.report_no, "component": res.component}
                    )
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
        Reason("not_assessed", {"requirement": n.requirement, "report_no": n.report_no})
        for n in not_assessed
    )
    judged = {a.id for a in assessment.lab_requirements} | {c.id for c in unowed}
    for rid in sorted(set(rows) - judged - {n.requirement for n in not_assessed}):
        applicable = assessment.requirement(rid) is not None
        findings.append(Reason("results_not_needed", {"requirement": rid, "applies": applicable}))
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
        found=findings,
        max_age_months=max_age,
        labs_checked=registry is not None,
        limit_checks=unowed,
        rules_version=kb.rules_version,
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
            app.why,
            tuple(ComponentDecision(c.id, True, c.why) for c in app.components),
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


def _max_age(profile: Profile, kb: KnowledgeBase, period: int | None) -> tuple[int, Reason | None]:
    months = period if period is not None else kb.months(*CERTIFICATION_PERIOD).months
    if profile.testing_plan is not None:
        plan = kb.months(PERIODIC_TESTING, profile.testing_plan)
        if plan.months < months:
            return plan.months, Reason(
                "evidence_age_limit",
                {"months": plan.months, "plan": profile.testing_plan, "citation": plan.citation},
                plan.citation,
            )
    return months, None


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
    findings: list[Reason] = []
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
            Reason("results_without_component", {"count": len(stray), "requirement": req.id})
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
        findings.extend(check.found)
    status: Status = max((c.status for c in checks), key=SEVERITY.__getitem__, default="pass")
    return RequirementCheck(app.id, app.title, status, checks, findings)


def _validity(
    report: LabReport,
    req: Requirement,
    assessment: Assessment,
    as_of: date,
    max_age: int,
    registry: LabRegistry | None,
) -> tuple[str, Reason] | None:
    no = report.report_no
    if registry is not None:
        ok, why = registry.acceptance(report.lab.cpsc_id, req.id, report.tested.from_)
        if not ok:
            # Accepted labs lacking the scope (or accepted only later) are out of scope;
            # labs not in the registry, or not (or no longer) accepted, are not accepted.
            code = (
                "lab_not_in_scope"
                if why.code in ("lab_scope_missing", "lab_accepted_after_testing")
                else "lab_not_accepted"
            )
            facts = {
                "report_no": no,
                "tested_from": report.tested.from_,
                "lab": why,
                "requirement": req.id,
            }
            return "not_in_scope", Reason(code, facts)
    if report.issued > as_of:
        return "future", Reason(
            "report_issued_later", {"report_no": no, "issued": report.issued, "as_of": as_of}
        )
    until = add_months(report.issued, max_age)
    if as_of > until:
        return "expired", Reason(
            "report_too_old",
            {"report_no": no, "issued": report.issued, "max_age_months": max_age},
        )
    if req.instrument == "astm_f963" and assessment.toy_standard:
        if report.standard is None:
            return "edition", Reason(
                "edition_not_stated", {"report_no": no, "in_force": assessment.toy_standard}
            )
        if report.standard != assessment.toy_standard:
            return "edition", Reason(
                "wrong_edition",
                {
                    "report_no": no,
                    "tested_to": report.standard,
                    "in_force": assessment.toy_standard,
                },
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
    check = ComponentCheck(target, "missing")
    limits = limits_for(req, facts, made, as_of)
    if not limits:
        return _check_verdicts(req, check, rows, label, max_age)

    latest: dict[str, _Row] = {}
    for row in rows:  # newest report first
        res = row.result
        # A verdict without a figure (with or without an analyte) cannot be judged against
        # the limit: a "fail" still fails, a "pass" is values_missing below.
        if res.analyte is None or res.value is None:
            if res.verdict == "fail":
                check.status = "fail"
                check.found.append(
                    Reason(
                        "failed_test",
                        {
                            "report_no": row.report.report_no,
                            "requirement": req.id,
                            "component": target,
                        },
                    )
                )
            continue
        key = next((a for a in limits if a.lower() == res.analyte.lower()), None)
        if key is not None and key not in latest:
            latest[key] = row
    if check.status == "fail":
        return check
    for analyte, row in latest.items():
        verdict, parts = _judge(row.result, limits[analyte], target)
        if parts:
            check.found.append(
                Reason("report_result", {"report_no": row.report.report_no, "parts": parts})
            )
        if verdict == "fail":
            check.status = "fail"
            check.found.append(Reason("replace_and_retest", {"label": label}))
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
    if any(
        (r.result.analyte is None or r.result.value is None) and r.result.verdict == "pass"
        for r in rows
    ):
        check.found.append(Reason("values_missing", {"requirement": req.id, "component": target}))
    check.found.append(
        Reason(
            "missing_requirement",
            {
                "requirement": req.id,
                "component": target,
                "analytes": tuple(gaps),
                "label": label,
                "test": req.title.lower(),
            },
        )
    )
    return check


def _check_verdicts(
    req: Requirement, check: ComponentCheck, rows: list[_Row], label: str, max_age: int
) -> ComponentCheck:
    """Requirements judged by the lab's verdict alone (mechanical and physical tests)."""
    for row in rows:  # the newest report decides
        verdict = row.result.verdict
        if verdict == "n/a":
            check.found.append(
                Reason(
                    "marked_not_applicable",
                    {"report_no": row.report.report_no, "requirement": req.id},
                )
            )
            continue
        if verdict is None:
            continue
        check.status = "pass" if verdict == "pass" else "fail"
        check.evidence.append(Evidence(row.report.report_no, check.component))
        _extend(check, row.report.issued, max_age)
        if verdict == "fail":
            check.found.append(
                Reason(
                    "failed_test",
                    {
                        "report_no": row.report.report_no,
                        "requirement": req.id,
                        "component": check.component,
                        "title": req.title,
                        "label": label,
                    },
                )
            )
        return check
    check.found.append(
        Reason(
            "missing_requirement",
            {
                "requirement": req.id,
                "component": check.component,
                "analytes": (),
                "label": label,
                "test": req.title.lower(),
            },
        )
    )
    return check


def _extend(check: ComponentCheck, issued: date, max_age: int) -> None:
    until = add_months(issued, max_age)
    check.valid_until = until if check.valid_until is None else min(check.valid_until, until)


def _judge(
    res: Result, applied: AppliedLimit, component: str | None
) -> tuple[str, tuple[Reason, ...]]:
    """('pass' | 'fail' | 'inconclusive', findings) for one measured result."""
    lim = applied.limit
    assert res.unit is not None
    base = {"analyte": applied.analyte, "component": component}
    limit = {"limit": lim.max, "limit_unit": lim.unit}
    parts: list[Reason] = []
    if res.not_detected:
        bound = res.below
        if bound is None:
            verdict = "pass"
        else:
            b = convert(bound, res.unit, lim.unit)
            if b <= lim.max:
                verdict = "pass"
            else:
                verdict = "inconclusive"
                parts.append(
                    Reason(
                        "quantitation_limit_too_high",
                        {**base, **limit, "loq": bound, "unit": res.unit},
                    )
                )
    else:
        assert res.measured is not None
        v = convert(res.measured, res.unit, lim.unit)
        measured = {
            **base,
            **limit,
            "value": res.measured,
            "unit": res.unit,
            "converted": v if res.unit != lim.unit else None,
        }
        if v <= lim.max:
            verdict = "pass"
            if applied.review is not None and v > applied.review.max:
                review = applied.review
                parts.append(
                    Reason(
                        "above_review_level",
                        {
                            **measured,
                            "review": review.max,
                            "review_unit": review.unit,
                            "citation": review.citation,
                        },
                        review.citation,
                    )
                )
        else:
            verdict = "fail"
            parts.append(
                Reason("limit_exceeded", {**measured, "citation": lim.citation}, lim.citation)
            )
    if res.verdict in ("pass", "fail") and verdict in ("pass", "fail") and res.verdict != verdict:
        parts.append(
            Reason(
                "verdict_contradiction", {**base, "lab_verdict": res.verdict, "verdict": verdict}
            )
        )
    return verdict, tuple(parts)
