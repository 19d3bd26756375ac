"""`where`: a condition on the event's claims; each leaf holds when any line of any of its claims meets it."""

from __future__ import annotations

from typing import Any

import polars as pl

from bhmeasures.kinds.conditions.base import ConditionKind, Outcome, register_condition
from bhmeasures.spec.base import Predicate


def claim_condition(p: Predicate, flag: Any) -> pl.Expr:
    """The condition over per-event claim flags; `flag(leaf)` names the column of a leaf."""
    if p.any_of is not None:
        return pl.any_horizontal([claim_condition(c, flag) for c in p.any_of])
    if p.all_of is not None:
        return pl.all_horizontal([claim_condition(c, flag) for c in p.all_of])
    if p.not_ is not None:
        return ~claim_condition(p.not_, flag)
    return pl.col(flag(p)).fill_null(False)


@register_condition
class WhereCondition(ConditionKind):
    key = "where"
    model = Predicate
    cost = 0

    def predicates(self, value: Predicate) -> list[Predicate]:
        return [value]

    def claim_conditions(self, value: Predicate) -> list[Predicate]:
        return [value]

    def map_predicates(self, value: Predicate, fn: Any) -> Predicate:
        return fn(value)

    def describe(self, value: Predicate, year: int) -> str:
        return f"its claim has {value.describe()}"

    def evaluate(self, events: pl.DataFrame, value: Predicate, run: Any) -> Outcome:
        flagged = run.with_claim_flags(events, list(dict.fromkeys(run.claim_flag(leaf) for leaf in value.leaves())))
        return Outcome(flagged.filter(claim_condition(value, run.claim_flag)).select(events.columns))
