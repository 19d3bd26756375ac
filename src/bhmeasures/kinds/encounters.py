"""`encounters`: claim lines that meet a condition, as events (visits, services, administrations)."""

from __future__ import annotations

from typing import Any, Literal

import polars as pl
from pydantic import Field

from bhmeasures.kinds.base import SourceKind, StepResult, describe_attributes, register
from bhmeasures.kinds.events import EVENT_SCHEMA, empty_events
from bhmeasures.spec.base import AttributeRef, Predicate, StepModel


class Encounters(StepModel):
    """One event per claim and service date of the matching lines.

    `one_per: day` makes one event of a member's matching claims of one date (the facility and the
    professional claim of one ED visit are one visit), named by its first claim id; a condition on it holds
    when any of its claims meets it, and none of its claims is its own follow-up. `units_as_events: true`
    counts each unit of service of a line (`service_unit_quantity`) as an event of its own (IOP and partial
    hospitalization billed in units).

    `attributes` copies per-code attributes of value sets onto the events, looked up by the lines' HCPCS/CPT
    code (`injection: Long-Acting Antipsychotic Injections.drug`); when an event's lines carry several, the
    first in sort order. `covers_days_from: VALUE SET.days_supply` makes an event of a code with that
    attribute cover that many days from its date (end_date = date + days - 1; the longest when its lines
    carry several): a long-acting injection covers its list's days supply.
    """

    where: Predicate
    one_per: Literal["claim", "day"] = "claim"
    units_as_events: bool = False
    attributes: dict[str, AttributeRef] = Field(default_factory=dict)
    covers_days_from: AttributeRef | None = None


@register
class EncountersKind(SourceKind):
    key = "encounters"
    model = Encounters
    table = "medical_claim"
    summary = "medical claim lines that meet the condition, one event per claim and service date"

    def line_columns(self, step: Encounters) -> list[str]:
        return ["hcpcs_code"] if step.attributes or step.covers_days_from else []

    def describe(self, node: Any, year: int) -> list[str]:
        s: Encounters = node.step
        per = "member and service date (the claims of one visit together)" if s.one_per == "day" else "claim and service date"
        out = ["medical claim lines where", *s.where.describe_lines("  "), f"one event per {per}, dated by the service date"]
        if s.units_as_events:
            out.append("each unit of service is an event of its own")
        return out + describe_attributes(s.attributes, s.covers_days_from)

    def evaluate(self, node: Any, run: Any) -> StepResult:
        s: Encounters = node.step
        lines = run.data.lines
        if lines.is_empty():
            return StepResult(empty_events())
        key = run.source_column(s.where)
        df = lines.filter(pl.col(key))
        # value-set attributes of each line's code; an event of several lines takes the first (days: the longest)
        extra = list(s.attributes)
        looked_up = [run.attribute(ref, pl.col("hcpcs_code")).alias(col) for col, ref in s.attributes.items()]
        if s.covers_days_from:
            extra.append("_cover_days")
            looked_up.append(run.attribute(s.covers_days_from, pl.col("hcpcs_code")).cast(pl.Int64, strict=False)
                             .alias("_cover_days"))
        if looked_up:
            df = df.with_columns(looked_up)
        carry = [pl.col(c).max() if c == "_cover_days" else pl.col(c).drop_nulls().min() for c in extra]
        df = df.group_by("member_id", "claim_id", "service_date").agg(
            pl.max_horizontal(pl.col("service_end_date").max(), pl.col("service_date").first()).alias("service_end_date"),
            pl.col("provider").min(),
            pl.col("units").sum().alias("units"),
            pl.col("paid_cents").sum().alias("paid_cents"),
            *carry,
        )
        # a claim with lines on several dates gives one visit per date (rows are unique per claim and date here)
        df = df.with_columns(pl.struct("member_id", "claim_id").is_duplicated().alias("_multi"))
        if s.one_per == "day":
            df = df.sort("member_id", "service_date", "claim_id").group_by("member_id", "service_date", maintain_order=True).agg(
                pl.col("claim_id").first(), pl.col("claim_id").alias("claims"), pl.col("_multi").first(),
                pl.col("service_end_date").max(), pl.col("provider").min(), pl.col("units").sum(),
                pl.col("paid_cents").sum(), *carry)
        else:
            df = df.with_columns(pl.concat_list("claim_id").alias("claims"))
        end = pl.col("service_end_date")
        if s.covers_days_from:
            end = pl.when(pl.col("_cover_days") >= 1).then(
                pl.col("service_date") + pl.duration(days=pl.col("_cover_days") - 1)).otherwise(end)
        events = df.select(
            pl.lit("medical_claim").alias("source"),
            "member_id",
            pl.when("_multi").then(pl.col("claim_id") + ":" + pl.col("service_date").cast(pl.String))
            .otherwise(pl.col("claim_id")).alias("event_id"),
            "claim_id",
            "claims",
            pl.col("service_date").alias("start_date"),
            end.alias("end_date"),
            pl.col("service_date").alias("index_date"),
            "provider",
            pl.col("units").fill_null(1).clip(lower_bound=1).cast(pl.Int64),
            "paid_cents",
            *[pl.col(c) for c in s.attributes],
        ).cast(EVENT_SCHEMA)
        if s.units_as_events:
            # one event per unit: `unit` (1, 2, ...) tells them apart when visits are counted
            events = events.with_columns(pl.int_ranges(1, pl.col("units") + 1).alias("unit")).explode("unit").with_columns(
                pl.when(pl.col("unit") > 1).then(pl.col("event_id") + "#" + pl.col("unit").cast(pl.String))
                .otherwise(pl.col("event_id")).alias("event_id"), pl.col("unit").cast(pl.Int64))
        return StepResult(events)
