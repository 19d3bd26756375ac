"""Shared helpers for the payment tests: programs with overrides, inputs from dicts, exact cents."""

from __future__ import annotations

import copy
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bhmeasures.payment import (
    PaymentResult,
    apply_payment_rules,
    program_inputs_from_data,
)
from bhmeasures.payment.loader import LoadedProgram, program_from_data, programs_dir


@cache
def _raw(program_id: str) -> dict[str, Any]:
    return yaml.safe_load((programs_dir() / f"{program_id}_2025.yaml").read_text(encoding="utf-8"))


def program(program_id: str, *sets: str, edit: Any = None) -> LoadedProgram:
    """A shipped program with `--set`-style overrides and/or an edit of its raw data (fast: parsed once)."""
    data = copy.deepcopy(_raw(program_id))
    if edit is not None:
        edit(data)
    loaded, issues = program_from_data(data, programs_dir() / f"{program_id}_2025.yaml", overrides=sets)
    assert loaded is not None, [str(i) for i in issues]
    return loaded


def pay(prog: LoadedProgram, entities: dict[str, dict[str, Any]], rates: dict | None = None, **defaults: Any) -> PaymentResult:
    inputs = program_inputs_from_data({"performance_year": 2025, "defaults": defaults, "entities": entities})
    return apply_payment_rules(prog, rates or {}, inputs)


def cents(amount: str) -> int:
    """'2,880,000.00' -> 288000000."""
    return int(Decimal(amount.replace(",", "")) * 100)


def amount(result: PaymentResult, entity: str, item: str, component: str | None = None) -> int:
    found = [i for i in result.items(entity, component) if i.item == item]
    assert len(found) == 1, [(i.component, i.item) for i in result.items(entity)]
    return found[0].amount_cents


def write_yaml(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path
