"""Bulk assessment (contract 9) against the per-item engine, the oracle: compiler coverage,
differential tests on boundary-heavy profiles (hypothesis and a seeded batch), null safety, and a
mutation check that shows the comparison has teeth."""

from __future__ import annotations

import ast
import functools
import inspect
import shutil
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import ibis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toysafe.bulk import compile as bulk_compile
from toysafe.bulk.compile import (
    COMBINATOR_KEYS,
    CONDITION_KEYS,
    FILTER_KEYS,
    LEAF_KEYS,
    NoSetTranslation,
    compile_kb,
)
from toysafe.bulk.run import Backend, DuckDBBackend, assess_flat, compiled
from toysafe.bulk.synth import ProfileMaker, condition_keys, kb_conditions, thresholds
from toysafe.bulk.tables import flatten, nested_table
from toysafe.core.law import conditions
from toysafe.core.law.engine import assess
from toysafe.core.law.knowledge import KnowledgeBase, Requirement
from toysafe.core.law.profile import Profile
from toysafe.core.law.vocabulary import FEATURES, FIBERS, MATERIALS
from toysafe.io.kb import KB_DIR, default_kb, load_kb
from toysafe.io.profiles import profile_from_data, read_profile

KB = default_kb()
AS_OF = date(2026, 11, 21)
EXAMPLES = Path(__file__).parent.parent / "examples" / "products"

Row = dict[str, Any]


_ORACLE: dict[tuple[int, date, int], tuple[Profile, Row]] = {}


def oracle(profile: Profile, as_of: date, kb: KnowledgeBase = KB) -> Row:
    """What ``toysafe assess`` says, in the bulk output's shape (memoised per profile object:
    the seeded batches are shared by several tests)."""
    key = (id(profile), as_of, id(kb))
    hit = _ORACLE.get(key)
    if hit is not None and hit[0] is profile:
        return hit[1]
    row = _oracle(profile, as_of, kb)
    _ORACLE[key] = (profile, row)
    return row


def _oracle(profile: Profile, as_of: date, kb: KnowledgeBase) -> Row:
    a = assess(profile, kb, as_of)
    return {
        "sku": profile.sku,
        "certificate": a.certificate,
        "toy_standard": a.toy_standard,
        "requirements": [r.id for r in a.requirements],
        "lab_tested": [r.id for r in a.requirements if r.third_party_testing],
        "warnings": list(dict.fromkeys(w.id for w in a.warnings)),
        "warning_keys": [w.key for w in a.warnings],
    }


def bulk(
    profiles: Sequence[Profile], dates: Sequence[date], backend: Backend, kb: KnowledgeBase = KB
) -> list[Row]:
    products, components = flatten(nested_table(profiles), dates)
    rows: list[Row] = assess_flat(kb, products, components, backend).to_pylist()
    return rows


def mismatches(
    profiles: Sequence[Profile],
    dates: Sequence[date],
    backend: Backend,
    kb: KnowledgeBase = KB,
    oracle_kb: KnowledgeBase = KB,
) -> list[tuple[Profile, date, Row, Row]]:
    got = bulk(profiles, dates, backend, kb)
    assert len(got) == len(profiles)
    out = []
    for p, d, g in zip(profiles, dates, got, strict=True):
        want = oracle(p, d, oracle_kb)
        if g != want:
            out.append((p, d, want, g))
    return out


def describe(bad: list[tuple[Profile, date, Row, Row]]) -> str:
    p, d, want, got = bad[0]
    diff = {k: (want[k], got[k]) for k in want if want[k] != got[k]}
    return f"{len(bad)} mismatches; first: {p.model_dump_json()} as of {d}: (engine, bulk) {diff}"


@pytest.fixture(scope="module")
def duck() -> Iterator[DuckDBBackend]:
    b = DuckDBBackend()
    yield b
    b.close()


@functools.cache
def seeded_batch(n: int, seed: int) -> tuple[list[Profile], list[date]]:
    maker = ProfileMaker(KB, seed)
    profiles = [profile_from_data(maker.profile(i)) for i in range(n)]
    return profiles, [maker.as_of() for _ in profiles]


# --- compiler coverage ------------------------------------------------------------------------


def _language_keys() -> tuple[set[str], set[str]]:
    """The condition keys ``core.law.conditions`` accepts, read from its source: every string
    that ``key`` is compared with in ``_compile`` and ``_compile_leaf``."""
    tree = ast.parse(inspect.getsource(conditions))
    keys: set[str] = set()
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef) or fn.name not in ("_compile", "_compile_leaf"):
            continue
        for node in ast.walk(fn):
            if (
                isinstance(node, ast.Compare)
                and isinstance(node.left, ast.Name)
                and node.left.id == "key"
            ):
                for comp in node.comparators:
                    for c in ast.walk(comp):
                        if isinstance(c, ast.Constant) and isinstance(c.value, str):
                            keys.add(c.value)
    keys |= set(conditions._FLAGS)
    keys -= {"because", "otherwise"}
    return keys, set(conditions._FILTER_KEYS)


