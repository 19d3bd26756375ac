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


# Runs of a sorted frame. A window (`.over(member_id)`) over one group per member is slow in Polars (a cumulative
# max per member costs ~0.4 s per 800k rows, 30x a pass over the column); on a frame sorted by the group columns
# the same answers come from one pass. Each helper needs the frame sorted by `groups` (first) to be right.

_DAY_OFFSET = 1 << 31  # dates as days since 1970 shifted to be non-negative
_RUN_STRIDE = 1 << 33  # a run's values sit above every earlier run's


def starts_run(groups: tuple[str, ...] | list[str]) -> pl.Expr:
    """True on the first row of each run of equal `groups` values."""
    first = pl.int_range(pl.len()) == 0
    return first | pl.any_horizontal([pl.col(g).ne_missing(pl.col(g).shift(1)) for g in groups])


def run_number(groups: tuple[str, ...] | list[str]) -> pl.Expr:
    """0, 1, 2, ... per run of equal `groups` values."""
    return starts_run(groups).cast(pl.Int64).cum_sum() - 1


def position_in_run(groups: tuple[str, ...] | list[str]) -> pl.Expr:
    """0 on the first row of each run, then 1, 2, ... (what `int_range(len()).over(groups)` gives)."""
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    return row - pl.when(starts_run(groups)).then(row).forward_fill()


def run_length(groups: tuple[str, ...] | list[str]) -> pl.Expr:
    """The number of rows of the row's run (what `len().over(groups)` gives)."""
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    last = pl.int_range(pl.len()) == pl.len() - 1
    ends = last | pl.any_horizontal([pl.col(g).ne_missing(pl.col(g).shift(-1)) for g in groups])
    return pl.when(ends).then(row).backward_fill() - pl.when(starts_run(groups)).then(row).forward_fill() + 1


def sum_in_run(value: pl.Expr, groups: tuple[str, ...] | list[str]) -> pl.Expr:
    """The running sum of an integer `value` within each run (what `cum_sum().over(groups)` gives; nulls as 0)."""
    total = value.fill_null(0).cast(pl.Int64).cum_sum()
    return total - pl.when(starts_run(groups)).then(total - value.fill_null(0).cast(pl.Int64)).forward_fill()


def latest_before_in_run(date: pl.Expr, groups: tuple[str, ...] | list[str]) -> pl.Expr:
    """The latest non-null `date` on the earlier rows of the run; null on its first row (what
    `cum_max().shift(1).over(groups)` gives for a date column)."""
    base = run_number(groups) * _RUN_STRIDE
    keyed = base + date.cast(pl.Int32).cast(pl.Int64) + _DAY_OFFSET
    before = keyed.cum_max().shift(1)
    return pl.when(before >= base).then((before - base - _DAY_OFFSET).cast(pl.Int32, strict=False).cast(pl.Date))
