"""`enrolled_members`: members enrolled in a calendar window (on any day, or continuously with allowed gaps),
optionally only on eligibility spans whose columns have given values (e.g. `foster_care: true`)."""

from __future__ import annotations

from typing import Any

import polars as pl
from pydantic import Field

from bhmeasures.engine.exprs import window_bounds
from bhmeasures.kinds.base import Problem, SpecView, StepKind, StepResult, register
from bhmeasures.kinds.conditions.enrolled import BENEFIT_COLUMNS, Enrollment, enrolled_members, shared_enrolled_members
from bhmeasures.spec.base import Benefit, StepModel, WindowField

Scalar = str | int | bool


class EnrolledMembers(StepModel):
    over: WindowField
    continuously: bool = False
    allowable_gaps: int = Field(default=0, ge=0)
    max_gap_days: int = Field(default=0, ge=0)
    benefits: list[Benefit] = ["medical"]
    spans_where: dict[str, Scalar | list[Scalar]] = {}


def matching_spans(spans: pl.DataFrame, where: dict[str, Any]) -> pl.DataFrame:
    """Eligibility spans whose columns hold the given values (a missing column matches nothing)."""
    out = spans
    for column, want in where.items():
        if column not in out.columns:
            return out.clear()
        values = want if isinstance(want, list) else [want]
        col = pl.col(column)
        if out.schema[column] == pl.String:
            col, values = col.str.to_lowercase(), [str(v).lower() for v in values]
        out = out.filter(col.is_in(values))
    return out


@register
class EnrolledMembersKind(StepKind):
    key = "enrolled_members"
    model = EnrolledMembers
    produces = "members"
    table = "eligibility"

    def check(self, step: EnrolledMembers, view: SpecView) -> list[Problem]:
        if step.over.bases():
            return [(("over",), "a set of members needs a calendar window.", "Use measurement-year dates (MY-01-01).")]
        return []

    def default_reason(self, name: str, step: EnrolledMembers, event_name: str) -> str:
        return f"member is in '{name}'"

    def describe(self, node: Any, year: int) -> list[str]:
        s: EnrolledMembers = node.step
        how = "continuously" if s.continuously else "on at least one day"
        if s.continuously and s.allowable_gaps:
            how += f" (at most {s.allowable_gaps} gap(s) of at most {s.max_gap_days} days)"
        where = f"; spans where {s.spans_where}" if s.spans_where else ""
        return [f"members enrolled {how} in {s.over.describe(year)}; benefits: {', '.join(s.benefits)}{where}"]

    def evaluate(self, node: Any, run: Any) -> StepResult:
        s: EnrolledMembers = node.step
        spans = matching_spans(run.data.spans, s.spans_where)
        benefit = pl.all_horizontal([pl.col(BENEFIT_COLUMNS[b]).fill_null(True) for b in s.benefits])
        spans = spans.filter(benefit)
        first, last = window_bounds(s.over, run.year)
        if not s.continuously:
            hit = spans.filter((pl.col("enrollment_start_date") <= last) & (pl.col("enrollment_end_date") >= first))
            return StepResult(hit.select("member_id").unique(maintain_order=True).sort("member_id"))
        rule = Enrollment(over=s.over, allowable_gaps=s.allowable_gaps, max_gap_days=s.max_gap_days, benefits=s.benefits)
        ok = shared_enrolled_members(run, rule) if s.spans_where is None else enrolled_members(spans, rule, run.year)
        return StepResult(ok.sort("member_id"))
