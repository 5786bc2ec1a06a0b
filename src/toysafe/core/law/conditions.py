"""A small condition language for applicability, compiled once when the KB loads.

A condition is a mapping with exactly one test key, e.g. ``{feature: magnet}``,
``{age_under_months: 36}``, ``{component: {material_in: [surface_coating]}}``, or a combinator
``{all: [...]}``, ``{any: [...]}``, ``{not: {...}}``. Any test may carry ``because`` (the reason
when it holds) and ``otherwise`` (the reason when it does not). Evaluating returns whether it
holds, the reasons, and a trace of every test with its input.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from toysafe.core.law.dates import age_phrase, from_age, parse_date
from toysafe.core.law.facts import ComponentFacts, ProductFacts
from toysafe.core.law.vocabulary import FEATURES, FIBERS, MATERIALS


class ConditionError(ValueError):
    """A condition in the knowledge base is malformed."""


#: One evaluated test: (test name, its argument, the input it looked at, whether it held).
TraceStep = tuple[str, Any, Any, bool]


def step_dict(step: TraceStep) -> dict[str, Any]:
    seen = step[2].isoformat() if isinstance(step[2], date) else step[2]
    return {"test": step[0], "arg": step[1], "input": seen, "ok": step[3]}


class Outcome(NamedTuple):
    ok: bool
    reasons: tuple[str, ...]
    trace: tuple[TraceStep, ...]


Evaluator = Callable[[ProductFacts], Outcome]
ComponentTest = Callable[[ComponentFacts], tuple[bool, str]]


@dataclass(frozen=True, slots=True)
class Condition:
    source: Any
    evaluate: Evaluator

    def __call__(self, facts: ProductFacts) -> Outcome:
        return self.evaluate(facts)


# --- component filters ------------------------------------------------------------------------

_FILTER_KEYS = {
    "material_in",
    "material_not_in",
    "accessible",
    "mouthable",
    "small_part",
    "fiber_in",
    "unfinished",
}


def _materials(values: Any, key: str) -> frozenset[str]:
    if not isinstance(values, list) or not values:
        raise ConditionError(f"{key}: expected a non-empty list of materials")
    unknown = [v for v in values if v not in MATERIALS]
    if unknown:
        raise ConditionError(f"{key}: unknown material(s) {unknown}")
    return frozenset(values)


def compile_component_filter(spec: Any) -> ComponentTest:
    """Compile ``{material_in: [...], accessible: true, ...}`` into a component test."""
    if not isinstance(spec, dict) or not spec:
        raise ConditionError("component filter: expected a non-empty mapping")
    unknown = set(spec) - _FILTER_KEYS
    if unknown:
        raise ConditionError(f"component filter: unknown key(s) {sorted(unknown)}")
    tests: list[ComponentTest] = []
    if "material_in" in spec:
        allowed = _materials(spec["material_in"], "material_in")
        tests.append(lambda c: (c.material in allowed, f"material {c.material}"))
    if "material_not_in" in spec:
        banned = _materials(spec["material_not_in"], "material_not_in")
        tests.append(lambda c: (c.material not in banned, f"material {c.material}"))
    if "fiber_in" in spec:
        fibers = spec["fiber_in"]
        if not isinstance(fibers, list) or any(f not in FIBERS for f in fibers):
            raise ConditionError(f"fiber_in: expected fibres from {FIBERS}")
        fset = frozenset(fibers)
        tests.append(lambda c: (c.component.fiber in fset, f"fiber {c.component.fiber}"))
    for flag in ("accessible", "small_part", "unfinished"):
        if flag in spec:
            want = spec[flag]
            if not isinstance(want, bool):
                raise ConditionError(f"{flag}: expected true or false")
            tests.append(_flag_test(flag, want))
    if "mouthable" in spec:
        want_m = spec["mouthable"]
        if not isinstance(want_m, bool):
            raise ConditionError("mouthable: expected true or false")
        tests.append(lambda c: (c.mouthable == want_m, c.mouth_reason))

    def run(c: ComponentFacts) -> tuple[bool, str]:
        reasons = []
        for t in tests:
            ok, why = t(c)
            if not ok:
                return False, why
            reasons.append(why)
        return True, ", ".join(reasons)

    return run


def _flag_test(flag: str, want: bool) -> ComponentTest:
    words = {
        "accessible": ("accessible", "not accessible"),
        "small_part": ("a small part", "not a small part"),
        "unfinished": ("unfinished", "finished or treated"),
    }[flag]

    def test(c: ComponentFacts) -> tuple[bool, str]:
        value = bool(getattr(c.component, flag))
        return value == want, words[0] if value else words[1]

    return test


# --- leaves -----------------------------------------------------------------------------------

Test = Callable[[ProductFacts], tuple[bool, Any]]
Text = Callable[[ProductFacts, Any], str]


def _leaf(
    name: str, arg: Any, test: Test, yes: Text, no: Text
) -> Callable[[str | None, str | None], Evaluator]:
    """A test plus the phrases that explain it; phrases are built only for the outcome seen."""

    def build(because: str | None, otherwise: str | None) -> Evaluator:
        def evaluate(f: ProductFacts) -> Outcome:
            ok, seen = test(f)
            if ok:
                reason = because or yes(f, seen)
            else:
                reason = otherwise or no(f, seen)
            return Outcome(ok, (reason,), ((name, arg, seen, ok),))

        return evaluate

    return build


def _feature_leaf(arg: Any) -> tuple[Test, Text, Text]:
    params: dict[str, Any]
    if isinstance(arg, str):
        name, params = arg, {}
    elif isinstance(arg, dict) and len(arg) == 1:
        name, params = next(iter(arg.items()))
        if not isinstance(params, dict):
            raise ConditionError(f"feature {name}: parameters must be a mapping")
    else:
        raise ConditionError("feature: expected a name or {name: {parameter: value}}")
    feature = FEATURES.get(name)
    if feature is None:
        raise ConditionError(f"feature: unknown feature '{name}'")
    for key in params:
        if key not in feature.params:
            raise ConditionError(f"feature {name}: unknown parameter '{key}'")
    wanted = {k: (tuple(v) if isinstance(v, list) else (v,)) for k, v in params.items()}
    defaults = {k: (False if feature.params[k] is bool else None) for k in wanted}
    detail = ", ".join(f"{k} {'/'.join(map(str, v))}" for k, v in wanted.items())
    present = f"feature {name}" + (f" ({detail})" if detail else "")

    def test(f: ProductFacts) -> tuple[bool, Any]:
        got = f.features.get(name)
        if got is None:
            return False, None
        ok = all(got.get(k, defaults[k]) in options for k, options in wanted.items())
        return ok, {name: got}

    def no(f: ProductFacts, seen: Any) -> str:
        return feature.absent if seen is None else f"{feature.present}, but not {detail}"

    return test, lambda f, seen: present, no


def _any_feature_leaf(arg: Any) -> tuple[Test, Text, Text]:
    if not isinstance(arg, list) or not arg or any(a not in FEATURES for a in arg):
        raise ConditionError(f"any_feature: expected a list of known features, got {arg!r}")
    names = tuple(arg)
    absent = "; ".join(FEATURES[n].absent for n in names)

    def test(f: ProductFacts) -> tuple[bool, Any]:
        hits = [n for n in names if n in f.features]
        return bool(hits), hits

    return test, lambda f, hits: "feature " + ", ".join(hits), lambda f, hits: absent


def _int(arg: Any, key: str) -> int:
    if not isinstance(arg, int) or isinstance(arg, bool) or arg < 0:
        raise ConditionError(f"{key}: expected a whole number of months")
    return arg


def _bool(arg: Any, key: str) -> bool:
    if not isinstance(arg, bool):
        raise ConditionError(f"{key}: expected true or false")
    return arg


def _date(arg: Any, key: str) -> date:
    try:
        return parse_date(arg)
    except ValueError as e:
        raise ConditionError(f"{key}: {e}") from None


_FLAGS = {
    "children_product": ("children", "a children's product", "not a children's product"),
    "toy": ("toy", "a toy", "not a toy"),
    "toy_standard": ("toy_standard_scope", "within ASTM F963", "outside ASTM F963"),
}


def _compile_leaf(key: str, arg: Any) -> Callable[[str | None, str | None], Evaluator]:
    if key == "feature":
        return _leaf(key, arg, *_feature_leaf(arg))
    if key == "any_feature":
        return _leaf(key, arg, *_any_feature_leaf(arg))
    if key == "age_under_months":
        n = _int(arg, key)
        under = f"intended for children under {age_phrase(n)}"
        return _leaf(
            key,
            n,
            lambda f: (f.min_months < n, f.min_months),
            lambda f, m: under,
            lambda f, m: f"intended for children {from_age(m)}, not under {age_phrase(n)}",
        )
    if key == "age_at_least_months":
        n = _int(arg, key)
        under = f"intended for children under {age_phrase(n)}"
        return _leaf(
            key,
            n,
            lambda f: (f.min_months >= n, f.min_months),
            lambda f, m: f"intended for children {from_age(m)}",
            lambda f, m: under,
        )
    if key in _FLAGS:
        want = _bool(arg, key)
        attr, is_text, not_text = _FLAGS[key]

        def flag_text(f: ProductFacts, value: Any) -> str:
            return is_text if value else not_text

        return _leaf(
            key,
            want,
            lambda f: (getattr(f, attr) == want, getattr(f, attr)),
            flag_text,
            flag_text,
        )
    if key in ("component", "all_components"):
        ctest = compile_component_filter(arg)
        every = key == "all_components"

        def comp(f: ProductFacts) -> tuple[bool, Any]:
            results = [(c.id, *ctest(c)) for c in f.components]
            hits = sum(1 for r in results if r[1])
            ok = (bool(results) and hits == len(results)) if every else hits > 0
            return ok, results

        def comp_yes(f: ProductFacts, results: Any) -> str:
            return "; ".join(f"{cid}: {why}" for cid, ok, why in results if ok)

        def comp_no(f: ProductFacts, results: Any) -> str:
            misses = [f"{cid}: {why}" for cid, ok, why in results if not ok]
            return "; ".join(misses) if misses else "the product lists no components"

        return _leaf(key, arg, comp, comp_yes, comp_no)
    if key == "made_on_or_after":
        d = _date(arg, key)
        iso = d.isoformat()
        return _leaf(
            key,
            iso,
            lambda f: (f.made >= d, f.made_iso),
            lambda f, seen: f"made on or after {iso}",
            lambda f, seen: f"made before {iso}",
        )
    if key == "warnings_due":
        want = _bool(arg, key)
        return _leaf(
            key,
            want,
            lambda f: (bool(f.warnings_due) == want, list(f.warnings_due)),
            lambda f, due: "cautionary statements due: " + ", ".join(due),
            lambda f, due: "no choking-hazard statement is due",
        )
    if key == "never":
        if not isinstance(arg, str) or not arg:
            raise ConditionError("never: expected the reason as text")
        return _leaf(key, True, lambda f: (False, None), lambda f, s: "", lambda f, s: arg)
    raise ConditionError(f"unknown condition '{key}'")


# --- combinators ------------------------------------------------------------------------------


def _combine(kind: str, parts: Sequence[Evaluator]) -> Evaluator:
    """``all`` stops at the first test that fails, ``any`` at the first that holds; the
    reasons are those of the deciding tests."""
    want = kind == "any"

    def evaluate(f: ProductFacts) -> Outcome:
        reasons: list[str] = []
        trace: list[TraceStep] = []
        for p in parts:
            o = p(f)
            trace.extend(o.trace)
            if o.ok == want:
                return Outcome(want, o.reasons, tuple(trace))
            reasons.extend(o.reasons)
        return Outcome(not want, tuple(reasons), tuple(trace))

    return evaluate


def _negate(inner: Evaluator) -> Evaluator:
    def evaluate(f: ProductFacts) -> Outcome:
        o = inner(f)
        return Outcome(not o.ok, o.reasons, o.trace)

    return evaluate


def compile_condition(spec: Any, where: str = "condition") -> Condition:
    """Compile a condition mapping; raise ConditionError naming where it went wrong."""
    try:
        return Condition(spec, _compile(spec))
    except ConditionError as e:
        raise ConditionError(f"{where}: {e}") from None


def _compile(spec: Any) -> Evaluator:
    if not isinstance(spec, dict):
        raise ConditionError(f"expected a mapping, got {spec!r}")
    because = spec.get("because")
    otherwise = spec.get("otherwise")
    keys = [k for k in spec if k not in ("because", "otherwise")]
    if len(keys) != 1:
        raise ConditionError(f"expected exactly one test, got {keys}")
    key = keys[0]
    arg = spec[key]
    if key in ("all", "any"):
        if not isinstance(arg, list) or not arg:
            raise ConditionError(f"{key}: expected a non-empty list")
        inner = _combine(key, [_compile(s) for s in arg])
        return _with_text(inner, because, otherwise)
    if key == "not":
        return _with_text(_negate(_compile(arg)), because, otherwise)
    return _compile_leaf(key, arg)(because, otherwise)


def _with_text(inner: Evaluator, because: str | None, otherwise: str | None) -> Evaluator:
    if because is None and otherwise is None:
        return inner

    def evaluate(f: ProductFacts) -> Outcome:
        o = inner(f)
        text = because if o.ok else otherwise
        return Outcome(o.ok, (text,), o.trace) if text else o

    return evaluate
