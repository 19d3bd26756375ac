"""`filter`: the events of `from` that meet every condition listed; `reason` says why the others fail."""

from __future__ import annotations

from typing import Any

import polars as pl
from pydantic import Field, create_model

from bhmeasures.engine.exprs import KEY
from bhmeasures.kinds.base import Problem, SpecView, StepKind, StepResult, dropped_frame, register
from bhmeasures.kinds.conditions import logic
from bhmeasures.spec.base import Predicate

Filter: Any = create_model(
    "Filter", __base__=logic.Conditions,
    __doc__="""The events of `from` that meet every condition given.

    `evidence_as: NAME` keeps the filter's evidence (from whichever condition or route found it; the event
    itself when none did) as NAME_date, NAME_end_date, NAME_claim_id and NAME_kind, for later windows and
    conditions (IET's engagement window starts after the initiation event).""",
    from_=(str, Field(alias="from")),
    reason=(str | None, None),
    evidence_as=(str | None, Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")),
)


@register
class FilterKind(StepKind):
    key = "filter"
    model = Filter
    narrows = True
    summary = "the events of `from` that meet every condition"

    def inputs(self, step: Any) -> list[str]:
        refs = [step.from_]
        for _, kind, value in logic.walk(step):
            refs.extend(kind.inputs(value))
        return list(dict.fromkeys(refs))

    def member_inputs(self, step: Any) -> list[str]:
        return [r for _, kind, value in logic.walk(step) for r in kind.member_inputs(value)]

    def either_inputs(self, step: Any) -> list[str]:
        return [r for _, kind, value in logic.walk(step) for r in kind.either_inputs(value)]

    def predicates(self, step: Any) -> list[Predicate]:
        return [p for _, kind, value in logic.walk(step) for p in kind.predicates(value)]

    def claim_conditions(self, step: Any) -> list[Predicate]:
        return [p for _, kind, value in logic.walk(step) for p in kind.claim_conditions(value)]

    def dates(self, step: Any, input_dates: Any) -> set[str]:
        out = set(input_dates(step.from_))
        for _, kind, value in logic.walk(step):
            out |= kind.dates_added(value)
            for ref in kind.dates_imported(value):
                out |= _named(input_dates(ref))
        if step.evidence_as:
            out |= {f"{step.evidence_as}_date", f"{step.evidence_as}_end_date"}
        return out

    def check(self, step: Any, view: SpecView) -> list[Problem]:
        problems: list[Problem] = []
        available = view.dates(step.from_)
        added = {d for _, k, v in logic.walk(step) for d in k.dates_added(v)}
        added |= {d for _, k, v in logic.walk(step) for ref in k.dates_imported(v) for d in _named(view.dates(ref))}
        for key, kind, value in logic.walk(step):
            missing = kind.dates_used(value) - available - added
            for d in sorted(missing):
                problems.append(((key,), f"date '{d}' is not carried by the events of '{step.from_}'.",
                                 f"Dates there: {', '.join(sorted(available)) or 'none'}."))
            problems.extend(kind.check(value, view))
        return problems

    def map_predicates(self, step: Any, fn: Any) -> Any:
        return logic.map_predicates(step, fn)

    def default_reason(self, name: str, step: Any, event_name: str) -> str:
        return f"does not meet '{name}'"

    def describe(self, node: Any, year: int) -> list[str]:
        out = [f"events of '{node.step.from_}' that meet:"]
        out += [f"  {line}" for line in logic.describe(node.step, year)]
        if node.step.evidence_as:
            out.append(f"evidence kept as {node.step.evidence_as}_date / _end_date / _claim_id / _kind")
        return out

    def evaluate(self, node: Any, run: Any) -> StepResult:
        step = node.step
        source = run.events(step.from_)
        # evidence named by this filter is what this filter found (the event itself when nothing), never an earlier step's
        start = source.drop([c for c in logic.EVIDENCE if c in source.columns]) if step.evidence_as else source
        outcome = logic.evaluate(step, start, run)
        kept = outcome.kept
        if step.evidence_as:
            kept = _name_evidence(kept, step.evidence_as, step.from_)
        dropped = dropped_frame(source, kept, node.reason)
        if outcome.removed is not None and dropped.height:
            # removed by a set it is in: that set's reason, and which set (an exclusion when listed as one)
            dropped = dropped.join(outcome.removed.rename({"reason": "_r", "removed_by": "_by"}), on=KEY, how="left").select(
                *KEY, pl.coalesce("_r", "reason").alias("reason"), pl.coalesce("_by", "removed_by").alias("removed_by"))
        return StepResult(kept, dropped)


def _named(dates: set[str]) -> set[str]:
    """The dates `in:` brings along: named evidence, not the set's own event dates."""
    return {d for d in dates if d not in ("index_date", "start_date", "end_date")}


def _name_evidence(events: pl.DataFrame, name: str, own_kind: str) -> pl.DataFrame:
    def col(c: str, default: pl.Expr) -> pl.Expr:
        return pl.coalesce(pl.col(c), default) if c in events.columns else default

    has = pl.col("evidence_claim_id").is_not_null() if "evidence_claim_id" in events.columns else pl.lit(False)
    return events.with_columns(
        col("evidence_claim_id", pl.col("claim_id")).alias(f"{name}_claim_id"),
        col("evidence_date", pl.col("index_date")).alias(f"{name}_date"),
        pl.when(has).then(col("evidence_end_date", pl.col("index_date"))).otherwise(pl.col("index_date")).alias(f"{name}_end_date"),
        pl.when(has).then(col("evidence_kind", pl.lit(own_kind))).otherwise(pl.lit(own_kind)).alias(f"{name}_kind"),
    )
