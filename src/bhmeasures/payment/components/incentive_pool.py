"""Incentive pools: money on the table, earned measure by measure (Colorado's KPI and BHI pools, Rhode
Island's incentive pool).

pool = PMPM x member months, or a share of capitation, or an amount the payer reports; it is split by
measure weight (largest remainder, so the allotments sum to the pool) and each measure earns its
allotment x the credit of the tier it reaches. What is not earned goes where `unearned_to` says.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

from pydantic import model_validator

from bhmeasures.payment.components.base import ComponentBase, Paying, ProgramView
from bhmeasures.payment.entity import EntityChecks, EntityContext
from bhmeasures.payment.money import (
    money,
    number,
    pct,
    round_cents,
    split_cents,
    to_cents,
)
from bhmeasures.payment.params import Amount, Share, exactly_one
from bhmeasures.payment.result import LineItem
from bhmeasures.payment.scorecard import Scorecard, check_scorecard, measure_item, score
from bhmeasures.payment.tiers import Add


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
        exactly_one(self, ("pmpm_max", "capitation_pct_max", "pool_from_inputs"), "an incentive pool")
        return self

    def scorecard(self) -> Scorecard | None:
        return self if self.measures else None

    def wants(self) -> frozenset[str]:
        return frozenset({"member_months"}) if self.pmpm_max is not None else frozenset()

    def check(self, name: str, program: ProgramView, add: Add) -> None:
        base = ("components", name)
        check_scorecard(self, base, program.tier_sets, add)
        if not self.measures and self.pool_from_inputs is None:
            add((*base, "measures"), f"incentive pool '{name}' has no measures, so it would pay its whole pool unconditionally.",
                "Add measures, or use pool_from_inputs: true for an amount the payer reports.")
        if self.ceiling_pct_of_capitation is not None and self.capitation_pct_max is None:
            add((*base, "ceiling_pct_of_capitation"), "a capitation ceiling needs a pool set by capitation_pct_max.")

    def check_entity(self, name: str, program: ProgramView, chk: EntityChecks) -> None:
        label = f"component {name} ({self.title})"
        if self.pmpm_max is not None:
            chk.need("member_months", f"{label}: pool = PMPM x member months")
        elif self.capitation_pct_max is not None:
            chk.need("bh_capitation", f"{label}: pool = share of behavioral-health capitation")
        else:
            chk.need("incentive_pool", f"{label}: the incentive-pool amount the payer reports")

    def _pool(self, ctx: EntityContext) -> tuple[int, str]:
        f = ctx.fields
        if self.pmpm_max is not None:
            mm = ctx.member_months
            src = " (derived from attribution)" if "member_months" in ctx.derived else ""
            return to_cents(self.pmpm_max.value * mm), f"${float(self.pmpm_max.value):,.2f} PMPM x {number(mm)} member months{src}"
        if self.capitation_pct_max is not None:
            assert f.bh_capitation is not None
            return (to_cents(self.capitation_pct_max.value * f.bh_capitation),
                    f"{pct(self.capitation_pct_max.value)} of BH capitation {money(to_cents(f.bh_capitation))}")
        assert f.incentive_pool is not None
        return to_cents(f.incentive_pool), "the incentive-pool amount the payer reports"

    def pay(self, name: str, p: Paying) -> list[LineItem]:
        ctx = p.ctx
        pool, how = self._pool(ctx)
        e = ctx.entity_id
        if not self.measures:
            return [LineItem(e, name, self.title, "earned", pool, f"{self.title}: {money(pool)}, {how}", "as reported",
                             pool_cents=pool)]
        mids = list(self.measures)
        weights = self.weights()
        allot = split_cents(pool, [weights[m] for m in mids])
        items: list[LineItem] = []
        for m, a in zip(mids, allot, strict=True):
            s = score(self, m, ctx, p.program.tier_sets)
            earned = round_cents(a * s.credit)
            share = f"{money(a)} allotment ({pct(s.weight)} of the {money(pool)} pool)"
            if not s.available:
                text = f"{s.rate_text()}: no credit on the {share}"
            else:
                text = f"{s.rate_text()} {s.standing()} of the {share} = {money(earned)}"
            items.append(measure_item(ctx, name, s, "earned", earned, text, pool_cents=pool, allotment_cents=a))
        got = sum(i.amount_cents for i in items)
        items.append(LineItem(e, name, f"unearned: {self.unearned_to}", "unearned", pool - got,
                              f"pool {money(pool)} ({how}) - earned {money(got)} = {money(pool - got)} {self.unearned_to}",
                              f"pool {money(pool)} - earned {money(got)}", pool_cents=pool))
        if self.ceiling_pct_of_capitation is not None:
            items.extend(self._ceiling(name, ctx, got))
        return items

    def _ceiling(self, name: str, ctx: EntityContext, got: int) -> list[LineItem]:
        """Incentives above the capitation ceiling (42 CFR 438.6(b)(2): 105% of capitation) are not paid."""
        assert self.ceiling_pct_of_capitation is not None and ctx.fields.bh_capitation is not None
        ceiling = self.ceiling_pct_of_capitation.value
        cap = to_cents(ceiling * ctx.fields.bh_capitation)
        share = Fraction(got, to_cents(ctx.fields.bh_capitation)) if ctx.fields.bh_capitation else Fraction(0)
        e = ctx.entity_id
        if got <= cap:
            return [LineItem(e, name, "capitation ceiling", "memo", 0,
                             f"earned {money(got)} = {pct(share)} of BH capitation, within the {pct(ceiling)} ceiling ({money(cap)})",
                             f"{pct(share)} of capitation <= {pct(ceiling)}", cap_cents=cap, cap_applied=False)]
        excess = got - cap
        return [
            LineItem(e, name, "capitation ceiling", "earned", -excess,
                     f"earned {money(got)} exceeds the {pct(ceiling)} ceiling ({money(cap)}): {money(excess)} not paid",
                     f"above {pct(ceiling)} of capitation", cap_cents=cap, cap_applied=True),
            LineItem(e, name, "above the capitation ceiling", "unearned", excess,
                     f"{money(excess)} above the ceiling, {self.unearned_to}", "above the ceiling", cap_cents=cap, cap_applied=True),
        ]
