"""Scorecards: measures with weights and tiers, where each rate stands against its targets, and the quality
score built from them. Incentive pools and the program's quality section are scorecards."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from pydantic import Field

from bhmeasures.errors import did_you_mean
from bhmeasures.payment.entity import EntityChecks, EntityContext
from bhmeasures.payment.money import count, money, number, pct
from bhmeasures.payment.money import score as score_text
from bhmeasures.payment.params import Amount, Model, Share
from bhmeasures.payment.result import LineItem
from bhmeasures.payment.results import Rate
from bhmeasures.payment.tiers import (
    Add,
    Tiers,
    TiersRef,
    check_credits,
    check_ref,
    meets,
    resolve,
)
from bhmeasures.yamlio import YamlPath

Unit = Literal["proportion", "per_1000", "dollars", "number"]
# with counts, rate = SCALE x numerator / denominator: events per 1,000 (member-years, members, ...) for per_1000;
# a proportion of events; dollars per unit of the denominator (member months for a PMPM); a plain ratio
SCALE = {"proportion": 1, "per_1000": 1000, "dollars": 1, "number": 1}


class MeasureRef(Model):
    """A measure a program pays on, by its rate id (bhm's, e.g. FUH-7, or one the inputs file supplies)."""

    title: str
    weight: Amount
    direction: Literal["higher", "lower"] = "higher"
    unit: Unit = "proportion"
    tiers: TiersRef | None = None  # replaces the scorecard's tiers for this measure
    note: str | None = None

    @property
    def lower_is_better(self) -> bool:
        return self.direction == "lower"


class Scorecard(Model):
    """Measures with relative weights and tiers; a score is the weighted average of tier credit."""

    measures: dict[str, MeasureRef] = Field(default_factory=dict)
    tiers: TiersRef = Field(default_factory=dict)

    def tiers_for(self, measure: str, tier_sets: dict[str, Tiers]) -> Tiers:
        own = self.measures[measure].tiers
        return resolve(own if own is not None else self.tiers, tier_sets)

    def weights(self) -> dict[str, Fraction]:
        total = sum((m.weight.value for m in self.measures.values()), Fraction(0))
        return {k: (m.weight.value / total if total else Fraction(0)) for k, m in self.measures.items()}


class Quality(Scorecard):
    """The entity's quality score QS in [0, 1]: from measure tiers, or reported in the inputs (`quality_score`).

    With `health_equity_max`, the inputs may add bonus points (`health_equity_adjustment`, up to that many, as a
    fraction) to a reported score, which stays at most 1 (MSSP 42 CFR 425.512(b), PY2023-2025).
    """

    source: Literal["measures", "inputs"]
    description: str | None = None
    health_equity_max: Share | None = None

    def check_entity(self, chk: EntityChecks) -> None:
        hea = chk.fields.health_equity_adjustment
        if hea is None:
            return
        if self.health_equity_max is None or self.source != "inputs":
            chk.add("health_equity_adjustment given, but this program's quality score has no health equity adjustment.",
                    "Remove it, or put it under programs.<id> for the program that has one.", loc=("health_equity_adjustment",))
        elif hea > self.health_equity_max.value:
            chk.add(f"health_equity_adjustment {float(hea):g} is above the maximum {float(self.health_equity_max.value):g} "
                    f"({float(self.health_equity_max.value) * 100:g} points).", loc=("health_equity_adjustment",))


def show(value: Fraction | None, unit: str | None) -> str:
    if value is None:
        return "-"
    if unit == "proportion":
        return pct(value)
    if unit == "dollars":
        return money(round(value * 100))
    return number(value)


@dataclass(frozen=True)
class Scored:
    measure_id: str
    ref: MeasureRef
    rate: Rate
    weight: Fraction
    targets: dict[str, Fraction] | None  # None when baseline or benchmark is missing (no rate, or a reported QS)
    tier: str | None
    credit: Fraction

    @property
    def available(self) -> bool:
        return self.rate.value is not None

    def targets_text(self) -> str | None:
        if not self.targets:
            return None
        op = "<=" if self.ref.lower_is_better else ">="
        return "; ".join(f"{t} {op} {show(v, self.ref.unit)}" for t, v in self.targets.items())

    def rate_text(self) -> str:
        r = self.rate
        if r.value is None:
            return f"rate not available ({r.note})" if r.note else "rate not available"
        counts = f" = {count(r.numerator)}/{count(r.denominator)}" if r.denominator and r.numerator is not None else ""
        src = " from the inputs" if r.source == "inputs" else ""
        extra = f"; {r.note}" if r.note and r.source == "inputs" else ""
        return f"rate {show(r.value, self.ref.unit)}{counts}{src}{extra}"

    def _threshold(self) -> tuple[str, str]:
        """(tier, '>= 16.00%'): the tier reached, or the first tier when none is."""
        assert self.targets
        name = self.tier if self.tier is not None else next(iter(self.targets))
        op = "<=" if self.ref.lower_is_better else ">="
        return name, f"{op} {show(self.targets[name], self.ref.unit)}"

    def standing(self) -> str:
        """'reaches tier2 (>= 16.00%): 100% credit' or 'misses tier1 (>= 15.00%): no credit'."""
        if not self.available:
            return "no credit"
        if self.targets is None:
            return "no targets (no baseline or benchmark in the inputs): no credit"
        name, threshold = self._threshold()
        if self.tier is None:
            return f"misses {name} ({threshold}): no credit"
        return f"reaches {name} ({threshold}): {float(self.credit) * 100:g}% credit"

    def brief(self) -> str:
        if not self.available:
            return f"rate not available ({self.rate.brief or 'no rate'})"
        if self.targets is None:
            return "no targets (no baseline or benchmark)"
        name, threshold = self._threshold()
        if self.tier is None:
            return f"misses {name} {threshold}"
        return f"{name} {threshold}: {float(self.credit) * 100:g}%"


def tier_targets(tiers: Tiers, ref: MeasureRef, ctx: EntityContext, measure: str) -> dict[str, Fraction] | None:
    explicit = ctx.fields.targets.get(measure, {})
    base, bench = ctx.fields.baselines.get(measure), ctx.fields.benchmarks.get(measure)
    out = {}
    for name, tier in tiers.items():
        if name in explicit:
            out[name] = explicit[name]
        elif ("baseline" in tier.needs() and base is None) or ("benchmark" in tier.needs() and bench is None):
            return None
        else:
            out[name] = tier.target(base, bench, ref.lower_is_better)
    return out


def score(card: Scorecard, measure: str, ctx: EntityContext, tier_sets: dict[str, Tiers]) -> Scored:
    ref = card.measures[measure]
    tiers = card.tiers_for(measure, tier_sets)
    rate = ctx.rates[measure]
    targets = tier_targets(tiers, ref, ctx, measure)
    weight = card.weights()[measure]
    if rate.value is None or targets is None:
        return Scored(measure, ref, rate, weight, targets, None, Fraction(0))
    reached = [t for t in tiers if meets(rate.value, targets[t], ref.lower_is_better)]
    best = max(reached, key=lambda t: tiers[t].credit.value, default=None)
    return Scored(measure, ref, rate, weight, targets, best, tiers[best].credit.value if best else Fraction(0))


def measure_item(ctx: EntityContext, component: str, s: Scored, account: str, amount: int, explanation: str,
                 **extra: object) -> LineItem:
    r = s.rate
    return LineItem(
        ctx.entity_id, component, s.measure_id, account, amount, explanation, s.brief(),
        measure_id=s.measure_id, unit=s.ref.unit, direction=s.ref.direction, rate=r.value, rate_source=r.source,
        numerator=r.numerator, denominator=r.denominator, baseline=ctx.fields.baselines.get(s.measure_id),
        benchmark=ctx.fields.benchmarks.get(s.measure_id), targets=s.targets_text(), tier=s.tier,
        credit=s.credit, weight=s.weight, **extra,  # type: ignore[arg-type]
    )


# ---------------------------------------------------------------- the quality score


@dataclass(frozen=True)
class QualityResult:
    score: Fraction
    lines: list[LineItem]
    from_measures: bool  # False when the score was reported in the inputs
    measured: int = 0  # measures with a rate and targets: 0 means the score rests on nothing


def quality_score(q: Quality, ctx: EntityContext, tier_sets: dict[str, Tiers]) -> QualityResult:
    """QS in [0, 1]: the weighted average of tier credit over the quality measures, or the score the inputs report."""
    given = ctx.fields.quality_score
    if q.source == "inputs":
        assert given is not None
        what = q.description or "reported by the payer"
        hea = ctx.fields.health_equity_adjustment if q.health_equity_max is not None else None
        if hea:
            qs = min(given + hea, Fraction(1))
            text = (f"quality score {score_text(given)} from the inputs ({what}) + health equity adjustment {score_text(hea)} = "
                    f"{score_text(given + hea)}" + (", at most 1" if qs < given + hea else ""))
            brief = f"QS {score_text(given)} + {score_text(hea)} = {score_text(qs)} (inputs)"
        else:
            qs, text, brief = given, f"quality score {score_text(given)} from the inputs ({what})", f"QS {score_text(given)} (inputs)"
        line = LineItem(ctx.entity_id, "quality", "quality score", "memo", 0, text, brief, quality_score=qs)
        return QualityResult(qs, [line], False)
    scored = [score(q, m, ctx, tier_sets) for m in q.measures]
    computed = sum((s.weight * s.credit for s in scored), Fraction(0))
    lines = []
    for s in scored:
        why = s.rate_text()
        if s.available and s.targets is not None:
            why += f" {s.standing()}"
        elif s.available:
            why += ": no targets (no baseline or benchmark in the inputs)"
        else:
            why += ": no credit"
        why += f"; weight {pct(s.weight)} of the quality score"
        if given is not None:
            why += " (not used: the inputs report the quality score)"
        lines.append(measure_item(ctx, "quality", s, "memo", 0, why))
    terms = " + ".join(f"{pct(s.weight, 1)} x {float(s.credit):g}" for s in scored)
    if given is not None:
        text = f"quality score {score_text(given)} reported in the inputs (measures would give {score_text(computed)})"
        qs = given
    else:
        text = f"quality score = {terms} = {score_text(computed)}"
        qs = computed
    brief = f"QS {score_text(qs)}" + (" (inputs)" if given is not None else " from measures")
    lines.append(LineItem(ctx.entity_id, "quality", "quality score", "memo", 0, text, brief, quality_score=qs))
    return QualityResult(qs, lines, given is None, sum(1 for s in scored if s.available and s.targets is not None))


# ---------------------------------------------------------------- checks


def check_scorecard(card: Scorecard, base: YamlPath, tier_sets: dict[str, Tiers], add: Add) -> None:
    """A scorecard in a program file: positive weights, tiers for every measure, credits that rise."""
    if card.measures and sum(m.weight.value for m in card.measures.values()) == 0:
        add((*base, "measures"), "every measure weight is 0.", "Give at least one measure a positive weight.")
    check_ref(card.tiers, (*base, "tiers"), tier_sets, add)
    for mid, m in card.measures.items():
        check_ref(m.tiers, (*base, "measures", mid, "tiers"), tier_sets, add)
        tiers = card.tiers_for(mid, tier_sets)
        ref = m.tiers if m.tiers is not None else card.tiers
        if not tiers and not isinstance(ref, str):  # an unknown set name is reported once, above
            add((*base, "measures", mid), f"measure '{mid}' has no tiers.", "Add tiers to the component or the measure.")
        if m.unit != "proportion" and m.tiers is None and any(t.rule == "improvement" for t in tiers.values()):
            add((*base, "measures", mid),
                f"measure '{mid}' is in {m.unit} but shares tiers with an absolute `improvement` target.",
                "Give it its own tiers, or use gap_closure / relative_improvement.")
    written: list[tuple[YamlPath, TiersRef | None]] = [((*base, "tiers"), card.tiers)]
    written += [((*base, "measures", k, "tiers"), m.tiers) for k, m in card.measures.items()]
    for where, tiers_given in written:
        if isinstance(tiers_given, dict):
            check_credits(tiers_given, where, add)


def check_entity_measures(card: Scorecard, label: str, chk: EntityChecks, rates: dict[str, Rate],
                          tier_sets: dict[str, Tiers], targets_needed: bool = True) -> None:
    """An entity's inputs for a scorecard: proportions in [0, 1], targets naming known tiers, and the baselines
    and benchmarks its tiers need (not needed without a rate, or when the inputs report the quality score)."""
    f = chk.fields
    for mid, ref in card.measures.items():
        rate = rates[mid]
        if ref.unit == "proportion":
            for what, v, at in (("baseline", f.baselines.get(mid), ("baselines", mid)),
                                ("benchmark", f.benchmarks.get(mid), ("benchmarks", mid))):
                if v is not None and not 0 <= v <= 1:
                    chk.add(f"{what} of {mid} is {float(v):g}, outside [0, 1]; proportions are fractions (41.5% = 0.415).", loc=at)
        tiers = card.tiers_for(mid, tier_sets)
        explicit = f.targets.get(mid, {})
        for t in explicit:
            if t not in tiers:
                chk.add(f"targets.{mid} names unknown tier '{t}'.", did_you_mean(t, list(tiers)) or f"Tiers: {', '.join(tiers)}.",
                        loc=("targets", mid))
        if rate.value is None or not targets_needed:
            continue
        for tname, tier in tiers.items():
            if tname in explicit:
                continue
            for need in tier.needs():
                table = f.baselines if need == "baseline" else f.benchmarks
                if mid not in table:
                    chk.add(f"no {need} for {mid}; {label} tier {tname} ({tier.describe()}) needs it.",
                            f"Add {need}s: {{{mid}: ...}} under entities.{chk.entity} (or defaults), or give targets.{mid}.{tname}.")
