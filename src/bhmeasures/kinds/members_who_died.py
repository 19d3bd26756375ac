"""`members_who_died`: members whose death date (eligibility) falls in a calendar window."""

from __future__ import annotations

from typing import Any

import polars as pl

from bhmeasures.engine.exprs import window_bounds
from bhmeasures.kinds.base import Problem, SpecView, StepKind, StepResult, register
from bhmeasures.spec.base import StepModel, WindowField


class MembersWhoDied(StepModel):
    dated: WindowField


@register
class MembersWhoDiedKind(StepKind):
    key = "members_who_died"
    model = MembersWhoDied
    produces = "members"
    table = "eligibility"

    def check(self, step: MembersWhoDied, view: SpecView) -> list[Problem]:
        if step.dated.bases():
            return [(("dated",), "a set of members has no event dates to anchor a window on.",
                     "Use measurement-year dates (MY-01-01).")]
        return []

    def default_reason(self, name: str, step: MembersWhoDied, event_name: str) -> str:
        return "member died"

    def describe(self, node: Any, year: int) -> list[str]:
        return [f"members whose death date is in {node.step.dated.describe(year)}"]

    def evaluate(self, node: Any, run: Any) -> StepResult:
        first, last = window_bounds(node.step.dated, run.year)
        died = run.data.members.filter(pl.col("death_date").is_between(first, last))
        return StepResult(died.select("member_id").unique())
