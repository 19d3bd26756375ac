"""`member_units`: one event per member of a set of members (the unit of member-based measures)."""

from __future__ import annotations

from typing import Any

import polars as pl
from pydantic import Field

from bhmeasures.engine.exprs import date_of
from bhmeasures.kinds.base import Problem, SpecView, StepKind, StepResult, register
from bhmeasures.kinds.events import EVENT_SCHEMA
from bhmeasures.spec.base import StepModel
from bhmeasures.spec.dates import parse_date_expr


class MemberUnits(StepModel):
    """Each unit is named by its member id and dated on `index_date` (a measurement-year date); it carries
    the member set's evidence, if any."""

    members: str
    index_date: str = Field(default="MY-12-31")


@register
class MemberUnitsKind(StepKind):
    key = "member_units"
    units_without_claims = True
    model = MemberUnits

    def inputs(self, step: MemberUnits) -> list[str]:
        return [step.members]

    def member_inputs(self, step: MemberUnits) -> list[str]:
        return [step.members]

    def dates(self, step: MemberUnits, input_dates: Any) -> set[str]:
        return {"index_date", "start_date", "end_date"}

    def check(self, step: MemberUnits, view: SpecView) -> list[Problem]:
        try:
            e = parse_date_expr(step.index_date)
        except ValueError as err:
            return [(("index_date",), str(err), None)]
        if not e.is_calendar:
            return [(("index_date",), "a member unit is dated on a measurement-year date.", "For example MY-12-31.")]
        return []

    def describe(self, node: Any, year: int) -> list[str]:
        d = parse_date_expr(node.step.index_date).resolve(year)
        return [f"one unit per member of '{node.step.members}', dated {d.isoformat()}"]

    def evaluate(self, node: Any, run: Any) -> StepResult:
        members = run.get(node.step.members).frame
        day = date_of(parse_date_expr(node.step.index_date), run.year)
        extra = [c for c in members.columns if c != "member_id"]
        # a unit is the member: "M1:member" stands for it where a claim would (evidence of a numerator it meets itself)
        ident = pl.col("member_id") + ":member"
        units = members.select(
            pl.lit("eligibility").alias("source"), "member_id", pl.col("member_id").alias("event_id"),
            ident.alias("claim_id"), pl.concat_list(ident).alias("claims"),
            day.alias("start_date"), day.alias("end_date"), day.alias("index_date"),
            pl.lit(None, dtype=pl.String).alias("provider"), pl.lit(1, dtype=pl.Int64).alias("units"), *extra,
        )
        return StepResult(units.cast(EVENT_SCHEMA))
