"""Member months and total cost of care per entity, derived from attribution and claims (Polars aggregations).

Conventions (documented in docs/payments.md):
- a member month counts for an entity when an attribution span of the member to that entity covers the
  first day of the month, inside the performance year; overlapping spans count a month once;
- members = distinct members with at least one such month;
- TCOC = paid_amount of medical claim lines (dated by claim_start_date) and pharmacy claims (dated by
  dispensing_date) in a month the member is attributed to the entity; each amount is rounded to the
  cent before summing, and a missing paid_amount counts as 0 (and is reported).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from bhmeasures.errors import InputError

_FRAME = pl.DataFrame | pl.LazyFrame


def _lazy(frame: _FRAME) -> pl.LazyFrame:
    return frame.lazy() if isinstance(frame, pl.DataFrame) else frame


def _month_index(col: str) -> pl.Expr:
    return pl.col(col).dt.year() * 12 + pl.col(col).dt.month() - 1


def attributed_months(attribution: _FRAME, year: int) -> pl.LazyFrame:
    """One row per (member_id, entity_id, month) the member is attributed on the month's first day."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    spans = _lazy(attribution).select(
        "member_id", "entity_id",
        pl.max_horizontal(pl.col("start_date"), pl.lit(start)).alias("s"),
        pl.min_horizontal(pl.col("end_date"), pl.lit(end)).alias("e"),
    ).filter(pl.col("s") <= pl.col("e"))
    # first month whose 1st day is inside the span; the 1st of the end month is always <= the end date
    first = _month_index("s") + pl.when(pl.col("s").dt.day() == 1).then(0).otherwise(1)
    return (
        spans.with_columns(first.alias("m0"), _month_index("e").alias("m1"))
        .filter(pl.col("m0") <= pl.col("m1"))
        .select("member_id", "entity_id", pl.int_ranges("m0", pl.col("m1") + 1).alias("month"))
        .explode("month")
        .unique(["member_id", "entity_id", "month"])
    )


def member_months(attribution: _FRAME, year: int) -> pl.DataFrame:
    """entity_id, member_months, members for the performance year."""
    return (
        attributed_months(attribution, year)
        .group_by("entity_id")
        .agg(pl.len().cast(pl.Int64).alias("member_months"), pl.col("member_id").n_unique().cast(pl.Int64).alias("members"))
        .sort("entity_id")
        .collect()
    )


def _paid(frame: pl.LazyFrame, date_col: str, year: int) -> pl.LazyFrame:
    return frame.select(
        "member_id",
        _month_index(date_col).alias("month"),
        # cents as integers: exact sums whatever the number of lines
        (pl.col("paid_amount") * 100).round(0).cast(pl.Int64).alias("cents"),
    ).filter(pl.col("month").is_between(year * 12, year * 12 + 11))


def total_cost_of_care(medical: _FRAME, pharmacy: _FRAME | None, attribution: _FRAME, year: int) -> pl.DataFrame:
    """entity_id, medical_cents, pharmacy_cents, tcoc_cents, lines_without_paid_amount."""
    months = attributed_months(attribution, year).select("member_id", "entity_id", "month")
    parts = [_paid(_lazy(medical), "claim_start_date", year).with_columns(pl.lit("medical").alias("kind"))]
    if pharmacy is not None:
        parts.append(_paid(_lazy(pharmacy), "dispensing_date", year).with_columns(pl.lit("pharmacy").alias("kind")))
    claims = pl.concat(parts).join(months, on=["member_id", "month"], how="inner")
    out = (
        claims.group_by("entity_id")
        .agg(
            pl.col("cents").filter(pl.col("kind") == "medical").sum().alias("medical_cents"),
            pl.col("cents").filter(pl.col("kind") == "pharmacy").sum().alias("pharmacy_cents"),
            pl.col("cents").is_null().sum().cast(pl.Int64).alias("lines_without_paid_amount"),
        )
        .with_columns((pl.col("medical_cents") + pl.col("pharmacy_cents")).alias("tcoc_cents"))
        .sort("entity_id")
        .collect()
    )
    return out


@dataclass
class Derived:
    """Per-entity values derived from a data folder, and what was noticed on the way."""

    member_months: dict[str, int] = field(default_factory=dict)
    members: dict[str, int] = field(default_factory=dict)
    tcoc_cents: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    data: Path | None = None


def derive_from_data(data: Path, year: int, want_tcoc: bool) -> Derived:
    """Read the data folder (checked like `bhm compute` inputs) and derive member months, members and TCOC."""
    from bhmeasures.api import open_inputs

    inputs = open_inputs(data)
    if "attribution" not in inputs.frames:
        raise InputError(f"{data}: deriving member months and TCOC needs an attribution table (member_id, entity_id, "
                         "start_date, end_date); add attribution.parquet/.csv or supply member_months and tcoc_actual in the inputs.")
    att = inputs.frames["attribution"]
    out = Derived(data=data)
    for r in member_months(att, year).iter_rows(named=True):
        out.member_months[r["entity_id"]] = r["member_months"]
        out.members[r["entity_id"]] = r["members"]
    if want_tcoc:
        med = inputs.frames["medical_claim"]
        rx = inputs.frames.get("pharmacy_claim")
        if "paid_amount" not in med.collect_schema():
            raise InputError(f"{data}: deriving TCOC needs medical_claim.paid_amount; supply tcoc_actual in the inputs instead.")
        if rx is not None and "paid_amount" not in rx.collect_schema():
            out.notes.append("pharmacy_claim has no paid_amount: derived TCOC counts medical claims only")
            rx = None
        out.tcoc_cents = dict.fromkeys(out.member_months, 0)  # attributed but without claims: a TCOC of 0
        for r in total_cost_of_care(med, rx, att, year).iter_rows(named=True):
            out.tcoc_cents[r["entity_id"]] = r["tcoc_cents"]
            if r["lines_without_paid_amount"]:
                out.notes.append(f"{r['entity_id']}: {r['lines_without_paid_amount']:,} claim line(s) without paid_amount counted as $0")
    return out
