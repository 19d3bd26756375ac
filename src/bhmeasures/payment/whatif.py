"""What-if: for each entity and measure, the events that reach the next tier and what they are worth.

With counts, the events are whole changes of the numerator at the same denominator: more follow-ups
for a proportion, fewer ED visits for a per-1,000 rate, fewer dollars of cost for a PMPM. The worth is
exact: the entity is paid again with the measure at its new rate and the change in net payment is
reported, so pools, quality scores, sharing rates and caps all play their part.
"""

from __future__ import annotations

import math
from fractions import Fraction

from bhmeasures.payment.entity import EntityContext
from bhmeasures.payment.money import count, money
from bhmeasures.payment.program import Program
from bhmeasures.payment.result import LineItem, WhatIf, net_cents
from bhmeasures.payment.results import Rate
from bhmeasures.payment.scorecard import SCALE, MeasureRef, Scored, score, show


def reach(rate: Rate, target: Fraction, ref: MeasureRef) -> tuple[Fraction | None, int | None, str | None]:
    """(new rate, whole numerator change: + more, - fewer; or why the tier is out of reach).

    Without counts the new rate is the target itself and the change is unknown (None)."""
    if not rate.denominator or rate.numerator is None:
        return target, None, None
    den, num, scale = rate.denominator, rate.numerator, SCALE[ref.unit]
    needed = target * den / scale - num  # the exact change that lands on the target
    change = math.floor(needed) if ref.lower_is_better else math.ceil(needed)
    new = num + change
    if new < 0:
        return None, None, "out of reach: the target is below zero"
    if ref.unit == "proportion" and new > den:
        return None, None, f"out of reach with a denominator of {count(den)}: the target needs more than 100%"
    return scale * new / den, change, None


def _how(change: int | None, new: Fraction, unit: str) -> str:
    at = show(new, unit)
    if change is None:
        return f"a rate of {at}"
    what = "dollars of cost" if unit == "dollars" else "numerator event(s)"
    amount = money(abs(change) * 100) if unit == "dollars" else f"{abs(change):,}"
    if unit == "dollars":
        return f"{amount} {'more' if change >= 0 else 'less'} in the numerator ({at})"
    return f"{amount} {'more' if change >= 0 else 'fewer'} {what} ({at})"


def _row(ctx: EntityContext, component: str, s: Scored, next_tier: str | None, next_target: Fraction | None,
         events: int | None, new_rate: Fraction | None, worth: int | None, note: str) -> WhatIf:
    r = s.rate
    return WhatIf(ctx.entity_id, component, s.measure_id, s.ref.unit, s.ref.direction, r.value, r.numerator, r.denominator,
                  s.tier, next_tier, next_target, events, new_rate, worth, note)


def what_if(program: Program, ctx: EntityContext, items: list[LineItem]) -> list[WhatIf]:
    base = net_cents(items)
    rows: list[WhatIf] = []
    for cname, card in program.scorecards(ctx.track):
        for mid, ref in card.measures.items():
            s = score(card, mid, ctx, program.tier_sets)
            r = s.rate
            if r.value is None or s.targets is None:
                why = (f"rate not available: {r.note or 'supply it under rates: in the inputs file'}" if r.value is None
                       else "no targets: the inputs give no baseline or benchmark for it")
                rows.append(_row(ctx, cname, s, None, None, None, None, None, why))
                continue
            tiers = card.tiers_for(mid, program.tier_sets)
            higher = [t for t in tiers if tiers[t].credit.value > s.credit]
            if not higher:
                rows.append(_row(ctx, cname, s, None, None, 0, None, 0, "top tier reached"))
                continue
            new, events, out_of_reach = reach(r, s.targets[higher[0]], ref)
            if new is None:
                rows.append(_row(ctx, cname, s, higher[0], s.targets[higher[0]], None, None, None, out_of_reach or ""))
                continue
            numerator = None if events is None or r.numerator is None else r.numerator + events
            moved = ctx.with_rate(mid, Rate(new, numerator, r.denominator, r.source, "what-if"))
            worth = net_cents(program.pay(moved)) - base
            # whole events may overshoot into a higher tier: the row names the tier they reach
            reached = score(card, mid, moved, program.tier_sets).tier or higher[0]
            op = "<=" if ref.lower_is_better else ">="
            note = (f"{_how(events, new, ref.unit)} reaches {reached} ({op} {show(s.targets[reached], ref.unit)}): "
                    f"{'+' if worth >= 0 else ''}{money(worth)}")
            if worth == 0 and cname == "quality" and ctx.fields.quality_score is not None:
                note += " (the inputs report the quality score, so measure rates do not move this payment)"
            elif worth == 0 and cname == "quality":
                note += " (quality moves no dollars for this entity this year, e.g. no savings to share)"
            rows.append(_row(ctx, cname, s, reached, s.targets[reached], events, new, worth, note))
    return rows
