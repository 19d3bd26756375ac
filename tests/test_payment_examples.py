"""Every worked example of the payments reference (shared/reference/payments.md), reproduced to the cent."""

from __future__ import annotations

from fractions import Fraction

import pytest
from payment_helpers import amount, cents, pay, program

from bhmeasures.payment import Rate
from bhmeasures.payment.components.shared_savings import msr_from_table

# MSSP examples share one ACO: 20,000 assigned beneficiaries, benchmark $12,000 x 20,000 = $240.0M, and a quality
# score of 0.85 (85 MIPS Quality points), above the PY2025 standard of 0.767: "quality standard met".
ACO = {"members": 20000, "tcoc_benchmark": 240_000_000, "quality_score": 0.85}


def test_mssp_example_1_basic_level_a_savings() -> None:
    """payments.md 2.3 example 1: N = 20,000 -> MSR 2.5%; S = $7.2M (3.0%); 0.40 x 7.2M = $2.88M; cap $24M."""
    prog = program("mssp")
    r = pay(prog, {"ACO": {**ACO, "tcoc_actual": 232_800_000, "programs": {"mssp": {"track": "basic_a"}}}})
    item = r.items("ACO", "basic_a")[0]
    assert item.amount_cents == cents("2,880,000.00")
    assert item.savings_cents == cents("7,200,000.00") and item.cap_cents == cents("24,000,000.00") and item.cap_applied is False
    assert "MSR 2.50%" in item.threshold_test
    # at r = 2.4% the payment would be $0
    r = pay(prog, {"ACO": {**ACO, "tcoc_actual": 234_240_000, "programs": {"mssp": {"track": "basic_a"}}}})
    assert r.total("ACO").earned_cents == 0 and "< MSR 2.50%" in r.items("ACO", "basic_a")[0].explanation
    # interpolation inside a band [R]: N = 35,000 gives an MSR of about 2.35%
    assert abs(msr_from_table(prog.program.msr_tables["one_sided"], 35000) - Fraction(235, 10000)) < Fraction(1, 100000)


def test_mssp_example_2_enhanced_savings() -> None:
    """payments.md 2.3 example 2: same S, 0.75 x 7.2M = $5.40M (cap 0.20 x 240M = $48M)."""
    entity = {**ACO, "tcoc_actual": 232_800_000, "programs": {"mssp": {"track": "enhanced", "msr_election": "size_based"}}}
    r = pay(program("mssp"), {"ACO": entity})
    item = r.items("ACO", "enhanced")[0]
    assert item.amount_cents == cents("5,400,000.00") and item.cap_cents == cents("48,000,000.00")


def test_mssp_example_3_enhanced_loss_with_and_without_quality() -> None:
    """payments.md 2.3 example 3: loss $10M (4.17%) > MLR 2%. Quality met (0.85): LR = 1 - 0.75 x 0.85 = 0.3625, floor
    0.40 -> $4.0M; quality failed (0.20, no alternative standard): LR 0.75 -> $7.5M; cap 0.15 x 240M = $36M."""
    def owed(quality: float) -> int:
        entity = {**ACO, "quality_score": quality, "tcoc_actual": 250_000_000,
                  "programs": {"mssp": {"track": "enhanced", "msr_election": 0.02}}}
        r = pay(program("mssp"), {"ACO": entity})
        item = r.items("ACO", "enhanced")[0]
        assert item.cap_cents == cents("36,000,000.00")
        return -item.amount_cents

    assert owed(0.85) == cents("4,000,000.00")
    assert owed(0.20) == cents("7,500,000.00")


def test_mssp_example_4_basic_c_and_e_loss_limits() -> None:
    """payments.md 2.3 example 4: 0.30 x $10M = $3.0M; level C limit min(2% x 60M, 1% x 240M) = $1.2M; level E $4.8M."""
    def owed(track: str) -> tuple[int, int]:
        entity = {**ACO, "tcoc_actual": 250_000_000, "participant_revenue": 60_000_000,
                  "programs": {"mssp": {"track": track, "msr_election": 0.02}}}
        item = pay(program("mssp"), {"ACO": entity}).items("ACO", track)[0]
        return -item.amount_cents, item.cap_cents

    assert owed("basic_c") == (cents("1,200,000.00"), cents("1,200,000.00"))
    assert owed("basic_e") == (cents("3,000,000.00"), cents("4,800,000.00"))


