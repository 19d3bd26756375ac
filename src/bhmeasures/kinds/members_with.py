"""`members_with`: members with at least N events dated in (or overlapping) a calendar window."""

from __future__ import annotations

from typing import Annotated, Any

import polars as pl
from pydantic import Field, StringConstraints, model_validator

from bhmeasures.engine.exprs import position_in_run, window_bounds
from bhmeasures.kinds.base import Problem, SpecView, StepKind, StepResult, register
from bhmeasures.spec.base import StepModel, WindowField


class MembersWith(StepModel):
    """`at_least: 2` with `distinct: [date]` asks for events on two different dates (SAA: two visits with a
    schizophrenia diagnosis). `distinct` may also name columns the events carry (value-set attributes):
    `[date, drug]` counts two drugs dispensed on one day as two events and one drug twice on a day as one.
    The member's evidence is the event that completes the count."""

    events: str | list[str]
    dated: WindowField | None = None
    overlapping: WindowField | None = None
    at_least: int = Field(default=1, ge=1)
    distinct: list[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]] = Field(default=["date"], min_length=1)

    @model_validator(mode="after")
    def _one_window(self) -> MembersWith:
        if (self.dated is None) == (self.overlapping is None):
            msg = "give exactly one of dated or overlapping"
            raise ValueError(msg)
        return self

    @property
    def window(self) -> Any:
        return self.dated if self.dated is not None else self.overlapping

    def names(self) -> list[str]:
        return [self.events] if isinstance(self.events, str) else list(self.events)


@register
class MembersWithKind(StepKind):
    key = "members_with"
    model = MembersWith
    produces = "members"

    def inputs(self, step: MembersWith) -> list[str]:
        return step.names()

    def check(self, step: MembersWith, view: SpecView) -> list[Problem]:
        if step.window.bases():
            return [(("dated" if step.dated is not None else "overlapping",),
                     "a set of members has no event dates to anchor a window on.", "Use measurement-year dates (MY-01-01).")]
        return []

    def default_reason(self, name: str, step: MembersWith, event_name: str) -> str:
        return f"member is in '{name}'"

    def describe(self, node: Any, year: int) -> list[str]:
        s: MembersWith = node.step
        how = "dated in" if s.dated is not None else "overlapping"
        keys = "on distinct dates" if s.distinct == ["date"] else f"distinct by {', '.join(s.distinct)}"
        count = "an event" if s.at_least == 1 else f"at least {s.at_least} events {keys}"
        names = " or ".join(f"'{n}'" for n in s.names())
        return [f"members with {count} of {names} {how} {s.window.describe(year)}"]

    def evaluate(self, node: Any, run: Any) -> StepResult:
        s: MembersWith = node.step
        frames = [run.events(n) for n in s.names()]
        attrs = [k for k in s.distinct if k not in ("date", "event")]

        def columns(f: pl.DataFrame) -> list[pl.Expr]:
            return [pl.col(c) if c in f.columns else pl.lit(None, dtype=pl.String).alias(c) for c in attrs]

        ev = pl.concat([f.select("member_id", "event_id", "claim_id", "start_date", "end_date", *columns(f)) for f in frames],
                       how="diagonal_relaxed")
        first, last = window_bounds(s.window, run.year)
        if s.dated is not None:
            ev = ev.filter(pl.col("start_date").is_between(first, last))
        else:  # any time in the window: an event (a hospice claim, say) that overlaps it counts
            ev = ev.filter((pl.col("start_date") <= last) & (pl.col("end_date").fill_null(pl.col("start_date")) >= first))
        keys = [{"date": "start_date", "event": "event_id"}.get(k, k) for k in s.distinct]
        if keys == ["start_date"] and s.at_least == 1:
            # the earliest date of each member, and its lowest claim: hashed per member, no sort of every event
            # (broad visit sets give hundreds of thousands)
            ev = ev.filter(pl.col("start_date") == pl.col("start_date").min().over("member_id"))
            ev = ev.group_by("member_id").agg(pl.col("claim_id").min(), pl.col("start_date").first())
        else:
            ev = ev.sort("member_id", "start_date", "claim_id").unique(["member_id", *keys], keep="first", maintain_order=True)
            ev = ev.filter(position_in_run(["member_id"]) == s.at_least - 1)
        return StepResult(ev.select("member_id", pl.col("claim_id").alias("evidence_claim_id"),
                                    pl.col("start_date").alias("evidence_date")))
