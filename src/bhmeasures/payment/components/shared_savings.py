"""Total-cost-of-care shared savings and losses (MSSP, Minnesota IHP Track 2, Rhode Island AEs).

B = benchmark, A = actual, S = B - A, r = S / B.
Savings when S > 0 and r >= MSR; losses (two-sided only) when S < 0 and -r >= MLR; otherwise nothing is
shared (the corridor). The sharing rate is changed by quality (gate, multiplier or partial portion) and
the result capped; the payer keeps the rest of the savings, and a line item says how much of that quality cost.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Literal

from pydantic import Field, model_validator

from bhmeasures.payment.components.base import (
    ComponentBase,
    Paying,
    ProgramView,
    references,
)
from bhmeasures.payment.entity import EntityChecks, EntityContext
from bhmeasures.payment.money import money, number, pct, round_cents, to_cents
from bhmeasures.payment.params import (
    Flag,
    Model,
    Number,
    Provenance,
    Share,
    exactly_one,
)
from bhmeasures.payment.result import LineItem
from bhmeasures.payment.tiers import Add
from bhmeasures.yamlio import did_you_mean

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


class Election(Model):
    """The entity elects its corridor (inputs `msr_election`): one of `allowed`, or size_based from a table."""

    allowed: list[Number] = Field(min_length=1)
    size_based_table: str | None = None
    provenance: Provenance
    source: str | None = None


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

    gate: SR if QS >= standard, else 0. multiplier: SR x QS. partial: SR x ((1 - portion) + portion x QS).
    """

    form: Literal["none", "gate", "multiplier", "partial"]
    standard: Share | None = None
    portion: Share | None = None

    @model_validator(mode="after")
    def _fits_form(self) -> QualityUse:
        if self.form == "gate" and self.standard is None:
            raise ValueError("a gate needs a standard")
        if self.form == "partial" and self.portion is None:
            raise ValueError("a partial quality transform needs a portion")
        if self.form != "gate" and self.standard is not None:
            raise ValueError(f"standard applies to form gate, not {self.form}")
        if self.form != "partial" and self.portion is not None:
            raise ValueError(f"portion applies to form partial, not {self.form}")
        return self


class SavingsCap(Model):
    pct_benchmark: Share
    applies_to: Literal["shared", "savings"] = "shared"  # cap the shared amount (MSSP) or the savings before sharing


class LossRate(Model):
    fixed: Share | None = None
    one_minus_sharing: Literal[True] | None = None  # 1 - final sharing rate, clamped to [floor, ceiling]
    floor: Share | None = None
    ceiling: Share | None = None

    @model_validator(mode="after")
    def _one(self) -> LossRate:
        exactly_one(self, ("fixed", "one_minus_sharing"), "loss_rate")
        if self.fixed is not None and (self.floor or self.ceiling):
            raise ValueError("floor and ceiling apply to one_minus_sharing only")
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