def test_mssp_example_5_pre_2021_quality_multiplier() -> None:
    """payments.md 2.3 example 5: domain scores average to 0.875; 0.50 x 0.875 = 43.75% of $7.2M = $3.15M."""
    qs = sum(Fraction(x) for x in ("0.90", "0.80", "0.85", "0.95")) / 4
    assert qs == Fraction("0.875")
    old_track_1 = program("mssp", "basic_a.sharing_rate=0.50", "basic_a.quality.standard=null", "basic_a.quality.alternative=null",
                          "basic_a.quality.form=multiplier")
    r = pay(old_track_1, {"ACO": {**ACO, "quality_score": str(qs), "tcoc_actual": 232_800_000}})
    item = r.items("ACO", "basic_a")[0]
    assert item.share_rate == Fraction("0.4375")
    assert item.amount_cents == cents("3,150,000.00")


def test_colorado_example_kpi_and_bhi_pools() -> None:
    """payments.md 3.3: KPI pool $4.80M ($0.80M per KPI) earns $2.40M, $2.40M to the Performance Pool;
    BHI pool $4.5M ($0.9M per measure) earns $2.70M = 3.0% of capitation.

    The example gives no Performance Pool rates, so its $2.40M earns nothing here. The 105% ceiling of 42 CFR
    438.6(b)(2) counts every incentive: KPI $2.40M + Performance Pool $0 + BHI $2.70M = $5.10M against 5% x $90M =
    $4.50M, so $0.60M is taken back and the RAE is paid $4.50M."""
    entity = {
        "member_months": 1_200_000, "bh_capitation": 90_000_000,
        "baselines": {"CO-BH-ENG": 0.14, "CO-ED-PKPY": 700, "CO-FUH-7": 0.30, "CO-FUA-7": 0.20, "CO-SUD-ENG": 0.10,
                      "CO-DEP-FU": 0.50, "CO-FOSTER-BH": 0.60},
        "benchmarks": {"CO-BH-ENG": 0.24, "CO-ED-PKPY": 600, "CO-FUH-7": 0.40, "CO-FUA-7": 0.30, "CO-SUD-ENG": 0.20,
                       "CO-DEP-FU": 0.60, "CO-FOSTER-BH": 0.80},
        # the example gives only the tier reached for these: targets stand in for baselines and benchmarks
        "targets": {"CO-WELL-VISITS": {"tier1": 0.50, "tier2": 0.60}, "CO-DENTAL": {"tier1": 0.40, "tier2": 0.45},
                    "CO-PRENATAL": {"tier1": 0.70, "tier2": 0.80}, "CO-RA-PMPM": {"tier1": 300, "tier2": 290}},
        "rates": {"CO-BH-ENG": 0.163, "CO-ED-PKPY": 688, "CO-WELL-VISITS": 0.55, "CO-DENTAL": 0.35, "CO-PRENATAL": 0.81,
                  "CO-RA-PMPM": 320, "CO-SUD-ENG": 0.13, "CO-DEP-FU": 0.53, "CO-FOSTER-BH": 0.63},
    }
    # CO-FUH-7 and CO-FUA-7 come from bhm compute results, with counts
    results = {"RAE": {"CO-FUH-7": Rate(Fraction(31, 100), Fraction(31), Fraction(100)),
                       "CO-FUA-7": Rate(Fraction(19, 100), Fraction(19), Fraction(100))}}
    r = pay(program("colorado_acc"), {"RAE": entity}, results)

    kpi = {i.item: i for i in r.items("RAE", "kpi")}
    assert kpi["CO-BH-ENG"].targets == "tier1 >= 15.00%; tier2 >= 16.00%" and kpi["CO-BH-ENG"].tier == "tier2"
    assert kpi["CO-ED-PKPY"].targets == "tier1 <= 690; tier2 <= 680" and kpi["CO-ED-PKPY"].tier == "tier1"
    expected = {"CO-BH-ENG": "800,000.00", "CO-ED-PKPY": "400,000.00", "CO-WELL-VISITS": "400,000.00",
                "CO-DENTAL": "0.00", "CO-PRENATAL": "800,000.00", "CO-RA-PMPM": "0.00"}
    for measure, dollars in expected.items():
        assert kpi[measure].amount_cents == cents(dollars), measure
        assert kpi[measure].allotment_cents == cents("800,000.00") and kpi[measure].pool_cents == cents("4,800,000.00")
    assert sum(i.amount_cents for i in r.items("RAE", "kpi") if i.account == "earned") == cents("2,400,000.00")
    moved = next(i for i in r.items("RAE", "kpi") if i.account == "moved")
    assert (moved.item, moved.amount_cents) == ("unearned: moved to the Performance Pool", cents("2,400,000.00"))
    assert {i.pool_cents for i in r.items("RAE", "performance_pool")} == {cents("2,400,000.00")}

    bhi = {i.item: i for i in r.items("RAE", "bhi")}
    expected = {"CO-SUD-ENG": "900,000.00", "CO-FUH-7": "450,000.00", "CO-FUA-7": "0.00", "CO-DEP-FU": "900,000.00",
                "CO-FOSTER-BH": "450,000.00"}
    for measure, dollars in expected.items():
        assert bhi[measure].amount_cents == cents(dollars), measure
    earned_bhi = sum(i.amount_cents for i in r.items("RAE", "bhi") if i.account == "earned")
    assert earned_bhi == cents("2,700,000.00")
    assert Fraction(earned_bhi, cents("90,000,000.00")) == Fraction(3, 100)
    assert amount(r, "RAE", "capitation ceiling") == -cents("600,000.00")
    assert amount(r, "RAE", "above the capitation ceiling") == cents("600,000.00")
    assert r.total("RAE").earned_cents == cents("4,500,000.00")


