"""The assessment engine: a pure function from (profile, knowledge base, date) to decisions."""

from __future__ import annotations

from datetime import date

from toysafe.core.law.assessment import (
    Alert,
    Applicable,
    Assessment,
    CertificateType,
    ComponentDecision,
    NotApplicable,
    WarningDue,
)
from toysafe.core.law.conditions import TraceStep
from toysafe.core.law.dates import age_phrase, from_age
from toysafe.core.law.facts import ComponentFacts, ProductFacts, derive
from toysafe.core.law.knowledge import Determination, KnowledgeBase, Requirement, Statement
from toysafe.core.law.profile import CHILDREN_MAX_MONTHS, TOY_STANDARD_UNDER_MONTHS, Profile
from toysafe.core.reasons import CONDITION, Reason

GENERAL_USE_NO_LAB = Reason("general_use_no_lab")
TOY_STANDARD_REASON = Reason("toy_standard_scope", {"age": age_phrase(TOY_STANDARD_UNDER_MONTHS)})
CHILDREN_REASON = Reason("children_product", {"age": age_phrase(CHILDREN_MAX_MONTHS)})
ALL_COMPONENTS_EXEMPT = Reason("all_components_exempt")
NO_STATEMENT_DUE = Reason("no_statement_due")
NOT_A_TOY = Reason("not_a_toy")


def assess(profile: Profile, kb: KnowledgeBase, as_of: date) -> Assessment:
    """Decide every requirement of ``kb`` for ``profile`` on ``as_of``."""
    made = profile.manufactured.last if profile.manufactured else as_of
    edition = kb.edition_for(made) if profile.in_toy_standard_scope else None
    facts = derive(profile, as_of, edition)
    facts.scopes = scopes(facts)
    due = _statements_due(kb, facts)
    facts.warnings_due = tuple(s.key for _, s in due)

    applicable: list[Applicable] = []
    not_applicable: list[NotApplicable] = []
    alerts: list[Alert] = []
    for req in kb.requirements:
        decision = _decide(req, kb, facts)
        if isinstance(decision, NotApplicable):
            not_applicable.append(decision)
            continue
        applicable.append(decision)
        for violation, cond in req.violations_compiled:
            out = cond(facts)
            if out.ok:
                alerts.append(
                    Alert(
                        req.id,
                        Reason(
                            "banned_situation",
                            {"message": violation.message, "texts": tuple(out.reasons)},
                            req.cite(edition.id if edition else None),
                        ),
                    )
                )

    uncertified = _before_certification(kb, facts)
    if uncertified:
        applicable = [_without_lab(a, uncertified) for a in applicable]
    online = "16CFR1500.20" if any(a.id == "16CFR1500.20" for a in applicable) else None
    return Assessment(
        sku=profile.sku,
        as_of=as_of,
        children_product=facts.children,
        certificate="none" if uncertified else _certificate(facts, applicable),
        toy_standard=edition.id if edition else None,
        toy_standard_reason=_edition_reason(profile, facts),
        manufactured=profile.manufactured.text if profile.manufactured else None,
        requirements=tuple(applicable),
        not_applicable=tuple(not_applicable),
        warnings=tuple(
            WarningDue(rid, s.key, s.text, s.citation, online, s.ascii) for rid, s in due
        ),
        alerts=tuple(alerts),
        notes=_notes(profile, kb, facts) + ((uncertified,) if uncertified else ()),
        rules_version=kb.rules_version,
    )


