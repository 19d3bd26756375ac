"""Every entity of the inputs as one program sees it, checked before anything is paid.

The inputs are resolved (defaults, the entity, its per-program values; derived member months and TCOC
where the inputs omit them), each measure rate is taken from the inputs or the results and checked
against the measure's unit, and every component says what it needs from the entity. All problems are
collected, errors and warnings, never the first one only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from bhmeasures.errors import Issue, did_you_mean
from bhmeasures.payment.derive import Derived
from bhmeasures.payment.entity import EntityContext
from bhmeasures.payment.inputs import EntityFields, ProgramInputs, RateInput
from bhmeasures.payment.loader import program_ids
from bhmeasures.payment.money import as_fraction
from bhmeasures.payment.program import Program
from bhmeasures.payment.results import Rate, ResultsRates
from bhmeasures.payment.scorecard import SCALE, MeasureRef, check_entity_measures, show

RateLookup = Callable[[str, str], Rate]


def lookup_from(rates: ResultsRates | dict[str, dict[str, Rate | float | Fraction]] | RateLookup | None) -> RateLookup:
    """Accept results read from disk, a plain {entity: {rate_id: rate}} mapping (tests, notebooks), or a function."""
    if isinstance(rates, ResultsRates):
        return rates.rate
    if callable(rates):
        return rates
    given = rates or {}

    def look(entity: str, rate_id: str) -> Rate:
        v = given.get(entity, {}).get(rate_id)
        if v is None:
            return Rate(None, source="not available", brief="not given",
                        note=f"{rate_id} is not in the rates given for {entity}; supply it under rates: in the inputs")
        return v if isinstance(v, Rate) else Rate(as_fraction(v))

    return look


@dataclass
class Checker:
    """Collects the problems of one program's inputs and results; `for_entity` gives the view components report through."""

    program: Program
    inputs: ProgramInputs
    derived: Derived | None
    issues: list[Issue] = field(default_factory=list)
    missing: set[tuple[str, str]] = field(default_factory=set)  # (entity, field) reported missing: once is enough

    def add(self, entity: str | None, message: str, hint: str | None = None, loc: tuple[Any, ...] = (),
            severity: str = "error") -> None:
        if entity and self.inputs.was_left_out(entity, loc):
            return  # its schema error is reported already
        line = self.inputs.line("entities", entity, *loc) if entity else self.inputs.line(*loc)
        prefix = f"entity {entity}: " if entity else ""
        self.issues.append(Issue(str(self.inputs.path), line, prefix + message, hint, severity=severity))

    def add_at(self, origin: tuple[str, int | None], entity: str, message: str, hint: str | None = None) -> None:
        self.issues.append(Issue(origin[0], origin[1], f"entity {entity}: {message}", hint))

    def need(self, entity: str, f: EntityFields, name: str, why: str) -> None:
        if getattr(f, name) is not None or (entity, name) in self.missing:
            return
        self.missing.add((entity, name))
        hint = f"Add it under {self.inputs.where(entity, self.program.id, name)}."
        if name in ("member_months", "members", "tcoc_actual"):
            if self.derived is None:
                hint += " Or pass --data DIR to derive it from the attribution (and claims) tables."
            else:
                hint += f" (The attribution table in {self.derived.data} has no {self.inputs.performance_year} months for {entity}.)"
        self.add(entity, f"'{name}' is missing; {self.program.id} needs it for {why}.", hint, loc=(name,))

    def for_entity(self, entity: str, f: EntityFields) -> _EntityView:
        return _EntityView(self, entity, f)


@dataclass
class _EntityView:
    checker: Checker
    entity: str
    fields: EntityFields

    def need(self, name: str, why: str) -> None:
        self.checker.need(self.entity, self.fields, name, why)

    def add(self, message: str, hint: str | None = None, loc: tuple[Any, ...] = ()) -> None:
        self.checker.add(self.entity, message, hint, loc)


