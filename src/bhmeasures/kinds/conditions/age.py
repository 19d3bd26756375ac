"""`age`: the member's age in whole years on a date (the index date, or a measurement-year date)."""

from __future__ import annotations

from typing import Any

import polars as pl

from bhmeasures.engine.exprs import age_at, date_of
from bhmeasures.kinds.conditions.base import ConditionKind, Outcome, register_condition
from bhmeasures.spec.base import AgeRange
from bhmeasures.spec.dates import parse_date_expr


@register_condition
class AgeCondition(ConditionKind):
    key = "age"
    model = AgeRange
    cost = 0

    def dates_used(self, value: AgeRange) -> set[str]:
        e = parse_date_expr(value.at)
        return set() if e.is_calendar else {e.base}

    def describe(self, value: AgeRange, year: int) -> str:
        e = parse_date_expr(value.at)
        on = e.resolve(year).isoformat() if e.is_calendar else value.at
        return value.model_copy(update={"at": on}).describe()

    def evaluate(self, events: pl.DataFrame, value: AgeRange, run: Any) -> Outcome:
        df = events.join(run.data.members.select("member_id", pl.col("birth_date").alias("_birth")), on="member_id", how="left")
        age = age_at(date_of(parse_date_expr(value.at), run.year), pl.col("_birth"))
        cond = pl.col("_birth").is_not_null()
        if value.min is not None:
            cond = cond & (age >= value.min)
        if value.max is not None:
            cond = cond & (age <= value.max)
        return Outcome(df.filter(cond).drop("_birth"))