def _decide(req: Requirement, kb: KnowledgeBase, f: ProductFacts) -> Applicable | NotApplicable:
    """Walk the stages of one requirement; the first stage that fails sets it aside."""
    citation = req.cite(f.edition.id if f.edition else None)
    eff = req.effective
    when = f.made if eff.basis == "manufacture" else f.as_of
    started = eff.from_ is None or eff.from_ <= when
    ended = eff.to is not None and when >= eff.to
    trace: list[TraceStep] = [("effective", req.effective_window, when, started and not ended)]

    def aside(*why: Reason) -> NotApplicable:
        return NotApplicable(req.id, req.title, citation, why, tuple(trace), req.basis)

    scope_reason: Reason | None
    if req.scope != "any":
        scope_ok, scope_reason, step = f.scopes[req.scope]
        trace.append(step)
    else:
        scope_ok, scope_reason = True, None
    what = "made" if eff.basis == "manufacture" else "assessed"
    if not started:
        return aside(
            Reason(
                "not_in_force",
                {"basis": what, "from": eff.from_, "date": when, "note": eff.note},
            )
        )
    if ended:
        return aside(Reason("no_longer_in_force", {"basis": what, "to": eff.to}))

    if not scope_ok:
        assert scope_reason is not None
        return aside(scope_reason)
    if req.since_edition and f.edition is not None:
        first = kb.edition(req.since_edition)
        if f.edition.rank < first.rank:
            return aside(
                Reason(
                    "section_not_in_edition",
                    {"section": req.section, "first": first.id, "edition": f.edition.id},
                )
            )
    if req.restates:
        cited = kb.by_id[req.restates].cite(None)
        return aside(Reason("restated_elsewhere", {"cited": cited}, cited))
    for exc, cond in req.exceptions_compiled:
        out = cond(f)
        trace.extend(out.trace)
        if out.ok:
            return aside(
                Reason(
                    "exception_applies",
                    {"text": exc.reason, "citation": exc.citation},
                    exc.citation,
                )
            )

    why: list[Reason] = []
    if req.applies_when_compiled is not None:
        out = req.applies_when_compiled(f)
        trace.extend(out.trace)
        if not out.ok:
            # The KB's own words for the deciding tests, as one reason (one object, not several).
            return aside(Reason(CONDITION, {"texts": out.reasons})) if out.reasons else aside()
        if out.reasons:
            why.append(Reason(CONDITION, {"texts": out.reasons}))
    if req.statements:
        keys = [s.key for s, cond in req.statements_compiled if s.key in f.warnings_due]
        if not keys:
            return aside(NO_STATEMENT_DUE)
        why.append(Reason("statements_due", {"keys": tuple(keys)}))

    components: tuple[ComponentDecision, ...] = ()
    excluded: tuple[tuple[str, Reason], ...] = ()
    rule = req.components
    if rule is not None:
        components, excluded = _components(req, kb, f)
        if not rule.required:
            excluded = ()
        elif not components:
            return aside(
                Reason("no_component_subject", {"text": rule.none_reason}),
                *(
                    Reason("component_excluded", {"component": cid, "reason": r})
                    for cid, r in excluded
                ),
            )
    if scope_reason is not None:
        why.append(scope_reason)

    lab = req.third_party_testing
    if lab and req.third_party_when_compiled is not None:
        out = req.third_party_when_compiled(f)
        trace.extend(out.trace)
        if not out.ok:
            lab = False
            why.append(
                Reason(
                    "no_lab_test_by_condition",
                    {"text": req.third_party_otherwise or "no lab test required"},
                )
            )
    if lab and not f.children:
        lab = False
        why.append(GENERAL_USE_NO_LAB)
    if lab and (before := _before_third_party_duty(req, f)) is not None:
        lab = False
        trace.append(("third_party_duty", req.third_party_duty_from, f.made_iso, False))
        why.append(before)
    if (
        lab
        and rule is not None
        and rule.required
        and not any(c.third_party_testing for c in components)
    ):
        lab = False
        why.append(ALL_COMPONENTS_EXEMPT)
    if not req.third_party_testing:
        why.append(Reason("no_third_party_test", {"basis": req.third_party_basis}))
    elif lab and req.third_party_confidence != "confirmed":
        why.append(
            Reason(
                "lab_test_source_unconfirmed",
                {"basis": req.third_party_basis, "confidence": req.third_party_confidence},
            )
        )
    if not lab and components:
        components = tuple(ComponentDecision(c.id, False, c.why) for c in components)

    return Applicable(
        id=req.id,
        title=req.title,
        citation=citation,
        third_party_testing=lab,
        why=tuple(why),
        components=components,
        excluded_components=excluded,
        certificate_rule=req.certificate_rule,
        confidence=req.confidence,
        trace=tuple(trace),
        basis=req.basis,
    )


