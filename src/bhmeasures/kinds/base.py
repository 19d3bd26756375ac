"""What a step kind is: its spec model and, in one place, how it is validated, planned, explained and run.

A kind is registered under the YAML key that introduces it (`filter:`, `stays:`, ...). Adding a kind
means writing one module here (plus its documentation); the spec models, the validator, the plan, the
explanation and the Polars engine find it through the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import polars as pl

from bhmeasures.spec.base import Predicate, StepModel, parse_attribute_ref

if TYPE_CHECKING:
    from bhmeasures.engine.run import MeasureRun
    from bhmeasures.plan.model import Node

# (loc inside the define, message, hint): what a kind's own checks report
Problem = tuple[tuple[Any, ...], str, str | None]


@dataclass
class StepResult:
    """A define's result: its events (or members), and why events of its input were removed."""

    frame: pl.DataFrame
    # member_id, event_id, reason, removed_by (the define whose membership removed it, for exclusions)
    dropped: pl.DataFrame | None = None


DROPPED_SCHEMA = {"member_id": pl.String, "event_id": pl.String, "reason": pl.String, "removed_by": pl.String}


def dropped_frame(source: pl.DataFrame, kept: pl.DataFrame, reason: str, removed_by: str | None = None) -> pl.DataFrame:
    """The events of `source` not in `kept`, each with the same reason."""
    out = source.select("member_id", "event_id").join(kept.select("member_id", "event_id"), on=["member_id", "event_id"],
                                                      how="anti")
    return out.with_columns(pl.lit(reason).alias("reason"), pl.lit(removed_by, dtype=pl.String).alias("removed_by"))


@dataclass
class SpecView:
    """What a kind's checks may ask about the rest of the spec."""

    defines: dict[str, Any]  # name -> Define
    produces: Callable[[str], str | None]  # "events" | "members" | None (unknown define)
    dates: Callable[[str], set[str]]  # date names the events of a define carry


class StepKind:
    """Base class of step kinds; subclasses set the class attributes and override what applies."""

    key: ClassVar[str]  # the YAML key
    model: ClassVar[type[StepModel]]
    produces: ClassVar[str] = "events"  # or "members"
    narrows: ClassVar[bool] = False  # keeps a subset of its `from` events: a step between populations
    table: ClassVar[str | None] = None  # the input table a source reads
    # its events may be of members with no claim line, fill or observation (units made from eligibility): a run
    # with such a step keeps every member, any other keeps only the members the scan kept something of
    units_without_claims: ClassVar[bool] = False
    summary: ClassVar[str] = ""

    # -- the spec -------------------------------------------------------------------------------
    def inputs(self, step: Any) -> list[str]:
        """Names of the defines this step reads."""
        return []

    def member_inputs(self, step: Any) -> list[str]:
        """The inputs that must be sets of members (the others must be events)."""
        return []

    def either_inputs(self, step: Any) -> list[str]:
        """Inputs that may be events or members."""
        return []

    def needs_table(self, step: Any) -> str | None:
        """The input table the step cannot run without (an optional source may run on none)."""
        return self.table

    def predicates(self, step: Any) -> list[Predicate]:
        """Every claim-line condition of the step (for value-set and named-condition checks)."""
        return []

    def line_conditions(self, step: Any) -> list[Predicate]:
        """Conditions that select the source's rows (tested row by row in the scan)."""
        return []

    def claim_conditions(self, step: Any) -> list[Predicate]:
        """Conditions tested on an event's claims (each leaf holds when any line of them meets it)."""
        return []

    def line_columns(self, step: Any) -> list[str]:
        """Input columns the source reads from its kept lines beyond those every kept line has (a code
        to look a value-set attribute up by); the scan keeps them only when some step asks."""
        return []

    def attribute_refs(self, step: Any) -> list[tuple[str, bool]]:
        """The value-set attributes (`VALUE SET.attribute`) the step reads, each with whether its values
        must be whole numbers of days; validation checks the loaded value sets carry them."""
        return []

    def attribute_sets(self, step: Any) -> list[str]:
        """The value sets whose attributes the step reads."""
        return [parse_attribute_ref(r)[0] for r, _ in self.attribute_refs(step)]

    def dates(self, step: Any, input_dates: Callable[[str], set[str]]) -> set[str]:
        """Date names the events of this define carry (for windows of later steps)."""
        return set()

    def check(self, step: Any, view: SpecView) -> list[Problem]:
        return []

    def map_predicates(self, step: Any, fn: Callable[[Predicate], Predicate]) -> Any:
        """The step with each claim-line condition replaced by fn(condition): named conditions substituted,
        value sets rebound by a variant (kinds with conditions override)."""
        return step

    def default_reason(self, name: str, step: Any, event_name: str) -> str:
        return f"does not meet '{name}'"

    # -- explanation ----------------------------------------------------------------------------
    def describe(self, node: Node, year: int) -> list[str]:
        """Lines saying what the step does, with windows resolved for the year."""
        return [self.summary] if self.summary else []

    # -- the Polars engine -----------------------------------------------------------------------
    def evaluate(self, node: Node, run: MeasureRun) -> StepResult:
        raise NotImplementedError


class SourceKind(StepKind):
    """A kind whose events are the rows of its table that meet `where` (encounters, stays, dispensings,
    observations): the condition is tested in the scan, the events carry their start, end and index dates,
    and `attributes` / `covers_days_from`, where the model has them, read value-set attributes."""

    def predicates(self, step: Any) -> list[Predicate]:
        return [step.where]

    def line_conditions(self, step: Any) -> list[Predicate]:
        return [step.where]

    def dates(self, step: Any, input_dates: Callable[[str], set[str]]) -> set[str]:
        return {"index_date", "start_date", "end_date"}

    def map_predicates(self, step: Any, fn: Callable[[Predicate], Predicate]) -> Any:
        return step.model_copy(update={"where": fn(step.where)})

    def attribute_refs(self, step: Any) -> list[tuple[str, bool]]:
        days = getattr(step, "covers_days_from", None)
        return [(r, False) for r in getattr(step, "attributes", {}).values()] + ([(days, True)] if days else [])


def describe_attributes(attributes: dict[str, str], covers_days_from: str | None) -> list[str]:
    out = [f"carries {col} = attribute '{ref}'" for col, ref in attributes.items()]
    if covers_days_from:
        out.append(f"a code with attribute '{covers_days_from}' covers that many days from its date")
    return out


@dataclass
class Registry:
    kinds: dict[str, StepKind] = field(default_factory=dict)

    def register(self, cls: type[StepKind]) -> type[StepKind]:
        if cls.key in self.kinds:
            msg = f"step kind '{cls.key}' registered twice"
            raise RuntimeError(msg)
        self.kinds[cls.key] = cls()
        return cls

    def __getitem__(self, key: str) -> StepKind:
        return self.kinds[key]

    def keys(self) -> list[str]:
        return list(self.kinds)


STEP_KINDS = Registry()
register = STEP_KINDS.register
