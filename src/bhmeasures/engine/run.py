"""Evaluate one measure plan over the data the scan kept: a visitor that asks each node's kind to run it.

The engine knows no measure: it hands every kind the shared frames and the lookups it needs (which flag
column answers a condition, a value set's per-code attributes) and memoises each define's result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import polars as pl

from bhmeasures.engine.codes import spellings
from bhmeasures.engine.lines import LinePlan
from bhmeasures.kinds.base import StepResult
from bhmeasures.kinds.registry import STEP_KINDS
from bhmeasures.plan.model import MeasurePlan, node_keys
from bhmeasures.spec.base import Predicate, parse_attribute_ref
from bhmeasures.valuesets import ValueSetLibrary


@dataclass
class RunData:
    """Everything the measures of one run share."""

    year: int
    scan: LinePlan
    lines: pl.DataFrame  # kept medical claim lines, a flag column per condition
    rx: pl.DataFrame  # kept pharmacy fills
    observations: pl.DataFrame | None
    claim_flags: pl.DataFrame  # source, member_id, claim_id, a flag per claim-level leaf
    members: pl.DataFrame  # member_id, birth_date, death_date, and member attributes
    spans: pl.DataFrame  # eligibility spans with benefit flags and attributes
    attribution: pl.DataFrame | None
    library: ValueSetLibrary
    # results that depend on the data only, not on one measure (members enrolled over the measurement year)
    shared: dict[Any, pl.DataFrame] = field(default_factory=dict)
    # keys (plan.model.node_keys) of defines two or more of the run's plans have, and their results once computed
    common_nodes: set[str] = field(default_factory=set)
    node_results: dict[str, StepResult] = field(default_factory=dict)


class MeasureRun:
    """Evaluates the nodes of one plan on demand, each once."""

    def __init__(self, plan: MeasurePlan, data: RunData) -> None:
        self.plan = plan
        self.data = data
        self.year = plan.year
        self._memo: dict[str, StepResult] = {}
        self._keys = node_keys(plan)

    def get(self, name: str) -> StepResult:
        if name not in self._memo:
            key = self._keys[name]
            result = self.data.node_results.get(key)
            if result is None:
                node = self.plan.nodes[name]
                result = STEP_KINDS[node.kind].evaluate(node, self)
                if key in self.data.common_nodes:  # another measure of the run has this define: computed once
                    self.data.node_results[key] = result
            self._memo[name] = result
        return self._memo[name]

    def events(self, name: str) -> pl.DataFrame:
        return self.get(name).frame

    def produces(self, name: str) -> str:
        return self.plan.nodes[name].produces

    def reason_of(self, name: str) -> str:
        return self.plan.nodes[name].reason

    def source_column(self, p: Predicate) -> str:
        """The flag column the scan computed for a source condition."""
        return self.data.scan.source_key(p)

    def claim_flag(self, leaf: Predicate) -> str:
        return self.data.scan.leaf_key(leaf)

    def with_claim_flags(self, events: pl.DataFrame, names: list[str] | None = None) -> pl.DataFrame:
        """The events with each claim-level flag (all, or those named) true when any claim of the event has it,
        null when none has it."""
        flags = self.data.claim_flags
        names = names if names is not None else [c for c in flags.columns if c not in ("source", "member_id", "claim_id")]
        if not names:
            return events
        # only claims with a named flag set take part: most events have none, and join nothing
        flagged = flags.lazy().select("source", "member_id", "claim_id", *names).filter(pl.any_horizontal(names))
        per_event = (events.lazy().select("source", "member_id", "event_id", "claims").explode("claims")
                     .join(flagged, left_on=["source", "member_id", "claims"], right_on=["source", "member_id", "claim_id"],
                           how="inner")
                     .group_by("source", "member_id", "event_id").agg(pl.col(names).any())).collect()
        return events.join(per_event, on=["source", "member_id", "event_id"], how="left")

    def attribute(self, ref: str, code: pl.Expr) -> pl.Expr:
        """The value of a value set's per-code attribute for the code in `code` (null when it has none)."""
        name, attribute = parse_attribute_ref(ref)
        keys, values = attribute_table(self.data.library, name, attribute)
        if not keys:
            return pl.lit(None, dtype=pl.String)
        return code.replace_strict(keys, values, default=None, return_dtype=pl.String)


@lru_cache(maxsize=128)
def attribute_table(library: ValueSetLibrary, name: str, attribute: str) -> tuple[list[str], list[str]]:
    """Every spelling of every code that has the attribute, and its value (the first code's, for a spelling two
    codes share); computed once per loaded library: a medication list has thousands of codes."""
    vs = library[name]
    system_of: dict[str, str] = {}
    for system, codes in vs.codes.items():
        for c in codes:
            system_of.setdefault(c, system)
    found: dict[str, str] = {}
    for c, v in sorted(vs.attributes.get(attribute, {}).items()):
        for spelled in spellings(system_of.get(c, ""), c):
            found.setdefault(spelled, v)
    return list(found), list(found.values())
