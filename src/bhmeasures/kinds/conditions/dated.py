"""`dated`: the event's index date falls in a window."""

from __future__ import annotations

from typing import Any

import polars as pl

from bhmeasures.engine.exprs import window_bounds
from bhmeasures.kinds.conditions.base import ConditionKind, Outcome, register_condition
from bhmeasures.spec.base import WindowField
from bhmeasures.spec.dates import Window


@register_condition
class DatedCondition(ConditionKind):
    key = "dated"
    model = WindowField
    cost = 0

    def dates_used(self, value: Window) -> set[str]:
        return value.bases() | {"index_date"}

    def describe(self, value: Window, year: int) -> str:
        return f"index date in {value.describe(year)}"

    def evaluate(self, events: pl.DataFrame, value: Window, run: Any) -> Outcome:
        first, last = window_bounds(value, run.year)
        return Outcome(events.filter(pl.col("index_date").is_between(first, last)))
