"""One entity as the rules see it: its resolved inputs, its track, and its measure rates; checked before any rule runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

from bhmeasures.errors import Issue
from bhmeasures.payment.derive import Derived
from bhmeasures.payment.inputs import EntityFields, InputsError, ProgramInputs, Rate, ResultsRates
from bhmeasures.payment.loader import program_ids
from bhmeasures.payment.models import IncentivePool, PopulationPayment, Program, SharedSavings
from bhmeasures.payment.money import to_cents
from bhmeasures.yamlio import did_you_mean

RateLookup = Callable[[str, str], Rate]


@dataclass(frozen=True)
class EntityContext:
    entity_id: str
    track: str | None
    fields: EntityFields
    rates: dict[str, Rate]
    derived: frozenset[str] = frozenset()  # fields derived from the data folder, not read from the inputs

    @property
    def member_months(self) -> Fraction:
        assert self.fields.member_months is not None
        return self.fields.member_months

    def with_rate(self, measure: str, rate: Rate) -> EntityContext:
        return dataclasses.replace(self, rates={**self.rates, measure: rate})


def program_measures(program: Program) -> dict[str, str]:
    """Every rate id the program scores, with its unit."""
    out: dict[str, str] = {}
    if program.quality is not None:
        out.update({k: m.unit for k, m in program.quality.measures.items()})
    for c in program.components.values():
        if isinstance(c, IncentivePool):
            out.update({k: m.unit for k, m in c.measures.items()})
    return out


def lookup_from(rates: ResultsRates | dict[str, dict[str, Rate | float | Fraction]] | RateLookup) -> RateLookup:
    """Accept results read from disk, a plain {entity: {rate_id: rate}} mapping (tests, notebooks), or a function."""
    if isinstance(rates, ResultsRates):
        return rates.rate
    if callable(rates):
        return rates
    from bhmeasures.payment.money import as_fraction

    def look(entity: str, rate_id: str) -> Rate:
        v = rates.get(entity, {}).get(rate_id)
        if v is None:
            return Rate(None, source="not available", brief="not given",
                        note=f"{rate_id} is not in the rates given for {entity}; supply it under rates: in the inputs")
        return v if isinstance(v, Rate) else Rate(as_fraction(v))

    return look


def resolve_rate(entity: str, measure: str, f: EntityFields, look: RateLookup) -> Rate:
    given = f.rates.get(measure)
    computed = look(entity, measure)
    if given is None:
        return computed
    note = given.note
    if computed.value is not None:
        note = f"supplied in the inputs; overrides the computed {float(computed.value) * 100:.2f}%" + (f" ({note})" if note else "")
    if given.numerator is not None and given.denominator:
        return Rate(Fraction(given.numerator, given.denominator), given.numerator, given.denominator, "inputs", note)
    return Rate(given.rate, given.numerator, given.denominator, "inputs", note)


@dataclass
class _Checker:
    program: Program
    inputs: ProgramInputs
    derived: Derived | None
    issues: list[Issue] = field(default_factory=list)

    def add(self, entity: str | None, message: str, hint: str | None = None, loc: tuple = ()) -> None:
        line = self.inputs.line("entities", entity, *loc) if entity else self.inputs.line(*loc)
        prefix = f"entity {entity}: " if entity else ""
        self.issues.append(Issue(str(self.inputs.path), line, prefix + message, hint))

    def need(self, entity: str, f: EntityFields, name: str, why: str) -> None:
        if getattr(f, name) is None:
            hint = f"Add it under {self.inputs.where(entity, self.program.id, name)}."
            if name in ("member_months", "members", "tcoc_actual"):
                if self.derived is None:
                    hint += " Or pass --data DIR to derive it from the attribution (and claims) tables."
                else:
                    hint += f" (The attribution table in {self.derived.data} has no {self.inputs.performance_year} months for {entity}.)"
            self.add(entity, f"'{name}' is missing; {self.program.id} needs it for {why}.", hint)


def build_contexts(program: Program, inputs: ProgramInputs, rates: ResultsRates | dict | RateLookup,
                   derived: Derived | None = None) -> list[EntityContext]:
    """Resolve every entity's inputs for this program and check them all; raise InputsError listing every problem."""
    look = lookup_from(rates)
    chk = _Checker(program, inputs, derived)
    known_programs = sorted({*program_ids(), program.id})
    for where, section in [(("defaults",), inputs.data.defaults), *((("entities", e), x) for e, x in inputs.data.entities.items())]:
        for pid in section.programs:
            if pid not in known_programs:
                chk.issues.append(Issue(str(inputs.path), inputs.line(*where, "programs", pid), f"unknown program '{pid}' under programs.",
                                        did_you_mean(pid, known_programs) or f"Programs: {', '.join(known_programs)}."))
    measures = program_measures(program)
    contexts = []
    for entity in inputs.entities:
        f = inputs.resolved(entity, program.id)
        updates: dict[str, object] = {}
        got: set[str] = set()
        if derived is not None:
            for name, table in (("member_months", derived.member_months), ("members", derived.members)):
                if getattr(f, name) is None and entity in table:
                    updates[name] = Fraction(table[entity]) if name == "member_months" else table[entity]
                    got.add(name)
            if f.tcoc_actual is None and entity in derived.tcoc_cents:
                updates["tcoc_actual"] = Fraction(derived.tcoc_cents[entity], 100)
                got.add("tcoc_actual")
        if updates:
            f = f.model_copy(update=updates)
        track = _track(chk, program, entity, f)
        rate_map = {m: resolve_rate(entity, m, f, look) for m in measures}
        _check_entity(chk, program, entity, f, track, rate_map)
        contexts.append(EntityContext(entity, track, f, rate_map, frozenset(got)))
    if chk.issues:
        raise InputsError(chk.issues)
    return contexts