def check_entities(program: Program, inputs: ProgramInputs, rates: ResultsRates | dict | RateLookup | None,
                   derived: Derived | None = None) -> tuple[list[EntityContext], list[Issue]]:
    """Resolve every entity's inputs for this program and check them all: the contexts, and every error and warning."""
    look = lookup_from(rates)
    chk = Checker(program, inputs, derived)
    known_programs = sorted({*program_ids(), program.id})
    for where, section in [(("defaults",), inputs.data.defaults), *((("entities", e), x) for e, x in inputs.data.entities.items())]:
        for pid in section.programs:
            if pid not in known_programs:
                chk.issues.append(Issue(str(inputs.path), inputs.line(*where, "programs", pid), f"unknown program '{pid}' under programs.",
                                        did_you_mean(pid, known_programs) or f"Programs: {', '.join(known_programs)}."))
    measures = program.measures()
    contexts = []
    for entity in inputs.entities:
        f = _with_derived(inputs.resolved(entity, program.id), entity, derived)
        got = frozenset(k for k in ("member_months", "members", "tcoc_actual")
                        if getattr(f, k) is not None and getattr(inputs.resolved(entity, program.id), k) is None)
        track = _track(chk, program, entity, f)
        rate_map = {m: _rate(chk, entity, m, ref, f, look) for m, ref in measures.items()}
        _check_entity(chk, program, entity, f, track, rate_map)
        contexts.append(EntityContext(entity, track, f, rate_map, got))
    chk.issues.extend(_warnings(program, inputs, rates, contexts))
    return contexts, chk.issues


def _with_derived(f: EntityFields, entity: str, derived: Derived | None) -> EntityFields:
    if derived is None:
        return f
    updates: dict[str, object] = {}
    if f.member_months is None and entity in derived.member_months:
        updates["member_months"] = Fraction(derived.member_months[entity])
    if f.members is None and entity in derived.members:
        updates["members"] = derived.members[entity]
    if f.tcoc_actual is None and entity in derived.tcoc_cents:
        updates["tcoc_actual"] = Fraction(derived.tcoc_cents[entity], 100)
    return f.model_copy(update=updates) if updates else f


# ---------------------------------------------------------------- rates


def _rate(chk: Checker, entity: str, measure: str, ref: MeasureRef, f: EntityFields, look: RateLookup) -> Rate:
    """The entity's rate of a measure, from the inputs (they win) or the results, checked against the measure's unit.

    With counts, rate = scale x numerator / denominator (scale 1000 for per-1,000 measures, else 1)."""
    given = f.rates.get(measure)
    computed = look(entity, measure)
    origin = computed.origin
    if origin is not None:  # read from a results row
        problem = _count_problem(ref, computed.numerator, computed.denominator)
        if computed.numerator is not None and computed.denominator:
            computed = Rate(SCALE[ref.unit] * computed.numerator / computed.denominator, computed.numerator,
                            computed.denominator, origin=origin)
        if not problem and ref.unit == "proportion" and computed.value is not None and not 0 <= computed.value <= 1:
            problem = f"rate {_n(computed.value)} is outside [0, 1] for a proportion"
        if problem:  # reported (the run stops), but the rate still serves the checks that follow
            chk.add_at(origin, entity, f"{measure}: {problem}.")
    if given is None:
        return computed
    problem = _given_problem(ref, given)
    if problem:
        chk.add(entity, f"{measure}: {problem}.", loc=("rates", measure))
    note = given.note
    if computed.value is not None:
        note = f"supplied in the inputs; overrides the computed {show(computed.value, ref.unit)}" + (f" ({note})" if note else "")
    if given.numerator is not None and given.denominator and not problem:
        return Rate(SCALE[ref.unit] * given.numerator / given.denominator, given.numerator, given.denominator, "inputs", note)
    return Rate(given.rate, given.numerator, given.denominator, "inputs", note)


def _count_problem(ref: MeasureRef, num: Fraction | None, den: Fraction | None) -> str | None:
    if num is None or den is None:
        return None
    if ref.unit in ("proportion", "per_1000") and (num.denominator != 1 or (ref.unit == "proportion" and den.denominator != 1)):
        return f"counts {_n(num)}/{_n(den)} are not whole numbers of events"
    if ref.unit == "proportion" and num > den:
        return f"numerator {_n(num)} is above denominator {_n(den)}; a proportion cannot pass 100%"
    return None


def _given_problem(ref: MeasureRef, given: RateInput) -> str | None:
    num, den, rate = given.numerator, given.denominator, given.rate
    problem = _count_problem(ref, num, den)
    if problem:
        return problem
    if num is not None and den == 0:
        return "denominator 0: no rate can be computed; leave the rate out instead"
    exact = SCALE[ref.unit] * num / den if num is not None and den else None
    if rate is not None and exact is not None and not _agrees(rate, exact):
        return (f"rate {_n(rate)} is not {'' if ref.unit == 'proportion' else f'{SCALE[ref.unit]} x '}"
                f"numerator/denominator ({_n(num)}/{_n(den)} gives {float(exact):.6g})")
    value = exact if exact is not None else rate
    if ref.unit == "proportion" and value is not None and not 0 <= value <= 1:
        return f"rate {_n(value)} is outside [0, 1]; proportions are fractions (41.5% = 0.415)"
    if value is not None and value < 0:
        return f"rate {_n(value)} is below 0"
    return None


