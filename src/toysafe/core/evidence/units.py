"""Unit conversion for lab results, through pint, with conversion factors cached per pair."""

from __future__ import annotations

import functools
import re
import tokenize
from typing import Any

# Spellings labs use that pint does not know.
_ALIASES = {"wt%": "percent", "wt.%": "percent", "%": "percent", "μg": "µg", "mcg": "µg"}


class UnitError(ValueError):
    """A unit that is unknown, or that cannot be converted to the one a limit uses."""


@functools.cache
def _registry() -> Any:
    import pint  # imported on first use: building the registry takes a few hundred ms

    ureg: Any = pint.UnitRegistry()
    ureg.define("ppb = 1e-9 = parts_per_billion")
    return ureg


# What a unit may be written with: ASCII letters and digits, micro signs, %, and the operators
# of a compound unit. pint's expression parser is not a validator (a unit of ``1/0`` or of
# Arabic-Indic digits fails inside it with arbitrary errors), so only these reach it, and a
# unit must name at least one letter or %.
_UNIT_TEXT = re.compile(r"^[A-Za-z0-9µμ%.*/^ ()_-]{1,20}$")
_NAMED = re.compile(r"[A-Za-zµμ%]")


def _parse(unit: str) -> Any:
    import pint

    text = _ALIASES.get(unit.strip(), unit.strip())
    if not _UNIT_TEXT.match(text) or not _NAMED.search(text):
        raise UnitError(f"unknown unit '{unit}'")
    try:
        parsed = _registry().Unit(text)
    except (pint.errors.PintError, ArithmeticError, AssertionError, AttributeError) as e:
        raise UnitError(f"unknown unit '{unit}'") from e
    except (ValueError, TypeError, SyntaxError, tokenize.TokenError) as e:
        raise UnitError(f"unknown unit '{unit}'") from e
    return parsed


@functools.cache
def known_unit(unit: str) -> bool:
    try:
        _parse(unit)
    except UnitError:
        return False
    return True


@functools.cache
def factor(source: str, target: str) -> float:
    """Multiply a value in ``source`` units by this to express it in ``target`` units.

    >>> factor("%", "ppm"), factor("mg/kg", "ppm"), factor("ug", "µg")
    (10000.0, 1.0, 1.0)
    """
    import pint

    src, dst = _parse(source), _parse(target)
    try:
        return float(_registry().Quantity(1.0, src).to(dst).magnitude)
    except pint.errors.DimensionalityError:
        raise UnitError(f"'{source}' cannot be converted to '{target}'") from None


def convert(value: float, source: str, target: str) -> float:
    # Round away binary noise so that 0.009 % compares equal to 90 ppm.
    return round(value * factor(source, target), 9)
