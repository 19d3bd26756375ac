"""Total-cost-of-care shared savings and losses (MSSP, Minnesota IHP Track 2, Rhode Island AEs).

B = benchmark, A = actual, S = B - A, r = S / B.
Savings when S > 0 and r >= MSR; losses (two-sided only) when S < 0 and -r >= MLR; otherwise nothing is
shared (the corridor). The sharing rate is changed by quality (gate, multiplier or partial portion) and
the result capped; the payer keeps the rest of the savings, and a line item says how much of that quality cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from pydantic import Field, model_validator

from bhmeasures.errors import did_you_mean
from bhmeasures.payment.components.base import (
    ComponentBase,
    Paying,
    ProgramView,
    references,
)
from bhmeasures.payment.entity import EntityChecks, EntityContext
from bhmeasures.payment.inputs import EntityFields
from bhmeasures.payment.money import (
    exact,
    money,
    number,
    pct,
    round_cents,
    score,
    to_cents,
)
from bhmeasures.payment.params import (
    Amount,
    Flag,
    Model,
    Number,
    Provenance,
    Share,
    exactly_one,
)
from bhmeasures.payment.result import LineItem
from bhmeasures.payment.tiers import Add

# ---------------------------------------------------------------- the model


class MsrBand(Model):
    min: int = Field(ge=0)
    max: int | None = None
    start: Number
    end: Number


class MsrTable(Model):
    """A minimum savings rate that falls with the entity's assigned population, linear inside each band."""

    provenance: Provenance
    source: str | None = None
    interpolation: Flag
    bands: list[MsrBand] = Field(min_length=1)

    def shown(self) -> str:
        return "; ".join(f"{b.min:,}-{'' if b.max is None else f'{b.max:,}'}: {_pct(b.start)}"
                         + ("" if b.start == b.end else f"->{_pct(b.end)}") for b in self.bands)


class Election(Model):
    """The entity elects its corridor (inputs `msr_election`): one of `allowed`, or size_based from a table."""

    allowed: list[Number] = Field(min_length=1)
    size_based_table: str | None = None
    provenance: Provenance
    source: str | None = None

    def shown(self) -> str:
        return "elect one of " + ", ".join(_pct(a) for a in self.allowed) + (" or size_based" if self.size_based_table else "")


class Msr(Model):
    fixed: Share | None = None
    table: str | None = None
    elected: Election | None = None

    @model_validator(mode="after")
    def _one(self) -> Msr:
        exactly_one(self, ("fixed", "table", "elected"), "msr")
        return self


class Mlr(Model):
    fixed: Share | None = None
    same_as_msr: Literal[True] | None = None

    @model_validator(mode="after")
    def _one(self) -> Mlr:
        exactly_one(self, ("fixed", "same_as_msr"), "mlr")
        return self


class QualityUse(Model):
    """How the quality score QS in [0, 1] changes the sharing rate SR.

    gate: SR if QS >= standard; below it, SR x QS if `alternative` is on and the entity meets the alternative
    standard (inputs `alternative_quality_standard_met`, MSSP 42 CFR 425.512(a)(5)(ii)), else 0.
    multiplier: SR x QS. partial: SR x ((1 - portion) + portion x QS).
    """

    form: Literal["none", "gate", "multiplier", "partial"]
    standard: Share | None = None
    alternative: Flag | None = None
    portion: Share | None = None

    @model_validator(mode="after")
    def _fits_form(self) -> QualityUse:
        if self.form == "gate" and self.standard is None:
            raise ValueError("a gate needs a standard")
        if self.form == "partial" and self.portion is None:
            raise ValueError("a partial quality transform needs a portion")
        for key, form in (("standard", "gate"), ("alternative", "gate"), ("portion", "partial")):
            if self.form != form and getattr(self, key) is not None:
                raise ValueError(f"{key} applies to form {form}, not {self.form}")
        return self


class SavingsCap(Model):
    pct_benchmark: Share
    applies_to: Literal["shared", "savings"] = "shared"  # cap the shared amount (MSSP) or the savings before sharing


