"""Compile a validated, resolved spec into a MeasurePlan for one measurement year."""

from __future__ import annotations

from datetime import date

from bhmeasures.kinds.registry import STEP_KINDS
from bhmeasures.plan.model import MeasurePlan, Node, ValueSetInfo
from bhmeasures.spec.loader import LoadedSpec
from bhmeasures.spec.models import MeasureSpec, define_kind, define_step
from bhmeasures.spec.validate import lineage
from bhmeasures.valuesets import ValueSetLibrary


def _order(spec: MeasureSpec, wanted: list[str]) -> list[str]:
    """Every define the populations need, dependencies first (depth-first in spec order: deterministic)."""
    seen: dict[str, None] = {}

    def visit(n: str) -> None:
        if n in seen:
            return
        d = spec.defines[n]
        for ref in STEP_KINDS[define_kind(d)].inputs(define_step(d)):
            visit(ref)
        seen[n] = None

    for n in wanted:
        visit(n)
    return list(seen)


def _roles(spec: MeasureSpec) -> dict[str, list[str]]:
    pops, strat = spec.populations, spec.stratifiers
    roles: dict[str, list[str]] = {}

    def add(name: str, role: str) -> None:
        roles.setdefault(name, []).append(role)

    add(pops.initial_population, "initial population")
    add(pops.denominator, "denominator")
    for ex in pops.denominator_exclusions:
        add(ex, "denominator exclusion")
    for ex in pops.denominator_exceptions:
        add(ex, "denominator exception")
    if pops.member_months:
        add(pops.member_months, "member months (the denominator)")
    for r in pops.rates:
        add(r.numerator, f"numerator of {r.id}")
        if r.denominator:
            add(r.denominator, f"denominator of {r.id}")
    for name, strata in strat.by_define.items():
        for label, ref in strata.items():
            add(ref, f"stratum {name}={label}")
    return roles


def compile_plan(loaded: LoadedSpec, library: ValueSetLibrary, year: int) -> MeasurePlan:
    spec = loaded.spec
    pops = spec.populations
    wanted = [pops.initial_population, pops.denominator, *pops.denominator_exclusions, *pops.denominator_exceptions,
              *(r.numerator for r in pops.rates), *(r.denominator for r in pops.rates if r.denominator),
              *(ref for strata in spec.stratifiers.by_define.values() for ref in strata.values()),
              *([pops.member_months] if pops.member_months else [])]
    roles = _roles(spec)
    nodes: dict[str, Node] = {}
    for name in _order(spec, wanted):
        d = spec.defines[name]
        kind_name = define_kind(d)
        kind, step = STEP_KINDS[kind_name], define_step(d)
        value_sets = sorted({vs for p in kind.predicates(step) for vs in p.value_sets()}
                            | set(kind.attribute_sets(step)))
        nodes[name] = Node(
            name=name, kind=kind_name, step=step, inputs=tuple(kind.inputs(step)), produces=kind.produces,
            reason=step.reason or kind.default_reason(name, step, spec.event_name),
            roles=tuple(roles.get(name, ())), value_sets=tuple(value_sets),
        )
    infos = {}
    for ref in spec.value_sets:
        vs = library[ref.name]
        infos[ref.name] = ValueSetInfo(ref.name, vs.version, vs.size(), tuple(sorted(vs.systems)),
                                       tuple(sorted(vs.provenance)), str(vs.file))
    paths = {}
    for r in pops.rates:
        path = lineage(spec, pops.initial_population, r.denominator or pops.denominator)
        assert path is not None  # validated
        paths[r.id] = tuple(path)
    return MeasurePlan(
        measure_id=spec.id, title=spec.title, version=spec.version, steward=spec.steward, basis=spec.basis,
        event_name=spec.event_name, codes=spec.codes, source_status=spec.source_status, improvement=spec.improvement,
        year=year, period=(date(year, 1, 1), date(year, 12, 31)), nodes=nodes, populations=pops,
        stratifiers=spec.stratifiers, value_sets=infos, requires=tuple(spec.requires), notes=tuple(spec.notes), paths=paths,
    )
