"""Dates as the profile states them: a manufacture month or day, ages in months."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@dataclass(frozen=True, order=True)
class ManufactureDate:
    """A manufacture date known to the day or only to the month.

    ``first``/``last`` bound the days it may stand for.

    >>> ManufactureDate.parse("2024-04").last
    datetime.date(2024, 4, 30)
    """

    first: date
    last: date
    text: str

    @property
    def precise(self) -> bool:
        return self.first == self.last

    @classmethod
    def parse(cls, value: str | date) -> ManufactureDate:
        if isinstance(value, date):
            return cls(value, value, value.isoformat())
        text = str(value).strip()
        if m := _DAY.match(text):
            d = date(int(m[1]), int(m[2]), int(m[3]))
            return cls(d, d, text)
        if m := _MONTH.match(text):
            year, month = int(m[1]), int(m[2])
            if not 1 <= month <= 12:
                raise ValueError(f"month {month} is out of range")
            last = calendar.monthrange(year, month)[1]
            return cls(date(year, month, 1), date(year, month, last), text)
        raise ValueError(f"'{text}' is not a date: use YYYY-MM or YYYY-MM-DD")


def parse_date(value: str | date) -> date:
    """Parse an ISO day (YYYY-MM-DD) with a message that says what was wrong."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"'{value}' is not a date: use YYYY-MM-DD") from None


def age_phrase(months: int) -> str:
    """Whole years as a bare number of years, other ages in months.

    >>> age_phrase(36), age_phrase(18), age_phrase(12)
    ('3', '18 months', '1')
    """
    if months % 12 == 0:
        return str(months // 12)
    return f"{months} months"


def from_age(months: int) -> str:
    """'from birth', or '3 and up'.

    >>> from_age(0), from_age(36)
    ('from birth', '3 and up')
    """
    return "from birth" if months == 0 else f"{age_phrase(months)} and up"


def add_months(d: date, months: int) -> date:
    """The same day ``months`` later, clipped to the end of a shorter month.

    >>> add_months(date(2024, 2, 29), 12), add_months(date(2025, 1, 31), 1)
    (datetime.date(2025, 2, 28), datetime.date(2025, 2, 28))
    """
    total = d.year * 12 + d.month - 1 + months
    year, month = divmod(total, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(d.day, last))
