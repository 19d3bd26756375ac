"""`readmission_chain`: follow readmissions and direct transfers; keep a chain's last discharge, or drop it."""

from __future__ import annotations

from typing import Any

import polars as pl
from pydantic import Field, field_validator

from bhmeasures.engine.exprs import KEY
from bhmeasures.kinds.base import StepKind, StepResult, register
from bhmeasures.kinds.conditions.where import claim_condition
from bhmeasures.kinds.events import EVENT_COLUMNS
from bhmeasures.spec.base import Predicate, StepModel


class ReadmissionChain(StepModel):
    """From each event of `from`, the next stay of `readmissions` admitted within `admitted_within_days`
    after its discharge is its readmission (or direct transfer), and so on. If every readmission of the
    chain meets `continue_when` (tested on the readmission's claim) the chain's last discharge is the event
    kept; otherwise the whole chain is dropped."""

    from_: str = Field(alias="from")
    readmissions: str
    admitted_within_days: list[int]
    continue_when: Predicate
    reason_superseded: str
    reason_dropped: str

    @field_validator("admitted_within_days")
    @classmethod
    def _pair(cls, v: list[int]) -> list[int]:
        if len(v) != 2 or v[0] > v[1] or v[0] < 0:
            msg = "admitted_within_days is [first, last] days after discharge, 0 <= first <= last"
            raise ValueError(msg)
        return v


def _lexically_after(left: tuple[str, ...], right: tuple[str, ...]) -> pl.Expr:
    """(left...) > (right...) compared column by column, as a tuple."""
    out = pl.lit(False)
    for lc, rc in reversed(list(zip(left, right, strict=True))):
        out = (pl.col(lc) > pl.col(rc)) | ((pl.col(lc) == pl.col(rc)) & out)
    return out


def readmission_chain(
    candidates: pl.DataFrame, readmissions: pl.DataFrame, first_day: int, last_day: int,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Resolve chains by pointer jumping. `readmissions` carries a boolean `continues`.

    Returns (the last discharge of each surviving chain, KEY + outcome 'superseded' | 'dropped').
    """
    cols = [c for c in EVENT_COLUMNS if c in candidates.columns]
    nodes = pl.concat([candidates.select(cols), readmissions.select(cols)]).unique(["source", *KEY], keep="first")
    order = ["start_date", "end_date", "event_id"]
    r = readmissions.select("member_id", *[pl.col(c).alias(f"r_{c}") for c in order], pl.col("continues").alias("r_continues"))
    links = nodes.select("member_id", *order).join(r, on="member_id").filter(
        (pl.col("r_start_date") - pl.col("end_date")).dt.total_days().is_between(first_day, last_day)
        & _lexically_after(("r_start_date", "r_end_date", "r_event_id"), ("start_date", "end_date", "event_id"))
    ).sort(*KEY, "r_start_date", "r_end_date", "r_event_id").group_by(KEY, maintain_order=True).first().select(
        *KEY, pl.col("r_event_id").alias("next_id"), pl.col("r_continues").alias("next_continues"))
    pending = nodes.select(KEY).join(links, on=KEY, how="left")
    resolved = pending.filter(pl.col("next_id").is_null()).select(
        *KEY, pl.col("event_id").alias("last_id"), pl.lit(False).alias("broken"))
    pending = pending.filter(pl.col("next_id").is_not_null())
    while pending.height:
        step = pending.join(resolved.rename({"event_id": "next_id", "last_id": "n_last", "broken": "n_broken"}),
                            on=["member_id", "next_id"], how="inner")
        if step.is_empty():  # cannot happen: links only point forward in time, so every chain ends
            msg = "readmission chain did not resolve"
            raise RuntimeError(msg)
        resolved = pl.concat([resolved, step.select(
            *KEY, pl.col("n_last").alias("last_id"), (~pl.col("next_continues") | pl.col("n_broken")).alias("broken"))])
        pending = pending.join(step.select(KEY), on=KEY, how="anti")
    outcome = candidates.select(KEY).join(resolved, on=KEY, how="left")
    kept_ids = outcome.filter(~pl.col("broken")).select("member_id", pl.col("last_id").alias("event_id")).unique()
    events = nodes.join(kept_ids, on=KEY, how="semi").with_columns(pl.col("end_date").alias("index_date"))
    dropped = outcome.filter(pl.col("broken") | (pl.col("last_id") != pl.col("event_id"))).select(
        *KEY, pl.when(pl.col("broken")).then(pl.lit("dropped")).otherwise(pl.lit("superseded")).alias("outcome"))
    return events, dropped


@register
class ReadmissionChainKind(StepKind):
    key = "readmission_chain"
    model = ReadmissionChain
    narrows = True

    def inputs(self, step: ReadmissionChain) -> list[str]:
        return [step.from_, step.readmissions]

    def predicates(self, step: ReadmissionChain) -> list[Predicate]:
        return [step.continue_when]

    def claim_conditions(self, step: ReadmissionChain) -> list[Predicate]:
        return [step.continue_when]

    def dates(self, step: ReadmissionChain, input_dates: Any) -> set[str]:
        return {"index_date", "start_date", "end_date"}

    def map_predicates(self, step: ReadmissionChain, fn: Any) -> ReadmissionChain:
        return step.model_copy(update={"continue_when": fn(step.continue_when)})

    def default_reason(self, name: str, step: ReadmissionChain, event_name: str) -> str:
        return step.reason_dropped

    def describe(self, node: Any, year: int) -> list[str]:
        s: ReadmissionChain = node.step
        a, b = s.admitted_within_days
        return [f"chains of '{s.from_}' and their readmissions in '{s.readmissions}' admitted {a} to {b} days after discharge",
                f"a chain whose readmissions all meet {s.continue_when.describe()} keeps its last discharge "
                f"(earlier ones: \"{s.reason_superseded}\"); any other chain is dropped (\"{s.reason_dropped}\")"]

    def evaluate(self, node: Any, run: Any) -> StepResult:
        s: ReadmissionChain = node.step
        source = run.events(s.from_)
        flags = list(dict.fromkeys(run.claim_flag(leaf) for leaf in s.continue_when.leaves()))
        readmits = run.with_claim_flags(run.events(s.readmissions), flags).with_columns(
            claim_condition(s.continue_when, run.claim_flag).alias("continues"))
        events, outcome = readmission_chain(source, readmits, *s.admitted_within_days)
        dropped = outcome.select(*KEY, pl.when(pl.col("outcome") == "dropped").then(pl.lit(s.reason_dropped))
                                 .otherwise(pl.lit(s.reason_superseded)).alias("reason"),
                                 pl.lit(None, dtype=pl.String).alias("removed_by"))
        return StepResult(events, dropped)
