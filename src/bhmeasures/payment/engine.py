"""Pay every entity of the inputs under one program: check everything first, then line items, totals, what-ifs."""

from __future__ import annotations

from bhmeasures.payment.context import RateLookup, build_contexts
from bhmeasures.payment.derive import Derived
from bhmeasures.payment.inputs import ProgramInputs, ResultsRates
from bhmeasures.payment.loader import LoadedProgram
from bhmeasures.payment.program import Program
from bhmeasures.payment.result import LineItem, PaymentResult, totals_of
from bhmeasures.payment.whatif import what_if


def apply_payment_rules(
    program: LoadedProgram | Program,
    rates: ResultsRates | dict | RateLookup,
    inputs: ProgramInputs,
    derived: Derived | None = None,
    with_what_if: bool = True,
) -> PaymentResult:
    """Pay every entity of the inputs under one program; raise InputsError (every problem) before computing anything."""
    prog = program.program if isinstance(program, LoadedProgram) else program
    contexts = build_contexts(prog, inputs, rates, derived)
    items: list[LineItem] = []
    totals = []
    scenarios = []
    for ctx in contexts:
        mine = prog.pay(ctx)
        items.extend(mine)
        totals.append(totals_of(mine, ctx.entity_id, ctx.track, ctx.fields.member_months))
        if with_what_if:
            scenarios.extend(what_if(prog, ctx, mine))
    return PaymentResult(prog.id, prog.performance_year, items, totals, scenarios)
