"""The days-covered primitive (`covered_days`, kinds/conditions/covered_days.py) that SAA and AMM share.

Properties, on random fills of a few drugs (Hypothesis, profiles in conftest.py), against the function:
it equals a day-by-day stock simulation written independently below; PDC never exceeds 1; adding a fill
never lowers it; row order does not change it; shifting keeps the total supply; a fill entirely after the
period adds nothing. Then worked examples, hand-computed in the comments.
"""

from __future__ import annotations

import datetime as dt
import random

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from bhmeasures.kinds.conditions.covered_days import Coverage, covered_days

YEAR = 2025
JAN1 = dt.date(YEAR, 1, 1)
DRUGS = ["aripiprazole", "risperidone", "quetiapine", None]  # None: never shifted (an injection)

Fill = tuple[int, int, str | None]  # start (days after January 1), days supply, drug


def frames(index_days: list[int], fills: list[Fill]) -> tuple[pl.DataFrame, pl.DataFrame]:
    events = pl.DataFrame({"member_id": ["M"] * len(index_days), "event_id": [f"E{i}" for i in range(len(index_days))],
                           "index_date": [JAN1 + dt.timedelta(days=d) for d in index_days]}, schema_overrides={"index_date": pl.Date})
    others = pl.DataFrame({
        "source": ["pharmacy_claim"] * len(fills), "member_id": ["M"] * len(fills),
        "event_id": [f"F{i}" for i in range(len(fills))], "claim_id": [f"F{i}" for i in range(len(fills))],
        "start_date": [JAN1 + dt.timedelta(days=s) for s, _, _ in fills],
        "end_date": [JAN1 + dt.timedelta(days=s + n - 1) for s, n, _ in fills],
        "drug": [d for *_, d in fills],
    }, schema={"source": pl.String, "member_id": pl.String, "event_id": pl.String, "claim_id": pl.String,
               "start_date": pl.Date, "end_date": pl.Date, "drug": pl.String})
    return events, others


def rule(first: str = "index_date", last: str = "MY-12-31", shift: str | None = "drug") -> Coverage:
    return Coverage(events="Fills", over=[first, last], min_days=1, shift_same=shift)


def engine(index_day: int, fills: list[Fill], r: Coverage | None = None) -> tuple[int, int]:
    """(covered days, window days) from the engine."""
    events, others = frames([index_day], fills)
    row = covered_days(events, others, r or rule(), YEAR).row(0, named=True)
    return row["covered_days"], row["window_days"]


def simulate(start: int, end: int, fills: list[Fill], shift: bool = True) -> int:
    """Days start..end (inclusive, days after January 1) on which a stock of medication is on hand: each drug
    is its own stock (fills of no drug each their own), a fill adds its supply on its date, one day is used
    per day while any is left. Only fills dated start..end count."""
    counted = sorted((s, i, n, d) for i, (s, n, d) in enumerate(fills) if start <= s <= end)
    covered: set[int] = set()
    runs_out: dict[object, int] = {}  # drug -> last day its stock covers so far
    for s, i, n, d in counted:
        key = d if (shift and d is not None) else ("own", i)
        begin = max(s, runs_out.get(key, s - 1) + 1)
        runs_out[key] = begin + n - 1
        covered.update(range(begin, min(begin + n - 1, end) + 1))
    return len(covered)


fill = st.tuples(st.integers(-40, 380), st.integers(1, 120), st.sampled_from(DRUGS))
fill_lists = st.lists(fill, min_size=0, max_size=12)
index_day = st.integers(0, 364)


@given(index_day, fill_lists)
def test_equals_a_day_by_day_stock_simulation(start: int, fills: list[Fill]) -> None:
    covered, window = engine(start, fills)
    assert window == 365 - start
    assert covered == simulate(start, 364, fills)


@given(index_day, fill_lists)
def test_without_shifting_each_fill_covers_its_own_days(start: int, fills: list[Fill]) -> None:
    covered, _ = engine(start, fills, rule(shift=None))
    assert covered == simulate(start, 364, fills, shift=False)
    assert covered <= engine(start, fills)[0]  # shifting only ever adds days


@given(index_day, fill_lists)
def test_pdc_never_exceeds_one(start: int, fills: list[Fill]) -> None:
    covered, window = engine(start, fills)
    assert 0 <= covered <= window


@given(index_day, fill_lists, fill)
def test_adding_a_fill_never_lowers_coverage(start: int, fills: list[Fill], extra: Fill) -> None:
    assert engine(start, [*fills, extra])[0] >= engine(start, fills)[0]


@given(index_day, fill_lists, st.randoms(use_true_random=False))
def test_row_order_does_not_matter(start: int, fills: list[Fill], rnd: random.Random) -> None:
    shuffled = list(fills)
    rnd.shuffle(shuffled)
    events, others = frames([start], fills)
    _, reordered = frames([start], shuffled)
    a = covered_days(events, others, rule(), YEAR)["covered_days"].item()
    # the same fills under other ids and in reverse row order
    b = covered_days(events, reordered.reverse(), rule(), YEAR)["covered_days"].item()
    assert a == b


