"""Headline scenarios of the assessment engine, each named after what a seller would ask."""

from __future__ import annotations

from datetime import date

import pytest

from tests.conftest import run_case_profile


@pytest.mark.parametrize(
    ("made", "edition"),
    [
        ("2024-04-19", "F963-17"),
        ("2024-04-20", "F963-23"),
        ("2018-02-27", "F963-16"),
        ("2018-02-28", "F963-17"),
        ("2012-06-11", "F963-08"),
        ("2009-02-10", "F963-07e1"),
    ],
)
def test_the_edition_in_force_follows_the_manufacture_date(made: str, edition: str) -> None:
    result = run_case_profile({"manufactured": made, "features": ["magnet"]})
    assert result.toy_standard == edition
    magnets = result.requirement("F963:4.38")
    assert magnets is not None and magnets.citation.startswith(f"ASTM {edition} §4.38")


def test_a_month_that_spans_an_edition_change_asks_for_the_day() -> None:
    result = run_case_profile({"manufactured": "2024-04"})
    assert result.toy_standard == "F963-23"
    (note,) = (n for n in result.notes if n.code == "edition_assumed")
    assert note.facts["period"] == "2024-04" and note.facts["edition"] == "F963-23"
    assert "changes within 2024-04" in str(note)


def test_no_manufacture_date_assumes_the_assessment_date_and_says_so() -> None:
    profile = {"sku": "X", "name": "x", "age": {"min_months": 36}}
    result = run_case_profile({**profile, "manufactured": None}, date(2023, 1, 1))
    assert result.toy_standard == "F963-17"
    assert [n.code for n in result.notes] == ["no_manufacture_date"]
    assert result.to_dict()["notes"] == [str(result.notes[0])]


def test_a_13_plus_toy_is_in_f963_but_gets_a_gcc_and_no_lab() -> None:
    result = run_case_profile({"age": {"min_months": 156}, "features": ["magnet"]})
    assert result.children_product is False
    assert result.certificate == "GCC" and result.toy_standard == "F963-23"
    assert result.requirement("F963:4.38") is not None
    assert not result.lab_requirements


def test_a_14_plus_collectible_is_outside_f963_and_needs_no_certificate() -> None:
    result = run_case_profile({"age": {"min_months": 168}, "components": []})
    assert result.toy_standard is None and result.certificate == "none"
    assert not [r.id for r in result.requirements if r.id.startswith("F963:")]


def test_a_painted_8_plus_toy_needs_lead_paint_but_not_soluble_elements() -> None:
    result = run_case_profile(
        {
            "age": {"min_months": 96},
            "components": [
                {"id": "body", "material": "metal"},
                {"id": "paint-red", "material": "surface_coating"},
            ],
        }
    )
    lead_paint = result.requirement("16CFR1303")
    assert lead_paint is not None and lead_paint.third_party_testing
    assert [c.id for c in lead_paint.components] == ["paint-red"]
    assert result.requirement("F963:4.3.5.1(2)") is None
    why_not = next(n for n in result.not_applicable if n.id == "F963:4.3.5.1(2)")
    assert any("not likely to be mouthed" in r for r in why_not.reasons)


def test_unfinished_wood_is_exempt_from_element_and_lead_tests_but_its_paint_is_not() -> None:
    result = run_case_profile(
        {
            "age": {"min_months": 12},
            "components": [
                {"id": "base", "material": "wood_unfinished"},
                {"id": "paint", "material": "surface_coating"},
            ],
        }
    )
    substrate = result.requirement("F963:4.3.5.2")
    assert substrate is not None and not substrate.third_party_testing
    assert any("16 CFR 1251.2" in r for c in substrate.components for r in c.reasons)
    lead = result.requirement("15USC1278a")
    assert lead is not None and not lead.third_party_testing
    coating = result.requirement("F963:4.3.5.1(2)")
    assert coating is not None and coating.third_party_testing


@pytest.mark.parametrize("feature", ["rattle", "pacifier"])
def test_rattles_and_pacifiers_are_exempt_from_the_small_parts_rule(feature: str) -> None:
    result = run_case_profile({"age": {"min_months": 0}, "features": [feature]})
    assert result.requirement("16CFR1501") is None
    rule = {"rattle": "16CFR1510", "pacifier": "16CFR1511"}[feature]
    assert result.requirement(rule) is not None


@pytest.mark.parametrize(
    ("months", "feature", "keys"),
    [
        (24, {"small_ball": {"whole_toy": True}}, []),
        (36, {"small_ball": {"whole_toy": True}}, ["small_ball"]),
        (120, {"small_ball": {"whole_toy": True}}, ["small_ball"]),
        (36, "small_ball", ["contains_small_ball"]),
        (95, "small_ball", ["contains_small_ball"]),
        (96, "small_ball", []),
        (36, {"marble": {"whole_toy": True}}, ["marble"]),
        (60, "marble", ["contains_marble"]),
        (96, "marble", []),
    ],
)
def test_small_ball_and_marble_statements_by_age(
    months: int, feature: object, keys: list[str]
) -> None:
    result = run_case_profile({"age": {"min_months": months}, "features": [feature]})
    assert [w.key for w in result.warnings] == keys
    if keys:
        assert result.requirement("16CFR1500.20") is not None
    if months < 36:
        assert any("banned" in a.message for a in result.alerts)


def test_the_small_parts_statement_is_exact() -> None:
    result = run_case_profile(
        {
            "age": {"min_months": 36},
            "components": [{"id": "peg", "material": "plastic_pp", "small_part": True}],
        }
    )
    # Law fix (issue 10): 16 CFR 1500.19 prints an em dash; the ASCII form stands beside it.
    assert [w.text for w in result.warnings] == [
        "WARNING: CHOKING HAZARD\u2014Small parts. Not for children under 3 yrs."
    ]
    assert [w.text_ascii for w in result.warnings] == [
        "WARNING: CHOKING HAZARD--Small parts. Not for children under 3 yrs."
    ]
    assert result.to_dict()["warnings"][0]["text_ascii"].isascii()


def test_phthalates_are_decided_per_component() -> None:
    result = run_case_profile(
        {
            "components": [
                {"id": "shell", "material": "plastic_abs"},
                {"id": "bumper", "material": "plastic_pvc"},
                {"id": "axle", "material": "metal"},
            ]
        }
    )
    rule = result.requirement("16CFR1307")
    assert rule is not None and rule.third_party_testing
    assert {c.id: c.third_party_testing for c in rule.components} == {
        "shell": False,
        "bumper": True,
        "axle": False,
    }
