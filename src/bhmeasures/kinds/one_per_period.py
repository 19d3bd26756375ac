"""`one_per_period`: per member, the first event, then the next on or after `days` days later, and so on."""

from __future__ import annotations

from typing import Any

import polars as pl
from pydantic import Field

from bhmeasures.engine.exprs import KEY
from bhmeasures.kinds.base import StepKind, StepResult, dropped_frame, register
from bhmeasures.spec.base import StepModel


class OnePerPeriod(StepModel):
    """`days: 31` keeps one ED visit per 31-day period (FUA, FUM); `days: 1` one event per member per day,
    whose `claims` then list the claims of every event of that day (IET: one episode per day, in every
    cohort its claims qualify it for)."""

    from_: str = Field(alias="from")
    days: int = Field(gt=0)


def one_per_period(events: pl.DataFrame, days: int) -> pl.DataFrame:
    remaining = events.sort("member_id", "index_date", "event_id")
    kept: list[pl.DataFrame] = []
    while remaining.height:
        first = remaining.group_by("member_id", maintain_order=True).first()
        kept.append(first)
        remaining = remaining.join(first.select("member_id", pl.col("index_date").alias("_kept")), on="member_id").filter(
            pl.col("index_date") >= pl.col("_kept") + pl.duration(days=days)).drop("_kept").sort("member_id", "index_date", "event_id")
    return pl.concat(kept) if kept else events.clear()


@register
class OnePerPeriodKind(StepKind):
    key = "one_per_period"
    model = OnePerPeriod
    narrows = True

    def inputs(self, step: OnePerPeriod) -> list[str]:
        return [step.from_]

    def dates(self, step: OnePerPeriod, input_dates: Any) -> set[str]:
        return input_dates(step.from_)

    def default_reason(self, name: str, step: OnePerPeriod, event_name: str) -> str:
        if step.days == 1:
            return f"another {event_name} of the member on the same day is counted"
        return f"within {step.days - 1} days after an earlier counted {event_name}"

    def describe(self, node: Any, year: int) -> list[str]:
        d = node.step.days
        if d == 1:
            return [f"one event per member per day, from '{node.step.from_}' (the first by event id; claims of the day combined)"]
        return [f"per member, the first event of '{node.step.from_}', then the next on or after {d} days later, and so on"]

    def evaluate(self, node: Any, run: Any) -> StepResult:
        source = run.events(node.step.from_)
        if node.step.days == 1:
            # the kept event's conditions see every claim of the day (cohorts); only its own claims are
            # never its own follow-up (another same-day visit can still initiate treatment)
            day = source.sort(*KEY).group_by("member_id", "index_date", maintain_order=True)
            claims = day.agg(pl.col("claims").explode().unique(maintain_order=True).alias("_all"))
            kept = day.first().join(claims, on=["member_id", "index_date"])
            own = pl.col("own_claims") if "own_claims" in source.columns else pl.col("claims")
            kept = kept.with_columns(own.alias("own_claims"), pl.col("_all").alias("claims")).drop("_all")
            kept = kept.select(*source.columns, *([] if "own_claims" in source.columns else ["own_claims"]))
        else:
            kept = one_per_period(source, node.step.days)
        return StepResult(kept, dropped_frame(source, kept, node.reason))
