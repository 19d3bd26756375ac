"""Pool-style money: incentive pools earned measure by measure (Colorado KPI/BHI, RI's incentive pool),
population-based payments with a share at risk on quality (Minnesota PBP), quality gates, and pass-through."""

from __future__ import annotations

from fractions import Fraction

from bhmeasures.payment.models import IncentivePool, PassThrough, PopulationPayment, QualityGate
from bhmeasures.payment.money import money, number, pct, round_cents, split_cents, to_cents
from bhmeasures.payment.result import LineItem
from bhmeasures.payment.rules.context import EntityContext
from bhmeasures.payment.rules.scorecard import measure_item, score


def _pool(c: IncentivePool, ctx: EntityContext) -> tuple[int, str]:
    f = ctx.fields
    if c.pmpm_max is not None:
        mm = ctx.member_months
        src = " (derived from attribution)" if "member_months" in ctx.derived else ""
        return to_cents(c.pmpm_max.value * mm), f"${float(c.pmpm_max.value):,.2f} PMPM x {number(mm)} member months{src}"
    if c.capitation_pct_max is not None:
        assert f.bh_capitation is not None
        return (to_cents(c.capitation_pct_max.value * f.bh_capitation),
                f"{pct(c.capitation_pct_max.value)} of BH capitation {money(to_cents(f.bh_capitation))}")
    assert f.incentive_pool is not None
    return to_cents(f.incentive_pool), "the incentive-pool amount the payer reports"


def incentive_pool(name: str, c: IncentivePool, ctx: EntityContext) -> list[LineItem]:
    pool, how = _pool(c, ctx)
    e = ctx.entity_id
    if not c.measures:
        return [LineItem(e, name, c.title, "earned", pool, f"{c.title}: {money(pool)}, {how}", "as reported", pool_cents=pool)]
    mids = list(c.measures)
    weights = c.weights()
    allot = split_cents(pool, [weights[m] for m in mids])
    items: list[LineItem] = []
    for m, a in zip(mids, allot, strict=True):
        s = score(c, m, ctx)
        earned = round_cents(a * s.credit)
        share = f"{money(a)} allotment ({pct(s.weight)} of the {money(pool)} pool)"
        if not s.available:
            text = f"{s.rate_text()}: no credit on the {share}"
        else:
            text = f"{s.rate_text()} {s.standing()} of the {share} = {money(earned)}"
        items.append(measure_item(ctx, name, s, "earned", earned, text, pool_cents=pool, allotment_cents=a))
    got = sum(i.amount_cents for i in items)
    items.append(LineItem(e, name, f"unearned: {c.unearned_to}", "unearned", pool - got,
                          f"pool {money(pool)} ({how}) - earned {money(got)} = {money(pool - got)} {c.unearned_to}",
                          f"pool {money(pool)} - earned {money(got)}", pool_cents=pool))
    if c.ceiling_pct_of_capitation is not None:
        items.extend(_ceiling(name, c, ctx, got))
    return items


def _ceiling(name: str, c: IncentivePool, ctx: EntityContext, got: int) -> list[LineItem]:
    """Incentives above the capitation ceiling (42 CFR 438.6(b)(2): 105% of capitation) are not paid."""
    assert c.ceiling_pct_of_capitation is not None and ctx.fields.bh_capitation is not None
    cap = to_cents(c.ceiling_pct_of_capitation.value * ctx.fields.bh_capitation)
    share = Fraction(got, to_cents(ctx.fields.bh_capitation)) if ctx.fields.bh_capitation else Fraction(0)
    e = ctx.entity_id
    if got <= cap:
        return [LineItem(e, name, "capitation ceiling", "memo", 0,
                         f"earned {money(got)} = {pct(share)} of BH capitation, within the "
                         f"{pct(c.ceiling_pct_of_capitation.value)} ceiling ({money(cap)})",
                         f"{pct(share)} of capitation <= {pct(c.ceiling_pct_of_capitation.value)}", cap_cents=cap, cap_applied=False)]
    excess = got - cap
    return [
        LineItem(e, name, "capitation ceiling", "earned", -excess,
                 f"earned {money(got)} exceeds the {pct(c.ceiling_pct_of_capitation.value)} ceiling ({money(cap)}): "
                 f"{money(excess)} not paid", f"above {pct(c.ceiling_pct_of_capitation.value)} of capitation",
                 cap_cents=cap, cap_applied=True),
        LineItem(e, name, "above the capitation ceiling", "unearned", excess,
                 f"{money(excess)} above the ceiling, {c.unearned_to}", "above the ceiling", cap_cents=cap, cap_applied=True),
    ]


def population_payment(name: str, c: PopulationPayment, ctx: EntityContext, qs: Fraction) -> list[LineItem]:
    """PBP = PMPM x MM x ((1 - at_risk) + at_risk x QS): a guaranteed part, a quality part, and what quality forfeits."""
    mm = ctx.member_months
    base = to_cents(c.pmpm.value * mm)
    q = c.at_risk.value
    fixed = round_cents(base * (1 - q))
    at_risk = base - fixed
    quality_part = round_cents(at_risk * qs)
    e = ctx.entity_id
    how = f"${float(c.pmpm.value):,.2f} PMPM x {number(mm)} member months = {money(base)}"
    return [
        LineItem(e, name, "guaranteed part", "earned", fixed,
                 f"{how}; {pct(1 - q)} not at risk = {money(fixed)}", f"{pct(1 - q, 0)} of {money(base)}",
                 pool_cents=base, share_rate=1 - q),
        LineItem(e, name, "quality part", "earned", quality_part,
                 f"{pct(q)} at risk ({money(at_risk)}) x quality score {float(qs):.4g} = {money(quality_part)}",
                 f"{money(at_risk)} x QS {float(qs):.4g}", pool_cents=base, share_rate=q, quality_score=qs),
        LineItem(e, name, "forfeited on quality", "unearned", at_risk - quality_part,
                 f"{money(at_risk)} at risk - {money(quality_part)} earned = {money(at_risk - quality_part)} not paid",
                 f"{money(at_risk)} x (1 - QS)", pool_cents=base, quality_score=qs),
    ]


def quality_gate(name: str, c: QualityGate, ctx: EntityContext, qs: Fraction) -> list[LineItem]:
    met = qs >= c.standard.value
    test = f"quality score {float(qs):.4g} {'>=' if met else '<'} standard {float(c.standard.value):g}"
    text = f"{test}: {'met' if met else 'not met: ' + c.consequence} (no dollar effect this year)"
    brief = f"QS {float(qs):.4g} {'>=' if met else '<'} {float(c.standard.value):g}: {'met' if met else 'not met'}"
    return [LineItem(ctx.entity_id, name, c.title, "memo", 0, text, brief, threshold_test=test, quality_score=qs)]


def pass_through(name: str, c: PassThrough, ctx: EntityContext, items: list[LineItem]) -> list[LineItem]:
    base = sum(i.amount_cents for i in items if i.component in c.of and i.account == "earned")
    amount = round_cents(c.pct.value * max(base, 0))
    return [LineItem(ctx.entity_id, name, f"pass-through to {c.partner}", "pass_through", amount,
                     f"{pct(c.pct.value)} of {money(base)} earned in {' + '.join(c.of)} = {money(amount)}, "
                     f"to be passed to {c.partner} (part of the earned dollars)", f"{pct(c.pct.value, 0)} of {money(base)} earned",
                     share_rate=c.pct.value)]
