"""Total-cost-of-care shared savings and losses (MSSP, Minnesota IHP Track 2, Rhode Island AEs).

B = benchmark, A = actual, S = B - A, r = S / B.
Savings when S > 0 and r >= MSR; losses (two-sided only) when S < 0 and -r >= MLR; otherwise nothing is
shared (the corridor). The sharing rate is changed by quality (gate, multiplier or partial portion) and
the result capped; the payer keeps the rest of the savings, and a line item says how much of that quality cost.
"""

from __future__ import annotations

from fractions import Fraction

from bhmeasures.payment.models import MsrTable, Program, SharedSavings
from bhmeasures.payment.money import money, number, pct, round_cents, to_cents
from bhmeasures.payment.result import LineItem
from bhmeasures.payment.rules.context import EntityContext


def msr_from_table(table: MsrTable, n: int) -> Fraction:
    """MSR for an assigned population of n, linear from a band's start to its end when interpolation is on."""
    first = table.bands[0]
    if n < first.min:
        raise ValueError(f"{n:,} assigned members is below the smallest band of the MSR table ({first.min:,})")
    for band in table.bands:
        if band.max is None or n <= band.max:
            if n < band.min:  # a gap between bands: use the start of the band above
                return band.start
            if band.max is None or band.max == band.min or not table.interpolation.value:
                return band.start
            return band.start + Fraction(n - band.min, band.max - band.min) * (band.end - band.start)
    return table.bands[-1].end


def _corridor(c: SharedSavings, program: Program, ctx: EntityContext) -> tuple[Fraction, str, Fraction | None, str]:
    f = ctx.fields
    table = c.msr.table
    if c.msr.fixed is not None:
        msr, how = c.msr.fixed.value, "fixed"
    elif c.msr.elected is not None and f.msr_election != "size_based":
        assert isinstance(f.msr_election, Fraction)
        msr, how = f.msr_election, "elected"
    else:
        table = table or (c.msr.elected.size_based_table if c.msr.elected else None)
        assert table is not None and f.members is not None
        msr = msr_from_table(program.msr_tables[table], f.members)
        how = f"from the {table} table for {f.members:,} assigned members"
    if c.mlr is None:
        return msr, how, None, ""
    if c.mlr.fixed is not None:
        return msr, how, c.mlr.fixed.value, "fixed"
    return msr, how, msr, "same as the MSR"


def quality_factor(c: SharedSavings, qs: Fraction | None) -> tuple[Fraction, str]:
    """The factor quality applies to the sharing rate, and a sentence saying why."""
    form = c.quality.form
    if form == "none":
        return Fraction(1), "no quality adjustment"
    assert qs is not None
    if form == "gate":
        std = c.quality.standard.value  # type: ignore[union-attr]
        if qs >= std:
            return Fraction(1), f"quality standard met ({float(qs):.4g} >= {float(std):g})"
        return Fraction(0), f"quality standard not met ({float(qs):.4g} < {float(std):g}): sharing rate 0"
    if form == "multiplier":
        return qs, f"x quality score {float(qs):.4g}"
    portion = c.quality.portion.value  # type: ignore[union-attr]
    factor = (1 - portion) + portion * qs
    return factor, f"x ({float(1 - portion):g} + {float(portion):g} x quality score {float(qs):.4g}) = x {float(factor):.4g}"


def _shared(c: SharedSavings, savings: int, bench: int, rate: Fraction) -> tuple[Fraction, Fraction | None, bool]:
    """In cents: (amount before rounding, the cap, whether the cap bound) for a final sharing rate."""
    if c.savings_cap is None:
        return savings * rate, None, False
    cap = c.savings_cap.pct_benchmark.value * bench
    if c.savings_cap.applies_to == "savings":  # cap the savings, then share them
        return min(Fraction(savings), cap) * rate, cap, savings > cap
    amount = savings * rate
    return min(amount, cap), cap, amount > cap


