"""`covered_days`: days of a window covered by other events' date ranges (fills' days supply).

The arithmetic pharmacy measures use (SAA, AMM), as a stock of medication: only events that start inside
the window count; with `shift_same: drug`, fills of the same drug (the same value of that column) that
overlap are shifted forward so each keeps its full supply (a refill picked up early starts the day after
the stock on hand runs out); events whose `shift_same` value is empty are never shifted; every calendar
day then counts once, however many drugs cover it (so different drugs on one day count the longest
supply); nothing counts past the window's end. The event meets the condition when the covered days reach
`min_days`, or `min_share` of the window's days (compared exactly: 74 of 92 days is 80.4%, which meets
80%; 73 of 92 is 79.3%, which does not, and no rounding lifts it). Its evidence is the fill whose days
brought the count to the threshold.
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

    def needed(self, window_days: pl.Expr) -> pl.Expr:
        """The fewest covered days that meet the threshold for a window of `window_days` days."""
        if self.min_days is not None:
            return pl.lit(self.min_days, dtype=pl.Int64)
        share = Fraction(str(self.min_share))
        # the smallest n with n / window >= share, in integers: ceil(window * p / q)
        return (window_days * share.numerator + share.denominator - 1) // share.denominator


def covered_intervals(events: pl.DataFrame, others: pl.DataFrame, rule: Coverage, year: int) -> pl.DataFrame:
    """Per event and counted fill: the days (from the window's start) the fill covers after shifting and
    clipping, `_start`.. `_end`, and `_days`, the days it adds that no earlier interval covered."""
    first, last = window_bounds(rule.over, year)
    w = events.select(*KEY, first.alias("w_start"), last.alias("w_end")).with_columns(
        ((pl.col("w_end") - pl.col("w_start")).dt.total_days() + 1).clip(lower_bound=0).alias("window_days"))
    # a fill with no value to shift by (an injection, a fill of an unknown drug) is a group of its own
    own = pl.concat_str([pl.lit("\x00"), pl.col("source").fill_null(""), pl.lit("\x00"), pl.col("event_id")])
    group = (pl.col(rule.shift_same).cast(pl.String) if rule.shift_same and rule.shift_same in others.columns
             else pl.lit(None, dtype=pl.String))
    supply = ((pl.col("end_date") - pl.col("start_date")).dt.total_days() + 1).clip(lower_bound=1)
    if "source" not in others.columns:
        others = others.with_columns(pl.lit(None, dtype=pl.String).alias("source"))
    kind = pl.col("kind") if "kind" in others.columns else pl.lit(rule.events)
    o = others.select("member_id", pl.col("event_id").alias("_o"), pl.col("claim_id").alias("_claim"), "start_date",
                      pl.col("end_date").alias("_fill_end"), kind.alias("_kind"), supply.alias("supply"),
                      group.fill_null(own).alias("_same"))
    fills = (w.join(o, on="member_id", how="inner")
             .filter(pl.col("start_date").is_between(pl.col("w_start"), pl.col("w_end")))
             .sort(*KEY, "_same", "start_date", "_o"))
    grp = [*KEY, "_same"]
    # shifting: end_i = max(end_{i-1}, start_i - 1) + supply_i (the stock runs out on end_i), solved in closed
    # form with running sums: end_i = S_i + max_{j<=i}(start_j - 1 - S_{j-1}), S the running sum of supplies
    day = (pl.col("start_date") - pl.col("w_start")).dt.total_days()
    fills = fills.with_columns(pl.col("supply").cum_sum().over(grp).alias("_s"))
    fills = fills.with_columns((day - 1 - (pl.col("_s") - pl.col("supply"))).cum_max().over(grp).alias("_m"))
    fills = fills.with_columns((pl.col("_s") + pl.col("_m")).alias("_end"))
    fills = fills.with_columns((pl.col("_end") - pl.col("supply") + 1).alias("_start"),
                               pl.col("_end").clip(upper_bound=pl.col("window_days") - 1))
    # union of the intervals [_start, _end] (days from the window start), each day once
    return (fills.filter(pl.col("_start") <= pl.col("_end")).sort(*KEY, "_start", "_end", "_o")
            .with_columns(pl.col("_end").cum_max().shift(1).over(KEY).alias("_prev"))
            .with_columns(pl.max_horizontal("_start", pl.col("_prev").fill_null(-1) + 1).alias("_new"))
            .with_columns((pl.col("_end") - pl.col("_new") + 1).clip(lower_bound=0).alias("_days")))


def covered_days(events: pl.DataFrame, others: pl.DataFrame, rule: Coverage, year: int) -> pl.DataFrame:
    """KEY, w_start, w_end, window_days, covered_days for every event (0 covered when nothing covers it), and
    the evidence: the fill whose days brought the count to the rule's threshold (null when it was not met)."""
    first, last = window_bounds(rule.over, year)
    w = events.select(*KEY, first.alias("w_start"), last.alias("w_end")).with_columns(
        ((pl.col("w_end") - pl.col("w_start")).dt.total_days() + 1).clip(lower_bound=0).alias("window_days"))
    fills = covered_intervals(events, others, rule, year).with_columns(
        pl.col("_days").cum_sum().over(KEY).alias("_running"), rule.needed(pl.col("window_days")).alias("_need"))
    days = fills.group_by(KEY).agg(pl.col("_days").sum().alias("covered_days"))
    reached = (fills.filter((pl.col("_running") >= pl.col("_need")) & (pl.col("_days") > 0))
               .group_by(KEY, maintain_order=True).first()
               .select(*KEY, pl.col("_claim").alias("evidence_claim_id"), pl.col("start_date").alias("evidence_date"),
                       pl.col("_fill_end").alias("evidence_end_date"), pl.col("_kind").alias("evidence_kind")))
    return (w.join(days, on=KEY, how="left").join(reached, on=KEY, how="left")
            .with_columns(pl.col("covered_days").fill_null(0).cast(pl.Int64)))


@register_condition
class CoveredDaysCondition(ConditionKind):
    key = "covered_days"
    model = Coverage
    gives_evidence = True
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
        ok = (pl.col("covered_days") >= value.needed(pl.col("window_days"))) & (pl.col("window_days") > 0)
        hits = cov.filter(ok).select(*KEY, "evidence_claim_id", "evidence_date", "evidence_end_date", "evidence_kind")
        base = events.drop([c for c in hits.columns if c not in KEY and c in events.columns])
        return Outcome(base.join(hits, on=KEY, how="inner"))
