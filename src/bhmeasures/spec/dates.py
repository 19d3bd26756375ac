"""Dates in specs: measurement-year dates (`MY-12-01`) and date expressions (`index_date + 30 days`).

A window is two such expressions, both inclusive: `[index_date + 1 day, index_date + 30 days]`,
`[MY-01-01, MY-12-01]`, `[ipsd, MY-12-31]`, `[previous_birthday + 1 day, index_date]`. The base of an
expression is a measurement-year date, resolved when the plan is made, or a date the events carry
(`index_date`, `start_date`, `end_date`, or a named date such as `initiation_end_date`), resolved per event.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

_MY_DATE = re.compile(r"^MY(?P<offset>[+-]\d+)?-(?P<month>\d{2})-(?P<day>\d{2})$")
_UNITS = {"day": "days", "days": "days", "month": "months", "months": "months", "year": "years", "years": "years"}


def check_my_date(value: str) -> str:
    """`value` if it is a measurement-year date, else ValueError saying how to write one."""
    m = _MY_DATE.match(value)
    if not m:
        msg = f"'{value}' is not a measurement-year date; write MY-MM-DD (e.g. MY-12-01) or MY-1-MM-DD for the year before"
        raise ValueError(msg)
    try:
        date(2024, int(m["month"]), int(m["day"]))  # a leap year accepts every valid month-day
    except ValueError as e:
        raise ValueError(f"'{value}' has no such month and day") from e
    return value


def resolve_my_date(value: str, year: int) -> date:
    m = _MY_DATE.match(value)
    if m is None:
        msg = f"not a measurement-year date: {value}"
        raise ValueError(msg)
    y = year + int(m["offset"] or 0)
    month, day = int(m["month"]), int(m["day"])
    if month == 2 and day == 29 and not calendar.isleap(y):
        day = 28  # MY-02-29 in a common year is its last day of February
    return date(y, month, day)


def add_offset(d: date, years: int = 0, months: int = 0, days: int = 0) -> date:
    """Calendar arithmetic as Polars' `dt.offset_by` does it: years and months keep the day, clipped to the month's end."""
    total = d.year * 12 + (d.month - 1) + years * 12 + months
    y, m = divmod(total, 12)
    day = min(d.day, calendar.monthrange(y, m + 1)[1])
    return date(y, m + 1, day) + timedelta(days=days)


@dataclass(frozen=True)
class DateExpr:
    """A base date plus calendar offsets, applied in the order written."""

    base: str  # a measurement-year date (MY-12-31) or the name of a date the events carry
    offsets: tuple[tuple[str, int], ...] = ()  # (unit, signed amount): ("days", -194)

    @property
    def is_calendar(self) -> bool:
        return bool(_MY_DATE.match(self.base))

    def resolve(self, year: int) -> date:
        """The date of a calendar expression in a measurement year."""
        d = resolve_my_date(self.base, year)
        for unit, n in self.offsets:
            d = add_offset(d, **{unit: n})
        return d

    def day_offset(self) -> int | None:
        """The offset in days when the expression moves by days only (None when months or years are involved)."""
        if any(unit != "days" for unit, _ in self.offsets):
            return None
        return sum(n for _, n in self.offsets)

    def __str__(self) -> str:
        parts = [self.base]
        for unit, n in self.offsets:
            word = unit if abs(n) != 1 else unit[:-1]
            parts.append(f"{'+' if n >= 0 else '-'} {abs(n)} {word}")
        return " ".join(parts)


_EXPR = re.compile(r"^(?P<base>MY(?:[+-]\d+)?-\d{2}-\d{2}|[a-z][a-z0-9_]*)(?P<rest>.*)$")
_OFFSET = re.compile(r"\s*(?P<sign>[+-])\s*(?P<n>\d+)\s*(?P<unit>days?|months?|years?)\b")


def parse_date_expr(text: str) -> DateExpr:
    """`index_date + 1 day`, `MY-12-31`, `birth_date + 1 year - 1 day`; ValueError with a hint otherwise."""
    if not isinstance(text, str) or not text.strip():
        msg = "a date is written MY-MM-DD or as a date name with offsets, e.g. 'index_date + 30 days'"
        raise ValueError(msg)
    m = _EXPR.match(text.strip())
    if not m:
        msg = f"'{text}' is neither a measurement-year date (MY-12-01) nor a date name such as index_date"
        raise ValueError(msg)
    base, rest = m["base"], m["rest"]
    if base.startswith("MY"):
        check_my_date(base)
    offsets = []
    pos = 0
    while pos < len(rest):
        t = _OFFSET.match(rest, pos)
        if not t:
            msg = f"'{text}': cannot read '{rest[pos:].strip()}'; write offsets as '+ 30 days', '- 1 year', '+ 1 month'"
            raise ValueError(msg)
        n = int(t["n"]) * (1 if t["sign"] == "+" else -1)
        offsets.append((_UNITS[t["unit"]], n))
        pos = t.end()
        if rest[pos:].strip() == "":
            break
    return DateExpr(base, tuple(offsets))


@dataclass(frozen=True)
class Window:
    """An inclusive window between two date expressions."""

    first: DateExpr
    last: DateExpr

    def bases(self) -> set[str]:
        return {e.base for e in (self.first, self.last) if not e.is_calendar}

    def resolved(self, year: int) -> tuple[date | None, date | None]:
        """The calendar dates of the ends that are calendar expressions (None for per-event ones)."""
        return (self.first.resolve(year) if self.first.is_calendar else None,
                self.last.resolve(year) if self.last.is_calendar else None)

    def describe(self, year: int | None = None) -> str:
        ends = []
        for e in (self.first, self.last):
            ends.append(e.resolve(year).isoformat() if (year is not None and e.is_calendar) else str(e))
        return f"[{ends[0]}, {ends[1]}]"


def parse_window(value: object) -> Window:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        msg = "a window is [first, last], both inclusive, e.g. [index_date + 1 day, index_date + 30 days] or [MY-01-01, MY-12-01]"
        raise ValueError(msg)
    first, last = (parse_date_expr(str(v)) for v in value)
    if first.is_calendar and last.is_calendar:
        for year in (2023, 2024):  # a common and a leap year
            if first.resolve(year) > last.resolve(year):
                msg = f"window [{first}, {last}] ends before it starts; swap them"
                raise ValueError(msg)
    if not first.is_calendar and not last.is_calendar and first.base == last.base:
        a, b = first.day_offset(), last.day_offset()
        if a is not None and b is not None and a > b:
            msg = f"window [{first}, {last}] ends before it starts; swap them"
            raise ValueError(msg)
    return Window(first, last)
