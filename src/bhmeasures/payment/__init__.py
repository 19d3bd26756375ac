"""ACO payment from measure rates: program rules as YAML, per-entity line items in exact money, what-ifs.

Library first; `bhm pay` and `bhm programs` are thin layers over `run_payment` and `describe_programs`.
"""

from bhmeasures.payment.derive import (
    derive_from_data,
    member_months,
    total_cost_of_care,
)
from bhmeasures.payment.engine import apply_payment_rules
from bhmeasures.payment.inputs import (
    InputsError,
    ProgramInputs,
    bundled_inputs,
    load_program_inputs,
    program_inputs_from_data,
    read_program_inputs,
)
from bhmeasures.payment.loader import (
    LoadedProgram,
    describe_programs,
    find_program,
    load_programs,
    parameters,
    program_from_data,
    validate_program,
    validate_programs,
)
from bhmeasures.payment.money import ROUNDING_RULE
from bhmeasures.payment.result import EntityTotal, LineItem, PaymentResult, WhatIf
from bhmeasures.payment.results import Rate, ResultsRates, load_results, read_results
from bhmeasures.payment.run import PaymentRun, pay, run_payment, to_json, write_payment
from bhmeasures.payment.whatif import what_if

__all__ = [
    "ROUNDING_RULE", "EntityTotal", "InputsError", "LineItem", "LoadedProgram", "PaymentResult", "PaymentRun",
    "ProgramInputs", "Rate", "ResultsRates", "WhatIf", "apply_payment_rules", "bundled_inputs", "derive_from_data",
    "describe_programs", "find_program", "load_program_inputs", "load_programs", "load_results", "member_months",
    "parameters", "pay", "program_from_data", "program_inputs_from_data", "read_program_inputs", "read_results",
    "run_payment", "to_json", "total_cost_of_care", "validate_program", "validate_programs", "what_if", "write_payment",
]
