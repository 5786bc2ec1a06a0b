"""Invariants of the engine over generated profiles (hypothesis)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from toysafe.core.law.engine import assess
from toysafe.core.law.profile import Profile
from toysafe.core.law.vocabulary import FEATURES, FIBERS, MATERIALS
from toysafe.io.kb import default_kb

AS_OF = date(2026, 11, 21)
KB = default_kb()


def _feature(name: str) -> st.SearchStrategy[Any]:
    params = FEATURES[name].params
    if not params:
        return st.just(name)
    values = {
        key: st.sampled_from(spec) if isinstance(spec, tuple) else st.booleans()
        for key, spec in params.items()
    }
    return st.fixed_dictionaries({}, optional=values).map(lambda p: {name: p} if p else name)


components = st.lists(
    st.fixed_dictionaries(
        {"material": st.sampled_from(sorted(MATERIALS))},
        optional={
            "accessible": st.booleans(),
            "mouth_contact": st.sampled_from([True, False, None]),
            "small_part": st.booleans(),
            "fiber": st.sampled_from(FIBERS),
            "unfinished": st.booleans(),
        },
    ),
    max_size=6,
).map(lambda cs: [{"id": f"c{i}", **c} for i, c in enumerate(cs)])

profiles = st.fixed_dictionaries(
    {
        "sku": st.just("GEN-1"),
        "name": st.just("Generated toy"),
        "age": st.integers(0, 240).map(lambda m: {"min_months": m}),
        "features": st.lists(st.sampled_from(sorted(FEATURES)), unique=True, max_size=6).flatmap(
            lambda names: st.tuples(*[_feature(n) for n in names]).map(list)
        ),
        "components": components,
    },
    optional={
        "toy": st.booleans(),
        "children_product": st.booleans(),
        "manufactured": st.dates(date(2008, 1, 1), date(2027, 12, 31)).map(date.isoformat),
    },
)


def run(data: dict[str, Any]) -> Any:
    return assess(Profile.model_validate(data), KB, AS_OF)


@settings(max_examples=300, deadline=None)
@given(profiles)
def test_every_requirement_is_decided_exactly_once(data: dict[str, Any]) -> None:
    result = run(data)
    ids = [r.id for r in result.requirements] + [n.id for n in result.not_applicable]
    assert sorted(ids) == sorted(r.id for r in KB.requirements)
    assert all(n.reasons for n in result.not_applicable)
    assert all(r.reasons for r in result.requirements)
    json.dumps(result.to_dict())


@settings(max_examples=300, deadline=None)
@given(profiles, st.integers(36, 240))
def test_raising_the_minimum_age_to_36_months_never_adds_the_small_parts_ban(
    data: dict[str, Any], months: int
) -> None:
    older = run({**data, "age": {"min_months": max(months, data["age"]["min_months"])}})
    assert older.requirement("16CFR1501") is None
    assert older.requirement("16CFR1500.18(a)(17)") is None


@settings(max_examples=300, deadline=None)
@given(profiles, components.filter(bool))
def test_adding_a_component_never_removes_a_requirement(
    data: dict[str, Any], extra: list[dict[str, Any]]
) -> None:
    before = run(data)
    added = [{**c, "id": f"x{i}"} for i, c in enumerate(extra)]
    after = run({**data, "components": data["components"] + added})
    assert {r.id for r in before.requirements} <= {r.id for r in after.requirements}
    lab_before = {r.id for r in before.requirements if r.third_party_testing}
    lab_after = {r.id for r in after.requirements if r.third_party_testing}
    assert lab_before <= lab_after


@settings(max_examples=300, deadline=None)
@given(profiles)
def test_certificates_and_lab_duties_follow_the_children_product_line(data: dict[str, Any]) -> None:
    result = run(data)
    if not result.children_product:
        assert not result.lab_requirements
        assert result.certificate in ("GCC", "none")
    if result.certificate == "CPC":
        assert result.children_product
    has_rule = any(r.certificate_rule for r in result.requirements)
    # Issue 10: products made before certification began (2008-11-12) owe no certificate.
    made = date.fromisoformat(data["manufactured"]) if data.get("manufactured") else AS_OF
    certified = made >= default_kb().duties["certification"].from_
    assert (result.certificate != "none") == (has_rule and certified)
    if not certified:
        assert not result.lab_requirements


@settings(max_examples=300, deadline=None)
@given(profiles)
def test_the_toy_standard_covers_toys_under_14_only(data: dict[str, Any]) -> None:
    result = run(data)
    in_scope = data.get("toy", True) and data["age"]["min_months"] < 168
    if not in_scope:
        assert result.toy_standard is None
        assert not [r for r in result.requirements if r.id.startswith("F963:")]
    elif result.toy_standard is not None:
        assert result.requirement("F963:4.1") is not None


@settings(max_examples=200, deadline=None)
@given(profiles)
def test_lab_components_are_subject_components(data: dict[str, Any]) -> None:
    result = run(data)
    ids = {c["id"] for c in data["components"]}
    for r in result.requirements:
        for c in r.components:
            assert c.id in ids
            assert not (c.third_party_testing and not r.third_party_testing)
