"""`dispensings`: pharmacy fills that meet a condition, each covering its dispensing date through its days supply."""

from __future__ import annotations

from typing import Any

import polars as pl
from pydantic import Field

from bhmeasures.engine.exprs import position_in_run
from bhmeasures.kinds.base import SourceKind, StepResult, describe_attributes, register
from bhmeasures.kinds.events import EVENT_SCHEMA, empty_events
from bhmeasures.spec.base import AttributeRef, Predicate, StepModel


class Dispensings(StepModel):
    """One event per fill of a code in the condition, dated on the dispensing date and covering days supply.

    `attributes` copies per-code attributes of value sets onto the events, as `column: VALUE SET.attribute`
    (e.g. `drug: Antipsychotic Medications.drug`, which the days-covered arithmetic uses for "same drug").
    `covers_days_from: VALUE SET.days_supply` makes a fill of a code with that attribute cover that many
    days, whatever the claim's days supply says (a long-acting injection covers its list's days supply);
    fills of codes without it keep the claim's.
    """

    where: Predicate
    attributes: dict[str, AttributeRef] = Field(default_factory=dict)
    covers_days_from: AttributeRef | None = None


@register
class DispensingsKind(SourceKind):
    key = "dispensings"
    model = Dispensings
    table = "pharmacy_claim"
    summary = "pharmacy fills that meet the condition, covering the dispensing date through days supply"

    def describe(self, node: Any, year: int) -> list[str]:
        s: Dispensings = node.step
        out = ["pharmacy fills where", *s.where.describe_lines("  "),
               "one event per fill, from the dispensing date (index_date) through days supply (end_date)"]
        return out + describe_attributes(s.attributes, s.covers_days_from)

    def evaluate(self, node: Any, run: Any) -> StepResult:
        s: Dispensings = node.step
        rx = run.data.rx
        if rx.is_empty():
            return StepResult(empty_events())
        key = run.source_column(s.where)
        # rows of one claim are numbered in a fixed order, so event ids never depend on the order of the file
        df = rx.filter(pl.col(key)).sort("member_id", "claim_id", "dispensing_date", "ndc_code", "days_supply", nulls_last=True)
        supply = pl.col("days_supply").cast(pl.Int64)
        if s.covers_days_from:
            supply = pl.coalesce(run.attribute(s.covers_days_from, pl.col("ndc_code")).cast(pl.Int64, strict=False), supply)
        end = pl.col("dispensing_date") + pl.duration(days=pl.max_horizontal(supply.fill_null(1), 1) - 1)
        nth = position_in_run(("member_id", "claim_id"))
        events = df.select(
            pl.lit("pharmacy_claim").alias("source"),
            "member_id",
            (pl.col("claim_id") + pl.when(nth > 0).then(":" + nth.cast(pl.String)).otherwise(pl.lit(""))).alias("event_id"),
            "claim_id",
            pl.concat_list("claim_id").alias("claims"),
            pl.col("dispensing_date").alias("start_date"),
            end.alias("end_date"),
            pl.col("dispensing_date").alias("index_date"),
            pl.lit(None, dtype=pl.String).alias("provider"),
            pl.lit(1, dtype=pl.Int64).alias("units"),
            supply.alias("days_supply"),
            *[run.attribute(ref, pl.col("ndc_code")).alias(col) for col, ref in s.attributes.items()],
        )
        return StepResult(events.cast({k: v for k, v in EVENT_SCHEMA.items()}))