def _before_third_party_duty(req: Requirement, f: ProductFacts) -> Reason | None:
    """Why no lab test is owed when the product was made before third-party testing began."""
    duty = req.third_party_duty
    if duty is None or f.made >= duty.from_:
        return None
    return Reason(
        "before_third_party_duty",
        {
            "made": f.made_iso,
            "from": duty.from_,
            "note": duty.note or "",
            "citation": duty.citation,
        },
        duty.citation,
    )


def _before_certification(kb: KnowledgeBase, f: ProductFacts) -> Reason | None:
    """Why no certificate is owed when the product was made before certification began."""
    duty = kb.duties.get("certification")
    if duty is None or f.made >= duty.from_:
        return None
    return Reason(
        "before_certification",
        {"made": f.made_iso, "from": duty.from_, "citation": duty.citation},
        duty.citation,
    )


def scopes(f: ProductFacts) -> dict[str, tuple[bool, Reason | None, TraceStep]]:
    """Whether each kind of scope reaches the product, the reason, and the trace step."""
    out: dict[str, tuple[bool, Reason | None, TraceStep]] = {}
    step: TraceStep = (
        "scope",
        "toy_standard",
        f.min_months if f.toy else "not a toy",
        f.toy_standard_scope,
    )
    if f.toy_standard_scope:
        out["toy_standard"] = (True, TOY_STANDARD_REASON, step)
    elif not f.toy:
        out["toy_standard"] = (False, Reason("not_a_toy_standard_toy"), step)
    elif f.min_months >= TOY_STANDARD_UNDER_MONTHS:
        out["toy_standard"] = (
            False,
            Reason("age_outside_toy_standard", {"ages": from_age(f.min_months)}),
            step,
        )
    else:
        out["toy_standard"] = (False, Reason("made_before_toy_standard"), step)
    step = ("scope", "children_product", f.min_months, f.children)
    if f.children:
        out["children_product"] = (True, CHILDREN_REASON, step)
    elif f.profile.children_product is False:
        out["children_product"] = (False, Reason("declared_not_children_product"), step)
    else:
        out["children_product"] = (
            False,
            Reason(
                "not_children_product_by_age",
                {"ages": from_age(f.min_months), "age": age_phrase(CHILDREN_MAX_MONTHS)},
            ),
            step,
        )
    out["toy"] = (f.toy, None if f.toy else NOT_A_TOY, ("scope", "toy", f.toy, f.toy))
    return out


def _components(
    req: Requirement, kb: KnowledgeBase, f: ProductFacts
) -> tuple[tuple[ComponentDecision, ...], tuple[tuple[str, Reason], ...]]:
    """Which components the rule reaches, and which of those a determination exempts."""
    assert req.components is not None
    rule = req.components
    chosen: list[ComponentDecision] = []
    excluded: list[tuple[str, Reason]] = []
    # A rule's own scope exclusions come before the Commission's testing exemptions.
    dets = sorted(
        (kb.determinations[d] for d in rule.exempt_by), key=lambda d: d.effect != "out_of_scope"
    )
    for c in f.components:
        ok, text = rule.test(c)
        if not ok:
            excluded.append((c.id, Reason("component_subject", {"text": text})))
            continue
        lab = req.third_party_testing
        reasons = [Reason("component_subject", {"text": text})]
        out_of_scope: Reason | None = None
        for det in dets:
            hit = _determination_hit(det, c, f)
            if hit is None:
                continue
            applied, reason = hit
            if not applied:
                reasons.append(reason)
            elif det.effect == "out_of_scope":
                out_of_scope = reason
                break
            else:
                lab = False
                reasons.append(reason)
                break
        if out_of_scope:
            excluded.append((c.id, out_of_scope))
        else:
            chosen.append(ComponentDecision(c.id, lab, tuple(reasons)))
    return tuple(chosen), tuple(excluded)


