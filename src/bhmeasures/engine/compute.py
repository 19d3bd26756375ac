"""Run measure plans over the inputs: one scan of the claim lines for every plan, then each plan's nodes,
then detail rows and additive partial counts, merged into the summary."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from bhmeasures.engine.codes import CodeIndex
from bhmeasures.engine.lines import (
    LinePlan,
    medical_lines,
    observation_rows,
    pharmacy_lines,
)
from bhmeasures.engine.populations import (
    DETAIL_SCHEMA,
    PARTIAL_SCHEMA,
    SUMMARY_SCHEMA,
    finalize,
    measure_detail,
    merge_partials,
    partials,
    public_detail,
)
from bhmeasures.engine.run import MeasureRun, RunData
from bhmeasures.inputs.observation import check_scores, scored_codes
from bhmeasures.inputs.reader import Inputs
from bhmeasures.inputs.schema import DX_COLUMNS, PCS_COLUMNS
from bhmeasures.inputs.used import check_used_rows
from bhmeasures.kinds.registry import STEP_KINDS
from bhmeasures.plan.model import MeasurePlan, node_keys
from bhmeasures.valuesets import ValueSetLibrary

Progress = Callable[[str], None]
OPTIONAL_TABLES = ("observation", "attribution", "provider")


@dataclass
class ComputeResult:
    summary: pl.DataFrame
    detail: pl.DataFrame
    computed: list[str]
    skipped: dict[str, str]  # measure id -> reason
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what the inputs lacked that limits the results
    partials: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=PARTIAL_SCHEMA))

    @property
    def complete(self) -> bool:
        return not self.skipped


def readiness(plan: MeasurePlan, inputs: Inputs) -> str | None:
    """Why this measure cannot be computed on these inputs, or None when it can."""
    problems = []
    tables = {t for n in plan.nodes.values() if (t := STEP_KINDS[n.kind].needs_table(n.step)) is not None}
    for t in sorted(tables & set(OPTIONAL_TABLES)):
        if t not in inputs.frames:
            problems.append(f"it needs the {t} table, which the inputs do not have")
    for req in plan.requires:
        alternatives = [a.strip() for a in req.split("|")]
        if not any(inputs.column_filled(*a.split(".", 1)) for a in alternatives):
            def state(a: str) -> str:
                t, c = a.split(".", 1)
                return f"{a} is missing" if not inputs.has_column(t, c) else f"every {a} is empty"
            problems.append(" and ".join(state(a) for a in alternatives))
    return "; ".join(problems) or None


def _table_column(requirement: str) -> tuple[str, str]:
    """'table.column' (validated) as (table, column)."""
    table, _, column = requirement.strip().partition(".")
    return table, column


def scan_plan(plans: list[MeasurePlan], library: ValueSetLibrary) -> LinePlan:
    """Every row and claim condition of every plan, deduplicated: what the one scan must answer."""
    scan = LinePlan(CodeIndex(library))
    for plan in plans:
        scan.paid_amounts |= plan.populations.scoring == "per_member_per_month"
        for node in plan.nodes.values():
            kind = STEP_KINDS[node.kind]
            for p in kind.line_conditions(node.step):
                scan.add_source(p, kind.table or "medical_claim")
            for p in kind.claim_conditions(node.step):
                scan.add_claim_condition(p)
            scan.line_columns.update(kind.line_columns(node.step))
    return scan


MEMBER_COLUMNS = ("gender", "race", "ethnicity")


def _members(inputs: Inputs, active: pl.DataFrame | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    elig = inputs.frames["eligibility"]
    if active is not None:
        elig = elig.join(active.lazy(), on="member_id", how="semi")
    schema = elig.collect_schema()
    spans = elig.collect()
    if "death_date" not in schema:
        spans = spans.with_columns(pl.lit(None, dtype=pl.Date).alias("death_date"))
    for c in ("medical_benefit", "pharmacy_benefit", "mh_benefit", "cd_benefit"):
        if c not in spans.columns:
            spans = spans.with_columns(pl.lit(None, dtype=pl.Boolean).alias(c))
    # a member's birth and death dates may repeat per span (or be filled on only some): take the first known
    # the earliest of a member's spans tells birth date and attributes (so the order of the rows never matters)
    members = spans.sort("member_id", "enrollment_start_date", "enrollment_end_date").group_by("member_id", maintain_order=True).agg(
        pl.col("birth_date").drop_nulls().first(), pl.col("death_date").drop_nulls().min(),
        *[pl.col(c).drop_nulls().first() for c in MEMBER_COLUMNS if c in spans.columns])
    return members, spans


def prepare(inputs: Inputs, plans: list[MeasurePlan], library: ValueSetLibrary, year: int,
            say: Progress, timings: dict[str, float]) -> RunData:
    """The one scan and the member tables every plan shares."""
    scan = scan_plan(plans, library)
    t = time.perf_counter()
    say("scanning claim lines")
    lines, claim_flags = medical_lines(inputs, scan)
    rx = pharmacy_lines(inputs, scan)
    observations = observation_rows(inputs, scan)
    timings["scan"] = time.perf_counter() - t
    check_used_rows(inputs, {"medical_claim": lines, "pharmacy_claim": rx})
    if observations is not None:  # a scored instrument needs a numeric result
        obs_vs = {v for p in scan.observation_sources.values() for v in p.value_sets()}
        path = inputs.files["observation"].path
        check_scores(observations, scored_codes(library, obs_vs), path, not path.lower().endswith(".parquet"))
    t = time.perf_counter()
    # members without a kept line, fill or observation cannot have a claim event; keep them all when a measure's
    # units come from eligibility (every enrolled member, birthdays) or its denominator is member months. A step
    # that only reads eligibility about members (who died, who was enrolled) narrows events the scan kept.
    member_based = any(p.populations.scoring != "proportion" for p in plans) or any(
        STEP_KINDS[n.kind].units_without_claims for p in plans for n in p.nodes.values())
    frames = [f.select("member_id") for f in (lines, rx, observations) if f is not None and f.width]
    active = None if member_based or not frames else pl.concat(frames).unique()
    members, spans = _members(inputs, active)
    attribution = None
    if "attribution" in inputs.frames:
        attribution = inputs.frames["attribution"].collect()
        if active is not None:
            attribution = attribution.join(active, on="member_id", how="semi")
    data = RunData(year, scan, lines, rx, observations, claim_flags, members, spans, attribution, library)
    timings["prepare"] = time.perf_counter() - t
    return data


def compute(inputs: Inputs, plans: list[MeasurePlan], library: ValueSetLibrary, progress: Progress | None = None) -> ComputeResult:
    """Compute every plan that the inputs can support; report the others as skipped with the reason."""
    say = progress or (lambda _msg: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    inputs.prefetch_filled([_table_column(a) for p in plans for r in p.requires for a in r.split("|")])
    skipped = {p.measure_id: why for p in plans if (why := readiness(p, inputs))}
    ready = [p for p in plans if p.measure_id not in skipped]
    timings["readiness"] = time.perf_counter() - t0
    if not ready:
        return ComputeResult(pl.DataFrame(schema=SUMMARY_SCHEMA), pl.DataFrame(schema=DETAIL_SCHEMA), [], skipped, timings)
    year = ready[0].year
    data = prepare(inputs, ready, library, year, say, timings)
    # a define several measures share (a variant's with its base measure's) is computed once for them all
    uses = Counter(key for plan in ready for key in set(node_keys(plan).values()))
    data.common_nodes = {key for key, n in uses.items() if n > 1}
    details, parts = [], []
    for plan in ready:
        t = time.perf_counter()
        say(f"computing {plan.measure_id}")
        run = MeasureRun(plan, data)
        detail = measure_detail(run)
        parts.append(partials(run, detail))
        details.append(public_detail(detail))
        timings[f"measure:{plan.measure_id}"] = time.perf_counter() - t
    merged = merge_partials(parts)
    summary = finalize(merged, ready)
    detail = pl.concat(details)
    timings["total"] = time.perf_counter() - t0
    notes = data_notes(inputs, data.scan, detail, ready)
    return ComputeResult(summary, detail, [p.measure_id for p in ready], skipped, timings, notes, merged)


def data_notes(inputs: Inputs, scan: LinePlan, detail: pl.DataFrame, ready: list[MeasurePlan]) -> list[str]:
    """Plain statements of what these inputs could not support, for the terminal and the manifest."""
    notes = []
    if "attribution" not in inputs.frames:
        notes.append("no attribution table: results have no entity strata")
    uses_taxonomy = any(family == "taxonomy" for family, _ in scan.codes.bits)
    if uses_taxonomy and not inputs.column_filled("medical_claim", "rendering_taxonomy_code") and "provider" not in inputs.frames:
        notes.append("no rendering_taxonomy_code and no provider table: mental-health providers cannot be recognised, "
                     "so visits count only through their diagnoses")
    if "observation" not in inputs.frames:
        using = [p.measure_id for p in ready if any(STEP_KINDS[n.kind].table == "observation" for n in p.nodes.values())]
        if using:
            notes.append(f"no observation table: {', '.join(using)} found screening results on claims only")
    if not inputs.column_filled("pharmacy_claim", "days_supply"):
        notes.append("every pharmacy_claim.days_supply is empty: measures of medication coverage (SAA, AMM) "
                     "could not be computed from these files")
    notes.extend(unmatched_code_notes(scan))
    for plan in ready:
        if detail.filter(pl.col("measure_id") == plan.measure_id).is_empty():
            notes.append(f"{plan.measure_id}: no candidate {plan.event_name} in these files")
    return notes


def unmatched_code_notes(scan: LinePlan) -> list[str]:
    """A code column (or column family, such as the 25 diagnosis columns) that holds values but none of them in any
    value set the measures use: the usual cause of a 0/0 is codes written in a way bhm cannot read."""
    notes = []
    for table, uses in scan.code_use.items():
        groups: dict[str, list[str]] = {}
        for column in uses:
            family = "diagnosis" if column in DX_COLUMNS else "procedure" if column in PCS_COLUMNS else column
            groups.setdefault(family, []).append(column)
        for columns in groups.values():
            filled = [c for c in columns if uses[c].filled]
            if not filled or any(uses[c].matched for c in columns):
                continue
            named = filled[0] if len(filled) == 1 else f"{filled[0]} ... {filled[-1]}"
            examples = ", ".join(f"'{e}'" for e in [e for c in filled for e in uses[c].examples][:3])
            notes.append(f"{table}.{named}: no value is a code of any value set these measures use "
                         f"(values such as {examples}): if these files should hold such codes, check how they are written")
    return notes
