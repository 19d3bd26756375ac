"""`union`: the events of several defines, each tagged with the define it came from (`kind`)."""

from __future__ import annotations

from typing import Any

import polars as pl
from pydantic import Field, model_validator

from bhmeasures.engine.exprs import KEY
from bhmeasures.kinds.base import StepKind, StepResult, register
from bhmeasures.spec.base import StepModel


class Union(StepModel):
    """An event in several of the defines appears once (the first listed wins). Each keeps `kind`, the
    define it came from, so counts can tell a visit from a medication (`distinct: [date, kind]`)."""

    of: list[str] = Field(min_length=2)

    @model_validator(mode="before")
    @classmethod
    def _list_form(cls, data: Any) -> Any:
        return {"of": data} if isinstance(data, list) else data  # `union: [A, B]` is short for `union: {of: [A, B]}`


@register
class UnionKind(StepKind):
    key = "union"
    model = Union
    summary = "the events of several defines"

    def inputs(self, step: Union) -> list[str]:
        return list(step.of)

    def dates(self, step: Union, input_dates: Any) -> set[str]:
        sets = [input_dates(n) for n in step.of]
        return set.intersection(*sets) if sets else set()

    def describe(self, node: Any, year: int) -> list[str]:
        return ["the events of " + ", ".join(f"'{n}'" for n in node.step.of) + " (each tagged with its define as kind)"]

    def evaluate(self, node: Any, run: Any) -> StepResult:
        frames = []
        for name in node.step.of:
            f = run.events(name)
            frames.append(f.with_columns((pl.col("kind") if "kind" in f.columns else pl.lit(name)).alias("kind")))
        both = pl.concat(frames, how="diagonal_relaxed")
        return StepResult(both.unique(["source", *KEY], keep="first", maintain_order=True))
