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

GENERAL_USE_NO_LAB = (
    "not a children's product: a general certificate may rest on a reasonable testing program; "
    "no CPSC-accepted lab is required (CPSA section 14(a)(1))"
)
TOY_STANDARD_REASON = f"toy for children under {age_phrase(TOY_STANDARD_UNDER_MONTHS)}"
CHILDREN_REASON = f"children's product (for children {age_phrase(CHILDREN_MAX_MONTHS)} and under)"


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
                alerts.append(Alert(req.id, f"{violation.message} ({'; '.join(out.reasons)})"))

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
    )


def _decide(req: Requirement, kb: KnowledgeBase, f: ProductFacts) -> Applicable | NotApplicable:
    """Walk the stages of one requirement; the first stage that fails sets it aside."""
    citation = req.cite(f.edition.id if f.edition else None)
    eff = req.effective
    when = f.made if eff.basis == "manufacture" else f.as_of
    started = eff.from_ is None or eff.from_ <= when
    ended = eff.to is not None and when >= eff.to
    trace: list[TraceStep] = [("effective", req.effective_window, when, started and not ended)]

    def aside(*reasons: str) -> NotApplicable:
        return NotApplicable(req.id, req.title, citation, reasons, tuple(trace), req.basis)

    if req.scope != "any":
        scope_ok, scope_reason, step = f.scopes[req.scope]
        trace.append(step)
    else:
        scope_ok, scope_reason = True, ""
    what = "made" if eff.basis == "manufacture" else "assessed"
    if not started:
        note = f" ({eff.note})" if eff.note else ""
        return aside(
            f"not in force: applies to products {what} on or after {eff.from_}, "
            f"this one {when.isoformat()}{note}"
        )
    if ended:
        return aside(f"no longer in force for products {what} on or after {eff.to}")

    if not scope_ok:
        return aside(scope_reason)
    if req.since_edition and f.edition is not None:
        first = kb.edition(req.since_edition)
        if f.edition.rank < first.rank:
            return aside(
                f"section {req.section} first appears in {first.id}; {f.edition.id} is "
                f"the edition in force for this product"
            )
    if req.restates:
        return aside(
            f"restates {kb.by_id[req.restates].cite(None)}, which is cited instead "
            f"(CPSC toy guidance)"
        )
    for exc, cond in req.exceptions_compiled:
        out = cond(f)
        trace.extend(out.trace)
        if out.ok:
            return aside(f"{exc.reason} ({exc.citation})")

    reasons: list[str] = []
    if req.applies_when_compiled is not None:
        out = req.applies_when_compiled(f)
        trace.extend(out.trace)
        if not out.ok:
            return aside(*out.reasons)
        reasons.extend(out.reasons)
    if req.statements:
        keys = [s.key for s, cond in req.statements_compiled if s.key in f.warnings_due]
        if not keys:
            return aside("no cautionary statement of this rule is due")
        reasons.append("statements due: " + ", ".join(keys))

    components: tuple[ComponentDecision, ...] = ()
    excluded: tuple[tuple[str, str], ...] = ()
    rule = req.components
    if rule is not None:
        components, excluded = _components(req, kb, f)
        if not rule.required:
            excluded = ()
        elif not components:
            return aside(
                rule.none_reason or "no component is subject",
                *(f"{cid}: {why}" for cid, why in excluded),
            )
    if scope_reason:
        reasons.append(scope_reason)

    lab = req.third_party_testing
    if lab and req.third_party_when_compiled is not None:
        out = req.third_party_when_compiled(f)
        trace.extend(out.trace)
        if not out.ok:
            lab = False
            reasons.append(req.third_party_otherwise or "no lab test required")
    if lab and not f.children:
        lab = False
        reasons.append(GENERAL_USE_NO_LAB)
    if lab and (before := _before_third_party_duty(req, f)) is not None:
        lab = False
        trace.append(("third_party_duty", req.third_party_duty_from, f.made_iso, False))
        reasons.append(before)
    if (
        lab
        and rule is not None
        and rule.required
        and not any(c.third_party_testing for c in components)
    ):
        lab = False
        reasons.append("every component is exempt from testing by a Commission determination")
    if not req.third_party_testing:
        reasons.append(f"no third-party test: {req.third_party_basis}")
    elif lab and req.third_party_confidence != "confirmed":
        reasons.append(
            f"lab test required per {req.third_party_basis} ({req.third_party_confidence} source)"
        )
    if not lab and components:
        components = tuple(ComponentDecision(c.id, False, c.reasons) for c in components)

    return Applicable(
        id=req.id,
        title=req.title,
        citation=citation,
        third_party_testing=lab,
        reasons=tuple(reasons),
        components=components,
        excluded_components=excluded,
        certificate_rule=req.certificate_rule,
        confidence=req.confidence,
        trace=tuple(trace),
        basis=req.basis,
    )


def _before_third_party_duty(req: Requirement, f: ProductFacts) -> str | None:
    """Why no lab test is owed when the product was made before third-party testing began."""
    duty = req.third_party_duty
    if duty is None or f.made >= duty.from_:
        return None
    note = f"; {duty.note}" if duty.note else ""
    return (
        f"no third-party test: made {f.made_iso}, before third-party testing became due for "
        f"products made on or after {duty.from_.isoformat()} ({duty.citation}{note})"
    )


