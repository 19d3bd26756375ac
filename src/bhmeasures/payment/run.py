"""What `bhm pay` does: find the program, read rates and inputs, derive what is missing, pay, write atomically."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

from bhmeasures.bundled import sample_dir
from bhmeasures.errors import InputError
from bhmeasures.outputs import write_atomically
from bhmeasures.payment.derive import Derived, derive_from_data
from bhmeasures.payment.engine import apply_payment_rules
from bhmeasures.payment.inputs import (
    InputsError,
    ProgramInputs,
    bundled_inputs,
    read_program_inputs,
)
from bhmeasures.payment.loader import LoadedProgram, find_program, parameters
from bhmeasures.payment.money import decimal
from bhmeasures.payment.result import ACCOUNT_MEANING, PaymentResult
from bhmeasures.payment.results import (
    ResultsRates,
    load_results,
    manifest_of,
    results_from_bundled_sample,
)


@dataclass
class PaymentRun:
    result: PaymentResult
    program: LoadedProgram
    inputs: ProgramInputs
    rates: ResultsRates
    derived: Derived | None
    out: Path
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # defaults the run chose (bundled inputs, bundled data)
    document: dict[str, Any] | None = None  # payment.json as written, so that --json prints the same


DEFAULT_OUT = Path("bhm_payments")


def default_out(program_id: str) -> Path:
    """Each program writes to its own folder, so paying a second program does not replace the first one's files."""
    return DEFAULT_OUT / program_id


def _needs_derivation(program: LoadedProgram, inputs: ProgramInputs) -> tuple[bool, bool]:
    """(any member months or members missing, any actual TCOC missing where a TCOC component applies)."""
    p = program.program
    wanted = frozenset().union(*(c.wants() for c in p.components.values()))
    mm = tcoc = False
    for e in inputs.entities:
        f = inputs.resolved(e, p.id)
        mm = mm or any(getattr(f, x) is None for x in ("member_months", "members") if x in wanted)
        tcoc = tcoc or ("tcoc_actual" in wanted and f.tcoc_actual is None)
    return mm, tcoc


def pay(
    program: str,
    results: Path,
    inputs: Path | None = None,
    *,
    year: int | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    data: Path | None = None,
) -> PaymentRun:
    """Pay every entity of the inputs file under `program` (an id or a YAML file), from a `bhm compute` results folder.

    With results of the bundled demo (`bhm compute` with no --data), `inputs` defaults to the bundled
    sample inputs and `data` to the bundled sample data, from which member months and TCOC are derived.
    """
    notes: list[str] = []
    if not results.is_dir():
        raise InputError(f"{results}: results folder does not exist; run `bhm compute --out {results}` first, or pass --results DIR.")
    demo = results_from_bundled_sample(results)
    if inputs is None:
        if not demo:
            raise InputError("--inputs FILE is required (a program-inputs YAML; see docs/payments.md). It defaults to the "
                             "bundled sample only for results of the bundled demo data.")
        measured = (manifest_of(results) or {}).get("measurement_period", {}).get("year")
        inputs = bundled_inputs(year or measured or 2025)
        notes.append(f"inputs: the bundled sample {inputs}")
    loaded_inputs, issues = read_program_inputs(inputs)
    if loaded_inputs is None:
        raise InputsError(issues)
    if year is not None and year != loaded_inputs.performance_year:
        raise InputError(f"{inputs}: the inputs are for performance year {loaded_inputs.performance_year}, not {year}.")
    year = loaded_inputs.performance_year
    prog = find_program(program, year, overrides)
    rates, found = load_results(results, loaded_inputs.entities)
    issues += found
    if data is None and demo and inputs.resolve() == bundled_inputs(year).resolve():
        data = sample_dir()
        notes.append(f"data: the bundled sample {data} (member months, members and TCOC derived from it)")
    derived = None
    want_mm, want_tcoc = _needs_derivation(prog, loaded_inputs)
    if data is not None and (want_mm or want_tcoc):
        derived = derive_from_data(data, year, want_tcoc)
    # every problem at once: the inputs' schema, the results' rows, and what the program needs of each entity
    result = apply_payment_rules(prog, rates, loaded_inputs, derived, issues=issues)
    assert rates is not None  # unusable results are an error, raised above with the others
    result.warnings.extend(_warnings(rates, loaded_inputs, derived, year))
    return PaymentRun(result, prog, loaded_inputs, rates, derived, Path(), [], notes)


