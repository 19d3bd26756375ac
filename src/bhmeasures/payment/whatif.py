"""What-if: for each entity and measure, the events that reach the next tier and what they are worth.

The worth is exact: the entity is paid again with the measure at its new rate and the change in net
payment is reported, so pools, quality scores, sharing rates and caps all play their part.
"""

from __future__ import annotations

import math
from fractions import Fraction

from bhmeasures.payment.entity import EntityContext
from bhmeasures.payment.inputs import Rate
from bhmeasures.payment.money import money
from bhmeasures.payment.program import Program
from bhmeasures.payment.result import LineItem, WhatIf, net_cents
from bhmeasures.payment.scorecard import score, show


def _reach(rate: Rate, target: Fraction, lower: bool) -> tuple[Fraction | None, int | None, str | None]:
    """(new rate, numerator events to add (+) or remove (-), or why the tier is out of reach)."""
    if not rate.denominator or rate.numerator is None:
        return target, None, None
    den, num = rate.denominator, rate.numerator
    if lower:
        allowed = math.floor(target * den)
        if allowed < 0:
            return None, None, "out of reach: the target is below zero events"
        return Fraction(allowed, den), allowed - num, None
    need = math.ceil(target * den)
    if need > den:
        return None, None, f"out of reach with a denominator of {den:,}: the target needs more than 100%"
    return Fraction(need, den), need - num, None


def what_if(program: Program, ctx: EntityContext, items: list[LineItem]) -> list[WhatIf]:
    base = net_cents(items)
    rows: list[WhatIf] = []
    for cname, card in program.scorecards(ctx.track):
        for mid, ref in card.measures.items():
            s = score(card, mid, ctx, program.tier_sets)
            r = s.rate
            row = dict(entity_id=ctx.entity_id, component=cname, measure_id=mid, unit=ref.unit, direction=ref.direction,
                       rate=r.value, numerator=r.numerator, denominator=r.denominator, tier=s.tier)
            if r.value is None or s.targets is None:
                why = (f"rate not available: {r.note or 'supply it under rates: in the inputs file'}" if r.value is None
                       else "no targets: the inputs give no baseline or benchmark for it")
                rows.append(WhatIf(**row, next_tier=None, next_target=None, events_needed=None, new_rate=None, worth_cents=None,
                                   note=why))
                continue
            tiers = card.tiers_for(mid, program.tier_sets)
            higher = [t for t in tiers if tiers[t].credit.value > s.credit]
            if not higher:
                rows.append(WhatIf(**row, next_tier=None, next_target=None, events_needed=0, new_rate=None, worth_cents=0,
                                   note="top tier reached"))
                continue
            nxt = higher[0]
            target = s.targets[nxt]
            new, events, why = _reach(r, target, ref.lower_is_better)
            if new is None:
                rows.append(WhatIf(**row, next_tier=nxt, next_target=target, events_needed=None, new_rate=None, worth_cents=None,
                                   note=why or ""))
                continue
            moved = ctx.with_rate(mid, Rate(new, (r.numerator or 0) + events if events is not None else None,
                                            r.denominator, r.source, "what-if"))
            worth = net_cents(program.pay(moved)) - base
            reached = score(card, mid, moved, program.tier_sets).tier or nxt  # whole events may overshoot into a higher tier
            op = "<=" if ref.lower_is_better else ">="
            if events is None:
                how = f"a rate of {show(new, ref.unit)}"
            elif events >= 0:
                how = f"{events:,} more numerator event(s) ({show(new, ref.unit)})"
            else:
                how = f"{-events:,} fewer numerator event(s) ({show(new, ref.unit)})"
            note = f"{how} reaches {reached} ({op} {show(s.targets[reached], ref.unit)}): {'+' if worth >= 0 else ''}{money(worth)}"
            if worth == 0 and cname == "quality" and ctx.fields.quality_score is not None:
                note += " (the inputs report the quality score, so measure rates do not move this payment)"
            elif worth == 0 and cname == "quality":
                note += " (quality moves no dollars for this entity this year, e.g. no savings to share)"
            rows.append(WhatIf(**row, next_tier=nxt, next_target=target, events_needed=events, new_rate=new,
                               worth_cents=worth, note=note))
    return rows
