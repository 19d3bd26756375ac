"""Colorado: the Performance Pool re-earns the KPI dollars not earned, by line item, and every incentive stays within
105% of capitation (42 CFR 438.6(b)(2)). Figures computed by hand in the docstrings."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from payment_helpers import amount, cents, pay, program

from bhmeasures.payment import Rate, validate_program
from bhmeasures.payment.loader import programs_dir

KPI = ("CO-BH-ENG", "CO-DENTAL", "CO-WELL-VISITS", "CO-PRENATAL", "CO-ED-PKPY", "CO-RA-PMPM")
BHI = ("CO-SUD-ENG", "CO-FUH-7", "CO-FUA-7", "CO-DEP-FU", "CO-FOSTER-BH")
POOL = ("CO-ECC", "CO-PREMATURE-BIRTH", "CO-BH-ENG-PRISON")
LOWER = ("CO-ED-PKPY", "CO-RA-PMPM", "CO-PREMATURE-BIRTH")


def _entity(capitation: int, tiers: dict[str, int]) -> dict[str, Any]:
    """Published targets for every measure (tier1 0.5, tier2 0.6; lower-is-better 0.6 and 0.5), and a rate that
    reaches the tier asked for (0 = none)."""
    targets, rates = {}, {}
    for m in (*KPI, *BHI, *POOL):
        lower = m in LOWER
        targets[m] = {"tier1": 0.6 if lower else 0.5, "tier2": 0.5 if lower else 0.6}
        reach = tiers.get(m, 0)
        rates[m] = {0: 0.7 if lower else 0.4, 1: 0.55, 2: 0.45 if lower else 0.65}[reach]
    return {"member_months": 12_000, "bh_capitation": capitation, "targets": targets, "rates": rates}


# KPI: $4 x 12,000 = $48,000, $8,000 per measure; three at tier2 (3 x 8,000) and one at tier1 (4,000) earn $28,000
KPI_TIERS = {"CO-BH-ENG": 2, "CO-DENTAL": 2, "CO-ED-PKPY": 2, "CO-PRENATAL": 1}
# Performance Pool: the $20,000 the KPI pool did not earn, split 3 ways by largest remainder: $6,666.67, $6,666.67,
# $6,666.66. CO-ECC at tier2 earns $6,666.67; the premature birth rate at tier1 earns 50% of $6,666.67 = $3,333.335,
# rounded half to even to $3,333.34; the third misses: $10,000.01 earned, $9,999.99 forfeited
POOL_TIERS = {"CO-ECC": 2, "CO-PREMATURE-BIRTH": 1}
# BHI: 5% of capitation over 5 measures; three at tier2 earn 3/5 of the pool
BHI_TIERS = {"CO-FUH-7": 2, "CO-FUA-7": 2, "CO-DEP-FU": 2}


def test_the_performance_pool_re_earns_unearned_kpi_dollars_by_line_item() -> None:
    r = pay(program("colorado_acc"), {"RAE": _entity(2_000_000, {**KPI_TIERS, **POOL_TIERS, **BHI_TIERS})})
    kpi = r.items("RAE", "kpi")
    assert sum(i.amount_cents for i in kpi if i.account == "earned") == cents("28,000.00")
    assert [(i.item, i.account, i.amount_cents) for i in kpi if i.measure_id is None] == [
        ("unearned: moved to the Performance Pool", "moved", cents("20,000.00"))]
    pool = {i.item: i for i in r.items("RAE", "performance_pool")}
    assert [pool[m].allotment_cents for m in POOL] == [cents("6,666.67"), cents("6,666.67"), cents("6,666.66")]
    assert [pool[m].amount_cents for m in POOL] == [cents("6,666.67"), cents("3,333.34"), 0]
    assert (pool["CO-PREMATURE-BIRTH"].tier, pool["CO-PREMATURE-BIRTH"].direction) == ("tier1", "lower")
    unearned = pool["unearned: not paid (kept by HCPF)"]
    assert (unearned.account, unearned.amount_cents) == ("forfeited", cents("9,999.99"))
    # the moved dollars are counted once: not in forfeited, not paid twice
    t = r.total("RAE")
    assert t.moved_cents == cents("20,000.00")
    assert t.forfeited_cents == cents("20,000.00") - cents("10,000.01") + cents("40,000.00")  # pool + BHI not earned
    # within the ceiling: 28,000 + 10,000.01 + 60,000 (3/5 of 5% x 2,000,000) = 98,000.01 <= 100,000
    ceiling = r.items("RAE", "ceiling")[0]
    assert (ceiling.account, ceiling.amount_cents, ceiling.cap_cents) == ("memo", 0, cents("100,000.00"))
    assert t.earned_cents == cents("98,000.01")
    assert amount(r, "RAE", "pass-through to health-neighborhood providers") == cents("9,800.00")  # 10% of 98,000.01


def test_the_ceiling_counts_every_incentive_kpi_included() -> None:
    """Capitation $1,000,000: BHI pool 5% = $50,000, three measures at tier2 earn $30,000. KPI $28,000 + Performance
    Pool $10,000.01 + BHI $30,000 = $68,000.01 against 5% x $1,000,000 = $50,000: $18,000.01 is taken back, so the RAE
    is paid exactly $50,000.00 (105% of capitation in all) and passes 10% of that, $5,000.00."""
    r = pay(program("colorado_acc"), {"RAE": _entity(1_000_000, {**KPI_TIERS, **POOL_TIERS, **BHI_TIERS})})
    assert amount(r, "RAE", "capitation ceiling") == -cents("18,000.01")
    assert amount(r, "RAE", "above the capitation ceiling") == cents("18,000.01")
    assert r.total("RAE").earned_cents == cents("50,000.00")
    assert amount(r, "RAE", "pass-through to health-neighborhood providers") == cents("5,000.00")


def test_performance_pool_what_if_counts_the_ceiling() -> None:
    """CO-BH-ENG-PRISON at 8/20 = 40% misses tier1 (50%). Two more events (10/20) reach tier1: 50% of its $6,666.66
    allotment = $3,333.33; but $98,000.01 + $3,333.33 = $101,333.34 passes the $100,000 ceiling (5% of $2M), so the
    what-if is worth $100,000 - $98,000.01 = $1,999.99."""
    e = _entity(2_000_000, {**KPI_TIERS, **POOL_TIERS, **BHI_TIERS})
    e["rates"]["CO-BH-ENG-PRISON"] = {"numerator": 8, "denominator": 20}
    r = pay(program("colorado_acc"), {"RAE": e})
    w = next(x for x in r.what_if if x.measure_id == "CO-BH-ENG-PRISON")
    assert (w.events_needed, w.next_tier, w.new_rate, w.worth_cents) == (2, "tier1", Fraction(1, 2), cents("1,999.99"))


@pytest.mark.parametrize("source", ["results", "inputs"])
def test_a_rate_comes_from_the_results_or_the_inputs_without_changes(source: str) -> None:
    """CO-DEP-FU at 33/50 = 66% reaches tier2 either way: 1/5 of the BHI pool (5% x 1,000,000 / 5 = 10,000)."""
    e = _entity(1_000_000, {})
    del e["rates"]["CO-DEP-FU"]
    rates = None
    if source == "inputs":
        e["rates"]["CO-DEP-FU"] = {"numerator": 33, "denominator": 50}
    else:
        rates = {"RAE": {"CO-DEP-FU": Rate(Fraction(33, 50), Fraction(33), Fraction(50))}}
    item = next(i for i in pay(program("colorado_acc"), {"RAE": e}, rates).items("RAE", "bhi") if i.measure_id == "CO-DEP-FU")
    assert (item.tier, item.amount_cents, item.rate_source) == ("tier2", cents("10,000.00"), source)


def test_per_1000_and_pmpm_measures_keep_their_counts() -> None:
    """ED visits: 613 visits over 936.08 member-years = 654.86 per 1,000; risk-adjusted cost $2,947,539.20 over 11,233
    member months = $262.40 PMPM. The what-if counts whole visits and whole dollars to the next tier."""
    e = _entity(1_000_000, {})
    e["targets"]["CO-ED-PKPY"] = {"tier1": 660, "tier2": 640}
    e["targets"]["CO-RA-PMPM"] = {"tier1": 270, "tier2": 260}
    e["rates"]["CO-ED-PKPY"] = {"numerator": 613, "denominator": 936.08}
    e["rates"]["CO-RA-PMPM"] = {"numerator": 2_947_539.20, "denominator": 11_233}
    r = pay(program("colorado_acc"), {"RAE": e})
    ed = next(i for i in r.items("RAE", "kpi") if i.measure_id == "CO-ED-PKPY")
    assert (ed.numerator, ed.denominator, ed.tier) == (613, Fraction("936.08"), "tier1")
    assert ed.rate == 1000 * Fraction(613) / Fraction("936.08")  # 654.858...
    w = {x.measure_id: x for x in r.what_if}
    # <= 640 per 1,000 member-years allows floor(640 x 936.08 / 1,000) = floor(599.09) = 599 visits: 14 fewer
    assert (w["CO-ED-PKPY"].events_needed, w["CO-ED-PKPY"].next_tier) == (-14, "tier2")
    # <= $260.00 PMPM allows 260 x 11,233 = $2,920,580.00: $26,959.20 less, rounded to whole dollars: 26,960 less
    assert (w["CO-RA-PMPM"].events_needed, w["CO-RA-PMPM"].next_tier) == (-26_960, "tier2")
    assert w["CO-RA-PMPM"].note.startswith("$26,960.00 less in the numerator ($260.00) reaches tier2 (<= $260.00)")


def test_performance_pool_references_are_checked(tmp_path: Path) -> None:
    text = (programs_dir() / "colorado_acc_2025.yaml").read_text()
    path = tmp_path / "co.yaml"
    path.write_text(text.replace("    funded_by: [kpi]", "    funded_by: [kpj]", 1))
    _, issues = validate_program(path)
    assert ["'performance_pool' refers to unknown component 'kpj'."] == [i.message for i in issues]
    path.write_text(text.replace("    funded_by: [kpi]", "    funded_by: [bhi]", 1))
    _, issues = validate_program(path)
    assert ["'performance_pool' comes before component 'bhi' it refers to."] == [i.message for i in issues]
