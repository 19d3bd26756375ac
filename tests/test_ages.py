"""Ages in whole years, as the engine computes them, against a plain-Python reference.

The reference is the usual rule: the year difference, less one if the (month, day) of the date is before
the birthday's. A member born on February 29 therefore turns a year older on March 1 of a common year.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
from deckutil import run_deck
from hypothesis import given
from hypothesis import strategies as st

from bhmeasures.engine.exprs import age_at


def reference_age(on: date, born: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _days(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days)]


def test_every_day_of_a_leap_and_a_common_year_against_every_birthday() -> None:
    # index dates: every day of 2024 (leap) and 2025 (common); birthdays: every day of 2000 (leap) and 2011
    index = _days(2024) + _days(2025)
    births = _days(2000) + _days(2011)
    pairs = pl.DataFrame({"on": index}).join(pl.DataFrame({"born": births}), how="cross")
    got = pairs.with_columns(age_at(pl.col("on"), pl.col("born")).alias("age"))
    want = [reference_age(o, b) for o, b in zip(got["on"], got["born"], strict=True)]
    wrong = got.with_columns(pl.Series("want", want)).filter(pl.col("age") != pl.col("want"))
    assert wrong.is_empty(), wrong.head(10)
    assert got.height == 731 * 731


def test_february_29_birthday_in_common_and_leap_years() -> None:
    born = date(2012, 2, 29)
    cases = {date(2025, 2, 28): 12, date(2025, 3, 1): 13, date(2024, 2, 28): 11, date(2024, 2, 29): 12}
    df = pl.DataFrame({"on": list(cases), "born": [born] * len(cases)})
    assert df.select(age_at(pl.col("on"), pl.col("born")))["on"].to_list() == list(cases.values())


@given(st.dates(date(1900, 1, 1), date(2100, 12, 31)), st.dates(date(1900, 1, 1), date(2100, 12, 31)))
def test_any_pair_of_dates(on: date, born: date) -> None:
    got = pl.DataFrame({"on": [on], "born": [born]}).select(age_at(pl.col("on"), pl.col("born"))).item()
    assert got == reference_age(on, born)


@given(st.dates(date(2011, 6, 1), date(2013, 6, 30)), st.dates(date(2025, 1, 1), date(2025, 12, 1)))
def test_engine_age_rule_matches_the_reference(born: date, ed_day: date) -> None:
    """FUA counts ED visits of members 13 and older on the visit date: the engine's cut equals the reference."""
    deck = {
        "measure": "FUA",
        "members": [{"member_id": "M1", "birth_date": born}],
        "medical_claim": [{"claim_id": "ED1", "member_id": "M1", "claim_start_date": ed_day, "hcpcs_code": "99284",
                           "place_of_service_code": "23", "diagnosis_code_1": "F10.20"}],
    }
    detail = run_deck(deck).detail.filter(pl.col("rate_id") == "FUA-30")
    assert detail.height == 1
    row = detail.row(0, named=True)
    old_enough = reference_age(ed_day, born) >= 13
    assert row["denominator"] is old_enough, (born, ed_day, row)
    if not old_enough:
        assert "younger than 13" in row["reason"]
