"""Read product profiles from YAML or JSON files, with errors that name the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from toysafe.core.law.profile import Profile
from toysafe.io.errors import InputError, describe_validation_error, validation_problems

__all__ = ["InputError", "parse_document", "profile_from_data", "read_profile"]


def parse_document(text: str, source: str) -> Any:
    try:
        if source.endswith(".json"):
            return json.loads(text)
        return yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise InputError(
            f"{source}: not valid {'JSON' if source.endswith('.json') else 'YAML'}: "
            f"{str(e).splitlines()[0]}"
        ) from None


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
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    return profile_from_data(parse_document(text, str(path)), str(path))
