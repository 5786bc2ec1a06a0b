"""Read product profiles from YAML or JSON files, with errors that name the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from toysafe.core.profile import Profile


class InputError(ValueError):
    """Bad input from a user: a file that cannot be read, or a field with a bad value."""


def describe_validation_error(e: ValidationError, prefix: str = "") -> str:
    """One line per problem: ``field.path: message``."""
    lines = []
    for err in e.errors():
        loc = ".".join(_loc(p) for p in err["loc"]).replace(".[", "[")
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            msg = "is required"
        elif err["type"] == "extra_forbidden":
            msg = "is not a known field"
        lines.append(f"{prefix}{loc or '(document)'}: {msg}")
    return "\n".join(lines)


def _loc(part: Any) -> str:
    return f"[{part}]" if isinstance(part, int) else str(part)


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
        raise InputError(describe_validation_error(e, f"{source}: ")) from None


def read_profile(path: Path) -> Profile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    return profile_from_data(parse_document(text, str(path)), str(path))