def test_minnesota_example_track_2_savings_losses_and_pbp() -> None:
    """payments.md 4.3: T = $108.0M; S = $3.24M -> $1.458M (QS 0.80, qp 0.5), $2.041M with a 70% partnership share;
    loss $3.24M -> $1.62M, $0.972M at a 30% partnership loss share; PBP $1.20M -> $1.176M."""
    prog = program("minnesota_ihp")
    base = {"member_months": 240_000, "tcoc_target_pmpm": 450, "quality_score": 0.80}
    r = pay(prog, {"SAVES": {**base, "tcoc_actual": 104_760_000},
                   "PARTNER": {**base, "tcoc_actual": 104_760_000, "partnership": True},
                   "LOSES": {**base, "tcoc_actual": 111_240_000},
                   "PARTNER-LOSES": {**base, "tcoc_actual": 111_240_000, "partnership": True}})
    saves = amount(r, "SAVES", "shared savings")
    assert saves == cents("1,458,000.00")
    assert r.items("SAVES", "shared_savings")[0].tcoc_benchmark_cents == cents("108,000,000.00")
    assert r.items("SAVES", "shared_savings")[0].savings_cents == cents("3,240,000.00")
    assert amount(r, "PARTNER", "shared savings") == cents("2,041,200.00")
    assert amount(r, "LOSES", "shared losses") == -cents("1,620,000.00")
    assert r.items("LOSES", "shared_savings")[0].cap_cents == cents("5,400,000.00")
    assert amount(r, "PARTNER-LOSES", "shared losses") == -cents("972,000.00")
    pbp = [i for i in r.items("SAVES", "pbp") if i.account == "earned"]
    assert pbp[0].pool_cents == cents("1,200,000.00")
    assert sum(i.amount_cents for i in pbp) == cents("1,176,000.00")
    assert r.total("SAVES").earned_cents == cents("1,458,000.00") + cents("1,176,000.00")


@pytest.mark.parametrize(("track", "paid", "kept"), [("two_sided", "972,000.00", "1,188,000.00"), ("one_sided", "810,000.00", None)])
def test_rhode_island_example_savings_scaled_by_quality(track: str, paid: str, kept: str | None) -> None:
    """payments.md 5.3: T = $72.0M, S = $2.16M (3%), OQS = 6/8: two-sided 2.16M x 0.60 x 0.75 = $972k, the MCO keeps
    $1.188M of which $324k is forfeited on quality; one-sided $810k. The 6/8 is scored from measures: weights are
    the possible points (FUH-30 4, CDF 2, DEV-TOTAL 2), achievement earns all of them, improvement half."""
    prog = program("rhode_island_ae", "quality.measures.FUH-30.weight=4", "quality.measures.CDF.weight=2",
                   "quality.measures.DEV-TOTAL.weight=2")
    entity = {"member_months": 120_000, "tcoc_target_pmpm": 600, "tcoc_actual": 69_840_000,
              "baselines": {"FUH-30": 0.50, "CDF": 0.40, "DEV-TOTAL": 0.50},
              "benchmarks": {"FUH-30": 0.60, "CDF": 0.60, "DEV-TOTAL": 0.70},
              "rates": {"FUH-30": 0.62, "CDF": 0.43, "DEV-TOTAL": 0.53}, "track": track, "incentive_pool": 0}
    r = pay(prog, {"AE": entity})
    score = next(i for i in r.items("AE", "quality") if i.item == "quality score")
    assert score.quality_score == Fraction(6, 8)
    component = f"savings_{track}"
    assert r.items("AE", component)[0].tcoc_benchmark_cents == cents("72,000,000.00")
    assert amount(r, "AE", "shared savings", component) == cents(paid)
    if kept:
        assert amount(r, "AE", "savings forfeited on quality", component) == cents("324,000.00")
        assert r.total("AE").forfeited_cents + r.total("AE").kept_by_payer_cents == cents(kept)  # 324,000 + 864,000


