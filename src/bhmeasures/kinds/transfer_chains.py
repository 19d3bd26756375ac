"""`transfer_chains`: stays joined across direct transfers into one event, from the first admission to the
last discharge."""

from __future__ import annotations

from typing import Any

import polars as pl
from pydantic import Field

from bhmeasures.engine.exprs import latest_before_in_run, sum_in_run
from bhmeasures.kinds.base import StepKind, StepResult, register
from bhmeasures.kinds.events import EVENT_SCHEMA
from bhmeasures.spec.base import StepModel


class TransferChains(StepModel):
    """A stay admitted within `within_days` after the previous discharge (a direct transfer: June 1 to June 1
    or June 2) continues it. The chain is named by its last stay and dated on its last discharge; its claim
    (the evidence when it is found from its admission date) is the admitting stay's, and it carries the
    claims of all its stays."""

    from_: str = Field(alias="from")
    within_days: int = Field(default=1, ge=0)


def stay_chains(stays: pl.DataFrame, within: int) -> pl.DataFrame:
    """Per chain: member_id, chain, the stays' event ids and claims (in order), last stay's id, claim and
    provider, first admission and last discharge."""
    s = stays.sort("member_id", "start_date", "end_date", "event_id")
    reach = latest_before_in_run(pl.col("end_date"), ["member_id"])
    s = s.with_columns(sum_in_run(reach.is_null() | ((pl.col("start_date") - reach).dt.total_days() > within),
                                  ["member_id"]).alias("chain"))
    return s.group_by("member_id", "chain", maintain_order=True).agg(
        pl.col("event_id").alias("stay_ids"), pl.col("claims").alias("stay_claims"),
        pl.col("event_id").last().alias("last_id"), pl.col("claim_id").last().alias("last_claim"),
        pl.col("claim_id").first().alias("first_claim"),
        pl.col("provider").last().alias("provider"),
        pl.col("start_date").min().alias("admission_date"), pl.col("end_date").max().alias("discharge_date"),
    )


@register
class TransferChainsKind(StepKind):
    key = "transfer_chains"
    model = TransferChains
    summary = "stays joined across direct transfers"

    def inputs(self, step: TransferChains) -> list[str]:
        return [step.from_]

    def dates(self, step: Any, input_dates: Any) -> set[str]:
        return {"index_date", "start_date", "end_date"}

    def describe(self, node: Any, year: int) -> list[str]:
        return [f"stays of '{node.step.from_}' admitted within {node.step.within_days} day(s) after the previous "
                "discharge are one chain: first admission (start_date) to last discharge (index_date), with every "
                "stay's claims"]

    def evaluate(self, node: Any, run: Any) -> StepResult:
        chains = stay_chains(run.events(node.step.from_), node.step.within_days)
        events = chains.select(
            pl.lit("medical_claim").alias("source"), "member_id", pl.col("last_id").alias("event_id"),
            pl.col("first_claim").alias("claim_id"), pl.col("stay_claims").list.eval(pl.element().explode()).alias("claims"),
            pl.col("admission_date").alias("start_date"), pl.col("discharge_date").alias("end_date"),
            pl.col("discharge_date").alias("index_date"), "provider", pl.lit(1, dtype=pl.Int64).alias("units"),
        )
        return StepResult(events.cast(EVENT_SCHEMA))