def test_every_key_of_the_condition_language_has_a_translation() -> None:
    keys, filters = _language_keys()
    assert {"feature", "component", "all", "not", "toy_standard"} <= keys  # the reader works
    assert keys == CONDITION_KEYS, "condition keys without a set-based translation"
    assert filters == FILTER_KEYS
    assert LEAF_KEYS.isdisjoint(COMBINATOR_KEYS)


def test_every_condition_key_used_in_the_kb_compiles() -> None:
    used = condition_keys(KB)
    assert used, "the walker found no condition"
    assert used <= CONDITION_KEYS
    filters = set()
    for _, spec in kb_conditions(KB):
        for key, arg in _walk_all(spec):
            if key in ("component", "all_components"):
                filters |= set(arg)
    for r in KB.requirements:
        if r.components:
            filters |= set(r.components.select)
    assert filters <= FILTER_KEYS
    plan = compile_kb(KB)
    assert plan.requirement_ids == tuple(r.id for r in KB.requirements)
    # Each condition also compiles on its own (names where it sits when it cannot).
    c = bulk_compile._Compiler(KB)
    for where, spec in kb_conditions(KB):
        c.condition(spec, where)


def _walk_all(spec: Any) -> Iterator[tuple[str, Any]]:
    from toysafe.bulk.synth import _walk

    return _walk(spec)


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"colour_is": "red"}, "condition key 'colour_is' has no set-based translation"),
        ({"all": [{"toy": True}, {"weight_over": 3}]}, "'weight_over'"),
        ({"component": {"painted": True}}, "['painted'] have no set-based translation"),
    ],
)
def test_untranslatable_condition_fails_loudly(spec: Any, message: str) -> None:
    with pytest.raises(NoSetTranslation, match=None) as e:
        bulk_compile._Compiler(KB).condition(spec, "16CFR9999 applies_when")
    assert message in str(e.value) and "16CFR9999 applies_when" in str(e.value)


def test_a_new_kind_of_rule_fails_loudly() -> None:
    class Future(Requirement):
        duty_from: date | None = None

    base = KB.by_id["16CFR1501"].model_dump(by_alias=True)
    req = Future.model_validate({**base, "duty_from": date(2027, 1, 1)})
    others = [r for r in KB.requirements if r.id != req.id]
    kb = KnowledgeBase(
        [*others, req],
        list(KB.determinations.values()),
        _editions(KB),
        list(KB.parameters.values()),
    )
    with pytest.raises(NoSetTranslation, match="16CFR1501: requirement: field 'duty_from'"):
        compile_kb(kb)


def _editions(kb: KnowledgeBase) -> Any:
    from toysafe.core.law.knowledge import Editions

    return Editions(kind="editions", title="editions", editions=list(kb.edition_entries.values()))


def test_the_plan_compiles_for_spark_sql_too() -> None:
    sql = compiled(KB, "pyspark").sql
    assert "toysafe_products" in sql and "`" in sql


# --- differential: the per-item engine is the oracle -----------------------------------------


def test_examples_agree(duck: DuckDBBackend) -> None:
    profiles = [read_profile(p) for p in sorted(EXAMPLES.glob("*.yaml"))]
    assert len(profiles) >= 10
    bad = mismatches(profiles, [AS_OF] * len(profiles), duck)
    assert not bad, describe(bad)


def test_boundary_batch_agrees(duck: DuckDBBackend) -> None:
    profiles, dates = seeded_batch(4000, seed=13)
    bad = mismatches(profiles, dates, duck)
    assert not bad, describe(bad)
    # The batch reaches what it must: every requirement applies somewhere and is set aside
    # somewhere, every certificate kind and edition occurs.
    rows = bulk(profiles, dates, duck)
    applied = {r for row in rows for r in row["requirements"]}
    assert {"CPC", "GCC", "none"} == {row["certificate"] for row in rows}
    assert {e.id for e in KB.editions} <= {row["toy_standard"] for row in rows}
    never = {r.id for r in KB.requirements if r.restates} | {
        r.id for r in KB.requirements if r.applies_when and "never" in r.applies_when
    }
    assert applied >= {r.id for r in KB.requirements} - never - {"16CFR1500.20"}


def test_row_order_and_partitions_do_not_matter(duck: DuckDBBackend) -> None:
    profiles, dates = seeded_batch(600, seed=5)
    whole = bulk(profiles, dates, duck)
    half = len(profiles) // 2
    parts = bulk(profiles[half:], dates[half:], duck) + bulk(profiles[:half], dates[:half], duck)
    assert sorted(parts, key=lambda r: r["sku"]) == sorted(whole, key=lambda r: r["sku"])


