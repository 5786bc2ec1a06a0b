"""Errors in user input, phrased as ``source: field: problem``."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError


class InputError(ValueError):
    """Bad input from a user: a file that cannot be read, or a field with a bad value."""


def _loc(part: Any) -> str:
    return f"[{part}]" if isinstance(part, int) else str(part)


def describe_validation_error(e: ValidationError, prefix: str = "", locs: Any = None) -> str:
    """One line per problem: ``prefix field.path: message``.

    ``locs`` may map an error location (a tuple) to a better prefix, e.g. a CSV line number.
    """
    lines = []
    for err in e.errors():
        loc = ".".join(_loc(p) for p in err["loc"]).replace(".[", "[")
        loc = loc.replace("from_", "from")
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            msg = "is required"
        elif err["type"] == "extra_forbidden":
            msg = "is not a known field"
        where = locs(err["loc"]) if locs else prefix
        lines.append(f"{where}{loc or '(document)'}: {msg}")
    return "\n".join(lines)


def malformed_csv_is_input_error(fn: Any) -> Any:
    """Turn the csv module's own errors (a stray quote or newline) into an InputError naming
    the source, the second argument of the decorated reader."""
    import csv
    import functools

    @functools.wraps(fn)
    def wrapper(text: Any, source: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(text, source, *args, **kwargs)
        except csv.Error as e:
            raise InputError(f"{source}: malformed CSV: {e}") from None

    return wrapper