def _before_certification(kb: KnowledgeBase, f: ProductFacts) -> str | None:
    """Why no certificate is owed when the product was made before certification began."""
    duty = kb.duties.get("certification")
    if duty is None or f.made >= duty.from_:
        return None
    return (
        f"no certificate: made {f.made_iso}, before certificates became due for products "
        f"made on or after {duty.from_.isoformat()} ({duty.citation})"
    )


def scopes(f: ProductFacts) -> dict[str, tuple[bool, str, TraceStep]]:
    """Whether each kind of scope reaches the product, the reason, and the trace step."""
    out: dict[str, tuple[bool, str, TraceStep]] = {}
    step: TraceStep = (
        "scope",
        "toy_standard",
        f.min_months if f.toy else "not a toy",
        f.toy_standard_scope,
    )
    if f.toy_standard_scope:
        out["toy_standard"] = (True, TOY_STANDARD_REASON, step)
    elif not f.toy:
        out["toy_standard"] = (False, "not a toy: ASTM F963 covers toys only", step)
    elif f.min_months >= TOY_STANDARD_UNDER_MONTHS:
        out["toy_standard"] = (
            False,
            f"intended for ages {from_age(f.min_months)}: ASTM F963 "
            f"covers toys for children under 14 (section 1.3)",
            step,
        )
    else:
        out["toy_standard"] = (False, "made before any edition of ASTM F963 was mandatory", step)
    step = ("scope", "children_product", f.min_months, f.children)
    if f.children:
        out["children_product"] = (True, CHILDREN_REASON, step)
    elif f.profile.children_product is False:
        out["children_product"] = (False, "declared not a children's product", step)
    else:
        out["children_product"] = (
            False,
            f"not a children's product: intended for ages "
            f"{from_age(f.min_months)} (children's products are for "
            f"children {age_phrase(CHILDREN_MAX_MONTHS)} and under)",
            step,
        )
    out["toy"] = (f.toy, "" if f.toy else "not a toy", ("scope", "toy", f.toy, f.toy))
    return out


def _components(
    req: Requirement, kb: KnowledgeBase, f: ProductFacts
) -> tuple[tuple[ComponentDecision, ...], tuple[tuple[str, str], ...]]:
    """Which components the rule reaches, and which of those a determination exempts."""
    assert req.components is not None
    rule = req.components
    chosen: list[ComponentDecision] = []
    excluded: list[tuple[str, str]] = []
    # A rule's own scope exclusions come before the Commission's testing exemptions.
    dets = sorted(
        (kb.determinations[d] for d in rule.exempt_by), key=lambda d: d.effect != "out_of_scope"
    )
    for c in f.components:
        ok, why = rule.test(c)
        if not ok:
            excluded.append((c.id, why))
            continue
        lab = req.third_party_testing
        reasons = [why]
        out_of_scope = None
        for det in dets:
            hit = _determination_hit(det, c, f)
            if hit is None:
                continue
            applied, text = hit
            if not applied:
                reasons.append(text)
            elif det.effect == "out_of_scope":
                out_of_scope = text
                break
            else:
                lab = False
                reasons.append(text)
                break
        if out_of_scope:
            excluded.append((c.id, out_of_scope))
        else:
            chosen.append(ComponentDecision(c.id, lab, tuple(reasons)))
    return tuple(chosen), tuple(excluded)


def _determination_hit(
    det: Determination, c: ComponentFacts, f: ProductFacts
) -> tuple[bool, str] | None:
    """(applied, reason) when ``det`` speaks to this component; None when it does not."""
    if f.made < det.effective_from:
        return None
    if det.editions is not None and (f.edition is None or f.edition.id not in det.editions):
        return None
    for m in det.materials:
        if m.material != c.material or (m.test is not None and not m.test(c)[0]):
            continue
        if m.confidence == "unconfirmed":
            return False, (
                f"{m.note}: {det.citation} may exempt it, but that is unconfirmed, "
                f"so it is still listed for testing"
            )
        verb = "outside the requirement" if det.effect == "out_of_scope" else "no test needed"
        return True, f"{m.note}: {verb} ({det.citation})"
    return None


def _without_lab(a: Applicable, why: str) -> Applicable:
    """The same decision with no lab test owed, because no certificate is owed at all."""
    if not a.third_party_testing:
        return a
    a.third_party_testing = False
    a.reasons = (*a.reasons, why)
    a.components = tuple(ComponentDecision(c.id, False, c.reasons) for c in a.components)
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


def _notes(profile: Profile, kb: KnowledgeBase, f: ProductFacts) -> tuple[str, ...]:
    notes: list[str] = []
    m = profile.manufactured
    if m is not None and not m.precise and f.edition is not None:
        early = kb.edition_for(m.first)
        if early is not None and early.id != f.edition.id:
            notes.append(
                f"the toy-standard edition changes within {m.text} ({f.edition.id} from "
                f"{f.edition.effective_from.isoformat()}): {f.edition.id} is assumed; "
                f"give the full manufacture date to be sure"
            )
    det = profile.age_determination
    if det is not None and det.min_months != profile.age.min_months:
        notes.append(
            f"judged as intended for children {from_age(det.min_months)} by the age "
            f"determination of {det.by}, not by the labelled {from_age(profile.age.min_months)} "
            f"(16 CFR 1200.2(a): a stated age counts only when reasonable)"
        )
    if m is None:
        notes.append(
            "no manufacture date: rules in force on the assessment date are used; a "
            "certificate needs the manufacture date"
        )
    return tuple(notes)
