"""Pydantic models of a payment program file: one program and performance year, unknown keys rejected.

Every number a program uses is a `Param`: a value plus where it comes from (the provenance tags of
the payments reference), so a run can say which dollars rest on verified rules and which on
illustrative defaults.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from bhmeasures.payment.money import as_fraction

# payments.md tags: [V] verified, [V2] verified in a secondary source, per the seed document, [R] recalled, [I] illustrative
PROVENANCE = ("verified", "verified-secondary", "seed", "recalled", "illustrative", "override")
TAGS = {"verified": "V", "verified-secondary": "V2", "seed": "seed", "recalled": "R", "illustrative": "I", "override": "set"}
Provenance = Literal["verified", "verified-secondary", "seed", "recalled", "illustrative", "override"]


def _number(value: Any) -> Fraction:
    try:
        return as_fraction(value)
    except TypeError as e:
        raise ValueError(str(e)) from e


Number = Annotated[Fraction, BeforeValidator(_number)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


def _exactly_one(model: BaseModel, keys: tuple[str, ...], what: str) -> None:
    given = [k for k in keys if getattr(model, k) is not None]
    if len(given) != 1:
        raise ValueError(f"{what} needs exactly one of: {', '.join(keys)} (got {len(given)})")


class Param(Model):
    """A number with its provenance; `source` names an entry of the program's `sources`."""

    value: Number
    provenance: Provenance
    source: str | None = None

    @property
    def tag(self) -> str:
        return TAGS[self.provenance]


class Share(Param):
    """A fraction between 0 and 1 (a rate, a share, a percentage written as 0.05)."""

    @model_validator(mode="after")
    def _in_unit_range(self) -> Share:
        if not 0 <= self.value <= 1:
            raise ValueError(f"value {float(self.value):g} is outside [0, 1]; write percentages as fractions (5% = 0.05)")
        return self


class Amount(Param):
    """A non-negative number (dollars, a weight)."""

    @model_validator(mode="after")
    def _non_negative(self) -> Amount:
        if self.value < 0:
            raise ValueError(f"value {float(self.value):g} is negative")
        return self


class Flag(Model):
    value: bool
    provenance: Provenance
    source: str | None = None

    @property
    def tag(self) -> str:
        return TAGS[self.provenance]


class Tier(Model):
    """A level of performance on a measure: how its target is set, and the share of credit it earns.

    Targets move from the entity's baseline toward better performance (up for higher-is-better measures,
    down for lower-is-better): by a share of the gap to the benchmark, by an absolute amount, by a share of
    the baseline; or the target is the benchmark itself.
    """

    gap_closure: Share | None = None
    improvement: Amount | None = None
    relative_improvement: Share | None = None
    benchmark: Literal[True] | None = None
    credit: Share

    @model_validator(mode="after")
    def _one_rule(self) -> Tier:
        _exactly_one(self, ("gap_closure", "improvement", "relative_improvement", "benchmark"), "a tier")
        return self

    @property
    def rule(self) -> str:
        return next(k for k in ("gap_closure", "improvement", "relative_improvement", "benchmark") if getattr(self, k) is not None)

    def needs(self) -> tuple[str, ...]:
        """Entity inputs this rule needs: baselines and/or benchmarks."""
        return {"gap_closure": ("baseline", "benchmark"), "improvement": ("baseline",),
                "relative_improvement": ("baseline",), "benchmark": ("benchmark",)}[self.rule]

    def target(self, baseline: Fraction | None, benchmark: Fraction | None, lower_is_better: bool) -> Fraction:
        d = -1 if lower_is_better else 1
        if self.gap_closure is not None:
            assert baseline is not None and benchmark is not None
            return baseline + d * self.gap_closure.value * abs(benchmark - baseline)
        if self.improvement is not None:
            assert baseline is not None
            return baseline + d * self.improvement.value
        if self.relative_improvement is not None:
            assert baseline is not None
            return baseline * (1 + d * self.relative_improvement.value)
        assert benchmark is not None
        return benchmark

    def describe(self) -> str:
        if self.gap_closure is not None:
            return f"close {float(self.gap_closure.value) * 100:g}% of the gap to the benchmark"
        if self.improvement is not None:
            return f"improve {float(self.improvement.value):g} on the baseline"
        if self.relative_improvement is not None:
            return f"improve {float(self.relative_improvement.value) * 100:g}% on the baseline"
        return "reach the benchmark"


Unit = Literal["proportion", "per_1000", "dollars", "number"]