def test_nulls_everywhere_agree(duck: DuckDBBackend) -> None:
    """Every optional field omitted (nulls in every nullable column), and empty lists."""
    ages, _ = thresholds(KB)
    profiles = [
        profile_from_data({"sku": f"N{a}", "name": "bare", "age": {"min_months": a}}) for a in ages
    ] + [
        profile_from_data(
            {
                "sku": f"C{a}",
                "name": "bare parts",
                "age": {"min_months": a},
                "features": [{"small_ball": {}}, {"battery": {}}, "sound"],
                "components": [
                    {"id": f"x{i}", "material": m} for i, m in enumerate(sorted(MATERIALS))
                ],
            }
        )
        for a in ages
    ]
    bad = mismatches(profiles, [AS_OF] * len(profiles), duck)
    assert not bad, describe(bad)


AGES, DAYS = thresholds(KB)


def _feature(name: str) -> st.SearchStrategy[Any]:
    params = FEATURES[name].params
    if not params:
        return st.just(name)
    values = {
        key: st.sampled_from(spec) if isinstance(spec, tuple) else st.booleans()
        for key, spec in params.items()
    }
    return st.fixed_dictionaries({}, optional=values).map(lambda p: {name: p} if p else name)


_components = st.lists(
    st.fixed_dictionaries(
        {"material": st.sampled_from(sorted(MATERIALS))},
        optional={
            "accessible": st.booleans(),
            "mouth_contact": st.sampled_from([True, False, None]),
            "small_part": st.booleans(),
            "fiber": st.sampled_from([*FIBERS, None]),
            "unfinished": st.booleans(),
        },
    ),
    max_size=5,
).map(lambda cs: [{"id": f"c{i}", **c} for i, c in enumerate(cs)])

_days = st.sampled_from(DAYS) | st.dates(date(2005, 1, 1), date(2028, 12, 31))
_manufactured = _days.map(date.isoformat) | _days.map(lambda d: d.isoformat()[:7])
_ages = st.sampled_from(AGES) | st.integers(0, 1200)

profiles_st = st.fixed_dictionaries(
    {
        "name": st.just("Generated toy"),
        "age": _ages.map(lambda m: {"min_months": m}),
        "features": st.lists(st.sampled_from(sorted(FEATURES)), unique=True, max_size=6).flatmap(
            lambda names: st.tuples(*[_feature(n) for n in names]).map(list)
        ),
        "components": _components,
    },
    optional={
        "toy": st.booleans(),
        "children_product": st.booleans() | st.none(),
        "manufactured": _manufactured | st.none(),
    },
)
items_st = st.tuples(profiles_st, st.just(AS_OF) | st.sampled_from(DAYS))


def batch_of(items: list[tuple[dict[str, Any], date]]) -> tuple[list[Profile], list[date]]:
    profiles = [profile_from_data({"sku": f"H{i}", **data}) for i, (data, _) in enumerate(items)]
    return profiles, [d for _, d in items]


@settings(max_examples=40, deadline=None)
@given(st.lists(items_st, min_size=1, max_size=40))
def test_differential_duckdb(items: list[tuple[dict[str, Any], date]]) -> None:
    profiles, dates = batch_of(items)
    backend = _shared_duck()
    bad = mismatches(profiles, dates, backend)
    assert not bad, describe(bad)


_DUCK: list[DuckDBBackend] = []


def _shared_duck() -> DuckDBBackend:
    if not _DUCK:
        _DUCK.append(DuckDBBackend())
    return _DUCK[0]


# --- mutation check: the comparison goes red when the compiled KB is perturbed ---------------


def _mutated_kb(tmp_path: Path, rel: str, old: str, new: str) -> KnowledgeBase:
    root = tmp_path / "kb"
    shutil.copytree(KB_DIR, root)
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{rel} no longer holds {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return load_kb(root)


@pytest.mark.parametrize(
    "rel, old, new",
    [
        # An age limit: "under 3" read as under 35 months.
        ("cfr16/part_1501/1501_small_parts.yaml", "age_under_months: 36", "age_under_months: 35"),
        # An edition date one day late.
        ("astm_f963/editions.yaml", "effective_from: 2024-04-20", "effective_from: 2024-04-21"),
    ],
)
def test_the_differential_test_goes_red_on_a_perturbed_kb(
    tmp_path: Path, duck: DuckDBBackend, rel: str, old: str, new: str
) -> None:
    mutated = _mutated_kb(tmp_path, rel, old, new)
    # The same batch agrees under the shipped KB (test_boundary_batch_agrees).
    profiles, dates = seeded_batch(4000, seed=13)
    bad = mismatches(profiles, dates, duck, kb=mutated, oracle_kb=KB)
    assert bad, f"perturbing {rel} ({old} -> {new}) went unnoticed"


def test_nullable_logic_is_guarded() -> None:
    """Dropping the null guard on a feature parameter changes answers (three-valued logic)."""
    t = ibis.memtable(
        {"f__small_ball": [True, True], "f__small_ball__whole_toy": [None, False]},
        schema={"f__small_ball": "boolean", "f__small_ball__whole_toy": "boolean"},
    )
    pred = bulk_compile._feature({"small_ball": {"whole_toy": False}}, "test")
    con = ibis.duckdb.connect()
    assert con.execute(t.select(x=pred(t)))["x"].tolist() == [True, True]