def _warnings(rates: ResultsRates, inputs: ProgramInputs, derived: Derived | None, year: int) -> list[str]:
    out = []
    extra = sorted(set(rates.by_entity) - set(inputs.entities))
    if extra and not rates.single_entity:
        out.append(f"entities in the results but not in the inputs, not paid: {', '.join(extra)}")
    if rates.measurement_year is not None and rates.measurement_year != year:
        out.append(f"the rates are for measurement year {rates.measurement_year}, the payment for performance year {year}")
    if rates.single_entity:
        out.append(f"the results have no per-entity rows: their total rows are used for {inputs.entities[0]}")
    if derived is not None:
        out.extend(derived.notes)
    return out


# ---------------------------------------------------------------- writing


def _json_value(v: Any) -> Any:
    if isinstance(v, Fraction):
        return v.numerator if v.denominator == 1 else float(v)
    return v


def to_json(run: PaymentRun) -> dict[str, Any]:
    r = run.result
    p = run.program.program
    entities = []
    for t in r.totals:
        items = [{k.removesuffix("_cents"): (str(decimal(v)) if k.endswith("_cents") and v is not None else _json_value(v))
                  for k, v in vars(i).items() if k != "entity_id"} for i in r.items(t.entity_id)]
        whatifs = [{k.removesuffix("_cents"): (str(decimal(v)) if k.endswith("_cents") and v is not None else _json_value(v))
                    for k, v in vars(w).items() if k != "entity_id"} for w in r.what_if if w.entity_id == t.entity_id]
        entities.append({
            "entity_id": t.entity_id, "track": t.track,
            "member_months": None if t.member_months is None else float(t.member_months),
            "totals": {k: str(decimal(v)) for k, v in t.cents().items()},
            "line_items": items, "what_if": whatifs,
        })
    return {
        "program": {"id": p.id, "title": p.title, "performance_year": p.performance_year, "payer": p.payer,
                    "file": str(run.program.path), "overrides": list(run.program.overrides),
                    "parameters": [vars(x) for x in parameters(p, run.program.lines)], "notes": p.notes},
        "inputs": {"file": str(run.inputs.path), "sha256": run.inputs.sha256},
        "results": {"file": str(run.rates.file), "sha256": run.rates.sha256, "measurement_year": run.rates.measurement_year},
        "derived_from": None if run.derived is None else str(run.derived.data),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rounding": r.rounding,
        "accounts": ACCOUNT_MEANING,
        "money": "decimal strings in dollars; line items of an account sum to the entity's total for it",
        "warnings": r.warnings,
        "defaults_used": run.notes,
        "entities": entities,
    }


def write_payment(run: PaymentRun, out: Path, fmt: str = "parquet") -> list[Path]:
    """line_items, totals and what_if tables plus payment.json, written beside `out` and moved in (JSON last)."""
    run.document = to_json(run)
    return write_atomically(out, run.result.frames(), {"payment.json": run.document}, fmt)


def run_payment(
    program: str,
    results: Path,
    inputs: Path | None,
    out: Path | None = None,
    fmt: str = "parquet",
    *,
    year: int | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    data: Path | None = None,
) -> PaymentRun:
    """`bhm pay`: pay, then write the tables and payment.json to `out`, by default bhm_payments/<program id>
    (nothing is written if anything fails)."""
    run = pay(program, results, inputs, year=year, overrides=overrides, data=data)
    out = out if out is not None else default_out(run.program.program.id)
    run.files = write_payment(run, out, fmt)
    run.out = out.resolve()
    return run