class MeasureRef(Model):
    """A measure a program pays on, by its rate id (bhm's, e.g. FUH-7, or one the inputs file supplies)."""

    title: str
    weight: Amount
    direction: Literal["higher", "lower"] = "higher"
    unit: Unit = "proportion"
    tiers: dict[str, Tier] | None = None  # replaces the component's tiers for this measure
    note: str | None = None

    @property
    def lower_is_better(self) -> bool:
        return self.direction == "lower"


class Scorecard(Model):
    """Measures with relative weights and tiers; a score is the weighted average of tier credit."""

    measures: dict[str, MeasureRef] = {}
    tiers: dict[str, Tier] = {}

    def tiers_for(self, measure: str) -> dict[str, Tier]:
        return self.measures[measure].tiers or self.tiers

    def weights(self) -> dict[str, Fraction]:
        total = sum((m.weight.value for m in self.measures.values()), Fraction(0))
        return {k: (m.weight.value / total if total else Fraction(0)) for k, m in self.measures.items()}


class ComponentBase(Model):
    title: str
    tracks: list[str] | None = None  # the entity tracks this component applies to; default every track
    note: str | None = None

    def applies(self, track: str | None) -> bool:
        return self.tracks is None or track in self.tracks


class IncentivePool(ComponentBase, Scorecard):
    """Money on the table, earned measure by measure: a PMPM over member months, a share of capitation,
    or an amount the payer reports (inputs `incentive_pool`)."""

    kind: Literal["incentive_pool"]
    pmpm_max: Amount | None = None
    capitation_pct_max: Share | None = None
    pool_from_inputs: Literal[True] | None = None
    unearned_to: str = "retained by the payer"
    ceiling_pct_of_capitation: Share | None = None

    @model_validator(mode="after")
    def _one_basis(self) -> IncentivePool:
        _exactly_one(self, ("pmpm_max", "capitation_pct_max", "pool_from_inputs"), "an incentive pool")
        return self


class PassThrough(ComponentBase):
    kind: Literal["pass_through"]
    of: list[str] = Field(min_length=1)
    partner: str
    pct: Share


class PopulationPayment(ComponentBase):
    kind: Literal["population_payment"]
    pmpm: Amount
    at_risk: Share  # share of the payment that depends on the quality score


class QualityGate(ComponentBase):
    kind: Literal["quality_gate"]
    standard: Share
    consequence: str


class MsrBand(Model):
    min: int = Field(ge=0)
    max: int | None = None
    start: Number
    end: Number


class MsrTable(Model):
    """A minimum savings rate that falls with the entity's assigned population, linear inside each band."""

    provenance: Provenance
    source: str | None = None
    interpolation: Flag
    bands: list[MsrBand] = Field(min_length=1)


class Election(Model):
    """The entity elects its corridor (inputs `msr_election`): one of `allowed`, or size_based from a table."""

    allowed: list[Number] = Field(min_length=1)
    size_based_table: str | None = None
    provenance: Provenance
    source: str | None = None


class Msr(Model):
    fixed: Share | None = None
    table: str | None = None
    elected: Election | None = None

    @model_validator(mode="after")
    def _one(self) -> Msr:
        _exactly_one(self, ("fixed", "table", "elected"), "msr")
        return self


class Mlr(Model):
    fixed: Share | None = None
    same_as_msr: Literal[True] | None = None

    @model_validator(mode="after")
    def _one(self) -> Mlr:
        _exactly_one(self, ("fixed", "same_as_msr"), "mlr")
        return self


class QualityUse(Model):
    """How the quality score QS in [0, 1] changes the sharing rate SR.

    gate: SR if QS >= standard, else 0. multiplier: SR x QS. partial: SR x ((1 - portion) + portion x QS).
    """

    form: Literal["none", "gate", "multiplier", "partial"]
    standard: Share | None = None
    portion: Share | None = None

    @model_validator(mode="after")
    def _fits_form(self) -> QualityUse:
        if self.form == "gate" and self.standard is None:
            raise ValueError("a gate needs a standard")
        if self.form == "partial" and self.portion is None:
            raise ValueError("a partial quality transform needs a portion")
        if self.form != "gate" and self.standard is not None:
            raise ValueError(f"standard applies to form gate, not {self.form}")
        if self.form != "partial" and self.portion is not None:
            raise ValueError(f"portion applies to form partial, not {self.form}")
        return self


class SavingsCap(Model):
    pct_benchmark: Share
    applies_to: Literal["shared", "savings"] = "shared"  # cap the shared amount (MSSP) or the savings before sharing


