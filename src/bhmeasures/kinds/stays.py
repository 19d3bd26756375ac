"""`stays`: inpatient stays from admission to discharge, indexed on the discharge date."""

from __future__ import annotations

from typing import Any

import polars as pl

from bhmeasures.engine.exprs import latest_before_in_run, starts_run, sum_in_run
from bhmeasures.kinds.base import SourceKind, StepResult, register
from bhmeasures.kinds.events import EVENT_SCHEMA, empty_events
from bhmeasures.spec.base import Predicate, StepModel


class Stays(StepModel):
    """Claims whose lines meet `where`, joined into stays.

    Claims are parts of one stay (interim bills) only when they come from the same facility (facility
    NPI, else billing NPI), share the bill-type family (the first two digits: 011x hospital inpatient and
    021x skilled nursing are different stays), are contiguous in their statement dates, and either carry
    the same admission date or continue each other by their frequency codes (2 first, 3 continuing, 4 last
    interim bill). The stay ends at its last discharge and is named by the claim that carries it, whose
    lines its claim-level conditions are tested on.
    """

    where: Predicate


def _bill_type(code: pl.Expr) -> pl.Expr:
    """The 3-digit bill type ("0111" and "111" are one)."""
    return pl.when(code.str.len_chars() == 4).then(code.str.slice(1)).otherwise(code)


@register
class StaysKind(SourceKind):
    key = "stays"
    model = Stays
    table = "medical_claim"
    summary = "inpatient stays: admission to discharge, indexed on the discharge date"

    def describe(self, node: Any, year: int) -> list[str]:
        return ["claims with a line where", *node.step.where.describe_lines("  "),
                "stays from admission (start_date) to discharge (index_date); interim bills of one facility and "
                "bill-type family, contiguous, with the same admission date or frequency codes 2/3/4, are one stay"]

    def evaluate(self, node: Any, run: Any) -> StepResult:
        lines = run.data.lines
        if lines.is_empty():
            return StepResult(empty_events())
        key = run.source_column(node.step.where)
        # the lowest value where lines differ, so the result never depends on the order of the rows
        tob = _bill_type(pl.col("bill_type_code").min())
        claims = lines.filter(pl.col(key)).group_by("member_id", "claim_id").agg(
            pl.col("admission_date").min().alias("start_date"), pl.col("discharge_date").max().alias("end_date"),
            pl.col("claim_start_date").min().alias("_from"), pl.col("claim_end_date").max().alias("_thru"),
            pl.coalesce(pl.col("facility_npi").min(), pl.col("billing_npi").min())
            .fill_null("").alias("_facility"),
            tob.str.slice(0, 2).fill_null("").alias("_family"), tob.str.slice(2, 1).alias("_frequency"),
            pl.col("provider").min(), pl.col("paid_cents").sum(),
        )
        group = ("member_id", "_facility", "_family")
        claims = claims.sort(*group, "_from", "_thru", "claim_id")
        prev = lambda c: pl.when(~starts_run(group)).then(pl.col(c).shift(1))  # noqa: E731
        contiguous = pl.col("_from") <= latest_before_in_run(pl.col("_thru"), group) + pl.duration(days=1)
        continues = (pl.col("start_date") == prev("start_date")) | (
            prev("_frequency").is_in(["2", "3"]) & pl.col("_frequency").is_in(["3", "4"]))
        new_stay = ~(contiguous & continues).fill_null(False)
        claims = claims.with_columns(sum_in_run(new_stay, group).alias("_stay"))
        df = claims.sort("end_date", "claim_id").group_by(*group, "_stay").agg(
            pl.col("start_date").min(), pl.col("end_date").last(), pl.col("claim_id").last(), pl.col("provider").last(),
            pl.col("paid_cents").sum())
        events = df.select(
            pl.lit("medical_claim").alias("source"), "member_id", pl.col("claim_id").alias("event_id"), "claim_id",
            pl.concat_list("claim_id").alias("claims"), "start_date", "end_date", pl.col("end_date").alias("index_date"),
            "provider", pl.lit(1, dtype=pl.Int64).alias("units"), "paid_cents",
        ).cast(EVENT_SCHEMA)
        return StepResult(events)
