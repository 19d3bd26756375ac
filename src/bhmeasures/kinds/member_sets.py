"""`members`: sets of members combined: union, intersection, or the first minus the others."""

from __future__ import annotations

from typing import Any

import polars as pl
from pydantic import Field, model_validator

from bhmeasures.kinds.base import StepKind, StepResult, register
from bhmeasures.spec.base import StepModel, exactly_one


class MemberSets(StepModel):
    union: list[str] | None = Field(default=None, min_length=2)
    intersection: list[str] | None = Field(default=None, min_length=2)
    difference: list[str] | None = Field(default=None, min_length=2)

    @model_validator(mode="after")
    def _one_operation(self) -> MemberSets:
        exactly_one(self, ("union", "intersection", "difference"), "a member set operation")
        return self

    @property
    def operation(self) -> str:
        return next(k for k in ("union", "intersection", "difference") if getattr(self, k) is not None)

    def names(self) -> list[str]:
        return list(getattr(self, self.operation))


@register
class MemberSetsKind(StepKind):
    key = "members"
    model = MemberSets
    produces = "members"

    def inputs(self, step: MemberSets) -> list[str]:
        return step.names()

    def member_inputs(self, step: MemberSets) -> list[str]:
        return step.names()

    def default_reason(self, name: str, step: MemberSets, event_name: str) -> str:
        return f"member is in '{name}'"

    def describe(self, node: Any, year: int) -> list[str]:
        s: MemberSets = node.step
        names = ", ".join(f"'{n}'" for n in s.names())
        text = {"union": "members in any of", "intersection": "members in all of",
                "difference": "members in the first and none of the others of"}[s.operation]
        return [f"{text} {names}"]

    def evaluate(self, node: Any, run: Any) -> StepResult:
        s: MemberSets = node.step
        frames = [run.get(n).frame for n in s.names()]
        if s.operation == "union":
            out = pl.concat(frames, how="diagonal_relaxed").unique("member_id", keep="first", maintain_order=True)
        elif s.operation == "intersection":
            out = frames[0]
            for f in frames[1:]:
                out = out.join(f.select("member_id"), on="member_id", how="semi")
        else:
            out = frames[0]
            for f in frames[1:]:
                out = out.join(f.select("member_id"), on="member_id", how="anti")
        return StepResult(out)
