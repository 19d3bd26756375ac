"""One entity as the components see it: its resolved inputs, its track and its measure rates."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol

from bhmeasures.payment.inputs import EntityFields
from bhmeasures.payment.results import Rate


@dataclass(frozen=True)
class EntityContext:
    entity_id: str
    track: str | None
    fields: EntityFields
    rates: dict[str, Rate]
    derived: frozenset[str] = frozenset()  # fields derived from the data folder, not read from the inputs

    @property
    def member_months(self) -> Fraction:
        assert self.fields.member_months is not None
        return self.fields.member_months

    def with_rate(self, measure: str, rate: Rate) -> EntityContext:
        return dataclasses.replace(self, rates={**self.rates, measure: rate})


class EntityChecks(Protocol):
    """Where a component reports what it needs from one entity and what is wrong with it."""

    entity: str
    fields: EntityFields

    def need(self, name: str, why: str) -> None:
        """Report `name` missing from the entity's inputs (a no-op when it is there)."""

    def add(self, message: str, hint: str | None = None, loc: tuple[Any, ...] = ()) -> None:
        """Report a problem at `loc` under the entity in the inputs file."""
