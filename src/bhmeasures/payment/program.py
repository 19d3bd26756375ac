"""A payment program for one performance year: its quality score, shared tier sets and components in order.

The kinds of component are listed once, here; everything else about a kind lives in its own module
under `components/`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from pydantic import Field

from bhmeasures.errors import did_you_mean
from bhmeasures.payment.components.base import ComponentBase, Paying
from bhmeasures.payment.components.capitation_ceiling import CapitationCeiling
from bhmeasures.payment.components.incentive_pool import IncentivePool
from bhmeasures.payment.components.pass_through import PassThrough
from bhmeasures.payment.components.population_payment import PopulationPayment
from bhmeasures.payment.components.quality_gate import QualityGate
from bhmeasures.payment.components.shared_savings import (
    MsrTable,
    SharedSavings,
    check_msr_tables,
)
from bhmeasures.payment.entity import EntityContext
from bhmeasures.payment.params import Model
from bhmeasures.payment.result import LineItem
from bhmeasures.payment.scorecard import (
    MeasureRef,
    Quality,
    Scorecard,
    check_scorecard,
    quality_score,
)
from bhmeasures.payment.tiers import Add, Tiers, check_credits

Component = Annotated[
    IncentivePool | PassThrough | PopulationPayment | QualityGate | SharedSavings | CapitationCeiling,
    Field(discriminator="kind"),
]


class Program(Model):
    """One payment program for one performance year."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    performance_year: int = Field(ge=2000, le=2100)
    payer: str
    entity_label: str = "entity"
    summary: str
    notes: list[str] = Field(default_factory=list)
    sources: dict[str, str] = Field(min_length=1)
    tracks: dict[str, str] = Field(default_factory=dict)
    default_track: str | None = None
    tier_sets: dict[str, Tiers] = Field(default_factory=dict)
    quality: Quality | None = None
    msr_tables: dict[str, MsrTable] = Field(default_factory=dict)
    components: dict[str, Component] = Field(min_length=1)

    def components_for(self, track: str | None) -> dict[str, ComponentBase]:
        return {name: c for name, c in self.components.items() if c.applies(track)}

    def uses_quality(self, track: str | None) -> bool:
        return any(c.uses_quality() for c in self.components_for(track).values())

    def scorecards(self, track: str | None) -> list[tuple[str, Scorecard]]:
        """(component name or 'quality', scorecard) for every set of measures that counts for this track."""
        cards: list[tuple[str, Scorecard]] = []
        if self.quality is not None and self.quality.source == "measures" and self.uses_quality(track):
            cards.append(("quality", self.quality))
        for n, c in self.components_for(track).items():
            card = c.scorecard()
            if card is not None:
                cards.append((n, card))
        return cards

    def measures(self) -> dict[str, MeasureRef]:
        """Every rate id the program scores on any track."""
        out: dict[str, MeasureRef] = {}
        if self.quality is not None:
            out.update(self.quality.measures)
        for c in self.components.values():
            card = c.scorecard()
            if card is not None:
                out.update(card.measures)
        return out

    def pay(self, ctx: EntityContext, warn: Callable[[str], None] | None = None) -> list[LineItem]:
        """Every line item of one entity, components in file order (a component sees the line items above it)."""
        items: list[LineItem] = []
        qs = None
        if self.quality is not None and self.uses_quality(ctx.track):
            q = quality_score(self.quality, ctx, self.tier_sets)
            items.extend(q.lines)
            qs = q.score
            if warn is not None and q.from_measures and not q.measured:
                warn(f"the quality score {float(qs):g} is built from no available measure (no rate, or no targets, for any of "
                     f"{', '.join(self.quality.measures)}).")
        for name, c in self.components_for(ctx.track).items():
            items.extend(c.pay(name, Paying(self, ctx, qs, items)))
        return items

    def check(self, add: Add) -> None:
        """Problems beyond the schema: tracks, references between components, tiers, MSR tables."""
        if self.tracks:
            if self.default_track is None:
                add(("tracks",), "a program with tracks needs default_track.", f"Add default_track: {next(iter(self.tracks))}.")
            elif self.default_track not in self.tracks:
                add(("default_track",), f"default_track '{self.default_track}' is not a track.",
                    did_you_mean(self.default_track, list(self.tracks)))
        elif self.default_track is not None:
            add(("default_track",), "default_track given but the program has no tracks.", "Remove it or add tracks.")
        for sname, tiers in self.tier_sets.items():
            check_credits(tiers, ("tier_sets", sname), add)
        for name, c in self.components.items():
            for t in c.tracks or []:
                if t not in self.tracks:
                    add(("components", name, "tracks"), f"component '{name}' applies to unknown track '{t}'.",
                        did_you_mean(t, list(self.tracks)) or "Declare it under tracks.")
            c.check(name, self, add)
            if c.uses_quality() and self.quality is None:
                add(("components", name), f"component '{name}' depends on the quality score but the program has no quality section.",
                    "Add quality:.")
        if self.quality is not None and self.quality.source == "measures":
            check_scorecard(self.quality, ("quality",), self.tier_sets, add)
            if not self.quality.measures:
                add(("quality",), "quality from measures needs measures.", "Add quality.measures, or use source: inputs.")
        check_msr_tables(self.msr_tables, add)

