"""Run the asked-for measures over the inputs: one scan of the claim lines, then each measure's defines."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from bhmeasures.engine.codes import CodeIndex
from bhmeasures.engine.evaluate import DETAIL_SCHEMA, SUMMARY_SCHEMA, Context, MeasureEvaluator
from bhmeasures.engine.lines import LinePlan, medical_lines, pharmacy_lines
from bhmeasures.errors import InputError
from bhmeasures.inputs import Inputs
from bhmeasures.spec import LoadedSpec
from bhmeasures.valuesets import ValueSetLibrary

Progress = Callable[[str], None]


@dataclass
class ComputeResult:
    summary: pl.DataFrame
    detail: pl.DataFrame
    computed: list[str]
    skipped: dict[str, str]  # measure id -> reason
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what the inputs lacked that limits the results

    @property
    def complete(self) -> bool:
        return not self.skipped


def readiness(loaded: LoadedSpec, inputs: Inputs) -> str | None:
    """Why this measure cannot be computed on these inputs, or None when it can."""
    problems = []
    for req in loaded.spec.requires:
        alternatives = [a.strip() for a in req.split("|")]
        if not any(inputs.column_filled(*a.split(".", 1)) for a in alternatives):
            def state(a: str) -> str:
                t, c = a.split(".", 1)
                return f"{a} is missing" if not inputs.has_column(t, c) else f"every {a} is empty"
            problems.append(" and ".join(state(a) for a in alternatives))
    return "; ".join(problems) or None


def _plan(specs: list[LoadedSpec], library: ValueSetLibrary) -> tuple[LinePlan, dict[tuple[str, str], str]]:
    plan = LinePlan(CodeIndex(library))
    keys: dict[tuple[str, str], str] = {}
    for loaded in specs:
        for name, define in loaded.spec.defines.items():
            if define.kind in ("stays", "encounters"):
                keys[(loaded.spec.id, name)] = plan.add_source(define.step.where, "medical_claim")
            elif define.kind == "dispensings":
                keys[(loaded.spec.id, name)] = plan.add_source(define.step.where, "pharmacy_claim")
            elif define.kind == "filter" and define.step.where is not None:
                plan.add_claim_condition(define.step.where)
            elif define.kind == "readmission_chain":
                plan.add_claim_condition(define.step.continue_when)
    return plan, keys


def _claim_flags(lines: pl.DataFrame, plan: LinePlan) -> pl.DataFrame:
    leaf_cols = [k for k in plan.claim_leaves if k in lines.columns]
    if lines.is_empty() or not leaf_cols:
        return pl.DataFrame(schema={"source": pl.String, "member_id": pl.String, "claim_id": pl.String,
                                    **{k: pl.Boolean for k in plan.claim_leaves}})
    return lines.group_by("member_id", "claim_id").agg(pl.col(leaf_cols).any()).with_columns(pl.lit("medical_claim").alias("source"))


def _members(inputs: Inputs, active: pl.DataFrame | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    elig = inputs.frames["eligibility"]
    if active is not None:
        elig = elig.join(active.lazy(), on="member_id", how="semi")
    schema = elig.collect_schema()
    benefit_cols = [c for c in ("medical_benefit", "pharmacy_benefit", "mh_benefit", "cd_benefit") if c in schema]
    death = pl.col("death_date") if "death_date" in schema else pl.lit(None, dtype=pl.Date)
    spans = elig.select("member_id", "birth_date", "enrollment_start_date", "enrollment_end_date",
                        death.alias("death_date"), *benefit_cols).collect()
    for c in ("medical_benefit", "pharmacy_benefit", "mh_benefit", "cd_benefit"):
        if c not in spans.columns:
            spans = spans.with_columns(pl.lit(None, dtype=pl.Boolean).alias(c))
    # a member's birth and death dates may repeat per span (or be filled on only some): take the first known
    members = spans.group_by("member_id").agg(pl.col("birth_date").drop_nulls().first(), pl.col("death_date").drop_nulls().min())
    return members, spans


def _check_used_lines(inputs: Inputs, lines: pl.DataFrame, rx: pl.DataFrame) -> None:
    """Required values must be present on every line a measure uses."""
    problems = []
    checks = [("medical_claim", lines, {"member_id": "member_id", "claim_id": "claim_id", "service_date": "claim_start_date"}),
              ("pharmacy_claim", rx, {"member_id": "member_id", "claim_id": "claim_id", "dispensing_date": "dispensing_date"})]
    for table, frame, columns in checks:
        for col, source in columns.items():
            if frame.width and col in frame.columns and (n := frame[col].null_count()):
                ids = frame.filter(pl.col(col).is_null())["claim_id"].drop_nulls().unique(maintain_order=True).head(3).to_list()
                shown = ", ".join(map(repr, ids)) or "rows without a claim_id"
                problems.append(f"{inputs.files[table].path}: column {source} is empty on {n} line(s) the measures use, e.g. claims {shown}.")
    if problems:
        raise InputError("\n".join(problems))


def compute(
    inputs: Inputs, specs: list[LoadedSpec], library: ValueSetLibrary, year: int, progress: Progress | None = None,
) -> ComputeResult:
    """Compute every spec that the inputs can support; report the others as skipped with the reason."""
    say = progress or (lambda _msg: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    inputs.prefetch_filled([tuple(a.strip().split(".", 1)) for s in specs for r in s.spec.requires for a in r.split("|")])
    skipped = {s.spec.id: why for s in specs if (why := readiness(s, inputs))}
    ready = [s for s in specs if s.spec.id not in skipped]
    timings["readiness"] = time.perf_counter() - t0
    if not ready:
        return ComputeResult(pl.DataFrame(schema=SUMMARY_SCHEMA), pl.DataFrame(schema=DETAIL_SCHEMA), [], skipped, timings)

    plan, keys = _plan(ready, library)
    t = time.perf_counter()
    say("scanning claim lines")
    lines = medical_lines(inputs, plan)
    rx = pharmacy_lines(inputs, plan)
    timings["scan"] = time.perf_counter() - t
    _check_used_lines(inputs, lines, rx)
    t = time.perf_counter()
    # only members with a kept claim line or fill can have an event: narrow the member tables once
    active = pl.concat([f.select("member_id") for f in (lines, rx) if f.width]).unique() if (lines.width or rx.width) else None
    members, spans = _members(inputs, active)
    attribution = None
    if "attribution" in inputs.frames:
        attribution = inputs.frames["attribution"].collect()
        if active is not None:
            attribution = attribution.join(active, on="member_id", how="semi")
    ctx = Context(year, plan, lines, rx, _claim_flags(lines, plan), members, spans, attribution, keys)
    timings["prepare"] = time.perf_counter() - t

    summaries, details = [], []
    for loaded in ready:
        t = time.perf_counter()
        say(f"computing {loaded.spec.id}")
        ev = MeasureEvaluator(loaded, ctx)
        detail = ev.detail()
        summaries.append(ev.summary(detail))
        details.append(detail)
        timings[f"measure:{loaded.spec.id}"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    detail = pl.concat(details)
    notes = data_notes(inputs, plan, detail, ready)
    return ComputeResult(pl.concat(summaries), detail, [s.spec.id for s in ready], skipped, timings, notes)


def data_notes(inputs: Inputs, plan: LinePlan, detail: pl.DataFrame, ready: list[LoadedSpec]) -> list[str]:
    """Plain statements of what these inputs could not support, for the terminal and the manifest."""
    notes = []
    if "attribution" not in inputs.frames:
        notes.append("no attribution table: results have no entity strata")
    uses_taxonomy = any(family == "taxonomy" for family, _ in plan.codes.bits)
    if uses_taxonomy and not inputs.column_filled("medical_claim", "rendering_taxonomy_code") and "provider" not in inputs.frames:
        notes.append("no rendering_taxonomy_code and no provider table: mental-health providers cannot be recognised, "
                     "so visits count only through their diagnoses")
    if not inputs.column_filled("pharmacy_claim", "days_supply"):
        notes.append("every pharmacy_claim.days_supply is empty: measures of medication coverage (SAA, AMM) "
                     "could not be computed from these files")
    for loaded in ready:
        if detail.filter(pl.col("measure_id") == loaded.spec.id).is_empty():
            notes.append(f"{loaded.spec.id}: no candidate {loaded.spec.event_name} in these files")
    return notes
