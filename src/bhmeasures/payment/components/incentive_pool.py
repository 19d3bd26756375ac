"""Incentive pools: money on the table, earned measure by measure (Colorado's KPI, Performance and BHI pools,
Rhode Island's incentive pool).

pool = PMPM x member months, or a share of capitation, or an amount the payer reports, or what other pools
of the entity did not earn (`funded_by`: Colorado's Performance Pool is the KPI dollars not earned). It is
split by measure weight (largest remainder, so the allotments sum to the pool) and each measure earns its
allotment x the credit of the tier it reaches. What is not earned is forfeited, or moved to the pool it funds.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from bhmeasures.payment.components.base import (
    ComponentBase,
    Paying,
    ProgramView,
    references,
)
from bhmeasures.payment.entity import EntityChecks
from bhmeasures.payment.money import (
    exact,
    money,
    number,
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
    funded_by: list[str] | None = Field(default=None, min_length=1)  # pools whose unearned dollars make this pool
    unearned_to: str = "retained by the payer"

    @model_validator(mode="after")
    def _one_basis(self) -> IncentivePool:
        exactly_one(self, ("pmpm_max", "capitation_pct_max", "pool_from_inputs", "funded_by"), "an incentive pool")
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
        if self.funded_by is not None:
            references(name, self.funded_by, program, "funded_by", add, kinds=("incentive_pool",))
            for other, c in program.components.items():
                shared = set(self.funded_by) & set(getattr(c, "funded_by", None) or ()) if other != name else set()
                if shared and list(program.components).index(other) < list(program.components).index(name):
                    add((*base, "funded_by"), f"'{', '.join(sorted(shared))}' already funds '{other}'; its unearned dollars "
                                              "can be moved once.")
            if name in self.funded_by:
                add((*base, "funded_by"), f"'{name}' cannot fund itself.")

    def check_entity(self, name: str, program: ProgramView, chk: EntityChecks) -> None:
        label = f"component {name} ({self.title})"
        if self.pmpm_max is not None:
            chk.need("member_months", f"{label}: pool = PMPM x member months")
        elif self.capitation_pct_max is not None:
            chk.need("bh_capitation", f"{label}: pool = share of behavioral-health capitation")
        elif self.pool_from_inputs is not None:
            chk.need("incentive_pool", f"{label}: the incentive-pool amount the payer reports")

    def _pool(self, p: Paying) -> tuple[int, str]:
        ctx = p.ctx
        f = ctx.fields
        if self.pmpm_max is not None:
            mm = ctx.member_months
            src = " (derived from attribution)" if "member_months" in ctx.derived else ""
            return to_cents(self.pmpm_max.value * mm), f"${float(self.pmpm_max.value):,.2f} PMPM x {number(mm)} member months{src}"
        if self.capitation_pct_max is not None:
            assert f.bh_capitation is not None
            return (to_cents(self.capitation_pct_max.value * f.bh_capitation),
                    f"{exact(self.capitation_pct_max.value)} of BH capitation {money(to_cents(f.bh_capitation))}")
        if self.funded_by is not None:
            moved = [i for i in p.items if i.component in self.funded_by and i.account == "moved"]
            return sum(i.amount_cents for i in moved), f"the dollars {' and '.join(self.funded_by)} did not earn"
        assert f.incentive_pool is not None
        return to_cents(f.incentive_pool), "the incentive-pool amount the payer reports"

    def _funds(self, name: str, p: Paying) -> str | None:
        """The title of the pool this one's unearned dollars move to, if any applies to the entity."""
        for c in p.program.components.values():
            if name in (getattr(c, "funded_by", None) or ()) and c.applies(p.ctx.track):
                return str(c.title)
        return None

    def pay(self, name: str, p: Paying) -> list[LineItem]:
        ctx = p.ctx
        pool, how = self._pool(p)
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
            share = f"{money(a)} allotment ({exact(s.weight)} of the {money(pool)} pool)"
            if not s.available:
                text = f"{s.rate_text()}: no credit on the {share} = {money(earned)}"
            else:
                text = f"{s.rate_text()} {s.standing()} of the {share} = {money(earned)}"
            items.append(measure_item(ctx, name, s, "earned", earned, text, pool_cents=pool, allotment_cents=a))
        got = sum(i.amount_cents for i in items)
        receiver = self._funds(name, p)
        where = f"moved to the {receiver}" if receiver else self.unearned_to
        items.append(LineItem(e, name, f"unearned: {where}", "moved" if receiver else "forfeited", pool - got,
                              f"pool {money(pool)} ({how}) - earned {money(got)} = {money(pool - got)} {where}",
                              f"pool {money(pool)} - earned {money(got)}", pool_cents=pool))
        return items
