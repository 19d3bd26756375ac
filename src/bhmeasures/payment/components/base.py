"""What every component kind has and does; each kind's module overrides the parts that concern it.

A kind is a pydantic model (its YAML) with four duties: check itself inside its program (`check`),
say what it needs from an entity (`check_entity`, `wants`), pay one entity (`pay`), and explain every
dollar in the line items it returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol

from bhmeasures.errors import did_you_mean
from bhmeasures.payment.entity import EntityChecks, EntityContext
from bhmeasures.payment.params import Model
from bhmeasures.payment.result import LineItem
from bhmeasures.payment.scorecard import Scorecard
from bhmeasures.payment.tiers import Add, Tiers
from bhmeasures.yamlio import YamlPath


class ProgramView(Protocol):
    """The parts of a program a component may read (the program module imports the kinds, not the reverse)."""

    id: str
    payer: str
    tier_sets: dict[str, Tiers]
    components: dict[str, Any]


@dataclass(frozen=True)
class Paying:
    """What a component sees when it pays one entity."""

    program: ProgramView
    ctx: EntityContext
    quality: Fraction | None  # the entity's quality score, when the program has one and a component uses it
    items: list[LineItem]  # the entity's line items so far: components above this one, in file order

    def earned_by(self, components: list[str]) -> int:
        return sum(i.amount_cents for i in self.items if i.component in components and i.account == "earned")


class ComponentBase(Model):
    title: str
    tracks: list[str] | None = None  # the entity tracks this component applies to; default every track
    note: str | None = None

    def applies(self, track: str | None) -> bool:
        return self.tracks is None or track in self.tracks

    def uses_quality(self) -> bool:
        """Whether this component's dollars depend on the quality score."""
        return False

    def scorecard(self) -> Scorecard | None:
        """The measures this component scores, if any (what-ifs and entity checks go through them)."""
        return None

    def wants(self) -> frozenset[str]:
        """Entity fields this component may need that can be derived from a data folder."""
        return frozenset()

    def check(self, name: str, program: ProgramView, add: Add) -> None:
        """Problems of this component inside its program file beyond its schema (references, orders)."""

    def check_entity(self, name: str, program: ProgramView, chk: EntityChecks) -> None:
        """What this component needs from one entity, reported through `chk`."""

    def pay(self, name: str, p: Paying) -> list[LineItem]:
        raise NotImplementedError


def references(name: str, refs: list[str], program: ProgramView, key: str, add: Add, *,
               kinds: tuple[str, ...] | None = None, before: bool = True) -> None:
    """Check the component names a component refers to: known, above it in the file, of an allowed kind."""
    names = list(program.components)
    loc: YamlPath = ("components", name, key)
    for ref in refs:
        if ref not in program.components:
            add(loc, f"'{name}' refers to unknown component '{ref}'.", did_you_mean(ref, names))
        elif before and names.index(ref) > names.index(name):
            add(loc, f"'{name}' comes before component '{ref}' it refers to.", "Move it after.")
        elif kinds is not None and program.components[ref].kind not in kinds:
            add(loc, f"'{name}' cannot refer to '{ref}', a {program.components[ref].kind} component.",
                f"Refer to {' or '.join(kinds)} components.")