def _determination_hit(
    det: Determination, c: ComponentFacts, f: ProductFacts
) -> tuple[bool, Reason] | None:
    """(applied, reason) when ``det`` speaks to this component; None when it does not."""
    if f.made < det.effective_from:
        return None
    if det.editions is not None and (f.edition is None or f.edition.id not in det.editions):
        return None
    for m in det.materials:
        if m.material != c.material or (m.test is not None and not m.test(c)[0]):
            continue
        facts = {"note": m.note, "citation": det.citation, "determination": det.id}
        if m.confidence == "unconfirmed":
            return False, Reason("determination_unconfirmed", facts, det.citation)
        code = (
            "determination_out_of_scope"
            if det.effect == "out_of_scope"
            else "determination_exempts"
        )
        return True, Reason(code, facts, det.citation)
    return None


def _without_lab(a: Applicable, why: Reason) -> Applicable:
    """The same decision with no lab test owed, because no certificate is owed at all."""
    if not a.third_party_testing:
        return a
    a.third_party_testing = False
    a.why = (*a.why, why)
    a.components = tuple(ComponentDecision(c.id, False, c.why) for c in a.components)
    return a


def _statements_due(kb: KnowledgeBase, f: ProductFacts) -> list[tuple[str, Statement]]:
    """Every prescribed cautionary statement whose conditions hold, with its requirement id."""
    return [
        (req.id, s)
        for req in kb.statement_requirements
        for s, cond in req.statements_compiled
        if cond(f).ok
    ]


def _certificate(f: ProductFacts, applicable: list[Applicable]) -> CertificateType:
    if not any(a.certificate_rule for a in applicable):
        return "none"
    return "CPC" if f.children else "GCC"


def _edition_reason(profile: Profile, f: ProductFacts) -> str:
    if not profile.toy:
        return "not a toy: ASTM F963 does not apply"
    if profile.judged_min_months >= TOY_STANDARD_UNDER_MONTHS:
        return "intended for ages 14 and up: outside ASTM F963 (section 1.3)"
    if f.edition is None:
        return f"made {f.made.isoformat()}, before any edition of ASTM F963 was mandatory"
    basis = (
        f"made {profile.manufactured.text}"
        if profile.manufactured
        else f"no manufacture date given; assumed made on {f.as_of.isoformat()}"
    )
    return (
        f"{basis}: {f.edition.id} is in force for toys made on or after "
        f"{f.edition.effective_from.isoformat()} (16 CFR part 1250)"
    )


def _notes(profile: Profile, kb: KnowledgeBase, f: ProductFacts) -> tuple[Reason, ...]:
    notes: list[Reason] = []
    m = profile.manufactured
    if m is not None and not m.precise and f.edition is not None:
        early = kb.edition_for(m.first)
        if early is not None and early.id != f.edition.id:
            notes.append(
                Reason(
                    "edition_assumed",
                    {
                        "period": m.text,
                        "edition": f.edition.id,
                        "from": f.edition.effective_from,
                    },
                )
            )
    det = profile.age_determination
    if det is not None and det.min_months != profile.age.min_months:
        notes.append(
            Reason(
                "age_by_determination",
                {
                    "judged_months": det.min_months,
                    "by": det.by,
                    "labelled_months": profile.age.min_months,
                },
                "16 CFR 1200.2(a)",
            )
        )
    if m is None:
        notes.append(Reason("no_manufacture_date"))
    return tuple(notes)
