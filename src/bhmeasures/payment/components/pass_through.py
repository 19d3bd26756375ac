"""Pass-through: a share of what other components earned that the entity must pass to a partner
(Rhode Island's partner organization, Colorado's health neighborhood). It is part of the earned dollars."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bhmeasures.payment.components.base import (
    ComponentBase,
    Paying,
    ProgramView,
    references,
)
from bhmeasures.payment.money import money, pct, round_cents
from bhmeasures.payment.params import Share
from bhmeasures.payment.result import LineItem
from bhmeasures.payment.tiers import Add


class PassThrough(ComponentBase):
    kind: Literal["pass_through"]
    of: list[str] = Field(min_length=1)
    partner: str
    pct: Share

    def check(self, name: str, program: ProgramView, add: Add) -> None:
        others = tuple(sorted({c.kind for c in program.components.values()} - {"pass_through"}))
        references(name, self.of, program, "of", add, kinds=others)

    def pay(self, name: str, p: Paying) -> list[LineItem]:
        base = p.earned_by(self.of)
        amount = round_cents(self.pct.value * max(base, 0))
        return [LineItem(p.ctx.entity_id, name, f"pass-through to {self.partner}", "pass_through", amount,
                         f"{pct(self.pct.value)} of {money(base)} earned in {' + '.join(self.of)} = {money(amount)}, "
                         f"to be passed to {self.partner} (part of the earned dollars)",
                         f"{pct(self.pct.value, 0)} of {money(base)} earned", share_rate=self.pct.value)]
