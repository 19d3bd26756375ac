"""Polars expressions the step kinds share: dates of the spec's date expressions, ages, event keys."""

from __future__ import annotations

import polars as pl

from bhmeasures.spec.dates import DateExpr, Window

# an event is identified by its member and its id: claim ids need only be unique within a member
KEY = ("member_id", "event_id")


def date_of(e: DateExpr, year: int) -> pl.Expr:
    """The date an expression names: a literal for measurement-year dates, else the event's column plus offsets."""
    if e.is_calendar:
        return pl.lit(e.resolve(year), dtype=pl.Date)
    out = pl.col(e.base)
    for unit, n in e.offsets:
        if unit == "days":
            out = out + pl.duration(days=n)
        else:
            out = out.dt.offset_by(f"{n}{'y' if unit == 'years' else 'mo'}")
    return out


def window_bounds(w: Window, year: int) -> tuple[pl.Expr, pl.Expr]:
    return date_of(w.first, year), date_of(w.last, year)


def _month_day(d: pl.Expr) -> pl.Expr:
    # Polars gives month and day as Int8: widen before arithmetic (month * 100 overflows Int8 from May on)
    return d.dt.month().cast(pl.Int32) * 100 + d.dt.day().cast(pl.Int32)


def age_at(on: pl.Expr, birth: pl.Expr) -> pl.Expr:
    """Whole years from `birth` to `on`; one born on February 29 turns a year older on March 1 of a common year."""
    before_birthday = _month_day(on) < _month_day(birth)
    return on.dt.year().cast(pl.Int32) - birth.dt.year().cast(pl.Int32) - before_birthday.cast(pl.Int32)
