"""Every entity of the inputs as one program sees it, checked before anything is paid.

The inputs are resolved (defaults, the entity, its per-program values; derived member months and TCOC
where the inputs omit them), each measure rate is taken from the inputs or the results, and every
component says what it needs from the entity. All problems are collected, never the first one only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from bhmeasures.errors import Issue
from bhmeasures.payment.derive import Derived
from bhmeasures.payment.entity import EntityContext
from bhmeasures.payment.inputs import (
    EntityFields,
    InputsError,
    ProgramInputs,
    Rate,
    ResultsRates,
)
from bhmeasures.payment.loader import program_ids
from bhmeasures.payment.program import Program
from bhmeasures.payment.scorecard import check_entity_measures
from bhmeasures.yamlio import did_you_mean

RateLookup = Callable[[str, str], Rate]


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
    """Collects problems of one program's inputs; `for_entity` gives the view a component reports through."""

    program: Program
    inputs: ProgramInputs
    derived: Derived | None
    issues: list[Issue] = field(default_factory=list)

    def add(self, entity: str | None, message: str, hint: str | None = None, loc: tuple[Any, ...] = ()) -> None:
        line = self.inputs.line("entities", entity, *loc) if entity else self.inputs.line(*loc)
        prefix = f"entity {entity}: " if entity else ""
        self.issues.append(Issue(str(self.inputs.path), line, prefix + message, hint))

    def need(self, entity: str, f: EntityFields, name: str, why: str) -> None:
        if getattr(f, name) is not None:
            return
        hint = f"Add it under {self.inputs.where(entity, self.program.id, name)}."
        if name in ("member_months", "members", "tcoc_actual"):
            if self.derived is None:
                hint += " Or pass --data DIR to derive it from the attribution (and claims) tables."
            else:
                hint += f" (The attribution table in {self.derived.data} has no {self.inputs.performance_year} months for {entity}.)"
        self.add(entity, f"'{name}' is missing; {self.program.id} needs it for {why}.", hint)

    def for_entity(self, entity: str, f: EntityFields) -> _EntityView:
        return _EntityView(self, entity, f)


@dataclass
class _EntityView:
    checker: _Checker
    entity: str
    fields: EntityFields

    def need(self, name: str, why: str) -> None:
        self.checker.need(self.entity, self.fields, name, why)

    def add(self, message: str, hint: str | None = None, loc: tuple[Any, ...] = ()) -> None:
        self.checker.add(self.entity, message, hint, loc)


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
    measures = program.measures()
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
    view = chk.for_entity(entity, f)
    for name, c in program.components_for(track).items():
        c.check_entity(name, program, view)
    if program.uses_quality(track) and program.quality is not None and program.quality.source == "inputs":
        chk.need(entity, f, "quality_score", f"the quality score ({program.quality.description or 'reported by the payer'})")
    for mid, ref in program.measures().items():
        rate = rates[mid]
        if ref.unit == "proportion" and rate.source == "inputs" and rate.value is not None and not 0 <= rate.value <= 1:
            chk.add(entity, f"rate of {mid} is {float(rate.value):g}, outside [0, 1]; proportions are fractions (41.5% = 0.415).",
                    loc=("rates", mid))
    for cname, card in program.scorecards(track):
        reported = cname == "quality" and f.quality_score is not None
        check_entity_measures(card, f"{program.id} {cname}", view, rates, program.tier_sets, targets_needed=not reported)
