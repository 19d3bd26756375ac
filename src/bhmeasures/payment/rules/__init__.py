"""Payment rules by program family: pools (Colorado, RI incentive pool, Minnesota PBP) and TCOC shared savings."""

from __future__ import annotations

from bhmeasures.payment.derive import Derived
from bhmeasures.payment.inputs import ProgramInputs, ResultsRates
from bhmeasures.payment.loader import LoadedProgram
from bhmeasures.payment.models import IncentivePool, PassThrough, PopulationPayment, Program, QualityGate, SharedSavings
from bhmeasures.payment.result import LineItem, PaymentResult, totals_of
from bhmeasures.payment.rules.context import EntityContext, RateLookup, build_contexts
from bhmeasures.payment.rules.pools import incentive_pool, pass_through, population_payment, quality_gate
from bhmeasures.payment.rules.scorecard import quality_score
from bhmeasures.payment.rules.tcoc import shared_savings


def evaluate_entity(program: Program, ctx: EntityContext) -> list[LineItem]:
    """Every line item of one entity, components in file order (a pass-through sees the components above it)."""
    items: list[LineItem] = []
    qs = None
    if program.quality is not None and program.uses_quality(ctx.track):
        q = quality_score(program, ctx)
        items.extend(q.lines)
        qs = q.score
    for name, c in program.components_for(ctx.track).items():
        if isinstance(c, IncentivePool):
            items.extend(incentive_pool(name, c, ctx))
        elif isinstance(c, PopulationPayment):
            assert qs is not None
            items.extend(population_payment(name, c, ctx, qs))
        elif isinstance(c, QualityGate):
            assert qs is not None
            items.extend(quality_gate(name, c, ctx, qs))
        elif isinstance(c, SharedSavings):
            items.extend(shared_savings(name, c, program, ctx, qs, items))
        elif isinstance(c, PassThrough):
            items.extend(pass_through(name, c, ctx, items))
    return items


def net_cents(items: list[LineItem]) -> int:
    return sum(i.amount_cents for i in items if i.account in ("earned", "owed"))


def apply_payment_rules(
    program: LoadedProgram | Program,
    rates: ResultsRates | dict | RateLookup,
    inputs: ProgramInputs,
    derived: Derived | None = None,
    with_what_if: bool = True,
) -> PaymentResult:
    """Pay every entity of the inputs under one program; raise InputsError (every problem) before computing anything."""
    from bhmeasures.payment.whatif import what_if

    prog = program.program if isinstance(program, LoadedProgram) else program
    contexts = build_contexts(prog, inputs, rates, derived)
    items: list[LineItem] = []
    totals = []
    scenarios = []
    for ctx in contexts:
        mine = evaluate_entity(prog, ctx)
        items.extend(mine)
        totals.append(totals_of(mine, ctx.entity_id, ctx.track, ctx.fields.member_months))
        if with_what_if:
            scenarios.extend(what_if(prog, ctx, mine))
    return PaymentResult(prog.id, prog.performance_year, items, totals, scenarios)


__all__ = ["EntityContext", "apply_payment_rules", "build_contexts", "evaluate_entity", "net_cents"]