class LossRate(Model):
    """fixed; or 1 - final sharing rate; or 1 - quality_scaled x QS (MSSP ENHANCED since 2023: 1 - 0.75 x QS); the last
    two kept within [floor, ceiling], and the ceiling when the entity meets no quality standard."""

    fixed: Share | None = None
    one_minus_sharing: Literal[True] | None = None
    quality_scaled: Share | None = None
    floor: Share | None = None
    ceiling: Share | None = None

    @model_validator(mode="after")
    def _one(self) -> LossRate:
        exactly_one(self, ("fixed", "one_minus_sharing", "quality_scaled"), "loss_rate")
        if self.fixed is not None and (self.floor or self.ceiling):
            raise ValueError("floor and ceiling apply to one_minus_sharing and quality_scaled only")
        if self.quality_scaled is not None and self.ceiling is None:
            raise ValueError("quality_scaled needs a ceiling (the rate when no quality standard is met)")
        if self.floor and self.ceiling and self.floor.value > self.ceiling.value:
            raise ValueError("floor is above ceiling")
        return self


class LossCap(Model):
    """Shared losses are capped at the smallest of the limits given."""

    pct_benchmark: Share | None = None
    pct_revenue: Share | None = None  # of the entity's revenue (inputs `participant_revenue`)

    @model_validator(mode="after")
    def _some(self) -> LossCap:
        if self.pct_benchmark is None and self.pct_revenue is None:
            raise ValueError("loss_cap needs pct_benchmark and/or pct_revenue")
        return self


class Partnership(Model):
    """Better terms for entities in an approved partnership (inputs `partnership: true`)."""

    sharing_rate: Share
    loss_rate: Share | None = None


class LowRevenue(Model):
    """Savings below the MSR shared at a reduced rate by entities the payer deems low revenue (inputs `low_revenue`),
    with at least `min_members` assigned (MSSP 42 CFR 425.605(h), agreement periods from 2024)."""

    sharing_factor: Share  # x the final sharing rate (1/2)
    cap_factor: Share  # x the savings cap
    min_members: Amount


class CountInActual(Model):
    """Payments of these components count in actual TCOC when it is derived from claims (claims do not carry them)."""

    components: list[str] = Field(min_length=1)
    provenance: Provenance
    source: str | None = None

    def shown(self) -> str:
        return ", ".join(self.components)


