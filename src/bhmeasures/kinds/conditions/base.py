"""What a filter condition kind is: its spec model and how it is checked, explained and evaluated.

A `filter` keeps the events of its `from` that meet every condition it lists; `any_of`, `all_of` and
`not` combine conditions. Each condition kind is one module registered under its YAML key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import polars as pl

from bhmeasures.spec.base import Predicate

if TYPE_CHECKING:
    from bhmeasures.engine.run import MeasureRun
    from bhmeasures.kinds.base import Problem, SpecView


@dataclass
class Outcome:
    """The events that meet a condition (with any columns it adds, such as evidence) and, for conditions
    that remove events by membership, which set removed each of the others and why."""

    kept: pl.DataFrame
    removed: pl.DataFrame | None = None  # member_id, event_id, reason, removed_by


class ConditionKind:
    key: ClassVar[str]
    model: ClassVar[Any]  # the type of the value under the key
    gives_evidence: ClassVar[bool] = False
    cost: ClassVar[int] = 1  # cheaper conditions run first inside an all_of

    def inputs(self, value: Any) -> list[str]:
        return []

    def member_inputs(self, value: Any) -> list[str]:
        return []

    def either_inputs(self, value: Any) -> list[str]:
        return []

    def predicates(self, value: Any) -> list[Predicate]:
        return []

    def claim_conditions(self, value: Any) -> list[Predicate]:
        return []

    def dates_used(self, value: Any) -> set[str]:
        """Names of the event dates the condition reads (each must be carried by the filtered events)."""
        return set()

    def dates_added(self, value: Any) -> set[str]:
        """Names of the dates the condition adds to the events it keeps (named evidence)."""
        return set()

    def dates_imported(self, value: Any) -> list[str]:
        """Defines whose named dates the condition brings onto the events it keeps (`in:`)."""
        return []

    def map_predicates(self, value: Any, fn: Any) -> Any:
        """The value with each claim-line condition replaced by fn(condition) (named conditions, rebound value sets)."""
        return value

    def check(self, value: Any, view: SpecView) -> list[Problem]:
        return []

    def describe(self, value: Any, year: int) -> str:
        raise NotImplementedError

    def evaluate(self, events: pl.DataFrame, value: Any, run: MeasureRun) -> Outcome:
        raise NotImplementedError


@dataclass
class ConditionRegistry:
    kinds: dict[str, ConditionKind] = field(default_factory=dict)

    def register(self, cls: type[ConditionKind]) -> type[ConditionKind]:
        if cls.key in self.kinds:
            msg = f"condition kind '{cls.key}' registered twice"
            raise RuntimeError(msg)
        self.kinds[cls.key] = cls()
        return cls


CONDITIONS = ConditionRegistry()
register_condition = CONDITIONS.register