@given(st.lists(st.tuples(st.integers(0, 300), st.integers(1, 90)), min_size=1, max_size=10))
def test_shifting_keeps_the_total_supply(fills: list[tuple[int, int]]) -> None:
    """One drug, a window long enough for every shifted fill: every fill keeps its full supply."""
    same = [(s, n, "aripiprazole") for s, n in fills]
    total = sum(n for _, n in fills)
    covered, _ = engine(0, same, Coverage(events="Fills", over=["index_date", "index_date + 2000 days"], min_days=1,
                                          shift_same="drug"))
    assert covered == total


@given(index_day, fill_lists, st.integers(1, 200), st.integers(1, 120), st.sampled_from(DRUGS))
def test_a_fill_after_the_period_adds_nothing(start: int, fills: list[Fill], after: int, n: int, drug: str | None) -> None:
    assert engine(start, [*fills, (364 + after, n, drug)])[0] == engine(start, fills)[0]


@given(st.lists(index_day, min_size=1, max_size=4), fill_lists)
def test_each_event_has_its_own_window(starts: list[int], fills: list[Fill]) -> None:
    events, others = frames(starts, fills)
    out = covered_days(events, others, rule(), YEAR).sort("event_id")
    assert out["covered_days"].to_list() == [simulate(s, 364, fills) for s in starts]


# -- worked examples ------------------------------------------------------------------------------------
def test_same_drug_refilled_early_is_shifted_forward() -> None:
    # aripiprazole 30 days on day 0 and again on day 20: the second fill starts on day 30, 60 days covered
    assert engine(0, [(0, 30, "aripiprazole"), (20, 30, "aripiprazole")]) == (60, 365)


def test_different_drugs_on_one_day_count_the_longest_supply() -> None:
    # quetiapine 30 days and risperidone 90 days on day 0: days 0-89, 90 days
    assert engine(0, [(0, 30, "quetiapine"), (0, 90, "risperidone")])[0] == 90


def test_same_drug_twice_on_one_day_is_summed() -> None:
    # two 30-day fills of the same drug on day 0: 60 days
    assert engine(0, [(0, 30, "risperidone"), (0, 30, "risperidone")])[0] == 60


def test_nothing_counts_past_the_period_end() -> None:
    # IPSD October 1 (day 273), 92-day period; 60 days on day 273 and 60 more on day 300, shifted to day 333:
    # days 273-332 and 333-364 = 60 + 32 = 92, not 120
    assert engine(273, [(273, 60, "olanzapine"), (300, 60, "olanzapine")]) == (92, 92)


def test_fills_before_the_window_do_not_count() -> None:
    # a 90-day fill on day -10 overlaps the window but starts before it
    assert engine(0, [(-10, 90, "olanzapine"), (0, 30, "olanzapine")])[0] == 30


def test_evidence_is_the_fill_that_reaches_the_threshold() -> None:
    # IPSD October 1: 92 days; 80% needs 74 (73.6 rounded up). Fills of 30 days on Oct 1, Oct 31, Nov 30
    # cover 30, 60, 90 days: the third fill (F2) reaches 74.
    events, others = frames([273], [(273, 30, "haloperidol"), (303, 30, "haloperidol"), (333, 30, "haloperidol")])
    out = covered_days(events, others, Coverage(events="Fills", over=["index_date", "MY-12-31"], min_share=0.8,
                                                shift_same="drug"), YEAR).row(0, named=True)
    assert (out["covered_days"], out["window_days"]) == (90, 92)
    assert out["evidence_claim_id"] == "F2" and out["evidence_date"] == dt.date(YEAR, 11, 30)


def test_min_share_is_exact() -> None:
    # 74 of 92 days is 80.43%: met; 73 of 92 is 79.35%: not met (no rounding to 80%)
    r = Coverage(events="Fills", over=["index_date", "MY-12-31"], min_share=0.8, shift_same="drug")
    for days, met in ((74, True), (73, False)):
        events, others = frames([273], [(273, days, "clozapine")])
        out = covered_days(events, others, r, YEAR).row(0, named=True)
        assert out["covered_days"] == days
        assert (out["evidence_claim_id"] is not None) is met
    # exactly 80%: 80 of 100 days (window September 23 - December 31)
    events, others = frames([265], [(265, 80, "clozapine")])
    out = covered_days(events, others, r, YEAR).row(0, named=True)
    assert (out["covered_days"], out["window_days"], out["evidence_claim_id"]) == (80, 100, "F0")
    events, others = frames([265], [(265, 79, "clozapine")])
    assert covered_days(events, others, r, YEAR)["evidence_claim_id"].item() is None


