"""`first_per_member`: one unit per member, the earliest (or latest) event, keeping its event id."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from bhmeasures.kinds.base import StepKind, StepResult, dropped_frame, register
from bhmeasures.spec.base import StepModel


class FirstPerMember(StepModel):
    """The member's unit is its earliest event by index date (ties: lowest event id), or with
    `keep: latest` its latest; it keeps the event id, so detail rows stay traceable to a claim (AMM's
    index prescription start date, SAA's first dispensing, a member's qualifying visit)."""

    from_: str = Field(alias="from")
    keep: Literal["earliest", "latest"] = "earliest"


@register
class FirstPerMemberKind(StepKind):
    key = "first_per_member"
    model = FirstPerMember
    narrows = True

    def inputs(self, step: FirstPerMember) -> list[str]:
        return [step.from_]

    def dates(self, step: FirstPerMember, input_dates: Any) -> set[str]:
        return input_dates(step.from_)

    def default_reason(self, name: str, step: FirstPerMember, event_name: str) -> str:
        return f"not the member's {'first' if step.keep == 'earliest' else 'last'} {event_name}"

    def describe(self, node: Any, year: int) -> list[str]:
        return [f"one unit per member: the {node.step.keep} event of '{node.step.from_}' by index date"]

    def evaluate(self, node: Any, run: Any) -> StepResult:
        source = run.events(node.step.from_)
        latest = node.step.keep == "latest"
        kept = source.sort("member_id", "index_date", "event_id", descending=[False, latest, latest]).group_by(
            "member_id", maintain_order=True).first()
        return StepResult(kept, dropped_frame(source, kept, node.reason))
