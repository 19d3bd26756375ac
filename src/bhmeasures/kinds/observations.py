"""`observations`: clinical results (screening scores) of the observation table that meet a condition."""

from __future__ import annotations

from typing import Any

import polars as pl

from bhmeasures.engine.exprs import position_in_run
from bhmeasures.kinds.base import SourceKind, StepResult, register
from bhmeasures.kinds.events import EVENT_SCHEMA, empty_events
from bhmeasures.spec.base import AttributeRef, Predicate, StepModel


class Observations(StepModel):
    """One event per observation row whose code meets `where` (LOINC value sets), dated on the observation
    date; `result` carries the numeric result (null when the result is not a number), `result_text` the
    result as written (a coded result such as a SNOMED finding), and `attributes` copies per-code attributes
    of value sets (an instrument's positive threshold, whether it is brief), as `column: VALUE SET.attribute`."""

    where: Predicate
    attributes: dict[str, AttributeRef] = {}
    optional: bool = False  # true: the measure runs without an observation table (this step then finds none)


@register
class ObservationsKind(SourceKind):
    key = "observations"
    model = Observations
    table = "observation"

    def needs_table(self, step: Observations) -> str | None:
        return None if step.optional else self.table

    def describe(self, node: Any, year: int) -> list[str]:
        s: Observations = node.step
        out = ["observations where", *s.where.describe_lines("  "), "one event per result, dated on the observation date; "
               "result = the numeric result, result_text = the result as written"]
        out += [f"carries {col} = attribute '{ref}'" for col, ref in s.attributes.items()]
        if s.optional:
            out.append("optional: without an observation table the measure runs and this step finds none")
        return out

    def evaluate(self, node: Any, run: Any) -> StepResult:
        s: Observations = node.step
        obs = run.data.observations
        if obs is None or obs.is_empty():
            return StepResult(empty_events().with_columns(pl.lit(None, dtype=pl.Float64).alias("result"),
                                                          pl.lit(None, dtype=pl.String).alias("result_text"),
                                                          *[pl.lit(None, dtype=pl.String).alias(c) for c in s.attributes]))
        key = run.source_column(s.where)
        df = obs.filter(pl.col(key)).sort("member_id", "observation_date", "code", "result")
        ident = (pl.lit("observation:") + pl.col("code") + "@" + pl.col("observation_date").cast(pl.String))
        nth = position_in_run(("member_id", "code", "observation_date"))
        ident = ident + pl.when(nth > 0).then(":" + nth.cast(pl.String)).otherwise(pl.lit(""))
        events = df.select(
            pl.lit("observation").alias("source"), "member_id", ident.alias("event_id"), ident.alias("claim_id"),
            pl.concat_list(ident).alias("claims"), pl.col("observation_date").alias("start_date"),
            pl.col("observation_date").alias("end_date"), pl.col("observation_date").alias("index_date"),
            pl.lit(None, dtype=pl.String).alias("provider"), pl.lit(1, dtype=pl.Int64).alias("units"),
            pl.col("code"), pl.col("result").str.strip_chars().cast(pl.Float64, strict=False).alias("result"),
            pl.col("result").str.strip_chars().alias("result_text"),
            *[run.attribute(ref, pl.col("code")).alias(col) for col, ref in s.attributes.items()],
        )
        return StepResult(events.cast({k: v for k, v in EVENT_SCHEMA.items()}))
