"""Adapters place an input error from its structure (problems, or one field), never by
reading its words back."""

from __future__ import annotations

from toysafe.core.reasons import Problem, Reason
from toysafe.io.errors import InputError


def test_one_field_keeps_its_name_and_the_option_spelling_for_the_command_line() -> None:
    e = InputError.at("root_cause", "a plan of action must say it", option=True)
    assert str(e) == "--root-cause: a plan of action must say it"
    assert e.locations() == [
        {
            "loc": ["body", "root_cause"],
            "msg": "a plan of action must say it",
            "type": "value_error",
        }
    ]


def test_problems_give_their_paths_and_an_error_without_a_field_is_about_the_whole_body() -> None:
    why = Reason("unknown_listing", {"id": "B0NOPE"})
    e = InputError(problems=[Problem("body", ("listing_ids", 0), why)])
    assert str(e) == "body: listing_ids[0]: no listing 'B0NOPE' in the program"
    assert e.locations()[0]["loc"] == ["body", "listing_ids", 0]
    assert e.locations()[0]["msg"] == "no listing 'B0NOPE' in the program"
    plain = InputError("body: not valid JSON: Expecting value")
    assert plain.locations() == [
        {"loc": ["body"], "msg": "body: not valid JSON: Expecting value", "type": "value_error"}
    ]
    # Words that look like a field are not read as one.
    assert InputError("sku: looks like a field").locations()[0]["loc"] == ["body"]