def test_unshifted_fills_of_two_sources_with_one_claim_id_stay_apart() -> None:
    # an injection on a medical claim and a fill on a pharmacy claim may share an id; neither has a drug to
    # shift by, so they overlap: 28 days, not 56
    events, others = frames([0], [(0, 28, None), (0, 28, None)])
    others = others.with_columns(pl.Series("event_id", ["X", "X"]), pl.Series("source", ["medical_claim", "pharmacy_claim"]))
    assert covered_days(events, others, rule(), YEAR)["covered_days"].item() == 28


# -- through the shipped specs --------------------------------------------------------------------------
ORAL = {"risperidone": "00054006344", "quetiapine": "00054022020", "olanzapine": "00002411230"}
SERTRALINE, FLUOXETINE = "00049005001", "00093080701"
INJECTION = "J2426"  # paliperidone palmitate, 28 days


def _spec_deck(measure: str, visits: list[dict], fills: list[dict]) -> dict:
    return {"description": "property", "measure": measure,
            "members": [{"member_id": "M", "birth_date": "1970-01-01", "enrollment": [["2024-01-01", "2026-12-31"]]}],
            "medical_claim": visits, "pharmacy_claim": fills, "expect": [{"rate_id": "x", "event_id": "x"}]}


def _run(deck: dict) -> pl.DataFrame:
    from deckutil import run_deck

    return run_deck(deck).detail


saa_fill = st.tuples(st.integers(0, 364), st.integers(1, 120), st.sampled_from([*ORAL, None]))


@given(st.tuples(st.integers(0, 364), st.integers(1, 120), st.sampled_from(list(ORAL))), st.lists(saa_fill, max_size=7))
def test_saa_numerator_is_pdc_of_at_least_80_percent(oral: Fill, others: list[Fill]) -> None:
    """SAA on random oral fills and injections (drug None: J2426, 28 days) equals the stock simulation. (At least one
    fill is oral: without a single pharmacy claim, days_supply is empty and SAA is not computed.)"""
    fills = [oral, *((s, 28 if d is None else n, d) for s, n, d in others)]
    visits = [{"claim_id": f"V{i}", "member_id": "M", "claim_start_date": f"2025-0{i}-03", "hcpcs_code": "99213",
               "place_of_service_code": "11", "diagnosis_code_1": "F20.9"} for i in (1, 2)]
    rx = []
    for i, (s, n, d) in enumerate(fills):
        day = JAN1 + dt.timedelta(days=s)
        if d is None:
            visits.append({"claim_id": f"C{i}", "member_id": "M", "claim_start_date": day, "hcpcs_code": INJECTION,
                           "diagnosis_code_1": "F20.9"})
        else:
            rx.append({"claim_id": f"C{i}", "member_id": "M", "dispensing_date": day, "ndc_code": ORAL[d], "days_supply": n})
    detail = _run(_spec_deck("SAA", visits, rx))
    assert detail.height == 1
    row = detail.row(0, named=True)
    events = {(s, d or "injection") for s, _, d in fills}
    ipsd = min(s for s, _, _ in fills)
    assert row["index_date"] == JAN1 + dt.timedelta(days=ipsd)
    if len(events) < 2:
        assert row["excluded"] and not row["denominator"]
        return
    covered = simulate(ipsd, 364, fills)
    assert row["denominator"]
    assert row["numerator"] is (covered * 5 >= (365 - ipsd) * 4), (covered, 365 - ipsd)


amm_fill = st.tuples(st.integers(0, 260), st.integers(1, 100), st.sampled_from(["sertraline", "fluoxetine"]))


@given(st.integers(1, 100), st.sampled_from(["sertraline", "fluoxetine"]), st.lists(amm_fill, max_size=8))
def test_amm_numerators_are_84_and_180_covered_days(first: int, drug: str, later: list[Fill]) -> None:
    """AMM on random fills from the IPSD (January 15) on equals the stock simulation over IPSD..+114 and ..+231."""
    ipsd = dt.date(2025, 1, 15)
    fills = [(0, first, drug), *later]
    ndc = {"sertraline": SERTRALINE, "fluoxetine": FLUOXETINE}
    visits = [{"claim_id": "DX", "member_id": "M", "claim_start_date": ipsd, "hcpcs_code": "99213",
               "place_of_service_code": "11", "diagnosis_code_1": "F32.1"}]
    rx = [{"claim_id": f"C{i}", "member_id": "M", "dispensing_date": ipsd + dt.timedelta(days=s), "ndc_code": ndc[d],
           "days_supply": n} for i, (s, n, d) in enumerate(fills)]
    detail = _run(_spec_deck("AMM", visits, rx))
    rows = {r["rate_id"]: r for r in detail.iter_rows(named=True)}
    assert rows["AMM-ACUTE"]["index_date"] == ipsd and rows["AMM-ACUTE"]["denominator"]
    assert rows["AMM-ACUTE"]["numerator"] is (simulate(0, 114, fills) >= 84)
    assert rows["AMM-CONT"]["numerator"] is (simulate(0, 231, fills) >= 180)