class SharedSavings(ComponentBase):
    """Total-cost-of-care shared savings (and, two-sided, losses) against a benchmark."""

    kind: Literal["shared_savings"]
    msr: Msr
    two_sided: bool = False
    mlr: Mlr | None = None
    sharing_rate: Share
    quality: QualityUse = QualityUse(form="none")
    savings_cap: SavingsCap | None = None
    loss_rate: LossRate | None = None
    loss_quality_mitigation: Share | None = None  # loss rate x (1 - this x QS)
    loss_cap: LossCap | None = None
    partnership: Partnership | None = None
    low_revenue: LowRevenue | None = None
    count_in_actual: CountInActual | None = None

    @model_validator(mode="after")
    def _sides(self) -> SharedSavings:
        if self.two_sided:
            missing = [k for k in ("mlr", "loss_rate") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"a two-sided arrangement needs {' and '.join(missing)}")
        else:
            extra = [k for k in ("mlr", "loss_rate", "loss_quality_mitigation", "loss_cap") if getattr(self, k) is not None]
            if extra:
                raise ValueError(f"{', '.join(extra)} given but two_sided is false; set two_sided: true or remove them")
        return self

    def uses_quality(self) -> bool:
        return self.quality.form != "none" or self.loss_quality_mitigation is not None

    def wants(self) -> frozenset[str]:
        return frozenset({"member_months", "members", "tcoc_actual"})

    # ------------------------------------------------------------ checks

    def check(self, name: str, program: ProgramView, add: Add) -> None:
        base = ("components", name)
        tables = _tables(program)
        for table in (self.msr.table, self.msr.elected.size_based_table if self.msr.elected else None):
            if table is not None and table not in tables:
                add((*base, "msr"), f"unknown MSR table '{table}'.", did_you_mean(table, list(tables)) or "Declare it under msr_tables.")
        if self.msr.elected is not None and any(not 0 <= a <= 1 for a in self.msr.elected.allowed):
            add((*base, "msr", "elected", "allowed"), "elected rates are fractions between 0 and 1.")
        if self.count_in_actual is not None:
            references(name, self.count_in_actual.components, program, "count_in_actual", add, kinds=("population_payment",))

    def check_entity(self, name: str, program: ProgramView, chk: EntityChecks) -> None:
        f = chk.fields
        label = f"component {name} ({self.title})"
        if f.tcoc_benchmark is None:
            chk.need("tcoc_target_pmpm", f"{label}: benchmark = target PMPM x member months (or give tcoc_benchmark)")
            chk.need("member_months", f"{label}: benchmark = target PMPM x member months")
        elif f.tcoc_benchmark == 0:
            chk.add("tcoc_benchmark is 0; savings rates need a positive benchmark.", loc=("tcoc_benchmark",))
        if (f.tcoc_benchmark is None and f.tcoc_target_pmpm is not None and f.member_months is not None
                and to_cents(f.tcoc_target_pmpm * f.member_months) == 0):
            chk.add("the benchmark (tcoc_target_pmpm x member_months) is $0.00; savings rates need a positive benchmark.")
        chk.need("tcoc_actual", f"{label}: actual total cost of care")
        self._check_msr(program, chk, label)
        if self.loss_cap is not None and self.loss_cap.pct_revenue is not None:
            chk.need("participant_revenue", f"{label}: the loss limit is a share of revenue")
        if self.low_revenue is not None and f.low_revenue:
            chk.need("members", f"{label}: a low revenue entity shares below the MSR only with "
                                f"{_n(self.low_revenue.min_members.value)} or more assigned members")

    def _check_msr(self, program: ProgramView, chk: EntityChecks, label: str) -> None:
        f = chk.fields
        table = self.msr.table
        if self.msr.elected is not None:
            e = self.msr.elected
            if f.msr_election is None:
                chk.need("msr_election", f"{label}: the elected minimum savings/loss rate")
                return
            if f.msr_election == "size_based":
                if e.size_based_table is None:
                    chk.add(f"msr_election size_based is not offered by {label}.",
                            "Elect one of " + ", ".join(f"{float(a):g}" for a in e.allowed) + ".", loc=("msr_election",))
                table = e.size_based_table
            elif f.msr_election not in e.allowed:
                chk.add(f"msr_election {float(f.msr_election):g} is not one of the rates {label} allows.",
                        "Elect one of " + ", ".join(f"{float(a):g}" for a in e.allowed)
                        + (" or size_based." if e.size_based_table else "."), loc=("msr_election",))
        tables = _tables(program)
        if table is not None and table in tables:
            if f.members is None:
                chk.need("members", f"{label}: the minimum savings rate depends on the assigned population")
                return
            try:
                msr_from_table(tables[table], f.members)
            except ValueError as err:
                chk.add(f"{err} ({label}).", "Correct members, or elect a fixed rate on a two-sided track.", loc=("members",))

    # ------------------------------------------------------------ paying

    def _corridor(self, program: ProgramView, ctx: EntityContext) -> tuple[Fraction, str, Fraction | None, str]:
        f = ctx.fields
        table = self.msr.table
        if self.msr.fixed is not None:
            msr, how = self.msr.fixed.value, "fixed"
        elif self.msr.elected is not None and f.msr_election != "size_based":
            assert isinstance(f.msr_election, Fraction)
            msr, how = f.msr_election, "elected"
        else:
            table = table or (self.msr.elected.size_based_table if self.msr.elected else None)
            assert table is not None and f.members is not None
            msr = msr_from_table(_tables(program)[table], f.members)
            how = f"from the {table} table for {f.members:,} assigned members"
        if self.mlr is None:
            return msr, how, None, ""
        if self.mlr.fixed is not None:
            return msr, how, self.mlr.fixed.value, "fixed"
        return msr, how, msr, "same as the MSR"

    def quality_factor(self, qs: Fraction | None, f: EntityFields) -> tuple[Fraction, bool, str, str]:
        """(the factor quality applies to the sharing rate, whether the entity meets a quality standard,
        the factor as it is multiplied ('' for none, 'x 0.6'), and why)."""
        form, q = self.quality.form, self.quality
        if form == "none":
            return Fraction(1), True, "", "no quality adjustment"
        assert qs is not None
        if form == "gate":
            assert q.standard is not None
            std = q.standard.value
            if qs >= std:
                return Fraction(1), True, "", f"quality standard met: quality score {score(qs)} >= standard {score(std)}"
            if q.alternative is not None and q.alternative.value and f.alternative_quality_standard_met:
                return qs, True, f"x quality score {score(qs)}", (f"quality score {score(qs)} < standard {score(std)}, "
                                                                  "alternative quality standard met")
            return Fraction(0), False, "x 0", f"quality standard not met: quality score {score(qs)} < standard {score(std)}"
        if form == "multiplier":
            return qs, True, f"x quality score {score(qs)}", "scaled by quality"
        assert q.portion is not None
        portion = q.portion.value
        factor = (1 - portion) + portion * qs
        return factor, True, f"x ({score(1 - portion)} + {score(portion)} x quality score {score(qs)})", (
            f"{exact(portion)} of the share depends on quality")

    def _shared(self, savings: int, bench: int, rate: Fraction, cap_factor: Fraction) -> tuple[Fraction, Fraction | None, bool]:
        """In cents: (amount before rounding, the cap, whether the cap bound) for a final sharing rate."""
        if self.savings_cap is None:
            return savings * rate, None, False
        cap = self.savings_cap.pct_benchmark.value * cap_factor * bench
        if self.savings_cap.applies_to == "savings":  # cap the savings, then share them
            return min(Fraction(savings), cap) * rate, cap, savings > cap
        amount = savings * rate
        return min(amount, cap), cap, amount > cap

    def pay(self, name: str, p: Paying) -> list[LineItem]:
        ctx, qs, program = p.ctx, p.quality, p.program
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
            if self.count_in_actual is not None:
                extra = p.earned_by(self.count_in_actual.components)
                actual += extra
                actual_how = f"actual (paid claims + {money(extra)} {' + '.join(self.count_in_actual.components)})"
        savings = bench - actual
        r = Fraction(savings, bench)
        msr, msr_how, mlr, mlr_how = self._corridor(program, ctx)
        head = (f"{bench_how} {money(bench)} - {actual_how} {money(actual)} = {'savings' if savings >= 0 else 'loss'} "
                f"{money(abs(savings))} ({pct(abs(r))} of benchmark)")
        common: dict[str, Any] = {"tcoc_benchmark_cents": bench, "tcoc_actual_cents": actual, "savings_cents": savings,
                                  "quality_score": qs}
        t = _Terms(name, p, bench, savings, head, common)

        if savings > 0 and r >= msr:
            return self._savings(t, f"savings rate {pct(r)} >= MSR {pct(msr)} ({msr_how})", Fraction(1), Fraction(1), "")
        low = self.low_revenue
        if savings > 0 and low is not None and f.low_revenue and (f.members or 0) >= low.min_members.value:
            test = f"savings rate {pct(r)} < MSR {pct(msr)} ({msr_how})"
            why = (f", but a low revenue entity with {f.members:,} >= {_n(low.min_members.value)} assigned members shares "
                   f"at {exact(low.sharing_factor.value)} of the rate")
            return self._savings(t, test, low.sharing_factor.value, low.cap_factor.value, why)
        if savings < 0 and self.two_sided and mlr is not None and -r >= mlr:
            return [self._losses(t, r, mlr, mlr_how)]

        if savings > 0:
            test = f"savings rate {pct(r)} < MSR {pct(msr)} ({msr_how})"
            why = "inside the corridor: nothing is shared"
            if low is not None and f.low_revenue:
                why += (f" (a low revenue entity shares below the MSR only with {_n(low.min_members.value)} or more assigned "
                        f"members; it has {f.members or 0:,})")
        elif savings < 0 and not self.two_sided:
            test = f"loss rate {pct(-r)}; one-sided"
            why = "one-sided arrangement: the entity owes nothing"
        elif savings < 0:
            assert mlr is not None
            test = f"loss rate {pct(-r)} < MLR {pct(mlr)} ({mlr_how})"
            why = "inside the corridor: nothing is shared"
        else:
            test = "no savings and no loss"
            why = "nothing to share"
        return [LineItem(e, name, "no shared savings or losses", "memo", 0, f"{head}; {test}: {why}", test, threshold_test=test,
                         **common)]

    def _savings(self, t: _Terms, test: str, rate_factor: Fraction, cap_factor: Fraction, why: str) -> list[LineItem]:
        """Shared savings at the final sharing rate (x rate_factor below the MSR), the cap (x cap_factor), what quality
        forfeited and what the payer keeps."""
        f, qs, e, savings, bench = t.p.ctx.fields, t.p.quality, t.p.ctx.entity_id, t.savings, t.bench
        partner = bool(f.partnership) and self.partnership is not None
        sharing = self.partnership.sharing_rate.value if partner and self.partnership else self.sharing_rate.value
        factor, _, times, why_q = self.quality_factor(qs, f)
        final = sharing * factor * rate_factor
        raw, cap, capped = self._shared(savings, bench, final, cap_factor)
        paid = round_cents(raw)  # amounts here are already in cents
        full = round_cents(self._shared(savings, bench, sharing * rate_factor, cap_factor)[0])  # at full quality
        terms = " ".join(x for x in (times, f"x {exact(rate_factor)}" if rate_factor != 1 else "") if x)
        rate_text = (f"sharing rate {exact(sharing)}{' (partnership)' if partner else ''}"
                     + (f" {terms} = {exact(final)}" if terms else "") + f" ({why_q})")
        if cap is not None and self.savings_cap is not None:
            what = "savings" if self.savings_cap.applies_to == "savings" else "shared amount"
            share = exact(self.savings_cap.pct_benchmark.value * cap_factor)
            cap_text = f"; cap {share} of benchmark on the {what} = {money(round_cents(cap))}"
            if capped and self.savings_cap.applies_to == "savings":
                amount = f"the cap {money(round_cents(cap))} x {exact(final)} = {money(paid)}"
            elif capped:
                amount = f"{money(savings)} x {exact(final)} is above the cap: {money(paid)}"
            else:
                amount = f"{money(savings)} x {exact(final)} = {money(paid)} (cap not binding)"
        else:
            cap_text, amount = "", f"{money(savings)} x {exact(final)} = {money(paid)}"
        brief = f"{test.split(' (')[0]}{'; low revenue' if rate_factor != 1 else ''}; " + (
            f"capped at {money(paid)}" if capped else f"{money(savings)} x {exact(final)}")
        out = [LineItem(e, t.name, "shared savings", "earned", paid, f"{t.head}; {test}{why}; {rate_text}{cap_text}; {amount}",
                        brief, threshold_test=test, share_rate=final, cap_cents=None if cap is None else round_cents(cap),
                        cap_applied=capped if cap is not None else None, **t.common)]
        payer = t.p.program.payer
        if full != paid:
            out.append(LineItem(e, t.name, "savings forfeited on quality", "forfeited", full - paid,
                                f"full quality would have paid {money(full)}; {money(full)} - {money(paid)} = "
                                f"{money(full - paid)} stays with {payer}",
                                f"{money(full)} at full quality - {money(paid)}", threshold_test=test, quality_score=qs,
                                savings_cents=savings))
        out.append(LineItem(e, t.name, f"savings kept by {payer}", "kept_by_payer", savings - full,
                            f"savings {money(savings)} - {money(full)} the entity's share at full quality = {money(savings - full)}"
                            + (" (includes savings above the cap)" if capped else ""),
                            f"{pct(1 - Fraction(full, savings))} of savings", threshold_test=test, savings_cents=savings))
        return out

    def _loss_rate(self, f: EntityFields, qs: Fraction | None) -> tuple[Fraction, str]:
        assert self.loss_rate is not None
        lr = self.loss_rate
        partner = bool(f.partnership) and self.partnership is not None and self.partnership.loss_rate is not None
        if lr.fixed is not None:
            if partner and self.partnership is not None and self.partnership.loss_rate is not None:
                return self.partnership.loss_rate.value, f"loss rate {exact(self.partnership.loss_rate.value)} (partnership)"
            return lr.fixed.value, f"loss rate {exact(lr.fixed.value)}"
        lo = lr.floor.value if lr.floor else Fraction(0)
        hi = lr.ceiling.value if lr.ceiling else Fraction(1)
        factor, met, _, _ = self.quality_factor(qs, f)
        if lr.quality_scaled is not None:
            if not met:
                return hi, f"no quality standard met: loss rate {exact(hi)}"
            assert qs is not None
            k = lr.quality_scaled.value
            rate = min(max(1 - k * qs, lo), hi)
            return rate, (f"loss rate 1 - {exact(k)} x quality score {score(qs)} = {exact(1 - k * qs)}, kept within "
                          f"[{exact(lo)}, {exact(hi)}] = {exact(rate)}")
        final = self.sharing_rate.value * factor
        rate = min(max(1 - final, lo), hi)
        return rate, f"loss rate 1 - final sharing rate {exact(final)}, kept within [{exact(lo)}, {exact(hi)}] = {exact(rate)}"

    def _losses(self, t: _Terms, r: Fraction, mlr: Fraction, mlr_how: str) -> LineItem:
        f, qs, savings, bench = t.p.ctx.fields, t.p.quality, t.savings, t.bench
        test = f"loss rate {pct(-r)} >= MLR {pct(mlr)} ({mlr_how})"
        lr, lr_text = self._loss_rate(f, qs)
        if self.loss_quality_mitigation is not None:
            assert qs is not None
            lam = self.loss_quality_mitigation.value
            lr_text += f" x (1 - {exact(lam)} x quality score {score(qs)}) = {exact(lr * (1 - lam * qs))}"
            lr = lr * (1 - lam * qs)
        uncapped = -savings * lr
        limits = []
        if self.loss_cap is not None:
            if self.loss_cap.pct_benchmark is not None:
                limits.append((self.loss_cap.pct_benchmark.value * bench, f"{exact(self.loss_cap.pct_benchmark.value)} of benchmark"))
            if self.loss_cap.pct_revenue is not None:
                assert f.participant_revenue is not None
                limits.append((self.loss_cap.pct_revenue.value * f.participant_revenue * 100,
                               f"{exact(self.loss_cap.pct_revenue.value)} of revenue {money(to_cents(f.participant_revenue))}"))
        limit = min(limits, key=lambda x: x[0]) if limits else None
        capped = limit is not None and uncapped > limit[0]
        owed = round_cents(min(uncapped, limit[0]) if limit is not None else uncapped)
        if limit is not None and capped:
            amount = f"{money(-savings)} x {exact(lr)} is above the loss limit, {limit[1]}: owes {money(owed)}"
        elif limit is not None:
            amount = (f"loss limit {limit[1]} = {money(round_cents(limit[0]))}, not binding; "
                      f"{money(-savings)} x {exact(lr)} = owes {money(owed)}")
        else:
            amount = f"{money(-savings)} x {exact(lr)} = owes {money(owed)}"
        brief = f"loss {pct(-r)} >= MLR {pct(mlr)}; " + (f"limited to {money(owed)}" if capped else f"{money(-savings)} x {exact(lr)}")
        return LineItem(t.p.ctx.entity_id, t.name, "shared losses", "owed", -owed, f"{t.head}; {test}; {lr_text}; {amount}",
                        brief, threshold_test=test, share_rate=lr,
                        cap_cents=None if limit is None else round_cents(limit[0]), cap_applied=capped if limit else None, **t.common)


