"""`continuously_enrolled`: the member is enrolled over a window, with at most the allowed gaps."""

from __future__ import annotations

from typing import Any

import polars as pl
from pydantic import Field

from bhmeasures.engine.exprs import KEY, latest_before_in_run, window_bounds
from bhmeasures.kinds.conditions.base import ConditionKind, Outcome, register_condition
from bhmeasures.spec.base import Benefit, Model, WindowField

BENEFIT_COLUMNS = {
    "medical": "medical_benefit", "pharmacy": "pharmacy_benefit",
    "mental_health": "mh_benefit", "chemical_dependency": "cd_benefit",
}


class Enrollment(Model):
    """Enrolled every day of `over` except at most `allowable_gaps` gaps of at most `max_gap_days` days each;
    `benefits` must not be false on the spans counted (a missing flag counts as true)."""

    over: WindowField
    allowable_gaps: int = Field(default=0, ge=0)
    max_gap_days: int = Field(default=0, ge=0)
    benefits: list[Benefit] = ["medical"]


def enrolled_events(events: pl.DataFrame, spans: pl.DataFrame, rule: Enrollment, year: int) -> pl.DataFrame:
    """The events whose member is covered over the rule's window with at most the allowed gaps."""
    if events.is_empty():
        return events
    benefit = pl.all_horizontal([pl.col(BENEFIT_COLUMNS[b]).fill_null(True) for b in rule.benefits])
    covered = spans.filter(benefit).select("member_id", "enrollment_start_date", "enrollment_end_date")
    first, last = window_bounds(rule.over, year)
    w = events.select(*KEY, first.alias("w_start"), last.alias("w_end"))
    pieces = (
        w.join(covered, on="member_id", how="inner")
        .with_columns(
            pl.max_horizontal("enrollment_start_date", "w_start").alias("s"),
            pl.min_horizontal("enrollment_end_date", "w_end").alias("e"),
        )
        .filter(pl.col("s") <= pl.col("e"))
        .sort(*KEY, "s", "e")
        .with_columns(latest_before_in_run(pl.col("e"), KEY).alias("prev_end"))
        .with_columns(
            pl.when(pl.col("prev_end").is_null())
            .then((pl.col("s") - pl.col("w_start")).dt.total_days())
            .otherwise((pl.col("s") - pl.col("prev_end")).dt.total_days() - 1)
            .clip(lower_bound=0)
            .alias("gap_before")
        )
    )
    # the gaps are the positive gap_before values and the gap after the last covered day
    per_event = pieces.group_by(KEY).agg(
        (pl.col("gap_before") > 0).sum().alias("gaps"),
        pl.col("gap_before").max().alias("longest"),
        (pl.col("w_end").first() - pl.col("e").max()).dt.total_days().alias("gap_after"),
    )
    gaps = pl.col("gaps") + (pl.col("gap_after") > 0).cast(pl.UInt32)
    longest = pl.max_horizontal("longest", "gap_after")
    ok = per_event.filter((gaps <= rule.allowable_gaps) & (longest <= (rule.max_gap_days if rule.allowable_gaps else 0)))
    return events.join(ok.select(KEY), on=KEY, how="semi")


def enrolled_members(spans: pl.DataFrame, rule: Enrollment, year: int) -> pl.DataFrame:
    """member_id of every member the rule holds for, when its window is fixed (measurement-year dates)."""
    units = spans.select("member_id").unique().with_columns(pl.col("member_id").alias("event_id"))
    return enrolled_events(units, spans, rule, year).select("member_id")


def shared_enrolled_members(run: Any, rule: Enrollment) -> pl.DataFrame:
    """enrolled_members over every span, computed once per run: several measures ask the same (DSF-E, CDF, ...)."""
    key = ("continuously_enrolled", rule.model_dump_json())
    if key not in run.data.shared:
        run.data.shared[key] = enrolled_members(run.data.spans, rule, run.year)
    return run.data.shared[key]


@register_condition
class EnrolledCondition(ConditionKind):
    key = "continuously_enrolled"
    model = Enrollment
    cost = 2

    def dates_used(self, value: Enrollment) -> set[str]:
        return value.over.bases()

    def describe(self, value: Enrollment, year: int) -> str:
        gaps = "no gap" if not value.allowable_gaps else (
            f"at most {value.allowable_gaps} gap(s) of at most {value.max_gap_days} days")
        return f"continuously enrolled over {value.over.describe(year)} with {gaps}; benefits: {', '.join(value.benefits)}"

    def evaluate(self, events: pl.DataFrame, value: Enrollment, run: Any) -> Outcome:
        # the same window for every event: a property of the member, computed once for every member when the
        # events are of many members (several measures ask the same), else for the events' members only
        if not value.over.bases() and events.height * 4 >= run.data.members.height:
            return Outcome(events.join(shared_enrolled_members(run, value), on="member_id", how="semi"))
        return Outcome(enrolled_events(events, run.data.spans, value, run.year))