def _track(chk: _Checker, program: Program, entity: str, f: EntityFields) -> str | None:
    if not program.tracks:
        if f.track is not None:
            chk.add(entity, f"track '{f.track}' given, but {program.id} has no tracks.",
                    f"Put track under entities.{entity}.programs.<program> for the program it belongs to.")
        return None
    track = f.track or program.default_track
    if track not in program.tracks:
        chk.add(entity, f"unknown {program.id} track '{track}'.", did_you_mean(str(track), list(program.tracks))
                or f"Tracks: {', '.join(program.tracks)}.")
        return None
    return track


def _check_entity(chk: _Checker, program: Program, entity: str, f: EntityFields, track: str | None,
                  rates: dict[str, Rate]) -> None:
    if program.tracks and track is None:
        return  # reported already; the rest would only repeat it
    for name, c in program.components_for(track).items():
        label = f"component {name} ({c.title})"
        if isinstance(c, IncentivePool):
            if c.pmpm_max is not None:
                chk.need(entity, f, "member_months", f"{label}: pool = PMPM x member months")
            elif c.capitation_pct_max is not None:
                chk.need(entity, f, "bh_capitation", f"{label}: pool = share of behavioral-health capitation")
            else:
                chk.need(entity, f, "incentive_pool", f"{label}: the incentive-pool amount the payer reports")
        elif isinstance(c, PopulationPayment):
            chk.need(entity, f, "member_months", f"{label}: PMPM x member months")
        elif isinstance(c, SharedSavings):
            if f.tcoc_benchmark is None:
                chk.need(entity, f, "tcoc_target_pmpm", f"{label}: benchmark = target PMPM x member months (or give tcoc_benchmark)")
                chk.need(entity, f, "member_months", f"{label}: benchmark = target PMPM x member months")
            elif f.tcoc_benchmark == 0:
                chk.add(entity, "tcoc_benchmark is 0; savings rates need a positive benchmark.")
            if (f.tcoc_benchmark is None and f.tcoc_target_pmpm is not None and f.member_months is not None
                    and to_cents(f.tcoc_target_pmpm * f.member_months) == 0):
                chk.add(entity, "the benchmark (tcoc_target_pmpm x member_months) is $0.00; savings rates need a positive benchmark.")
            chk.need(entity, f, "tcoc_actual", f"{label}: actual total cost of care")
            _check_msr(chk, program, entity, f, c, label)
            if c.loss_cap is not None and c.loss_cap.pct_revenue is not None:
                chk.need(entity, f, "participant_revenue", f"{label}: the loss limit is a share of revenue")
    if program.uses_quality(track) and program.quality is not None and program.quality.source == "inputs":
        chk.need(entity, f, "quality_score", f"the quality score ({program.quality.description or 'reported by the payer'})")
    for cname, card in program.scorecards(track):
        for mid, ref in card.measures.items():
            rate = rates[mid]
            loc = ("rates", mid)
            if ref.unit == "proportion":
                for what, v, at in (("rate", rate.value if rate.source == "inputs" else None, loc),
                                    ("baseline", f.baselines.get(mid), ("baselines", mid)),
                                    ("benchmark", f.benchmarks.get(mid), ("benchmarks", mid))):
                    if v is not None and not 0 <= v <= 1:
                        chk.add(entity, f"{what} of {mid} is {float(v):g}, outside [0, 1]; proportions are fractions (41.5% = 0.415).",
                                loc=at)
            tiers = card.tiers_for(mid)
            explicit = f.targets.get(mid, {})
            for t in explicit:
                if t not in tiers:
                    chk.add(entity, f"targets.{mid} names unknown tier '{t}'.", did_you_mean(t, list(tiers)) or f"Tiers: {', '.join(tiers)}.",
                            loc=("targets", mid))
            if rate.value is None or (cname == "quality" and f.quality_score is not None):
                continue  # no rate, or a reported quality score: targets are not needed
            for tname, tier in tiers.items():
                if tname in explicit:
                    continue
                for need in tier.needs():
                    table = f.baselines if need == "baseline" else f.benchmarks
                    if mid not in table:
                        chk.add(entity, f"no {need} for {mid}; {program.id} {cname} tier {tname} ({tier.describe()}) needs it.",
                                f"Add {need}s: {{{mid}: ...}} under entities.{entity} (or defaults), or give targets.{mid}.{tname}.")


def _check_msr(chk: _Checker, program: Program, entity: str, f: EntityFields, c: SharedSavings, label: str) -> None:
    from bhmeasures.payment.rules.tcoc import msr_from_table

    table = c.msr.table
    if c.msr.elected is not None:
        e = c.msr.elected
        if f.msr_election is None:
            chk.need(entity, f, "msr_election", f"{label}: the elected minimum savings/loss rate")
            return
        if f.msr_election == "size_based":
            if e.size_based_table is None:
                chk.add(entity, f"msr_election size_based is not offered by {label}.",
                        "Elect one of " + ", ".join(f"{float(a):g}" for a in e.allowed) + ".")
            table = e.size_based_table
        elif f.msr_election not in e.allowed:
            chk.add(entity, f"msr_election {float(f.msr_election):g} is not one of the rates {label} allows.",
                    "Elect one of " + ", ".join(f"{float(a):g}" for a in e.allowed) + (" or size_based." if e.size_based_table else "."))
    if table is not None and table in program.msr_tables:
        if f.members is None:
            chk.need(entity, f, "members", f"{label}: the minimum savings rate depends on the assigned population")
            return
        try:
            msr_from_table(program.msr_tables[table], f.members)
        except ValueError as err:
            chk.add(entity, f"{err} ({label}).", "Correct members, or elect a fixed rate on a two-sided track.")
