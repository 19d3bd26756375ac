"""`enrollment_starts`: events at the start of each enrollment (contiguous eligibility spans joined), on spans
whose columns hold given values (a foster child's start of foster-care eligibility)."""

from __future__ import annotations

from typing import Any

import polars as pl

from bhmeasures.engine.exprs import latest_before_in_run, sum_in_run
from bhmeasures.kinds.base import StepKind, StepResult, register
from bhmeasures.kinds.enrolled_members import Scalar, matching_spans
from bhmeasures.kinds.events import EVENT_SCHEMA
from bhmeasures.spec.base import StepModel


class EnrollmentStarts(StepModel):
    """Spans that touch or overlap (the next starts on or before the day after the last ends) are one
    enrollment; its first day is the event's index date and it ends with the last span."""

    spans_where: dict[str, Scalar | list[Scalar]] = {}


@register
class EnrollmentStartsKind(StepKind):
    key = "enrollment_starts"
    units_without_claims = True
    model = EnrollmentStarts
    table = "eligibility"

    def dates(self, step: Any, input_dates: Any) -> set[str]:
        return {"index_date", "start_date", "end_date"}

    def describe(self, node: Any, year: int) -> list[str]:
        where = f" whose spans have {node.step.spans_where}" if node.step.spans_where else ""
        return [f"the first day of each continuous enrollment{where} (index_date), through its last day (end_date)"]

    def evaluate(self, node: Any, run: Any) -> StepResult:
        spans = matching_spans(run.data.spans, node.step.spans_where).select(
            "member_id", "enrollment_start_date", "enrollment_end_date").sort("member_id", "enrollment_start_date")
        reach = latest_before_in_run(pl.col("enrollment_end_date"), ["member_id"])
        starts = spans.with_columns(
            sum_in_run(reach.is_null() | (pl.col("enrollment_start_date") > reach + pl.duration(days=1)), ["member_id"])
            .alias("_n"))
        runs = starts.group_by("member_id", "_n").agg(pl.col("enrollment_start_date").min().alias("start_date"),
                                                      pl.col("enrollment_end_date").max().alias("end_date"))
        ident = pl.col("member_id") + ":enrolled:" + pl.col("start_date").cast(pl.String)
        events = runs.select(
            pl.lit("eligibility").alias("source"), "member_id", ident.alias("event_id"), ident.alias("claim_id"),
            pl.concat_list(ident).alias("claims"), "start_date", "end_date", pl.col("start_date").alias("index_date"),
            pl.lit(None, dtype=pl.String).alias("provider"), pl.lit(1, dtype=pl.Int64).alias("units"),
        ).sort("member_id", "index_date")
        return StepResult(events.cast(EVENT_SCHEMA))
