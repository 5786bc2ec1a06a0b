"""Unit conversion for lab results, through pint, with conversion factors cached per pair."""

from __future__ import annotations

import functools
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


def _parse(unit: str) -> Any:
    import pint

    text = _ALIASES.get(unit.strip(), unit.strip())
    try:
        return _registry().Unit(text)
    except (pint.errors.UndefinedUnitError, AttributeError, ValueError, TypeError):
        raise UnitError(f"unknown unit '{unit}'") from None


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
