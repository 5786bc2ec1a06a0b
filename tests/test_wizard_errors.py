"""The wizard maps pydantic's structured errors (type, loc, ctx) to its form fields and words;
it never reads an error's message text."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from toysafe.core.law.profile import Profile
from toysafe.web.pages.wizard import TEXT_FIELDS, Wizard, _error_key, _message, validate


def _wizard(components: list[dict[str, Any]] | None = None, **values: str) -> Wizard:
    base = dict.fromkeys(TEXT_FIELDS, "") | {"name": "Stacker", "sku": "ST-1", "age_years": "3"}
    rows = [
        {"id": "", "name": "", "material": "", "fiber": "", "accessible": True} | c
        for c in components or []
    ]
    return Wizard(values=base | values, components=rows)


def _errors(data: dict[str, Any]) -> list[Any]:
    base = {"sku": "X", "name": "x", "age": {"min_months": 36}}
    with pytest.raises(ValidationError) as e:
        Profile.model_validate(base | data)
    return list(e.value.errors())


@pytest.mark.parametrize(
    ("values", "components", "key", "words"),
    [
        ({"sku": ""}, [], "sku", "is required"),  # string_too_short (min_length 1)
        ({"brand": "b" * 201}, [], "brand", "at most 200 characters"),  # string_too_long
        ({"made_city": "Ningbo", "made_country": "C1"}, [], "made_country", "two-letter"),
        ({"made_city": "Ningbo", "made_country": "CHN"}, [], "made_country", "two-letter"),
        ({"made_country": "CN"}, [], "made_city", "is required"),
        ({"gtin": "00012345678906"}, [], "gtin", "check digit of '00012345678906' is wrong"),
        ({}, [{"id": "-x", "material": "metal"}], "c-0-id", "use letters, digits"),
        ({}, [{"id": "a", "material": "plastik"}], "c-0-material", "unknown material 'plastik'"),
    ],
)
def test_each_error_lands_on_its_field_with_words_from_its_type(
    values: dict[str, str], components: list[dict[str, Any]], key: str, words: str
) -> None:
    w = _wizard(components, **values)
    assert validate(w) is None
    assert key in w.errors, w.errors
    assert words in w.errors[key]


def test_a_duplicate_component_id_names_the_second_row_by_its_index_not_its_message() -> None:
    rows = [
        {"id": "a", "material": "metal"},
        {"id": "", "name": "", "material": ""},  # a blank row is skipped: rows shift
        {"id": "a", "material": "glass"},
    ]
    w = _wizard(rows)
    assert validate(w) is None
    assert w.errors == {
        "c-2-id": "'a' is the id of another component too: give each a different id"
    }
    (err,) = _errors({"components": [{"id": "a", "material": "metal"}] * 2})
    assert err["type"] == "duplicate_component_id" and err["ctx"] == {"index": 1, "id": "a"}


@pytest.mark.parametrize(
    ("data", "kind", "words"),
    [
        ({"sku": None}, "string_type", "Input should be a valid string"),
        ({"age": {}}, "missing", "is required"),
        ({"age": {"min_months": -1}}, "greater_than_equal", "at least 0"),
        ({"age": {"min_months": 1201}}, "less_than_equal", "at most 1200"),
        ({"testing_plan": "weekly"}, "literal_error", "choose one of 'periodic', 'production'"),
        ({"manufacturer": {"name": "M", "address": "abc"}}, "string_too_short", "at least 5"),
        ({"manufactured": "2025-13"}, "value_error", "month 13"),
    ],
)
def test_message_by_error_type(data: dict[str, Any], kind: str, words: str) -> None:
    (err,) = _errors(data)
    assert err["type"] == kind
    assert words in _message(err)
    assert "Value error" not in _message(err)


def test_error_keys_follow_the_location() -> None:
    rows = [0, 3]
    assert _error_key({"type": "missing", "loc": ("age", "min_months")}, rows) == "age_years"
    loc = ("components", 1, "material")
    assert _error_key({"type": "value_error", "loc": loc}, rows) == "c-3-material"
    assert _error_key({"type": "value_error", "loc": ()}, rows) == "profile"