def _agrees(stated: Fraction, exact: Fraction) -> bool:
    """The stated rate is the exact one rounded to the stated number of decimals (1/3 may be written 0.333)."""
    places = next((k for k in range(10) if (stated * 10**k).denominator == 1), None)
    if places is None:
        return stated == exact
    return abs(stated - exact) <= Fraction(1, 2 * 10**places)


def _n(x: Fraction | None) -> str:
    if x is None:
        return "-"
    return str(x.numerator) if x.denominator == 1 else f"{float(x):g}"


# ---------------------------------------------------------------- tracks and components


def _track(chk: Checker, program: Program, entity: str, f: EntityFields) -> str | None:
    if not program.tracks:
        if f.track is not None:
            chk.add(entity, f"track '{f.track}' given, but {program.id} has no tracks.",
                    f"Put track under entities.{entity}.programs.<program> for the program it belongs to.", loc=("track",))
        return None
    track = f.track or program.default_track
    if track not in program.tracks:
        chk.add(entity, f"unknown {program.id} track '{track}'.", did_you_mean(str(track), list(program.tracks))
                or f"Tracks: {', '.join(program.tracks)}.", loc=("track",))
        return None
    return track


def _check_entity(chk: Checker, program: Program, entity: str, f: EntityFields, track: str | None,
                  rates: dict[str, Rate]) -> None:
    if program.tracks and track is None:
        return  # reported already; the rest would only repeat it
    view = chk.for_entity(entity, f)
    for name, c in program.components_for(track).items():
        c.check_entity(name, program, view)
    q = program.quality
    if program.uses_quality(track) and q is not None and q.source == "inputs":
        chk.need(entity, f, "quality_score", f"the quality score ({q.description or 'reported by the payer'})")
    if q is not None:
        q.check_entity(view)
    elif f.health_equity_adjustment is not None:
        view.add(f"health_equity_adjustment given, but {program.id} has no quality score.", loc=("health_equity_adjustment",))
    for cname, card in program.scorecards(track):
        reported = cname == "quality" and f.quality_score is not None
        check_entity_measures(card, f"{program.id} {cname}", view, rates, program.tier_sets, targets_needed=not reported)
    if f.member_months == 0 and any("member_months" in c.wants() for c in program.components_for(track).values()):
        chk.add(entity, "member_months is 0: every per-member-month amount is $0.00.",
                "Check the attribution, or leave the entity out.", loc=("member_months",), severity="warning")


# ---------------------------------------------------------------- warnings across entities


def _warnings(program: Program, inputs: ProgramInputs, rates: ResultsRates | dict | RateLookup | None,
              contexts: list[EntityContext]) -> list[Issue]:
    if not isinstance(rates, ResultsRates):
        return []
    out = []
    where = str(rates.file or rates.folder)
    scored = {m for ctx in contexts for _, card in program.scorecards(ctx.track) for m in card.measures}
    for mid in sorted(scored):
        if mid in rates.computed:
            continue
        lacking = [c.entity_id for c in contexts if c.rates[mid].value is None
                   and any(mid in card.measures for _, card in program.scorecards(c.track))]
        if lacking:
            out.append(Issue(where, None, f"{mid} is not in the results for any entity, and {len(lacking)} of {len(contexts)} "
                                          f"entities have no rate for it in the inputs either: they earn no credit on it "
                                          f"({', '.join(lacking[:5])}{', ...' if len(lacking) > 5 else ''}).",
                             "Compute it with bhm compute, or supply it under rates: in the inputs.", severity="warning"))
    if not rates.single_entity:
        for ctx in contexts:
            needs_results = any(m not in ctx.fields.rates for _, card in program.scorecards(ctx.track) for m in card.measures)
            if needs_results and not rates.rows.get(ctx.entity_id):
                out.append(Issue(str(inputs.path), inputs.line("entities", ctx.entity_id),
                                 f"entity {ctx.entity_id}: the results have no rows for it (no attributed members with "
                                 "eligible events, or a different entity id).", "Check the entity id against the attribution "
                                 "table.", severity="warning"))
    return out
