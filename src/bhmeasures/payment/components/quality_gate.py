"""A quality gate (Minnesota Track 1): the quality score against a standard, with a consequence and no dollars."""

from __future__ import annotations

from typing import Literal

from bhmeasures.payment.components.base import ComponentBase, Paying
from bhmeasures.payment.money import score
from bhmeasures.payment.params import Share
from bhmeasures.payment.result import LineItem


class QualityGate(ComponentBase):
    kind: Literal["quality_gate"]
    standard: Share
    consequence: str

    def uses_quality(self) -> bool:
        return True

    def pay(self, name: str, p: Paying) -> list[LineItem]:
        assert p.quality is not None
        qs, std = p.quality, self.standard.value
        met = qs >= std
        test = f"quality score {score(qs)} {'>=' if met else '<'} standard {score(std)}"
        text = f"{test}: {'met' if met else 'not met: ' + self.consequence} (no dollar effect this year)"
        brief = f"QS {score(qs)} {'>=' if met else '<'} {score(std)}: {'met' if met else 'not met'}"
        return [LineItem(p.ctx.entity_id, name, self.title, "memo", 0, text, brief, threshold_test=test, quality_score=qs)]
