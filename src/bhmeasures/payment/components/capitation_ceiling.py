"""A ceiling on incentives paid on top of capitation (42 CFR 438.6(b)(2): payments under incentive arrangements
may not exceed 105% of the capitation they relate to), applied to the sum earned in the components it names.

ceiling = pct x capitation (inputs `bh_capitation`); earned above it is taken back by one line item and forfeited.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

from pydantic import Field

from bhmeasures.payment.components.base import (
    ComponentBase,
    Paying,
    ProgramView,
    references,
)
from bhmeasures.payment.entity import EntityChecks
from bhmeasures.payment.money import exact, money, pct, to_cents
from bhmeasures.payment.params import Share
from bhmeasures.payment.result import LineItem
from bhmeasures.payment.tiers import Add


class CapitationCeiling(ComponentBase):
    kind: Literal["capitation_ceiling"]
    of: list[str] = Field(min_length=1)  # the components whose earned dollars count against the ceiling
    pct_of_capitation: Share  # 0.05: incentives at most 5% on top of capitation (105% of it in all)

    def check(self, name: str, program: ProgramView, add: Add) -> None:
        references(name, self.of, program, "of", add, kinds=("incentive_pool", "population_payment", "shared_savings"))

    def check_entity(self, name: str, program: ProgramView, chk: EntityChecks) -> None:
        chk.need("bh_capitation", f"component {name} ({self.title}): the ceiling is a share of capitation")

    def pay(self, name: str, p: Paying) -> list[LineItem]:
        capitation = p.ctx.fields.bh_capitation
        assert capitation is not None
        share = self.pct_of_capitation.value
        cap = to_cents(share * capitation)
        got = p.earned_by(self.of)
        what = " + ".join(self.of)
        of_cap = f"{pct(Fraction(got, to_cents(capitation)))} of capitation" if capitation else "capitation is $0.00"
        base = (f"earned in {what} {money(got)} ({of_cap}); "
                f"ceiling {exact(share)} of capitation {money(to_cents(capitation))} = {money(cap)}")
        e = p.ctx.entity_id
        if got <= cap:
            return [LineItem(e, name, "capitation ceiling", "memo", 0, f"{base}: within it", f"{money(got)} <= {money(cap)}",
                             cap_cents=cap, cap_applied=False)]
        excess = got - cap
        return [
            LineItem(e, name, "capitation ceiling", "earned", -excess, f"{base}: {money(got)} - {money(cap)} = {money(excess)} "
                     "is not paid", f"{money(got)} above {money(cap)}", cap_cents=cap, cap_applied=True),
            LineItem(e, name, "above the capitation ceiling", "forfeited", excess,
                     f"{money(excess)} earned above the ceiling, kept by {p.program.payer}", "above the ceiling",
                     cap_cents=cap, cap_applied=True),
        ]
