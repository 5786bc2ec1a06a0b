"""Compile the knowledge base into ibis expressions: the per-item engine, stage by stage, as sets.

Input tables (see ``toysafe.bulk.tables``): ``products`` (one row per profile, feature flags as
columns) and ``components`` (one row per component, exploded). The plan derives the same facts as
``core.law.facts.derive`` (manufacture date, edition, scopes, mouthing), aggregates every component
test once per product, then decides each requirement the way ``engine._decide`` does: effective
window, scope, first edition, restatement, exceptions, ``applies_when``, statements due, required
components; then the lab flag (``third_party_when``, children's product, components exempt by
Commission determinations), the certificate and the toy-standard edition.

Every boolean is null-safe (``fill_null(False)`` at the leaves): SQL's three-valued logic would
otherwise silently drop rows from the reasons. A construct without a set-based translation raises
:class:`NoSetTranslation`; nothing is skipped.

Only the generic KB *data* is read here: a new requirement, exception or determination compiles
without a change to this module.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

from toysafe.core.law.facts import MOUTHING_PRESUMED_UNDER_MONTHS
from toysafe.core.law.knowledge import Determination, KnowledgeBase, Requirement
from toysafe.core.law.profile import CHILDREN_MAX_MONTHS, TOY_STANDARD_UNDER_MONTHS
from toysafe.core.law.vocabulary import FEATURES, MOUTHING_FEATURES


class NoSetTranslation(ValueError):
    """A knowledge-base construct the set-based compiler cannot translate (named in the message)."""


#: Condition keys with a set-based translation (the leaves and the combinators).
LEAF_KEYS = frozenset(
    {
        "feature",
        "any_feature",
        "age_under_months",
        "age_at_least_months",
        "children_product",
        "toy",
        "toy_standard",
        "component",
        "all_components",
        "made_on_or_after",
        "warnings_due",
        "never",
    }
)
COMBINATOR_KEYS = frozenset({"all", "any", "not"})
CONDITION_KEYS = LEAF_KEYS | COMBINATOR_KEYS
#: Component-filter keys with a set-based translation.
FILTER_KEYS = frozenset(
    {
        "material_in",
        "material_not_in",
        "accessible",
        "mouthable",
        "small_part",
        "fiber_in",
        "unfinished",
    }
)
#: Requirement fields the compiler reads (decisions) or may ignore (words, evidence, tracking).
#: A field outside both sets is a new kind of rule: compiling refuses it until it is translated.
REQUIREMENT_FIELDS_DECIDING = frozenset(
    {
        "id",
        "scope",
        "effective",
        "since_edition",
        "restates",
        "exceptions",
        "applies_when",
        "statements",
        "components",
        "third_party_testing",
        "third_party_when",
        "third_party_duty",
        "certificate_rule",
    }
)
REQUIREMENT_FIELDS_NOT_DECIDING = frozenset(
    {
        "kind",
        "title",
        "citation",
        "instrument",
        "section",
        "third_party_basis",
        "third_party_confidence",
        "third_party_otherwise",
        "cite_as",
        "violations",
        "testing",
        "limits",
        "summary",
        "confidence",
        "notes",
        "references",
    }
)

Pred = Callable[[ir.Table], ir.BooleanValue]


def feature_column(name: str) -> str:
    return f"f__{name}"


def param_column(name: str, param: str) -> str:
    return f"f__{name}__{param}"


def _key(spec: Any) -> str:
    return json.dumps(spec, sort_keys=True, default=str)


@dataclass
class _Registry:
    """Component filters met while compiling, each aggregated once per product."""

    filters: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)

    def add(self, spec: Any, where: str) -> int:
        if not isinstance(spec, dict) or not spec:
            raise NoSetTranslation(f"{where}: component filter must be a non-empty mapping")
        unknown = sorted(set(spec) - FILTER_KEYS)
        if unknown:
            raise NoSetTranslation(
                f"{where}: component filter key(s) {unknown} have no set-based translation"
            )
        k = _key(spec)
        if k not in self.filters:
            self.filters[k] = (len(self.filters), spec)
        return self.filters[k][0]


# --- conditions -------------------------------------------------------------------------------


def _false(t: ir.Table) -> ir.BooleanValue:
    return ibis.literal(False)


def _const(value: bool) -> Pred:
    return lambda t: ibis.literal(value)


def _feature(arg: Any, where: str) -> Pred:
    params: dict[str, Any]
    if isinstance(arg, str):
        name, params = arg, {}
    elif isinstance(arg, dict) and len(arg) == 1:
        name, params = next(iter(arg.items()))
    else:
        raise NoSetTranslation(f"{where}: feature: unexpected argument {arg!r}")
    feature = FEATURES.get(name)
    if feature is None or not isinstance(params, dict):
        raise NoSetTranslation(f"{where}: feature: unknown feature {name!r}")
    tests: list[Callable[[ir.Table], ir.BooleanValue]] = []
    for param, wanted in params.items():
        spec = feature.params.get(param)
        if spec is None:
            raise NoSetTranslation(f"{where}: feature {name}: unknown parameter {param!r}")
        options = tuple(wanted) if isinstance(wanted, list) else (wanted,)
        col = param_column(name, param)
        # The engine reads a missing parameter as False (bool) or None (choices).
        default = False if spec is bool else None
        values = [o for o in options if o is not None]
        wants_none = None in options

        def test(
            t: ir.Table,
            col: str = col,
            default: Any = default,
            values: list[Any] = values,
            wants_none: bool = wants_none,
        ) -> ir.BooleanValue:
            v = t[col] if default is None else t[col].fill_null(default)
            hit = v.isin(values).fill_null(False) if values else ibis.literal(False)
            return hit | v.isnull() if wants_none else hit

        tests.append(test)
    fcol = feature_column(name)

    def pred(t: ir.Table) -> ir.BooleanValue:
        out = t[fcol]
        for test in tests:
            out = out & test(t)
        return out

    return pred


def _bool_arg(arg: Any, key: str, where: str) -> bool:
    if not isinstance(arg, bool):
        raise NoSetTranslation(f"{where}: {key}: expected true or false")
    return arg


def _int_arg(arg: Any, key: str, where: str) -> int:
    if not isinstance(arg, int) or isinstance(arg, bool):
        raise NoSetTranslation(f"{where}: {key}: expected a whole number")
    return arg


_FLAG_COLUMNS = {"children_product": "children", "toy": "toy", "toy_standard": "ts_scope"}


@dataclass
class _Compiler:
    kb: KnowledgeBase
    registry: _Registry = field(default_factory=_Registry)
    columns: set[str] = field(default_factory=set)  # product columns the conditions read

    def condition(self, spec: Any, where: str, in_statement: bool = False) -> Pred:
        if not isinstance(spec, dict):
            raise NoSetTranslation(f"{where}: expected a condition mapping, got {spec!r}")
        keys = [k for k in spec if k not in ("because", "otherwise")]
        if len(keys) != 1:
            raise NoSetTranslation(f"{where}: expected exactly one test, got {keys}")
        key = keys[0]
        arg = spec[key]
        if key in ("all", "any"):
            if not isinstance(arg, list) or not arg:
                raise NoSetTranslation(f"{where}: {key}: expected a non-empty list")
            parts = [self.condition(s, where, in_statement) for s in arg]
            if key == "all":
                return lambda t: ibis.and_(*(p(t) for p in parts))
            return lambda t: ibis.or_(*(p(t) for p in parts))
        if key == "not":
            inner = self.condition(arg, where, in_statement)
            return lambda t: ~inner(t)
        return self.leaf(key, arg, where, in_statement)

    def leaf(self, key: str, arg: Any, where: str, in_statement: bool) -> Pred:
        if key == "feature":
            pred = _feature(arg, where)  # validates the shape first
            name, params = (arg, {}) if isinstance(arg, str) else next(iter(arg.items()))
            self.columns.add(feature_column(name))
            self.columns.update(param_column(name, p) for p in params)
            return pred
        if key == "any_feature":
            if not isinstance(arg, list) or not arg or any(a not in FEATURES for a in arg):
                raise NoSetTranslation(f"{where}: any_feature: expected known features")
            cols = [feature_column(a) for a in arg]
            self.columns.update(cols)
            return lambda t: ibis.or_(*(t[c] for c in cols))
        if key == "age_under_months":
            n = _int_arg(arg, key, where)
            return lambda t: t.min_months < n
        if key == "age_at_least_months":
            n = _int_arg(arg, key, where)
            return lambda t: t.min_months >= n
        if key in _FLAG_COLUMNS:
            want = _bool_arg(arg, key, where)
            col = _FLAG_COLUMNS[key]
            return lambda t: t[col] if want else ~t[col]
        if key in ("component", "all_components"):
            k = self.registry.add(arg, f"{where}: {key}")
            col = f"cany_{k}" if key == "component" else f"call_{k}"
            return lambda t: t[col]
        if key == "made_on_or_after":
            if not isinstance(arg, (date, str)):
                raise NoSetTranslation(f"{where}: made_on_or_after: expected a date")
            d = arg if isinstance(arg, date) else date.fromisoformat(arg)
            return lambda t: t.made >= d
        if key == "warnings_due":
            want = _bool_arg(arg, key, where)
            if in_statement:
                # The engine evaluates statements before any is known to be due.
                return _const(not want)
            return lambda t: t.any_warning if want else ~t.any_warning
        if key == "never":
            return _false
        raise NoSetTranslation(f"{where}: condition key {key!r} has no set-based translation")


# --- the plan ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement_:
    requirement: str
    key: str
    when: Pred


@dataclass(frozen=True)
class Rule:
    """One requirement as predicates over the product table (component parts aggregated)."""

    id: str
    index: int
    applies: Pred
    lab: Pred
    certificate_rule: bool


@dataclass(frozen=True)
class ComponentRulePlan:
    index: int
    chosen: Pred  # over the component table joined with product facts
    lab: Pred


@dataclass(frozen=True)
class Plan:
    """The knowledge base compiled (the assessment date is a column: one plan for every date)."""

    kb: KnowledgeBase
    rules: tuple[Rule, ...]
    statements: tuple[Statement_, ...]
    filters: tuple[tuple[int, Pred], ...]
    component_rules: tuple[ComponentRulePlan, ...]
    feature_columns: tuple[str, ...] = ()  # the product table's feature columns the plan reads
    # Products made before the certification duty owe no certificate and no lab test.
    certification_from: date | None = None

    @property
    def requirement_ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.rules)


#: Fields of the nested KB models the compiler knows (read or deliberately ignored).
KNOWN_FIELDS: dict[str, frozenset[str]] = {
    "Effective": frozenset({"from_", "to", "basis", "note"}),
    "ComponentRule": frozenset({"select", "exempt_by", "required", "none_reason"}),
    "Exception_": frozenset({"id", "citation", "when", "reason"}),
    "Statement": frozenset({"key", "citation", "when", "text", "text_ascii"}),
    "DatedDuty": frozenset({"from_", "citation", "confidence", "note"}),
    "Determination": frozenset(
        {
            "kind",
            "id",
            "title",
            "citation",
            "effect",
            "covers",
            "effective_from",
            "editions",
            "materials",
            "summary",
            "confidence",
            "references",
        }
    ),
    "DeterminedMaterial": frozenset({"material", "when", "note", "confidence"}),
}


def _check_model(obj: Any, known: frozenset[str], where: str) -> None:
    for name in type(obj).model_fields:
        if name not in known and getattr(obj, name) not in (None, [], {}, False):
            raise NoSetTranslation(f"{where}: field {name!r} has no set-based translation")


def _check_fields(req: Requirement, kb: KnowledgeBase) -> None:
    """Refuse a rule that uses a field this compiler does not know (a new kind of rule)."""
    _check_model(
        req, REQUIREMENT_FIELDS_DECIDING | REQUIREMENT_FIELDS_NOT_DECIDING, f"{req.id}: requirement"
    )
    _check_model(req.effective, KNOWN_FIELDS["Effective"], f"{req.id}: effective")
    for e in req.exceptions:
        _check_model(e, KNOWN_FIELDS["Exception_"], f"{req.id}: exception {e.id}")
    for st in req.statements:
        _check_model(st, KNOWN_FIELDS["Statement"], f"{req.id}: statement {st.key}")
    duty = getattr(req, "third_party_duty", None)
    if duty is not None:
        _check_model(duty, KNOWN_FIELDS["DatedDuty"], f"{req.id}: third_party_duty")
    if req.components is not None:
        _check_model(req.components, KNOWN_FIELDS["ComponentRule"], f"{req.id}: components")
        for d in req.components.exempt_by:
            det = kb.determinations[d]
            _check_model(det, KNOWN_FIELDS["Determination"], f"determination {d}")
            for m in det.materials:
                _check_model(m, KNOWN_FIELDS["DeterminedMaterial"], f"determination {d}")


def _flag(column: str, want: bool) -> Pred:
    return lambda c: c[column] if want else ~c[column]


def _negated(cond: Pred) -> Pred:
    return lambda t: ~cond(t)


def _filter_pred(spec: dict[str, Any]) -> Pred:
    """A component filter over the component table (joined with product facts)."""
    tests: list[Pred] = []
    if "material_in" in spec:
        allowed = list(spec["material_in"])
        tests.append(lambda c: c.material.isin(allowed))
    if "material_not_in" in spec:
        banned = list(spec["material_not_in"])
        tests.append(lambda c: ~c.material.isin(banned))
    if "fiber_in" in spec:
        fibers = list(spec["fiber_in"])
        tests.append(lambda c: c.fiber.isin(fibers).fill_null(False))
    for flag in ("accessible", "small_part", "unfinished", "mouthable"):
        if flag in spec:
            want = spec[flag]
            if not isinstance(want, bool):
                raise NoSetTranslation(f"component filter {flag}: expected true or false")
            tests.append(_flag(flag, want))
    return lambda c: ibis.and_(*(t(c) for t in tests))


def _determination_applied(det: Determination, ranks: dict[str, int]) -> Pred:
    """Whether ``det`` exempts a component: in force, for the edition, first listed material
    that matches is confirmed (``engine._determination_hit``)."""
    tests = [(m, None if m.when is None else _filter_pred(m.when)) for m in det.materials]
    edition_ranks = None if det.editions is None else [ranks[e] for e in det.editions]

    def pred(c: ir.Table) -> ir.BooleanValue:
        gate = c.made >= det.effective_from
        if edition_ranks is not None:
            gate = gate & c.rank.isin(edition_ranks).fill_null(False)
        cases = []
        for m, test in tests:
            match = c.material == m.material
            if test is not None:
                match = match & test(c)
            cases.append((match, ibis.literal(m.confidence != "unconfirmed")))
        return gate & ibis.cases(*cases, else_=False)

    return pred


def compile_kb(kb: KnowledgeBase) -> Plan:
    """Compile every requirement of ``kb``."""
    comp = _Compiler(kb)
    ranks = {e.id: e.rank for e in kb.editions}

    statements = []
    for req in kb.statement_requirements:
        for s in req.statements:
            pred = comp.condition(s.when, f"{req.id} statement {s.key}", in_statement=True)
            statements.append(Statement_(req.id, s.key, pred))

    rules: list[Rule] = []
    comp_rules: list[ComponentRulePlan] = []
    for i, req in enumerate(kb.requirements):
        _check_fields(req, kb)
        rules.append(_rule(req, i, comp, ranks, comp_rules))

    filters = tuple((k, _filter_pred(spec)) for k, spec in comp.registry.filters.values())
    used = comp.columns | {feature_column(n) for n in MOUTHING_FEATURES}
    duties = dict(getattr(kb, "duties", None) or {})
    certification = duties.pop("certification", None)
    if duties:
        raise NoSetTranslation(f"duties {sorted(duties)} have no set-based translation")
    return Plan(
        kb,
        tuple(rules),
        tuple(statements),
        filters,
        tuple(comp_rules),
        tuple(sorted(used)),
        certification.from_ if certification is not None else None,
    )


def _rule(
    req: Requirement,
    index: int,
    comp: _Compiler,
    ranks: dict[str, int],
    comp_rules: list[ComponentRulePlan],
) -> Rule:
    kb = comp.kb
    eff = req.effective
    parts: list[Pred] = []
    if eff.basis == "manufacture":
        if eff.from_ is not None:
            start = eff.from_
            parts.append(lambda t: t.made >= start)
        if eff.to is not None:
            end = eff.to
            parts.append(lambda t: t.made < end)
    elif eff.basis == "as_of":
        if eff.from_ is not None:
            start_a = eff.from_
            parts.append(lambda t: t.as_of >= start_a)
        if eff.to is not None:
            end_a = eff.to
            parts.append(lambda t: t.as_of < end_a)
    else:  # pragma: no cover - the model admits only these two
        raise NoSetTranslation(f"{req.id}: effective basis {eff.basis!r}")
    if req.scope != "any":
        col = _FLAG_COLUMNS[req.scope]
        parts.append(lambda t: t[col])
    if req.since_edition:
        first = kb.edition(req.since_edition).rank
        parts.append(lambda t: t.rank.isnull() | (t.rank >= first))
    if req.restates:
        parts.append(_false)
    for exc in req.exceptions:
        cond = comp.condition(exc.when, f"{req.id} exception {exc.id}")
        parts.append(_negated(cond))
    if req.applies_when is not None:
        parts.append(comp.condition(req.applies_when, f"{req.id} applies_when"))
    if req.statements:
        keys = sorted({s.key for s in req.statements})
        parts.append(lambda t: ibis.or_(*(t[f"due__{k}"] for k in keys)))
    rule = req.components
    required = rule is not None and rule.required
    if rule is not None:
        k = comp.registry.add(rule.select, f"{req.id} components.select")
        if required:
            dets = sorted(
                (kb.determinations[d] for d in rule.exempt_by),
                key=lambda d: d.effect != "out_of_scope",
            )
            oos = [_determination_applied(d, ranks) for d in dets if d.effect == "out_of_scope"]
            nt = [_determination_applied(d, ranks) for d in dets if d.effect == "no_testing"]
            sel = f"csel_{k}"

            def chosen(c: ir.Table, sel: str = sel, oos: list[Pred] = oos) -> ir.BooleanValue:
                out = c[sel]
                for p in oos:
                    out = out & ~p(c)
                return out

            tpt = req.third_party_testing

            def comp_lab(c: ir.Table, nt: list[Pred] = nt, tpt: bool = tpt) -> ir.BooleanValue:
                out: ir.BooleanValue = ibis.literal(tpt)
                for p in nt:
                    out = out & ~p(c)
                return out

            comp_rules.append(ComponentRulePlan(index, chosen, comp_lab))
            parts.append(lambda t: t[f"rsel_{index}"])

    def applies(t: ir.Table) -> ir.BooleanValue:
        if not parts:
            return ibis.literal(True)
        return ibis.and_(*(p(t) for p in parts))

    lab_parts: list[Pred] = []
    if not req.third_party_testing:
        lab_parts.append(_false)
    if req.third_party_when is not None:
        lab_parts.append(comp.condition(req.third_party_when, f"{req.id} third_party_when"))
    lab_parts.append(lambda t: t.children)
    duty = getattr(req, "third_party_duty", None)
    if duty is not None:
        # Third-party testing owed only by products made on or after the duty began.
        duty_from = duty.from_
        lab_parts.append(lambda t: t.made >= duty_from)
    if required:
        lab_parts.append(lambda t: t[f"rlab_{index}"])

    def lab(t: ir.Table) -> ir.BooleanValue:
        return ibis.and_(*(p(t) for p in lab_parts))

    return Rule(req.id, index, applies, lab, req.certificate_rule)


# --- building the query -----------------------------------------------------------------------


def _facts(plan: Plan, products: ir.Table) -> ir.Table:
    """``facts.derive`` as columns: made, edition rank, scopes, children's product."""
    keep = ["pid", "sku", "min_months", "children_product", "toy", "made_last", "as_of"]
    products = products.select(*keep, *plan.feature_columns)
    made = products.made_last.fill_null(products.as_of)
    base = products.toy & (products.min_months < TOY_STANDARD_UNDER_MONTHS)
    editions = sorted(plan.kb.editions, key=lambda e: e.rank, reverse=True)
    rank = ibis.cases(
        *((made >= e.effective_from, ibis.literal(e.rank, "int16")) for e in editions),
        else_=ibis.null("int16"),
    )
    rank = ibis.ifelse(base, rank, ibis.null("int16"))
    mouthing = [feature_column(n) for n in sorted(MOUTHING_FEATURES)]
    return products.mutate(
        made=made,
        rank=rank,
        children=products.children_product.fill_null(products.min_months <= CHILDREN_MAX_MONTHS),
        mouthing_feature=ibis.or_(*(products[c] for c in mouthing)),
    ).mutate(ts_scope=lambda t: t.rank.notnull())