def shared_savings(name: str, c: SharedSavings, program: Program, ctx: EntityContext, qs: Fraction | None,
                   items: list[LineItem]) -> list[LineItem]:
    f = ctx.fields
    e = ctx.entity_id
    if f.tcoc_benchmark is not None:
        bench = to_cents(f.tcoc_benchmark)
        bench_how = "benchmark"
    else:
        assert f.tcoc_target_pmpm is not None
        bench = to_cents(f.tcoc_target_pmpm * ctx.member_months)
        bench_how = f"benchmark ${float(f.tcoc_target_pmpm):,.2f} PMPM x {number(ctx.member_months)} member months"
    assert f.tcoc_actual is not None
    actual = to_cents(f.tcoc_actual)
    actual_how = "actual"
    if "tcoc_actual" in ctx.derived:
        actual_how = "actual (paid claims)"
        if c.count_in_actual is not None:
            extra = sum(i.amount_cents for i in items if i.component in c.count_in_actual.components and i.account == "earned")
            actual += extra
            actual_how = f"actual (paid claims + {money(extra)} {' + '.join(c.count_in_actual.components)})"
    savings = bench - actual
    r = Fraction(savings, bench)
    msr, msr_how, mlr, mlr_how = _corridor(c, program, ctx)
    partner = bool(f.partnership) and c.partnership is not None
    sharing = c.partnership.sharing_rate.value if partner and c.partnership else c.sharing_rate.value
    factor, q_text = quality_factor(c, qs)
    final = sharing * factor
    head = f"{bench_how} {money(bench)} - {actual_how} {money(actual)} = {'savings' if savings >= 0 else 'loss'} {money(abs(savings))} ({pct(abs(r))} of benchmark)"
    common = dict(tcoc_benchmark_cents=bench, tcoc_actual_cents=actual, savings_cents=savings, quality_score=qs)

    if savings > 0 and r >= msr:
        test = f"savings rate {pct(r)} >= MSR {pct(msr)} ({msr_how})"
        raw, cap, capped = _shared(c, savings, bench, final)
        paid = round_cents(raw)  # amounts here are already in cents
        full = round_cents(_shared(c, savings, bench, sharing)[0])  # what full quality would have paid
        rate_text = f"sharing rate {pct(sharing)}{' (partnership)' if partner else ''} {q_text} = {pct(final)}"
        cap_text = ""
        if cap is not None:
            what = "savings" if c.savings_cap.applies_to == "savings" else "shared amount"  # type: ignore[union-attr]
            cap_text = f"; cap {pct(c.savings_cap.pct_benchmark.value)} of benchmark on the {what} = {money(round_cents(cap))} ({'applied' if capped else 'not binding'})"  # type: ignore[union-attr]
        brief = f"savings {pct(r)} >= MSR {pct(msr)}; {money(savings)} x {pct(final)}" + (" capped" if capped else "")
        out = [LineItem(e, name, "shared savings", "earned", paid, f"{head}; {test}; {rate_text}{cap_text} -> {money(paid)}",
                        brief, threshold_test=test, share_rate=final, cap_cents=None if cap is None else round_cents(cap),
                        cap_applied=capped if cap is not None else None, **common)]
        if full != paid:
            out.append(LineItem(e, name, "savings forfeited on quality", "unearned", full - paid,
                                f"full quality would have paid {money(full)}; {money(full - paid)} stays with {program.payer}",
                                f"{money(full)} at full quality - {money(paid)}", threshold_test=test, quality_score=qs, savings_cents=savings))
        out.append(LineItem(e, name, f"savings kept by {program.payer}", "unearned", savings - full,
                            f"savings {money(savings)} - {money(full)} the entity's share at full quality = {money(savings - full)}"
                            + (" (includes savings above the cap)" if capped else ""),
                            f"{pct(1 - Fraction(full, savings))} of savings", threshold_test=test, savings_cents=savings))
        return out

    if savings < 0 and c.two_sided and mlr is not None and -r >= mlr:
        test = f"loss rate {pct(-r)} >= MLR {pct(mlr)} ({mlr_how})"
        assert c.loss_rate is not None
        if c.loss_rate.fixed is not None:
            base_lr = c.partnership.loss_rate.value if partner and c.partnership and c.partnership.loss_rate else c.loss_rate.fixed.value
            lr_text = f"loss rate {pct(base_lr)}{' (partnership)' if partner and c.partnership and c.partnership.loss_rate else ''}"
        else:
            lo = c.loss_rate.floor.value if c.loss_rate.floor else Fraction(0)
            hi = c.loss_rate.ceiling.value if c.loss_rate.ceiling else Fraction(1)
            base_lr = min(max(1 - final, lo), hi)
            lr_text = f"loss rate 1 - final sharing rate {pct(final)}, kept within [{pct(lo)}, {pct(hi)}] = {pct(base_lr)}"
        lr = base_lr
        if c.loss_quality_mitigation is not None:
            assert qs is not None
            lam = c.loss_quality_mitigation.value
            lr = base_lr * (1 - lam * qs)
            lr_text += f" x (1 - {float(lam):g} x quality score {float(qs):.4g}) = {pct(lr)}"
        uncapped = -savings * lr
        limits = []
        if c.loss_cap is not None:
            if c.loss_cap.pct_benchmark is not None:
                limits.append((c.loss_cap.pct_benchmark.value * bench, f"{pct(c.loss_cap.pct_benchmark.value)} of benchmark"))
            if c.loss_cap.pct_revenue is not None:
                assert f.participant_revenue is not None
                limits.append((c.loss_cap.pct_revenue.value * f.participant_revenue * 100,
                               f"{pct(c.loss_cap.pct_revenue.value)} of revenue {money(to_cents(f.participant_revenue))}"))
        limit = min(limits, key=lambda x: x[0]) if limits else None
        capped = limit is not None and uncapped > limit[0]
        owed = round_cents(min(uncapped, limit[0]) if limit is not None else uncapped)
        cap_text = ""
        if limit is not None:
            cap_text = f"; loss limit {limit[1]} = {money(round_cents(limit[0]))} ({'applied' if capped else 'not binding'})"
        return [LineItem(e, name, "shared losses", "owed", -owed,
                         f"{head}; {test}; {lr_text}{cap_text} -> owes {money(owed)}",
                         f"loss {pct(-r)} >= MLR {pct(mlr)}; {money(-savings)} x {pct(lr)}" + (" capped" if capped else ""),
                         threshold_test=test, share_rate=lr,
                         cap_cents=None if limit is None else round_cents(limit[0]), cap_applied=capped if limit else None, **common)]

    if savings > 0:
        test = f"savings rate {pct(r)} < MSR {pct(msr)} ({msr_how})"
        why = "inside the corridor: nothing is shared"
    elif savings < 0 and not c.two_sided:
        test = f"loss rate {pct(-r)}; one-sided"
        why = "one-sided arrangement: the entity owes nothing"
    elif savings < 0:
        assert mlr is not None
        test = f"loss rate {pct(-r)} < MLR {pct(mlr)} ({mlr_how})"
        why = "inside the corridor: nothing is shared"
    else:
        test = "no savings and no loss"
        why = "nothing to share"
    return [LineItem(e, name, "no shared savings or losses", "memo", 0, f"{head}; {test}: {why}", test, threshold_test=test, **common)]
