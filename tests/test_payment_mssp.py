"""MSSP as the regulation stands for performance year 2025, each figure computed by hand from its formula.

One ACO throughout: N = 20,000 assigned beneficiaries, updated benchmark B = $240,000,000, so the one-sided MSR
is 2.5% (42 CFR 425.604(b), the 20,000-49,999 band starts at 2.5%). The quality performance standard is a quality
score of 0.767 (the PY2025 40th percentile MIPS Quality score, 76.70 points).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from payment_helpers import amount, cents, pay, program

from bhmeasures.payment import InputsError

B = 240_000_000
SAVES = 232_800_000  # S = $7,200,000 = 3.0% of B, above the 2.5% MSR
LOSES = 250_000_000  # loss $10,000,000 = 4.17% of B, above a 2% MLR
BELOW_MSR = 235_200_000  # S = $4,800,000 = 2.0% of B, below the 2.5% MSR


def _pay(track: str, actual: int, quality: float | str, *sets: str, **more: Any) -> Any:
    entity = {"members": 20000, "tcoc_benchmark": B, "tcoc_actual": actual, "quality_score": quality,
              "participant_revenue": 60_000_000, "track": track, **more}
    if track != "basic_a" and track != "basic_b":
        entity.setdefault("msr_election", 0.02)
    return pay(program("mssp", *sets), {"ACO": entity})


def _item(r: Any, track: str) -> Any:
    return next(i for i in r.items("ACO", track) if i.item in ("shared savings", "shared losses", "no shared savings or losses"))


@pytest.mark.parametrize(("track", "quality", "alternative", "paid", "forfeited"), [
    # standard met: the maximum rate. 0.40 x 7,200,000 = 2,880,000
    ("basic_a", 0.85, False, "2,880,000.00", None),
    ("basic_a", 0.767, False, "2,880,000.00", None),  # at the standard counts as meeting it
    # alternative standard only: the maximum rate x the quality score (425.605(d)(1)(i)(A)(4)(ii))
    # 0.40 x 0.60 = 0.24; 0.24 x 7,200,000 = 1,728,000; forfeited 2,880,000 - 1,728,000 = 1,152,000
    ("basic_a", 0.60, True, "1,728,000.00", "1,152,000.00"),
    # 0.40 x 0.766999 = 0.3067996; x 7,200,000 = 2,208,957.12 (just below the standard)
    ("basic_a", "0.766999", True, "2,208,957.12", "671,042.88"),
    # neither standard: nothing (all 2,880,000 forfeited on quality)
    ("basic_a", 0.60, False, "0.00", "2,880,000.00"),
    # ENHANCED (425.610(d)(4)(ii)): 0.75 x 0.60 = 0.45; 0.45 x 7,200,000 = 3,240,000; full 5,400,000
    ("enhanced", 0.60, True, "3,240,000.00", "2,160,000.00"),
    # BASIC C: 0.50 x 0.60 = 0.30; 0.30 x 7,200,000 = 2,160,000; full 3,600,000
    ("basic_c", 0.60, True, "2,160,000.00", "1,440,000.00"),
])
def test_savings_at_the_maximum_rate_or_scaled_by_the_alternative_standard(
        track: str, quality: Any, alternative: bool, paid: str, forfeited: str | None) -> None:
    r = _pay(track, SAVES, quality, alternative_quality_standard_met=alternative)
    assert amount(r, "ACO", "shared savings") == cents(paid)
    got = [i.amount_cents for i in r.items("ACO") if i.item == "savings forfeited on quality"]
    assert got == ([] if forfeited is None else [cents(forfeited)])
    # the payer keeps the savings minus the entity's share at full quality: 7.2M - 2.88M (BASIC A) etc.
    full = {"basic_a": "2,880,000.00", "basic_c": "3,600,000.00", "enhanced": "5,400,000.00"}[track]
    assert amount(r, "ACO", "savings kept by CMS") == cents("7,200,000.00") - cents(full)


@pytest.mark.parametrize(("quality", "alternative", "rate", "owed"), [
    # 425.610(f)(4): loss rate = 1 - 0.75 x quality score, at least 40%, at most 75%; 75% when no standard is met
    (0.80, False, Fraction(40, 100), "4,000,000.00"),  # 1 - 0.60 = 0.40
    (0.767, False, Fraction(42475, 100000), "4,247,500.00"),  # 1 - 0.57525 = 0.42475; x 10,000,000
    (0.90, False, Fraction(40, 100), "4,000,000.00"),  # 1 - 0.675 = 0.325, raised to the 40% floor
    (0.60, True, Fraction(55, 100), "5,500,000.00"),  # alternative standard: 1 - 0.45 = 0.55
    (0.20, True, Fraction(75, 100), "7,500,000.00"),  # 1 - 0.15 = 0.85, lowered to the 75% ceiling
    (0.60, False, Fraction(75, 100), "7,500,000.00"),  # no standard met: 75%
])
def test_enhanced_shared_loss_rate_follows_the_quality_score(quality: float, alternative: bool, rate: Fraction, owed: str) -> None:
    item = _item(_pay("enhanced", LOSES, quality, alternative_quality_standard_met=alternative), "enhanced")
    assert item.share_rate == rate
    assert item.amount_cents == -cents(owed)
    assert item.cap_cents == cents("36,000,000.00") and item.cap_applied is False  # 15% of B


def test_basic_losses_do_not_depend_on_quality() -> None:
    """BASIC E: 30% x 10,000,000 = 3,000,000 whatever the quality score; limit min(8% x 60M, 4% x 240M) = 4.8M."""
    for quality in (0.95, 0.20):
        item = _item(_pay("basic_e", LOSES, quality), "basic_e")
        assert (item.share_rate, item.amount_cents) == (Fraction(3, 10), -cents("3,000,000.00"))


@pytest.mark.parametrize(("track", "actual", "extra", "paid"), [
    # 425.605(h): below the MSR a low revenue ACO with >= 5,000 beneficiaries shares at half the final sharing rate.
    # BASIC A: S = 4,800,000 (2.0% < 2.5%); 0.40 x 1/2 = 0.20; 0.20 x 4,800,000 = 960,000
    ("basic_a", BELOW_MSR, {"quality_score": 0.85}, "960,000.00"),
    # with the alternative standard only: 0.40 x 0.60 x 1/2 = 0.12; 0.12 x 4,800,000 = 576,000
    ("basic_a", BELOW_MSR, {"quality_score": 0.60, "alternative_quality_standard_met": True}, "576,000.00"),
    # BASIC C, elected MSR 2%: S = 3,600,000 (1.5%); 0.50 x 1/2 = 0.25; 0.25 x 3,600,000 = 900,000
    ("basic_c", 236_400_000, {"quality_score": 0.85, "members": 6000}, "900,000.00"),
])
def test_low_revenue_acos_share_below_the_msr_at_half_the_rate(track: str, actual: int, extra: dict[str, Any], paid: str) -> None:
    r = _pay(track, actual, extra.pop("quality_score"), low_revenue=True, **extra)
    item = _item(r, track)
    assert item.amount_cents == cents(paid)
    assert "low revenue" in item.explanation and "< MSR" in item.threshold_test
    # the cap is halved too: 10% x 1/2 x 240,000,000 = 12,000,000 (not binding here)
    assert item.cap_cents == cents("12,000,000.00")


@pytest.mark.parametrize(("track", "actual", "extra"), [
    ("basic_a", BELOW_MSR, {"low_revenue": False}),  # not low revenue: the corridor
    ("basic_c", 236_400_000, {"low_revenue": True, "members": 4500}),  # fewer than 5,000 assigned beneficiaries
    ("enhanced", 236_400_000, {"low_revenue": True}),  # 425.605(h) is a BASIC track rule
])
def test_below_the_msr_others_share_nothing(track: str, actual: int, extra: dict[str, Any]) -> None:
    r = _pay(track, actual, 0.85, **extra)
    item = _item(r, track)
    assert (item.item, item.amount_cents, r.total("ACO").earned_cents) == ("no shared savings or losses", 0, 0)


def test_health_equity_adjustment_adds_to_the_quality_score() -> None:
    """425.512(b), PY2023-2025: bonus points on the quality score. 0.72 + 0.06 = 0.78 >= 0.767: the standard is met,
    0.40 x 7.2M = 2,880,000. Without it, 0.72 < 0.767 and with the alternative standard 0.40 x 0.72 = 0.288 x 7.2M =
    2,073,600. 0.70 + 0.05 = 0.75 < 0.767 scales by the adjusted score: 0.40 x 0.75 = 0.30 x 7.2M = 2,160,000."""
    r = _pay("basic_a", SAVES, 0.72, health_equity_adjustment=0.06)
    assert amount(r, "ACO", "shared savings") == cents("2,880,000.00")
    score = next(i for i in r.items("ACO", "quality"))
    assert score.quality_score == Fraction(78, 100) and "+ health equity adjustment 0.06 = 0.78" in score.explanation
    r = _pay("basic_a", SAVES, 0.72, alternative_quality_standard_met=True)
    assert amount(r, "ACO", "shared savings") == cents("2,073,600.00")
    r = _pay("basic_a", SAVES, 0.70, health_equity_adjustment=0.05, alternative_quality_standard_met=True)
    assert amount(r, "ACO", "shared savings") == cents("2,160,000.00")
    r = _pay("enhanced", LOSES, 0.97, health_equity_adjustment=0.06)  # 1.03 is held at 1: 1 - 0.75 -> floor 40%
    assert next(i for i in r.items("ACO", "quality")).quality_score == 1 and _item(r, "enhanced").amount_cents == -cents("4,000,000.00")


def test_health_equity_adjustment_beyond_its_maximum_or_program_is_an_error() -> None:
    with pytest.raises(InputsError, match=r"entity ACO: health_equity_adjustment 0.12 is above the maximum 0.1 \(10 points\)"):
        _pay("basic_a", SAVES, 0.72, health_equity_adjustment=0.12)
    with pytest.raises(InputsError, match="health_equity_adjustment given, but this program's quality score has no health equity"):
        pay(program("minnesota_ihp"), {"IHP": {"member_months": 12, "tcoc_target_pmpm": 1, "tcoc_actual": 1,
                                               "quality_score": 0.5, "health_equity_adjustment": 0.05}})


def test_the_quality_standard_is_a_parameter() -> None:
    """With the standard set to 0.80, a score of 0.78 misses it: nothing, or 0.40 x 0.78 = 0.312 x 7.2M = 2,246,400
    with the alternative standard."""
    assert _pay("basic_a", SAVES, 0.78, "basic_a.quality.standard=0.80").total("ACO").earned_cents == 0
    r = _pay("basic_a", SAVES, 0.78, "basic_a.quality.standard=0.80", alternative_quality_standard_met=True)
    assert amount(r, "ACO", "shared savings") == cents("2,246,400.00")