def _component_aggregates(plan: Plan, facts: ir.Table, components: ir.Table) -> ir.Table:
    prod = facts.select("pid", "made", "rank", "min_months", "mouthing_feature")
    c = components.join(prod, "pid")
    mouthable = ibis.cases(
        (c.mouth_contact.notnull(), c.mouth_contact),
        (~c.accessible, False),
        (c.mouthing_feature, True),
        else_=c.min_months < MOUTHING_PRESUMED_UNDER_MONTHS,
    )
    c = c.mutate(mouthable=mouthable)
    c = c.mutate(**{f"csel_{k}": pred(c) for k, pred in plan.filters})
    cr = {f"chosen_{r.index}": r.chosen(c) for r in plan.component_rules}
    cl = {f"clab_{r.index}": r.chosen(c) & r.lab(c) for r in plan.component_rules}
    c = c.mutate(**cr, **cl)
    aggs: dict[str, ir.Value] = {}
    for k, _ in plan.filters:
        aggs[f"cany_{k}"] = c[f"csel_{k}"].any()
        aggs[f"call_{k}"] = c[f"csel_{k}"].all()
    for r in plan.component_rules:
        aggs[f"rsel_{r.index}"] = c[f"chosen_{r.index}"].any()
        aggs[f"rlab_{r.index}"] = c[f"clab_{r.index}"].any()
    return c.group_by("pid").aggregate(**aggs)


