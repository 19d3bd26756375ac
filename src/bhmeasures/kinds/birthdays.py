"""`birthdays`: events on members' birthdays (the day they turn each listed age) in a calendar window."""

from __future__ import annotations

from typing import Any

import polars as pl
from pydantic import Field

from bhmeasures.engine.exprs import window_bounds
from bhmeasures.kinds.base import Problem, SpecView, StepKind, StepResult, register
from bhmeasures.kinds.events import EVENT_SCHEMA
from bhmeasures.spec.base import StepModel, WindowField


class Birthdays(StepModel):
    """One event per member and age turned in the window, dated on that birthday; it carries `age` and
    `previous_birthday` (the day the member turned one year younger; the birth date for age 1), so a window
    after the previous birthday through the birthday reads `[previous_birthday + 1 day, index_date]`. A
    member born on February 29 has birthdays on March 1 in common years (as ages are computed)."""

    ages: list[int] = Field(min_length=1)
    dated: WindowField


def birthday(birth: pl.Expr, age: pl.Expr) -> pl.Expr:
    """The date a member born on `birth` turns `age`; February 29 birthdays fall on March 1 in common years."""
    year = birth.dt.year().cast(pl.Int32) + age.cast(pl.Int32)
    leap_day = (birth.dt.month() == 2) & (birth.dt.day() == 29)
    year_is_leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month = pl.when(leap_day & ~year_is_leap).then(3).otherwise(birth.dt.month().cast(pl.Int32))
    day = pl.when(leap_day & ~year_is_leap).then(1).otherwise(birth.dt.day().cast(pl.Int32))
    return pl.date(year, month, day)


@register
class BirthdaysKind(StepKind):
    key = "birthdays"
    units_without_claims = True
    model = Birthdays
    table = "eligibility"

    def dates(self, step: Any, input_dates: Any) -> set[str]:
        return {"index_date", "start_date", "end_date", "previous_birthday"}

    def check(self, step: Birthdays, view: SpecView) -> list[Problem]:
        if step.dated.bases():
            return [(("dated",), "birthdays are found in a calendar window.", "Use measurement-year dates (MY-01-01).")]
        return []

    def describe(self, node: Any, year: int) -> list[str]:
        ages = ", ".join(map(str, node.step.ages))
        return [f"members' birthdays turning {ages} in {node.step.dated.describe(year)} (index_date; previous_birthday "
                "is the one before)"]

    def evaluate(self, node: Any, run: Any) -> StepResult:
        first, last = window_bounds(node.step.dated, run.year)
        members = run.data.members.select("member_id", "birth_date").filter(pl.col("birth_date").is_not_null())
        ages = pl.DataFrame({"age": node.step.ages}, schema={"age": pl.Int32})
        df = members.join(ages, how="cross").with_columns(
            birthday(pl.col("birth_date"), pl.col("age")).alias("index_date"),
            pl.when(pl.col("age") == 1).then(pl.col("birth_date"))
            .otherwise(birthday(pl.col("birth_date"), pl.col("age") - 1)).alias("previous_birthday"),
        ).filter(pl.col("index_date").is_between(first, last))
        ident = pl.col("member_id") + ":age" + pl.col("age").cast(pl.String)
        events = df.select(
            pl.lit("eligibility").alias("source"), "member_id", ident.alias("event_id"), ident.alias("claim_id"),
            pl.concat_list(ident).alias("claims"), pl.col("index_date").alias("start_date"),
            pl.col("index_date").alias("end_date"), "index_date", pl.lit(None, dtype=pl.String).alias("provider"),
            pl.lit(1, dtype=pl.Int64).alias("units"), "previous_birthday", pl.col("age").cast(pl.Int64),
        ).sort("member_id", "index_date")
        return StepResult(events.cast({**EVENT_SCHEMA, "previous_birthday": pl.Date, "age": pl.Int64}))
