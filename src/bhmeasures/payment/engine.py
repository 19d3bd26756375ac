"""Pay every entity of the inputs under one program: check everything first, then line items, totals, what-ifs."""

from __future__ import annotations

from collections.abc import Sequence

from bhmeasures.errors import Issue
from bhmeasures.payment.context import RateLookup, check_entities
from bhmeasures.payment.derive import Derived
from bhmeasures.payment.inputs import InputsError, ProgramInputs
from bhmeasures.payment.loader import LoadedProgram
from bhmeasures.payment.program import Program
from bhmeasures.payment.result import LineItem, PaymentResult, totals_of
from bhmeasures.payment.results import ResultsRates
from bhmeasures.payment.whatif import what_if


def apply_payment_rules(
    program: LoadedProgram | Program,
    rates: ResultsRates | dict | RateLookup | None,
    inputs: ProgramInputs,
    derived: Derived | None = None,
    with_what_if: bool = True,
    issues: Sequence[Issue] = (),
) -> PaymentResult:
    """Pay every entity of the inputs under one program.

    Raise InputsError with every error (those in `issues`, found earlier, and those found here) before
    anything is paid; warnings go into the result.
    """
    prog = program.program if isinstance(program, LoadedProgram) else program
    contexts, found = check_entities(prog, inputs, rates, derived)
    found = [*issues, *found]
    errors = [i for i in found if i.severity == "error"]
    if errors:
        raise InputsError(_in_file_order(errors))
    warnings = [i for i in found if i.severity != "error"]
    items: list[LineItem] = []
    totals = []
    scenarios = []
    for ctx in contexts:
        notes: list[str] = []
        mine = prog.pay(ctx, notes.append)
        warnings.extend(Issue(str(inputs.path), inputs.line("entities", ctx.entity_id), f"entity {ctx.entity_id}: {n}",
                              severity="warning") for n in notes)
        items.extend(mine)
        totals.append(totals_of(mine, ctx.entity_id, ctx.track, ctx.fields.member_months))
        if with_what_if:
            scenarios.extend(what_if(prog, ctx, mine))
    return PaymentResult(prog.id, prog.performance_year, items, totals, scenarios, [str(w) for w in _in_file_order(warnings)])


def _in_file_order(issues: list[Issue]) -> list[Issue]:
    files = list(dict.fromkeys(i.file for i in issues))
    return sorted(issues, key=lambda i: (files.index(i.file), i.line or 0))