def decisions(plan: Plan, products: ir.Table, components: ir.Table) -> ir.Table:
    """One row per product: sku, certificate, toy_standard and one boolean column per
    requirement (``req__<i>``), lab flag (``lab__<i>``) and statement due (``warn__<j>``)."""
    facts = _facts(plan, products)
    agg_cols: list[str] = []
    if plan.filters or plan.component_rules:
        agg = _component_aggregates(plan, facts, components)
        agg_cols = [c for c in agg.columns if c != "pid"]
        facts = facts.left_join(agg, "pid").select(
            *facts.columns, *(agg[c].fill_null(False).name(c) for c in agg_cols)
        )
    due_keys: dict[str, list[int]] = {}
    for j, s in enumerate(plan.statements):
        due_keys.setdefault(s.key, []).append(j)
    facts = facts.mutate(**{f"warn__{j}": s.when(facts) for j, s in enumerate(plan.statements)})
    facts = facts.mutate(
        **{f"due__{k}": ibis.or_(*(facts[f"warn__{j}"] for j in js)) for k, js in due_keys.items()},
        any_warning=ibis.or_(*(facts[f"warn__{j}"] for j in range(len(plan.statements))))
        if plan.statements
        else ibis.literal(False),
    )
    facts = facts.mutate(**{f"req__{r.index}": r.applies(facts) for r in plan.rules})
    cert_from = plan.certification_from

    def certified(t: ir.Table) -> ir.BooleanValue:
        return ibis.literal(True) if cert_from is None else t.made >= cert_from

    facts = facts.mutate(
        **{
            f"lab__{r.index}": facts[f"req__{r.index}"] & r.lab(facts) & certified(facts)
            for r in plan.rules
        }
    )
    cert_rules = [f"req__{r.index}" for r in plan.rules if r.certificate_rule]
    any_cert = ibis.or_(*(facts[c] for c in cert_rules)) if cert_rules else ibis.literal(False)
    editions = {e.rank: e.id for e in plan.kb.editions}
    toy_standard = ibis.cases(
        *((facts.rank == r, ibis.literal(eid)) for r, eid in editions.items()),
        else_=ibis.null("string"),
    )
    certificate = ibis.cases(
        (~certified(facts), "none"),
        (any_cert & facts.children, "CPC"),
        (any_cert, "GCC"),
        else_="none",
    )
    flags = [f"req__{r.index}" for r in plan.rules] + [f"lab__{r.index}" for r in plan.rules]
    warn = [f"warn__{j}" for j in range(len(plan.statements))]
    return facts.select(
        "pid",
        "sku",
        children=facts.children,
        certificate=certificate,
        toy_standard=toy_standard,
        **{c: facts[c].fill_null(False) for c in flags + warn},
    )


def flag_columns(plan: Plan) -> Iterable[str]:
    yield from (f"req__{r.index}" for r in plan.rules)
    yield from (f"lab__{r.index}" for r in plan.rules)
    yield from (f"warn__{j}" for j in range(len(plan.statements)))
