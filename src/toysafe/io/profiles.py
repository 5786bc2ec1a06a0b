"""Read product profiles from YAML or JSON files, with errors that name the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from toysafe.core.law.profile import Profile
from toysafe.io.errors import InputError, describe_validation_error, validation_problems
from toysafe.io.text import parse_document, read_text

__all__ = ["InputError", "parse_document", "profile_from_data", "read_profile"]


def profile_from_data(data: Any, source: str = "profile") -> Profile:
    if not isinstance(data, dict):
        raise InputError(f"{source}: expected a mapping of profile fields")
    try:
        return Profile.model_validate(data)
    except ValidationError as e:
        raise InputError(
            describe_validation_error(e, f"{source}: "), validation_problems(e, source)
        ) from None


def read_profile(path: Path) -> Profile:
    return profile_from_data(parse_document(read_text(path), str(path)), str(path))
