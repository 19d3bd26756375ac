"""Tiers: the levels of performance on a measure, how each target is set, and the credit each earns.

A program may name tier sets once (`tier_sets:`) and refer to them by name wherever tiers are given,
so pools that share their tiers state them once.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from fractions import Fraction
from typing import Literal

from pydantic import model_validator

from bhmeasures.errors import did_you_mean
from bhmeasures.payment.params import Amount, Model, Share, exactly_one
from bhmeasures.yamlio import YamlPath

RULES = ("gap_closure", "improvement", "relative_improvement", "benchmark")


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
        exactly_one(self, RULES, "a tier")
        return self

    @property
    def rule(self) -> str:
        return next(k for k in RULES if getattr(self, k) is not None)

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


Tiers = dict[str, Tier]
TiersRef = str | Tiers  # the name of one of the program's tier_sets, or tiers written in place


def resolve(ref: TiersRef | None, tier_sets: dict[str, Tiers]) -> Tiers:
    """The tiers a reference stands for (an unknown name gives none; the program check reports it)."""
    if ref is None:
        return {}
    return tier_sets.get(ref, {}) if isinstance(ref, str) else ref


def meets(rate: Fraction, target: Fraction, lower_is_better: bool) -> bool:
    """Reaching the target counts: >= for higher-is-better, <= for lower-is-better."""
    return rate <= target if lower_is_better else rate >= target


Add = Callable[..., None]  # add(yaml path, message, hint=None): report a problem in a program file


def check_ref(ref: TiersRef | None, where: YamlPath, tier_sets: dict[str, Tiers], add: Add) -> None:
    if isinstance(ref, str) and ref not in tier_sets:
        add(where, f"unknown tier set '{ref}'.", did_you_mean(ref, list(tier_sets)) or "Declare it under tier_sets.")


def check_credits(tiers: Tiers, where: YamlPath, add: Add) -> None:
    credits = [t.credit.value for t in tiers.values()]
    if any(b <= a for a, b in itertools.pairwise(credits)):
        add(where, "tier credits must rise from one tier to the next.", "List tiers from the lowest credit to the highest.")
