"""`covered_days`: days of a window covered by other events' date ranges (fills' days supply).

The arithmetic pharmacy measures use (SAA, AMM): only events that start inside the window count; with
`shift_same: drug`, fills of the same drug (the same value of that column) that overlap are shifted
forward so each keeps its full supply; every calendar day then counts once, however many drugs cover it
(so different drugs on one day count the longest supply); nothing counts past the window's end. The
event meets the condition when the covered days reach `min_days`, or `min_share` of the window's days
(compared exactly: 74 of 92 days is 80.4%, which meets 80%).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import polars as pl
from pydantic import Field, model_validator

from bhmeasures.engine.exprs import KEY, window_bounds
from bhmeasures.kinds.conditions.base import ConditionKind, Outcome, register_condition
from bhmeasures.spec.base import Model, WindowField


class Coverage(Model):
    events: str
    over: WindowField
    min_days: int | None = Field(default=None, ge=1)
    min_share: float | None = Field(default=None, gt=0, le=1)
    shift_same: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")

    @model_validator(mode="after")
    def _one_threshold(self) -> Coverage:
        if (self.min_days is None) == (self.min_share is None):
            msg = "covered_days needs exactly one of min_days, min_share"
            raise ValueError(msg)
        return self


def covered_days(events: pl.DataFrame, others: pl.DataFrame, rule: Coverage, year: int) -> pl.DataFrame:
    """KEY, window_days, covered_days for every event (0 covered when nothing covers it)."""
    first, last = window_bounds(rule.over, year)
    w = events.select(*KEY, first.alias("w_start"), last.alias("w_end")).with_columns(
        ((pl.col("w_end") - pl.col("w_start")).dt.total_days() + 1).clip(lower_bound=0).alias("window_days"))
    group = pl.col(rule.shift_same) if rule.shift_same and rule.shift_same in others.columns else pl.col("event_id")
    supply = ((pl.col("end_date") - pl.col("start_date")).dt.total_days() + 1).clip(lower_bound=1)
    o = others.select("member_id", pl.col("event_id").alias("_o"), "start_date", supply.alias("supply"),
                      group.cast(pl.String).fill_null(pl.col("event_id")).alias("_same"))
    fills = (w.join(o, on="member_id", how="inner")
             .filter(pl.col("start_date").is_between(pl.col("w_start"), pl.col("w_end")))
             .sort(*KEY, "_same", "start_date", "_o"))
    grp = [*KEY, "_same"]
    # shifting: end_i = max(end_{i-1}, start_i - 1) + supply_i, solved in closed form with running sums:
    # end_i = S_i + max_{j<=i}(start_j - 1 - S_{j-1}), S the running sum of supplies within the drug
    day = (pl.col("start_date") - pl.col("w_start")).dt.total_days()
    s_before = pl.col("supply").cum_sum().over(grp) - pl.col("supply")
    fills = fills.with_columns(
        (pl.col("supply").cum_sum().over(grp) + (day - 1 - s_before).cum_max().over(grp)).alias("_end"))
    fills = fills.with_columns((pl.col("_end") - pl.col("supply") + 1).alias("_start"),
                               pl.col("_end").clip(upper_bound=pl.col("window_days") - 1))
    # union of the intervals [_start, _end] (days from the window start), each day once
    fills = (fills.filter(pl.col("_start") <= pl.col("_end")).sort(*KEY, "_start", "_end")
             .with_columns(pl.col("_end").cum_max().shift(1).over(KEY).alias("_prev"))
             .with_columns(pl.max_horizontal("_start", pl.col("_prev").fill_null(-1) + 1).alias("_new"))
             .with_columns((pl.col("_end") - pl.col("_new") + 1).clip(lower_bound=0).alias("_days")))
    days = fills.group_by(KEY).agg(pl.col("_days").sum().alias("covered_days"))
    return w.join(days, on=KEY, how="left").with_columns(pl.col("covered_days").fill_null(0).cast(pl.Int64))


@register_condition
class CoveredDaysCondition(ConditionKind):
    key = "covered_days"
    model = Coverage
    cost = 3

    def inputs(self, value: Coverage) -> list[str]:
        return [value.events]

    def dates_used(self, value: Coverage) -> set[str]:
        return value.over.bases()

    def describe(self, value: Coverage, year: int) -> str:
        need = f"at least {value.min_days} days" if value.min_days else f"at least {value.min_share:.0%} of the days"
        shift = f"; overlapping fills of the same {value.shift_same} shifted forward" if value.shift_same else ""
        return f"'{value.events}' starting in {value.over.describe(year)} cover {need} of it{shift}"

    def evaluate(self, events: pl.DataFrame, value: Coverage, run: Any) -> Outcome:
        if events.is_empty():
            return Outcome(events)
        cov = covered_days(events, run.events(value.events), value, run.year)
        if value.min_days is not None:
            ok = pl.col("covered_days") >= value.min_days
        else:
            share = Fraction(str(value.min_share))
            ok = (pl.col("covered_days") * share.denominator) >= (pl.col("window_days") * share.numerator)
        return Outcome(events.join(cov.filter(ok & (pl.col("window_days") > 0)).select(KEY), on=KEY, how="semi"))