class LossRate(Model):
    fixed: Share | None = None
    one_minus_sharing: Literal[True] | None = None  # 1 - final sharing rate, clamped to [floor, ceiling]
    floor: Share | None = None
    ceiling: Share | None = None

    @model_validator(mode="after")
    def _one(self) -> LossRate:
        _exactly_one(self, ("fixed", "one_minus_sharing"), "loss_rate")
        if self.fixed is not None and (self.floor or self.ceiling):
            raise ValueError("floor and ceiling apply to one_minus_sharing only")
        if self.floor and self.ceiling and self.floor.value > self.ceiling.value:
            raise ValueError("floor is above ceiling")
        return self


class LossCap(Model):
    """Shared losses are capped at the smallest of the limits given."""

    pct_benchmark: Share | None = None
    pct_revenue: Share | None = None  # of the entity's revenue (inputs `participant_revenue`)

    @model_validator(mode="after")
    def _some(self) -> LossCap:
        if self.pct_benchmark is None and self.pct_revenue is None:
            raise ValueError("loss_cap needs pct_benchmark and/or pct_revenue")
        return self


class Partnership(Model):
    """Better terms for entities in an approved partnership (inputs `partnership: true`)."""

    sharing_rate: Share
    loss_rate: Share | None = None


class CountInActual(Model):
    """Payments of these components count in actual TCOC when it is derived from claims (claims do not carry them)."""

    components: list[str] = Field(min_length=1)
    provenance: Provenance
    source: str | None = None


class SharedSavings(ComponentBase):
    """Total-cost-of-care shared savings (and, two-sided, losses) against a benchmark."""

    kind: Literal["shared_savings"]
    msr: Msr
    two_sided: bool = False
    mlr: Mlr | None = None
    sharing_rate: Share
    quality: QualityUse = QualityUse(form="none")
    savings_cap: SavingsCap | None = None
    loss_rate: LossRate | None = None
    loss_quality_mitigation: Share | None = None  # loss rate x (1 - this x QS)
    loss_cap: LossCap | None = None
    partnership: Partnership | None = None
    count_in_actual: CountInActual | None = None

    @model_validator(mode="after")
    def _sides(self) -> SharedSavings:
        if self.two_sided:
            missing = [k for k in ("mlr", "loss_rate") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"a two-sided arrangement needs {' and '.join(missing)}")
        else:
            extra = [k for k in ("mlr", "loss_rate", "loss_quality_mitigation", "loss_cap") if getattr(self, k) is not None]
            if extra:
                raise ValueError(f"{', '.join(extra)} given but two_sided is false; set two_sided: true or remove them")
        return self


def needs_quality(c: object) -> bool:
    """Whether a component's dollars depend on the quality score."""
    if isinstance(c, (PopulationPayment, QualityGate)):
        return True
    return isinstance(c, SharedSavings) and (c.quality.form != "none" or c.loss_quality_mitigation is not None)


Component = Annotated[
    IncentivePool | PassThrough | PopulationPayment | QualityGate | SharedSavings, Field(discriminator="kind")
]
KINDS = {"incentive_pool": IncentivePool, "pass_through": PassThrough, "population_payment": PopulationPayment,
         "quality_gate": QualityGate, "shared_savings": SharedSavings}


class Quality(Scorecard):
    """The entity's quality score QS in [0, 1]: from measure tiers, or reported in the inputs (`quality_score`)."""

    source: Literal["measures", "inputs"]
    description: str | None = None


class Program(Model):
    """One payment program for one performance year."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    performance_year: int = Field(ge=2000, le=2100)
    payer: str
    entity_label: str = "entity"
    summary: str
    notes: list[str] = []
    sources: dict[str, str] = Field(min_length=1)
    tracks: dict[str, str] = {}
    default_track: str | None = None
    quality: Quality | None = None
    msr_tables: dict[str, MsrTable] = {}
    components: dict[str, Component] = Field(min_length=1)

    def components_for(self, track: str | None) -> dict[str, Any]:
        return {name: c for name, c in self.components.items() if c.applies(track)}

    def uses_quality(self, track: str | None) -> bool:
        return any(needs_quality(c) for c in self.components_for(track).values())

    def scorecards(self, track: str | None) -> list[tuple[str, Scorecard]]:
        """(component name or 'quality', scorecard) for every set of measures that counts for this track."""
        cards: list[tuple[str, Scorecard]] = []
        if self.quality is not None and self.quality.source == "measures" and self.uses_quality(track):
            cards.append(("quality", self.quality))
        cards.extend((n, c) for n, c in self.components_for(track).items() if isinstance(c, IncentivePool) and c.measures)
        return cards