@dataclass(frozen=True)
class _Terms:
    """What the savings and loss line items of one entity share."""

    name: str
    p: Paying
    bench: int
    savings: int
    head: str
    common: dict[str, Any]


def _pct(x: Fraction) -> str:
    return f"{float(x) * 100:g}%"


def _n(x: Fraction) -> str:
    return f"{x.numerator:,}" if x.denominator == 1 else f"{float(x):,g}"


# ---------------------------------------------------------------- MSR tables


def _tables(program: ProgramView) -> dict[str, MsrTable]:
    return getattr(program, "msr_tables", {})


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


def check_msr_tables(tables: dict[str, MsrTable], add: Add) -> None:
    for tname, table in tables.items():
        prev = None
        for i, band in enumerate(table.bands):
            loc = ("msr_tables", tname, "bands", i)
            if band.max is not None and band.max <= band.min:
                add(loc, f"band {band.min}-{band.max} ends before it starts.")
            if band.max is None and i != len(table.bands) - 1:
                add(loc, "only the last band may be open-ended (no max).")
            if prev is not None and (prev.max is None or band.min <= prev.max):
                add(loc, f"band starting at {band.min} overlaps the one before.", "Bands go up in order.")
            if not (0 <= band.start <= 1 and 0 <= band.end <= 1):
                add(loc, "MSR values are fractions between 0 and 1.")
            prev = band
