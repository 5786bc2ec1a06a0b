"""Errors in user input, phrased as ``source: field: problem``, and carrying each problem with
its structured location (``Problem``: source, field path, line) for adapters that place it
(the API's 422 ``loc``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from toysafe.core.reasons import Problem, Reason


class InputError(ValueError):
    """Bad input from a user: a file that cannot be read, or a field with a bad value.

    Adapters place the error from its structure, never from its words: ``problems`` (each
    with its field path), or ``field`` and ``detail`` for one field (``InputError.at``)."""

    def __init__(
        self,
        message: str = "",
        problems: Sequence[Problem] = (),
        *,
        field: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message or "\n".join(str(p) for p in problems))
        self.problems = tuple(problems)
        self.field = field
        self.detail = detail if detail is not None else str(self)

    @classmethod
    def at(cls, field: str, detail: str, option: bool = False) -> InputError:
        """A problem with one field: the message is ``field: detail`` (``--field-name: detail``
        for a command-line option); ``field`` keeps the field's own name for the API."""
        shown = "--" + field.replace("_", "-") if option else field
        return cls(f"{shown}: {detail}", field=field, detail=detail)

    def locations(self, root: str = "body") -> list[dict[str, object]]:
        """FastAPI's 422 ``detail`` list: one entry per problem, or the one field, or the
        whole input (``[root]``) when the error names no field."""
        if self.problems:
            return [
                {"loc": [root, *p.loc], "msg": p.message, "type": "value_error"}
                for p in self.problems
            ]
        loc: list[object] = [root, self.field] if self.field else [root]
        return [{"loc": loc, "msg": self.detail, "type": "value_error"}]


def error_words(err: Any) -> str:
    """The words for one pydantic error, chosen by its ``type``: a validator's own error (its
    exception, in ``ctx``) keeps its words; pydantic's own message otherwise."""
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field"
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    return str(err["msg"])


def _field(part: Any) -> str | int:
    return "from" if part == "from_" else part


def validation_problems(e: ValidationError, source: str, line: int | None = None) -> list[Problem]:
    """The problems of a validation error, each with its field path."""
    out = []
    for err in e.errors():
        msg = error_words(err)
        loc = tuple(_field(p) for p in err["loc"])
        out.append(Problem(source, loc, Reason("invalid_value", {"text": msg}), line))
    return out


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
        msg = error_words(err)
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


def csv_header_problems(
    header: list[str], required: tuple[str, ...], known: tuple[str, ...]
) -> str:
    """What is wrong with a CSV header: missing, unknown or repeated columns ('' when fine)."""
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in known]
    repeated = sorted({c for c in header if header.count(c) > 1})
    parts = (
        ([f"missing column(s) {', '.join(missing)}"] if missing else [])
        + ([f"unknown column(s) {', '.join(unknown)}"] if unknown else [])
        + ([f"repeated column(s) {', '.join(repeated)}"] if repeated else [])
    )
    return "; ".join(parts)


def csv_row_problem(raw: dict[Any, Any], header: list[str]) -> str | None:
    """A DictReader row with more cells than the header keeps the extras under ``None``."""
    if None in raw:
        cells = len(header) + len(raw[None])
        return f"{cells} cells but the header has {len(header)} columns"
    return None
