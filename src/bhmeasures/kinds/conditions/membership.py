"""`in` and `not_in`: membership of the event (for a set of events) or of its member (for a set of members).

`in: NAME` also brings the evidence NAME found (its `evidence_*` and named evidence columns) onto the
events it keeps: a numerator written as `in: Episodes Initiated` shows how they were initiated.
`not_in: [A, B]` removes events in any of the sets; an event removed this way gets the reason of the first
set it is in (its `reason:`), and counts as a denominator exclusion when that set is listed under
`denominator_exclusions`. So exclusions are named for what they exclude (Members In Hospice), not for the
filter that keeps the others.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from bhmeasures.engine.exprs import KEY
from bhmeasures.kinds.conditions.base import ConditionKind, Outcome, register_condition
from bhmeasures.kinds.events import EVENT_COLUMNS


def _set_keys(run: Any, name: str) -> list[str]:
    return list(KEY) if run.produces(name) == "events" else ["member_id"]


@register_condition
class InCondition(ConditionKind):
    key = "in"
    model = str
    gives_evidence = True
    cost = 1

    def either_inputs(self, value: str) -> list[str]:
        return [value]

    def inputs(self, value: str) -> list[str]:
        return [value]

    def dates_imported(self, value: str) -> list[str]:
        return [value]

    def describe(self, value: str, year: int) -> str:
        return f"is in '{value}'"

    def evaluate(self, events: pl.DataFrame, value: str, run: Any) -> Outcome:
        keys = _set_keys(run, value)
        other = run.get(value).frame
        carried = [c for c in other.columns if c not in keys and c not in EVENT_COLUMNS and c not in ("kind", "unit")]
        right = other.select(*keys, *carried).unique(keys, keep="first", maintain_order=True)
        base = events.drop([c for c in carried if c in events.columns])
        return Outcome(base.join(right, on=keys, how="inner"))


@register_condition
class NotInCondition(ConditionKind):
    key = "not_in"
    model = list[str]
    cost = 10  # last among a filter's conditions: an event failing another condition gets the filter's reason

    def either_inputs(self, value: list[str]) -> list[str]:
        return list(value)

    def inputs(self, value: list[str]) -> list[str]:
        return list(value)

    def describe(self, value: list[str], year: int) -> str:
        return "is not in " + ", ".join(f"'{v}'" for v in value)

    def evaluate(self, events: pl.DataFrame, value: list[str], run: Any) -> Outcome:
        kept = events
        removed = []
        for name in value:
            keys = _set_keys(run, name)
            other = run.get(name).frame.select(keys).unique()
            hit = kept.join(other, on=keys, how="semi")
            if hit.height:
                removed.append(hit.select(*KEY, pl.lit(run.reason_of(name)).alias("reason"), pl.lit(name).alias("removed_by")))
                kept = kept.join(other, on=keys, how="anti")
        out = pl.concat(removed) if removed else None
        return Outcome(kept, out)
