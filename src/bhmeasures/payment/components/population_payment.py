"""Population-based payments (Minnesota's PBP): PMPM x member months, a share of it at risk on quality.

PBP = PMPM x MM x ((1 - at_risk) + at_risk x QS): a guaranteed part, a quality part, and what quality forfeits.
"""

from __future__ import annotations

from typing import Literal

from bhmeasures.payment.components.base import ComponentBase, Paying, ProgramView
from bhmeasures.payment.entity import EntityChecks
from bhmeasures.payment.money import (
    exact,
    money,
    number,
    pct,
    round_cents,
    score,
    to_cents,
)
from bhmeasures.payment.params import Amount, Share
from bhmeasures.payment.result import LineItem


class PopulationPayment(ComponentBase):
    kind: Literal["population_payment"]
    pmpm: Amount
    at_risk: Share  # share of the payment that depends on the quality score

    def uses_quality(self) -> bool:
        return True

    def wants(self) -> frozenset[str]:
        return frozenset({"member_months"})

    def check_entity(self, name: str, program: ProgramView, chk: EntityChecks) -> None:
        chk.need("member_months", f"component {name} ({self.title}): PMPM x member months")

    def pay(self, name: str, p: Paying) -> list[LineItem]:
        assert p.quality is not None
        qs, mm = p.quality, p.ctx.member_months
        base = to_cents(self.pmpm.value * mm)
        q = self.at_risk.value
        fixed = round_cents(base * (1 - q))
        at_risk = base - fixed
        quality_part = round_cents(at_risk * qs)
        e = p.ctx.entity_id
        how = f"${float(self.pmpm.value):,.2f} PMPM x {number(mm)} member months = {money(base)}"
        return [
            LineItem(e, name, "guaranteed part", "earned", fixed,
                     f"{how}; {pct(1 - q)} not at risk = {money(fixed)}", f"{pct(1 - q, 0)} of {money(base)}",
                     pool_cents=base, share_rate=1 - q),
            LineItem(e, name, "quality part", "earned", quality_part,
                     f"{exact(q)} at risk ({money(at_risk)}) x quality score {score(qs)} = {money(quality_part)}",
                     f"{money(at_risk)} x QS {score(qs)}", pool_cents=base, share_rate=q, quality_score=qs),
            LineItem(e, name, "forfeited on quality", "forfeited", at_risk - quality_part,
                     f"{money(at_risk)} at risk - {money(quality_part)} earned = {money(at_risk - quality_part)} not paid",
                     f"{money(at_risk)} x (1 - QS)", pool_cents=base, quality_score=qs),
        ]