def test_rhode_island_example_loss_and_incentive_pool() -> None:
    """payments.md 5.3: loss $2.16M at 40% = $864k, quality-mitigated (lambda 0.25, OQS 0.75) $702k, cap 3% x T = $2.16M;
    an AE earning $500k of incentive pool passes $50k to its partner."""
    entity = {"member_months": 120_000, "tcoc_target_pmpm": 600, "tcoc_actual": 74_160_000, "quality_score": 0.75,
              "track": "two_sided", "incentive_pool": 500_000}
    r = pay(program("rhode_island_ae"), {"AE": entity})
    loss = r.items("AE", "savings_two_sided")[0]
    assert loss.amount_cents == -cents("702,000.00") and loss.cap_cents == cents("2,160,000.00") and loss.cap_applied is False
    unmitigated = pay(program("rhode_island_ae", "savings_two_sided.loss_quality_mitigation=null"), {"AE": entity})
    assert amount(unmitigated, "AE", "shared losses") == -cents("864,000.00")
    assert amount(r, "AE", "AE incentive pool") == cents("500,000.00")
    assert amount(r, "AE", "pass-through to the partner organization") == cents("50,000.00")


def test_what_if_on_the_rhode_island_example() -> None:
    """payments.md 5.3 with counts: CDF at 43/100 needs 17 more events to reach its benchmark (60%); OQS rises from
    6/8 to 7/8, so the AE's savings rise from $972,000 to 2.16M x 0.60 x 7/8 = $1,134,000: worth $162,000."""
    prog = program("rhode_island_ae", "quality.measures.FUH-30.weight=4", "quality.measures.CDF.weight=2",
                   "quality.measures.DEV-TOTAL.weight=2")
    entity = {"member_months": 120_000, "tcoc_target_pmpm": 600, "tcoc_actual": 69_840_000, "track": "two_sided",
              "incentive_pool": 0, "baselines": {"FUH-30": 0.50, "CDF": 0.40, "DEV-TOTAL": 0.50},
              "benchmarks": {"FUH-30": 0.60, "CDF": 0.60, "DEV-TOTAL": 0.70},
              "rates": {"FUH-30": 0.62, "CDF": {"rate": 0.43, "numerator": 43, "denominator": 100}, "DEV-TOTAL": 0.53}}
    r = pay(prog, {"AE": entity})
    w = {x.measure_id: x for x in r.what_if}
    assert (w["CDF"].events_needed, w["CDF"].next_tier, w["CDF"].new_rate) == (17, "achievement", Fraction(60, 100))
    assert w["CDF"].worth_cents == cents("162,000.00")
    assert w["FUH-30"].note == "top tier reached" and w["FUH-30"].worth_cents == 0
    assert w["DEV-TOTAL"].events_needed is None and w["DEV-TOTAL"].new_rate == Fraction(70, 100)  # no counts: the target rate


def test_what_if_counts_whole_events_in_the_measure_s_unit() -> None:
    from bhmeasures.payment.scorecard import MeasureRef
    from bhmeasures.payment.whatif import reach

    def ref(unit: str, direction: str = "higher") -> MeasureRef:
        return MeasureRef.model_validate({"title": "t", "weight": {"value": 1, "provenance": "illustrative"},
                                          "unit": unit, "direction": direction})

    # 30/100 down to <= 25%: 5 fewer events; 3/10 up to >= 41%: 5/10, 2 more
    assert reach(Rate(Fraction(30, 100), Fraction(30), Fraction(100)), Fraction(1, 4), ref("proportion", "lower")) == (
        Fraction(25, 100), -5, None)
    assert reach(Rate(Fraction(3, 10), Fraction(3), Fraction(10)), Fraction(41, 100), ref("proportion")) == (Fraction(5, 10), 2, None)
    new, events, why = reach(Rate(Fraction(9, 10), Fraction(9), Fraction(10)), Fraction(101, 100), ref("proportion"))
    assert new is None and events is None and "out of reach" in why
    # ED visits per 1,000 member-years: 655 visits over 1,000 member-years = 655.0; <= 640 needs 640 visits, 15 fewer
    assert reach(Rate(Fraction(655), Fraction(655), Fraction(1000)), Fraction(640), ref("per_1000", "lower")) == (
        Fraction(640), -15, None)
    # a PMPM of $262.40 = $3,148,800 over 12,000 member months; <= $250.00 needs $3,000,000: $148,800 less
    assert reach(Rate(Fraction("262.40"), Fraction(3_148_800), Fraction(12_000)), Fraction(250), ref("dollars", "lower")) == (
        Fraction(250), -148_800, None)
    # $1 short of a cent-exact target still needs a whole dollar: (3,000,000.50 - 3,000,000) rounds to -1
    assert reach(Rate(None, Fraction("3000000.50"), Fraction(12_000)), Fraction(250), ref("dollars", "lower"))[1] == -1
