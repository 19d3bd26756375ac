"""What a plan is made of. Nodes hold the validated step of their define and what the plan resolved
about it; nothing here depends on an engine."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import BaseModel

from bhmeasures.spec.models import Populations, Stratifiers


@dataclass(frozen=True)
class ValueSetInfo:
    name: str
    version: str
    codes: int
    systems: tuple[str, ...]
    provenance: tuple[str, ...]
    file: str


@dataclass(frozen=True)
class Node:
    """One define: its kind, the step as written (after includes, variants and named conditions), what it
    reads, whether it yields events or members, the reason it writes, and its roles in the populations."""

    name: str
    kind: str
    step: Any
    inputs: tuple[str, ...]
    produces: str
    reason: str
    roles: tuple[str, ...] = ()
    value_sets: tuple[str, ...] = ()


@dataclass(frozen=True)
class MeasurePlan:
    measure_id: str
    title: str
    version: str
    steward: str
    basis: str
    event_name: str
    codes: str
    source_status: str
    improvement: str
    year: int
    period: tuple[date, date]
    nodes: dict[str, Node]  # dependencies first, in a deterministic order
    populations: Populations
    stratifiers: Stratifiers
    value_sets: dict[str, ValueSetInfo]
    requires: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    paths: dict[str, tuple[str, ...]] = field(default_factory=dict)  # rate id -> defines from IP to its denominator

    def node(self, name: str) -> Node:
        return self.nodes[name]

    def denominator_of(self, rate_id: str) -> str:
        rate = next(r for r in self.populations.rates if r.id == rate_id)
        return rate.denominator or self.populations.denominator


def node_keys(plan: MeasurePlan) -> dict[str, str]:
    """Per define, a key of what its result depends on: its name, kind, step as written, reason, roles and the
    measurement year, and the keys of the defines it reads. Two plans' defines with one key have one result
    (a variant's defines shared with its base measure, "Inpatient Stays" in FUH and FUM)."""
    keys: dict[str, str] = {}
    for name, node in plan.nodes.items():  # dependencies first
        step = node.step.model_dump_json(by_alias=True) if isinstance(node.step, BaseModel) else repr(node.step)
        text = json.dumps([plan.year, node.name, node.kind, step, node.produces, node.reason, list(node.roles),
                           [keys[i] for i in node.inputs]])
        keys[name] = hashlib.sha256(text.encode()).hexdigest()
    return keys
