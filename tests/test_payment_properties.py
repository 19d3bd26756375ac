"""Properties of payments: pools and caps hold, payment follows each rate the right way, the corridor shares
nothing, line items sum to totals, and a what-if never costs money."""

from __future__ import annotations

import os
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from payment_helpers import pay, program

from bhmeasures.payment import PaymentResult
from bhmeasures.payment.result import ACCOUNTS

SETTINGS = settings(max_examples=int(os.environ.get("BHM_PAYMENT_EXAMPLES", "60")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

unit = st.fractions(min_value=0, max_value=1, max_denominator=1000)
dollars = st.integers(min_value=0, max_value=10**9).map(lambda c: Fraction(c, 100))

CO_MEASURES = {"CO-BH-ENG": "proportion", "CO-DENTAL": "proportion", "CO-WELL-VISITS": "proportion", "CO-PRENATAL": "proportion",
               "CO-ED-PKPY": "per_1000", "CO-RA-PMPM": "dollars", "CO-SUD-ENG": "proportion", "CO-FUH-7": "proportion",
               "CO-FUA-7": "proportion", "CO-DEP-FU": "proportion", "CO-FOSTER-BH": "proportion", "CO-ECC": "proportion",
               "CO-PREMATURE-BIRTH": "proportion", "CO-BH-ENG-PRISON": "proportion"}
CO_POOLS = {"kpi": list(CO_MEASURES)[:6], "bhi": list(CO_MEASURES)[6:11], "performance_pool": list(CO_MEASURES)[11:]}
LOWER = ("CO-ED-PKPY", "CO-RA-PMPM", "CO-PREMATURE-BIRTH")


def _value(unit_: str) -> st.SearchStrategy[Fraction]:
    return unit if unit_ == "proportion" else st.fractions(min_value=0, max_value=1500, max_denominator=100)


@st.composite
def co_program(draw: st.DrawFn) -> Any:
    """Colorado with random tier fractions, credits, weights, PMPM and capitation share."""
    c1, c2 = sorted(draw(st.lists(unit, min_size=2, max_size=2, unique=True)))
    sets = [f"tier_sets.gap_closure.{t}.{k}={v}" for t, k, v in (("tier1", "credit", c1), ("tier2", "credit", c2),
            ("tier1", "gap_closure", draw(unit)), ("tier2", "gap_closure", draw(unit)))]
    sets += [f"kpi.pmpm_max={draw(st.fractions(0, 10, max_denominator=100))}",
             f"bhi.capitation_pct_max={draw(st.fractions(0, Fraction(1, 20), max_denominator=1000))}",
             f"pass_through.pct={draw(unit)}"]
    sets += [f"{pool}.measures.{m}.weight={draw(st.integers(0, 5))}" for pool, ms in CO_POOLS.items() for m in ms]
    sets += [f"ceiling.pct_of_capitation={draw(st.fractions(0, Fraction(1, 10), max_denominator=1000))}"]
    sets += [f"kpi.measures.CO-BH-ENG.weight={draw(st.integers(1, 5))}", f"bhi.measures.CO-FUH-7.weight={draw(st.integers(1, 5))}",
             f"performance_pool.measures.CO-ECC.weight={draw(st.integers(1, 5))}"]
    return program("colorado_acc", *sets)


@st.composite
def co_entity(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "member_months": draw(st.integers(0, 2_000_000)),
        "bh_capitation": str(draw(dollars)),
        "baselines": {m: str(draw(_value(u))) for m, u in CO_MEASURES.items()},
        "benchmarks": {m: str(draw(_value(u))) for m, u in CO_MEASURES.items()},
        "rates": {m: str(draw(_value(u))) for m, u in CO_MEASURES.items() if draw(st.booleans()) or m == "CO-FUH-7"},
    }


def _check_sums(r: PaymentResult) -> None:
    for t in r.totals:
        items = r.items(t.entity_id)
        assert all(i.account in ACCOUNTS for i in items)
        for account, total in t.cents().items():
            if account != "net":
                assert total == sum(i.amount_cents for i in items if i.account == account), account
        assert all(i.amount_cents == 0 for i in items if i.account == "memo")
        assert t.net_cents == t.earned_cents + t.owed_cents
        assert t.owed_cents <= 0 <= min(t.forfeited_cents, t.kept_by_payer_cents, t.moved_cents)


@SETTINGS
@given(co_program(), co_entity())
def test_colorado_pools_never_pay_more_than_the_pool(prog: Any, entity: dict[str, Any]) -> None:
    r = pay(prog, {"RAE": entity})
    _check_sums(r)
    for pool in CO_POOLS:
        items = r.items("RAE", pool)
        size = items[0].pool_cents
        earned = sum(i.amount_cents for i in items if i.account == "earned")
        allotments = [i.allotment_cents for i in items if i.measure_id]
        assert 0 <= earned <= size
        assert sum(allotments) == size  # the split loses and invents no cent
        assert earned + sum(i.amount_cents for i in items if i.account in ("forfeited", "moved")) == size
        for i in items:
            if i.measure_id:
                assert 0 <= i.amount_cents <= i.allotment_cents
                if i.rate is None:
                    assert i.amount_cents == 0 and "rate not available" in i.explanation
    # the Performance Pool is exactly what the KPI pool did not earn, moved once
    assert r.items("RAE", "performance_pool")[0].pool_cents == sum(i.amount_cents for i in r.items("RAE", "kpi") if i.account == "moved")
    # every incentive together stays within the ceiling: pct x capitation, rounded once
    t = r.total("RAE")
    ceiling = r.items("RAE", "ceiling")[0].cap_cents
    assert t.earned_cents <= ceiling
    assert t.pass_through_cents <= t.earned_cents
    for w in r.what_if:
        assert w.worth_cents is None or w.worth_cents >= 0


@SETTINGS
@given(co_program(), co_entity(), st.sampled_from(list(CO_MEASURES)), st.data())
def test_colorado_payment_follows_each_rate(prog: Any, entity: dict[str, Any], measure: str, data: st.DataObject) -> None:
    low, high = sorted(data.draw(st.lists(_value(CO_MEASURES[measure]), min_size=2, max_size=2)))
    nets = []
    for rate in (low, high):
        e = {**entity, "rates": {**entity["rates"], measure: str(rate)}}
        nets.append(pay(prog, {"RAE": e}).total("RAE").net_cents)
    lower_is_better = measure in LOWER
    assert (nets[0] >= nets[1]) if lower_is_better else (nets[0] <= nets[1])


RI_MEASURES = ("FUH-30", "CDF", "DEV-TOTAL")


@st.composite
def tcoc_entity(draw: st.DrawFn, measures: tuple[str, ...]) -> dict[str, Any]:
    bench = draw(st.integers(100_000, 10**11))
    actual = draw(st.integers(0, 2 * bench))
    return {
        "tcoc_benchmark": str(Fraction(bench, 100)), "tcoc_actual": str(Fraction(actual, 100)),
        "member_months": draw(st.integers(1, 500_000)), "incentive_pool": str(draw(dollars)),
        "baselines": {m: str(draw(unit)) for m in measures},
        "benchmarks": {m: str(draw(unit)) for m in measures},
        "rates": {m: str(draw(unit)) for m in measures},
    }


@SETTINGS
@given(tcoc_entity(RI_MEASURES), st.sampled_from(["one_sided", "two_sided"]), st.sampled_from(RI_MEASURES), st.data())
def test_rhode_island_payment_rises_with_each_quality_rate(entity: dict[str, Any], track: str, measure: str,
                                                           data: st.DataObject) -> None:
    low, high = sorted(data.draw(st.lists(unit, min_size=2, max_size=2)))
    prog = program("rhode_island_ae")
    nets = []
    for rate in (low, high):
        r = pay(prog, {"AE": {**entity, "track": track, "rates": {**entity["rates"], measure: str(rate)}}})
        _check_sums(r)
        nets.append(r.total("AE").net_cents)
    assert nets[0] <= nets[1]


MN_MEASURES = ("FUH-30", "IET-INIT", "IET-ENG", "AMM-ACUTE", "AMM-CONT", "SAA")


@SETTINGS
@given(tcoc_entity(MN_MEASURES), st.sampled_from(["track_1", "track_2"]), st.booleans(), st.sampled_from(MN_MEASURES), st.data())
def test_minnesota_payment_rises_with_each_quality_rate(entity: dict[str, Any], track: str, partner: bool, measure: str,
                                                        data: st.DataObject) -> None:
    low, high = sorted(data.draw(st.lists(unit, min_size=2, max_size=2)))
    prog = program("minnesota_ihp")
    nets = []
    for rate in (low, high):
        e = {**entity, "track": track, "partnership": partner, "rates": {**entity["rates"], measure: str(rate)}}
        r = pay(prog, {"IHP": e})
        _check_sums(r)
        nets.append(r.total("IHP").net_cents)
    assert nets[0] <= nets[1]


PROGRAM_TRACKS = [("mssp", t) for t in ("basic_a", "basic_b", "basic_c", "basic_d", "basic_e", "enhanced")] + [
    ("minnesota_ihp", "track_2"), ("rhode_island_ae", "one_sided"), ("rhode_island_ae", "two_sided")]


@SETTINGS
@given(st.sampled_from(PROGRAM_TRACKS), tcoc_entity(MN_MEASURES + RI_MEASURES), st.integers(5000, 200_000),
       st.sampled_from([0, 0.005, 0.01, 0.015, 0.02, "size_based"]), unit, st.integers(0, 10**11))
def test_caps_and_the_corridor_hold(pt: tuple[str, str], entity: dict[str, Any], members: int, election: Any,
                                    quality: Fraction, revenue: int) -> None:
    program_id, track = pt
    e = {**entity, "members": members, "msr_election": election, "quality_score": str(quality),
         "participant_revenue": str(Fraction(revenue, 100)), "track": track}
    if program_id != "mssp":
        e.pop("quality_score")  # scored from the measures
    r = pay(program(program_id), {"X": e})
    _check_sums(r)
    tcoc = [i for i in r.items("X") if i.savings_cents is not None and i.item in
            ("shared savings", "shared losses", "no shared savings or losses")]
    assert len(tcoc) == 1
    item = tcoc[0]
    bench, savings = item.tcoc_benchmark_cents, item.savings_cents
    assert bench == round(Fraction(entity["tcoc_benchmark"]) * 100)
    r_ = Fraction(savings, bench)
    # recompute the corridor from the program, independently of the rules
    comp = item.component
    c = program(program_id).program.components[comp]
    if c.msr.fixed is not None:
        msr = c.msr.fixed.value
    elif election != "size_based" and c.msr.elected is not None:
        msr = Fraction(str(election))
    else:
        from bhmeasures.payment.components.shared_savings import msr_from_table

        msr = msr_from_table(program(program_id).program.msr_tables["one_sided"], members)
    mlr = None if c.mlr is None else (c.mlr.fixed.value if c.mlr.fixed is not None else msr)
    if item.item == "shared savings":
        assert savings > 0 and r_ >= msr
        assert 0 <= item.amount_cents <= savings
        if item.cap_cents is not None:
            assert item.amount_cents <= item.cap_cents
    elif item.item == "shared losses":
        assert c.two_sided and savings < 0 and -r_ >= mlr
        assert savings <= item.amount_cents <= 0
        if item.cap_cents is not None:
            assert -item.amount_cents <= item.cap_cents
    else:
        assert item.amount_cents == 0
        assert (0 < r_ < msr) or (savings < 0 and (not c.two_sided or -r_ < mlr)) or savings == 0
    if 0 < r_ < msr or (mlr is not None and -mlr < r_ < 0):
        assert r.total("X").owed_cents == 0
        assert sum(i.amount_cents for i in r.items("X", comp) if i.account == "earned") == 0


@SETTINGS
@given(unit, st.fractions(min_value=0, max_value=Fraction(1, 10), max_denominator=1000), st.booleans(),
       st.sampled_from(["basic_a", "basic_c", "enhanced"]), st.booleans())
def test_mssp_rates_follow_the_regulation(quality: Fraction, equity: Fraction, alternative: bool, track: str, saves: bool) -> None:
    """42 CFR 425.512: QS = min(score + health equity points, 1). Savings (425.605(d), 425.610(d)): the maximum rate if
    QS >= 0.767, the maximum x QS with the alternative standard, else 0. ENHANCED losses (425.610(f)(4)):
    min(max(1 - 0.75 x QS, 0.40), 0.75) with a standard met, else 0.75; BASIC losses 30%."""
    entity = {"members": 20000, "tcoc_benchmark": 240_000_000, "tcoc_actual": 232_800_000 if saves else 250_000_000,
              "quality_score": str(quality), "health_equity_adjustment": str(equity), "track": track,
              "alternative_quality_standard_met": alternative, "msr_election": 0.02, "participant_revenue": 60_000_000}
    r = pay(program("mssp"), {"ACO": entity})
    _check_sums(r)
    qs = min(quality + equity, Fraction(1))
    met = qs >= Fraction(767, 1000)
    maximum = {"basic_a": Fraction(40, 100), "basic_c": Fraction(50, 100), "enhanced": Fraction(75, 100)}[track]
    item = next(i for i in r.items("ACO", track) if i.savings_cents is not None and i.account in ("earned", "owed", "memo"))
    if not saves and track == "basic_a":  # one-sided
        assert item.amount_cents == 0 and r.total("ACO").owed_cents == 0
    elif saves:
        assert item.share_rate == (maximum if met else maximum * qs if alternative else 0)
        assert item.amount_cents == round(item.share_rate * 720_000_000)  # S = $7.2M in cents, under both caps
    elif track == "enhanced":
        assert item.share_rate == (min(max(1 - Fraction(3, 4) * qs, Fraction(2, 5)), Fraction(3, 4)) if met or alternative
                                   else Fraction(3, 4))
    else:
        assert item.share_rate == Fraction(3, 10)
