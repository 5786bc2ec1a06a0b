"""The program's policy (contract 8.1): strict, content-addressed, categories as data."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from toysafe.core.program.policy import Policy, audit_draw, diff, period_of
from toysafe.io.errors import InputError
from toysafe.io.program import policy_from_data, read_policy

EXAMPLE = Path(__file__).parent.parent / "examples" / "program" / "policy.yaml"


def example() -> dict:
    return yaml.safe_load(EXAMPLE.read_text())


def test_example_policy_loads_with_contract_values() -> None:
    p = read_policy(EXAMPLE)
    assert p.marketplace == "demo-market"
    assert p.categories["toys"].listing_categories == ["toys_and_games", "baby_products"]
    assert p.clocks.response_days == 14
    assert [s.listing for s in p.ladder] == ["suppressed", "removed"]
    assert p.account_health.points.of("medium") == 100
    assert p.triggers.random_audit is not None and p.triggers.random_audit.period == "quarter"
    assert p.trusted is not None and p.trusted.response_days == 30


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        (("clocks", "response_days"), "soon", "clocks.response_days"),
        (("account_health", "points", "critical"), -5, "account_health.points.critical"),
        (("categories", "toys", "evidence"), "photos", "categories.toys.evidence"),
        (("ladder",), [{"days_overdue": 0, "listing": "hidden"}], "ladder[0].listing"),
        (("triggers", "random_audit", "rate"), 2, "triggers.random_audit.rate"),
        (("clocks", "bogus"), 1, "clocks.bogus"),
    ],
)
def test_a_bad_value_names_its_key(path: tuple[str, ...], value: object, named: str) -> None:
    data = example()
    node = data
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    with pytest.raises(InputError) as e:
        policy_from_data(data, "p.yaml")
    assert f"p.yaml: {named}" in str(e.value)


def test_a_second_category_is_data_only() -> None:
    data = example()
    data["categories"]["e_mobility"] = {
        "listing_categories": ["scooters", "e_bikes"],
        "evidence": "direct_validation",
        "baseline": ["16CFR1263"],
    }
    p = policy_from_data(data)
    assert p.category_of("scooters") == "e_mobility"
    assert p.category_of("toys_and_games") == "toys"
    assert p.category_of("garden") is None
    assert p.categories["e_mobility"].baseline == ["16CFR1263"]


def test_a_listing_category_in_two_program_categories_is_refused() -> None:
    data = example()
    data["categories"]["other"] = {"listing_categories": ["baby_products"]}
    with pytest.raises(InputError, match="baby_products"):
        policy_from_data(data)


def test_digest_is_over_content_not_spelling() -> None:
    a = policy_from_data(example())
    data = example()
    data["clocks"]["reminder_days_before_due"] = [1, 7]  # same set, other order
    assert policy_from_data(data).digest() == a.digest()
    data["clocks"]["response_days"] = 21
    b = policy_from_data(data)
    assert b.digest() != a.digest()
    assert diff(a, b) == [{"key": "clocks.response_days", "from": 14, "to": 21}]


def test_random_audit_draw_is_the_contract_formula() -> None:
    import hashlib

    h = hashlib.sha256(b"3:B0TOY00001:2026Q3").hexdigest()
    assert audit_draw(3, "B0TOY00001", "2026Q3") == int(h[:8], 16) / 2**32
    assert period_of(__import__("datetime").date(2026, 12, 31), "quarter") == "2026Q4"


def test_policy_model_is_strict_at_top_level() -> None:
    data = example()
    data["surprise"] = True
    with pytest.raises(InputError, match="surprise: is not a known field"):
        policy_from_data(data)
    assert isinstance(policy_from_data(example()), Policy)
