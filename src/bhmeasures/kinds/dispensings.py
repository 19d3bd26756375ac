"""`dispensings`: pharmacy fills that meet a condition, each covering its dispensing date through its days supply."""

from __future__ import annotations

from typing import Any

import polars as pl
from pydantic import field_validator

from bhmeasures.engine.exprs import position_in_run
from bhmeasures.kinds.base import StepKind, StepResult, register
from bhmeasures.kinds.events import EVENT_SCHEMA, empty_events
from bhmeasures.spec.base import Predicate, StepModel


def parse_attribute_ref(ref: str) -> tuple[str, str]:
    """'Antipsychotic Medications.drug' -> ('Antipsychotic Medications', 'drug')."""
    value_set, sep, attribute = ref.rpartition(".")
    if not sep or not value_set.strip() or not attribute.strip():
        msg = f"'{ref}' is not VALUE SET.attribute (e.g. 'Antipsychotic Medications.drug')"
        raise ValueError(msg)
    return value_set.strip(), attribute.strip()


class Dispensings(StepModel):
    """One event per fill of a code in the condition, dated on the dispensing date and covering days supply.

    `attributes` copies per-code attributes of value sets onto the events, as `column: VALUE SET.attribute`
    (e.g. `drug: Antipsychotic Medications.drug`, which the days-covered arithmetic uses for "same drug").
    """

    where: Predicate
    attributes: dict[str, str] = {}

    @field_validator("attributes")
    @classmethod
    def _refs(cls, v: dict[str, str]) -> dict[str, str]:
        for ref in v.values():
            parse_attribute_ref(ref)
        return v


@register
class DispensingsKind(StepKind):
    key = "dispensings"
    model = Dispensings
    table = "pharmacy_claim"
    summary = "pharmacy fills that meet the condition, covering the dispensing date through days supply"

    def predicates(self, step: Dispensings) -> list[Predicate]:
        return [step.where]

    def line_conditions(self, step: Dispensings) -> list[Predicate]:
        return [step.where]

    def dates(self, step: Any, input_dates: Any) -> set[str]:
        return {"index_date", "start_date", "end_date"}

    def map_predicates(self, step: Dispensings, fn: Any) -> Dispensings:
        return step.model_copy(update={"where": fn(step.where)})

    def attribute_sets(self, step: Dispensings) -> list[str]:
        return [parse_attribute_ref(r)[0] for r in step.attributes.values()]

    def describe(self, node: Any, year: int) -> list[str]:
        s: Dispensings = node.step
        out = ["pharmacy fills where", *s.where.describe_lines("  "),
               "one event per fill, from the dispensing date (index_date) through days supply (end_date)"]
        out += [f"carries {col} = attribute '{ref}'" for col, ref in s.attributes.items()]
        return out

    def evaluate(self, node: Any, run: Any) -> StepResult:
        s: Dispensings = node.step
        rx = run.data.rx
        if rx.is_empty():
            return StepResult(empty_events())
        key = run.source_column(s.where, "pharmacy_claim")
        # rows of one claim are numbered in a fixed order, so event ids never depend on the order of the file
        df = rx.filter(pl.col(key)).sort("member_id", "claim_id", "dispensing_date", "ndc_code", "days_supply", nulls_last=True)
        end = pl.col("dispensing_date") + pl.duration(days=pl.max_horizontal(pl.col("days_supply").fill_null(1), 1) - 1)
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
            pl.col("days_supply").cast(pl.Int64),
            *[run.attribute(ref, pl.col("ndc_code")).alias(col) for col, ref in s.attributes.items()],
        )
        return StepResult(events.cast({k: v for k, v in EVENT_SCHEMA.items()}))