class CountInActual(Model):
    """Payments of these components count in actual TCOC when it is derived from claims (claims do not carry them)."""

    components: list[str] = Field(min_length=1)
    provenance: Provenance
    source: str | None = None


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

    def quality_factor(self, qs: Fraction | None) -> tuple[Fraction, str]:
        """The factor quality applies to the sharing rate, and a sentence saying why."""
        form = self.quality.form
        if form == "none":
            return Fraction(1), "no quality adjustment"
        assert qs is not None
        if form == "gate":
            assert self.quality.standard is not None
            std = self.quality.standard.value
            if qs >= std:
                return Fraction(1), f"quality standard met ({float(qs):.4g} >= {float(std):g})"
            return Fraction(0), f"quality standard not met ({float(qs):.4g} < {float(std):g}): sharing rate 0"
        if form == "multiplier":
            return qs, f"x quality score {float(qs):.4g}"
        assert self.quality.portion is not None
        portion = self.quality.portion.value
        factor = (1 - portion) + portion * qs
        return factor, f"x ({float(1 - portion):g} + {float(portion):g} x quality score {float(qs):.4g}) = x {float(factor):.4g}"

    def _shared(self, savings: int, bench: int, rate: Fraction) -> tuple[Fraction, Fraction | None, bool]:
        """In cents: (amount before rounding, the cap, whether the cap bound) for a final sharing rate."""
        if self.savings_cap is None:
            return savings * rate, None, False
        cap = self.savings_cap.pct_benchmark.value * bench
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
        partner = bool(f.partnership) and self.partnership is not None
        sharing = self.partnership.sharing_rate.value if partner and self.partnership else self.sharing_rate.value
        factor, q_text = self.quality_factor(qs)
        final = sharing * factor
        head = (f"{bench_how} {money(bench)} - {actual_how} {money(actual)} = {'savings' if savings >= 0 else 'loss'} "
                f"{money(abs(savings))} ({pct(abs(r))} of benchmark)")
        common: dict[str, Any] = {"tcoc_benchmark_cents": bench, "tcoc_actual_cents": actual, "savings_cents": savings,
                                  "quality_score": qs}

        if savings > 0 and r >= msr:
            test = f"savings rate {pct(r)} >= MSR {pct(msr)} ({msr_how})"
            raw, cap, capped = self._shared(savings, bench, final)
            paid = round_cents(raw)  # amounts here are already in cents
            full = round_cents(self._shared(savings, bench, sharing)[0])  # what full quality would have paid
            rate_text = f"sharing rate {pct(sharing)}{' (partnership)' if partner else ''} {q_text} = {pct(final)}"
            cap_text = ""
            if cap is not None and self.savings_cap is not None:
                what = "savings" if self.savings_cap.applies_to == "savings" else "shared amount"
                cap_text = (f"; cap {pct(self.savings_cap.pct_benchmark.value)} of benchmark on the {what} = "
                            f"{money(round_cents(cap))} ({'applied' if capped else 'not binding'})")
            brief = f"savings {pct(r)} >= MSR {pct(msr)}; {money(savings)} x {pct(final)}" + (" capped" if capped else "")
            out = [LineItem(e, name, "shared savings", "earned", paid, f"{head}; {test}; {rate_text}{cap_text} -> {money(paid)}",
                            brief, threshold_test=test, share_rate=final, cap_cents=None if cap is None else round_cents(cap),
                            cap_applied=capped if cap is not None else None, **common)]
            if full != paid:
                out.append(LineItem(e, name, "savings forfeited on quality", "unearned", full - paid,
                                    f"full quality would have paid {money(full)}; {money(full - paid)} stays with {program.payer}",
                                    f"{money(full)} at full quality - {money(paid)}", threshold_test=test, quality_score=qs,
                                    savings_cents=savings))
            out.append(LineItem(e, name, f"savings kept by {program.payer}", "unearned", savings - full,
                                f"savings {money(savings)} - {money(full)} the entity's share at full quality = {money(savings - full)}"
                                + (" (includes savings above the cap)" if capped else ""),
                                f"{pct(1 - Fraction(full, savings))} of savings", threshold_test=test, savings_cents=savings))
            return out

        if savings < 0 and self.two_sided and mlr is not None and -r >= mlr:
            return [self._losses(name, p, bench, savings, r, mlr, mlr_how, final, head, partner, common)]

        if savings > 0:
            test = f"savings rate {pct(r)} < MSR {pct(msr)} ({msr_how})"
            why = "inside the corridor: nothing is shared"
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

    def _losses(self, name: str, p: Paying, bench: int, savings: int, r: Fraction, mlr: Fraction, mlr_how: str,
                final: Fraction, head: str, partner: bool, common: dict[str, Any]) -> LineItem:
        f, qs = p.ctx.fields, p.quality
        test = f"loss rate {pct(-r)} >= MLR {pct(mlr)} ({mlr_how})"
        assert self.loss_rate is not None
        if self.loss_rate.fixed is not None:
            own = partner and self.partnership is not None and self.partnership.loss_rate is not None
            base_lr = self.partnership.loss_rate.value if own and self.partnership and self.partnership.loss_rate else self.loss_rate.fixed.value
            lr_text = f"loss rate {pct(base_lr)}{' (partnership)' if own else ''}"
        else:
            lo = self.loss_rate.floor.value if self.loss_rate.floor else Fraction(0)
            hi = self.loss_rate.ceiling.value if self.loss_rate.ceiling else Fraction(1)
            base_lr = min(max(1 - final, lo), hi)
            lr_text = f"loss rate 1 - final sharing rate {pct(final)}, kept within [{pct(lo)}, {pct(hi)}] = {pct(base_lr)}"
        lr = base_lr
        if self.loss_quality_mitigation is not None:
            assert qs is not None
            lam = self.loss_quality_mitigation.value
            lr = base_lr * (1 - lam * qs)
            lr_text += f" x (1 - {float(lam):g} x quality score {float(qs):.4g}) = {pct(lr)}"
        uncapped = -savings * lr
        limits = []
        if self.loss_cap is not None:
            if self.loss_cap.pct_benchmark is not None:
                limits.append((self.loss_cap.pct_benchmark.value * bench, f"{pct(self.loss_cap.pct_benchmark.value)} of benchmark"))
            if self.loss_cap.pct_revenue is not None:
                assert f.participant_revenue is not None
                limits.append((self.loss_cap.pct_revenue.value * f.participant_revenue * 100,
                               f"{pct(self.loss_cap.pct_revenue.value)} of revenue {money(to_cents(f.participant_revenue))}"))
        limit = min(limits, key=lambda x: x[0]) if limits else None
        capped = limit is not None and uncapped > limit[0]
        owed = round_cents(min(uncapped, limit[0]) if limit is not None else uncapped)
        cap_text = ""
        if limit is not None:
            cap_text = f"; loss limit {limit[1]} = {money(round_cents(limit[0]))} ({'applied' if capped else 'not binding'})"
        return LineItem(p.ctx.entity_id, name, "shared losses", "owed", -owed,
                        f"{head}; {test}; {lr_text}{cap_text} -> owes {money(owed)}",
                        f"loss {pct(-r)} >= MLR {pct(mlr)}; {money(-savings)} x {pct(lr)}" + (" capped" if capped else ""),
                        threshold_test=test, share_rate=lr,
                        cap_cents=None if limit is None else round_cents(limit[0]), cap_applied=capped if limit else None, **common)


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
