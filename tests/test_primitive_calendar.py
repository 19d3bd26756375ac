"""Calendar primitives on toy measures: `birthdays` (February 29 births, `previous_birthday`), the window after
the previous birthday through the birthday, month and year offsets, and `age` on fixed and event dates."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from primitive_helpers import PHONE, compute, detail_rows, ed, line, members, outcome, spec

NO = (True, False, None, None)

BIRTHDAY_SPEC = spec("TOYBDAY", """
defines:
  Birthdays:
    birthdays: {ages: [1, 2, 3], dated: [MY-01-01, MY-12-31]}
  Visits:
    encounters: {where: {code_in: Telephone Visits}}
  Birthdays With A Visit Since The Previous Birthday:
    filter:
      from: Birthdays
      with: {events: Visits, dated: [previous_birthday + 1 day, index_date]}
populations:
  initial_population: Birthdays
  denominator: Birthdays
  rates:
    - {id: BDAY, numerator: Birthdays With A Visit Since The Previous Birthday}
""", basis="member", value_sets=["Telephone Visits"])

BIRTHDAY_DECK = {
    "members": [
        {"member_id": "B1", "birth_date": "2023-06-15"},  # turns 2 on 2025-06-15
        {"member_id": "B2", "birth_date": "2023-06-15"},
        {"member_id": "B3", "birth_date": "2024-02-29"},  # turns 1 on 2025-03-01, 2 on 2026-03-01
        {"member_id": "B4", "birth_date": "2024-02-29"},
        {"member_id": "B5", "birth_date": "2022-12-31"},  # turns 3 on 2025-12-31
        {"member_id": "B6", "birth_date": "2021-12-31"},  # turns 4 in 2025: no birthday of a listed age
        {"member_id": "B7", "birth_date": "2025-01-01"},  # turns 1 in 2026
        {"member_id": "B8", "birth_date": "2022-01-01"},  # turns 3 on January 1
        {"member_id": "B9", "birth_date": "2024-02-29"},
    ],
    "medical_claim": [
        line("V1", "B1", "2024-06-15", PHONE),  # on the previous birthday
        line("V2", "B2", "2025-06-15", PHONE),  # on the birthday
        line("V3", "B3", "2025-03-01", PHONE),  # on the first birthday of a February 29 birth (common year)
        line("V4", "B4", "2025-03-02", PHONE),  # the day after it
        line("V5", "B5", "2025-01-01", PHONE),  # the day after the previous birthday
        line("V9", "B9", "2024-02-29", PHONE),  # on the birth date (the "previous birthday" of age 1)
    ],
}


@pytest.fixture(scope="module")
def bday(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Any]:
    folder = tmp_path_factory.mktemp("bday")
    return {year: compute(folder, BIRTHDAY_SPEC, BIRTHDAY_DECK, year=year) for year in (2025, 2026)}


def test_birthdays_of_listed_ages_in_the_year(bday: dict[int, Any]) -> None:
    """`birthdays: {ages: [1, 2, 3], dated: [MY-01-01, MY-12-31]}` makes one unit per member and age turned in
    the year, dated on the birthday; a February 29 birth has its birthday on March 1 of a common year; a
    member who turns another age (4) or turns 1 next year has none."""
    rows = detail_rows(bday[2025], "BDAY")
    assert {e: r["index_date"] for e, r in rows.items()} == {
        "B1:age2": dt.date(2025, 6, 15), "B2:age2": dt.date(2025, 6, 15), "B3:age1": dt.date(2025, 3, 1),
        "B4:age1": dt.date(2025, 3, 1), "B5:age3": dt.date(2025, 12, 31), "B8:age3": dt.date(2025, 1, 1),
        "B9:age1": dt.date(2025, 3, 1),
    }


@pytest.mark.parametrize(("year", "event", "expected"), [
    (2025, "B1:age2", NO),  # a visit ON the previous birthday is not after it
    (2025, "B2:age2", (True, True, "V2", "2025-06-15")),  # a visit ON the birthday counts
    (2025, "B3:age1", (True, True, "V3", "2025-03-01")),  # March 1 is the birthday of a February 29 birth
    (2025, "B4:age1", NO),  # March 2 is after it
    (2025, "B5:age3", (True, True, "V5", "2025-01-01")),  # the day after the previous birthday (December 31)
    (2025, "B9:age1", NO),  # age 1: the previous birthday is the birth date itself
    # in 2026 the February 29 birth turns 2 on March 1; its previous birthday was March 1, 2025
    (2026, "B3:age2", NO),
    (2026, "B4:age2", (True, True, "V4", "2025-03-02")),
])
def test_window_after_the_previous_birthday_through_the_birthday(bday: dict[int, Any], year: int, event: str,
                                                                 expected: tuple) -> None:
    """`[previous_birthday + 1 day, index_date]` includes a service on the birthday and excludes one on the
    previous birthday; `previous_birthday` of a February 29 birth in a common year is March 1, and of age 1
    the birth date."""
    assert outcome(detail_rows(bday[year], "BDAY")[event]) == expected


OFFSET_SPEC = spec("TOYOFFSET", """
defines:
  ED Visits:
    encounters: {where: {code_in: ED}}
  Phone Calls:
    encounters: {where: {code_in: Telephone Visits}}
  Call One Month Later:
    filter:
      from: ED Visits
      with: {events: Phone Calls, dated: [index_date + 1 month, index_date + 1 month]}
  Call In The Year Before:
    filter:
      from: ED Visits
      with: {events: Phone Calls, dated: [index_date - 1 year, index_date - 1 day]}
  Visits One Month After January 31:
    filter: {from: ED Visits, dated: [MY-01-31 + 1 month, MY-01-31 + 1 month]}
populations:
  initial_population: ED Visits
  denominator: ED Visits
  rates:
    - {id: OFF-MONTH, numerator: Call One Month Later}
    - {id: OFF-YEAR, numerator: Call In The Year Before}
    - {id: OFF-CAL, numerator: Visits One Month After January 31}
""", value_sets=["ED", "Telephone Visits"])


@pytest.fixture(scope="module")
def offsets(tmp_path_factory: pytest.TempPathFactory) -> Any:
    deck = {"members": members("O1", "O2", "O3", "O4", "O5", "O6", "O7", "O8", "O9", "O10"), "medical_claim": [
        ed("E1", "O1", "2025-01-31"), line("P1", "O1", "2025-02-28", PHONE),
        ed("E2", "O2", "2025-01-31"), line("P2", "O2", "2025-03-03", PHONE),  # "February 31" rolled over
        ed("E3", "O3", "2025-03-01"), line("P3", "O3", "2024-03-01", PHONE),
        ed("E4", "O4", "2025-03-01"), line("P4", "O4", "2024-02-29", PHONE),
        ed("E5", "O5", "2024-02-29"), line("P5", "O5", "2023-02-28", PHONE),
        ed("E6", "O6", "2024-02-29"), line("P6", "O6", "2023-02-27", PHONE),
        ed("E7", "O7", "2025-02-28"), ed("E8", "O8", "2025-03-03"),
        ed("E9", "O9", "2024-01-31"), line("P9", "O9", "2024-02-29", PHONE),  # leap year: February 29
        ed("E10", "O10", "2025-01-30"), line("P10", "O10", "2025-02-28", PHONE),  # January 30 + 1 month: Feb 28
    ]}
    return compute(tmp_path_factory.mktemp("offset"), OFFSET_SPEC, deck, year=2025)


@pytest.mark.parametrize(("rate", "expected"), [
    ("OFF-MONTH", {"E1": (True, True, "P1", "2025-02-28"), "E2": NO, "E9": (True, True, "P9", "2024-02-29"),
                   "E10": (True, True, "P10", "2025-02-28")}),
    ("OFF-YEAR", {"E3": (True, True, "P3", "2024-03-01"), "E4": NO, "E5": (True, True, "P5", "2023-02-28"), "E6": NO}),
    ("OFF-CAL", {"E7": (True, True, "E7", "2025-02-28"), "E8": NO, "E1": NO}),
])
def test_month_and_year_offsets(offsets: Any, rate: str, expected: dict[str, tuple]) -> None:
    """Month and year offsets keep the day, clipped to the month's end: January 31 + 1 month is February 28
    (February 29 in a leap year), not March 3; March 1 - 1 year is March 1 (February 29 is before it);
    February 29 - 1 year is February 28. Calendar expressions take offsets too (`MY-01-31 + 1 month`)."""
    rows = detail_rows(offsets, rate)
    assert {e: outcome(rows[e]) for e in expected} == expected


AGE_SPEC = spec("TOYAGE", """
defines:
  ED Visits:
    encounters: {where: {code_in: ED}}
  Aged 18 On January 1:
    filter: {from: ED Visits, age: {min: 18, at: MY-01-01}}
  Aged 18 On April 30:
    filter: {from: ED Visits, age: {min: 18, at: MY-04-30}}
  Aged 18 On December 31:
    filter: {from: ED Visits, age: {min: 18, at: MY-12-31}}
  Aged 18 On The Visit Date:
    filter: {from: ED Visits, age: {min: 18, at: index_date}}
  Aged 17 On The Visit Date:
    filter: {from: ED Visits, age: {min: 17, at: index_date}}
  Aged 17 On February 29:
    filter: {from: ED Visits, age: {min: 17, at: MY-02-29}}
  Aged 17 Or Younger On The Visit Date:
    filter: {from: ED Visits, age: {max: 17, at: index_date}}
populations:
  initial_population: ED Visits
  denominator: ED Visits
  rates:
    - {id: AGE-JAN1, numerator: Aged 18 On January 1}
    - {id: AGE-APR30, numerator: Aged 18 On April 30}
    - {id: AGE-DEC31, numerator: Aged 18 On December 31}
    - {id: AGE-IDX, numerator: Aged 18 On The Visit Date}
    - {id: AGE-IDX17, numerator: Aged 17 On The Visit Date}
    - {id: AGE-FEB29, numerator: Aged 17 On February 29}
    - {id: AGE-MAX17, numerator: Aged 17 Or Younger On The Visit Date}
""", value_sets=["ED"])

AGE_BIRTHS = {"G1": "2007-01-01", "G2": "2007-01-02", "G3": "2007-04-30", "G4": "2007-05-01", "G5": "2007-06-02",
              "G6": "2008-01-01", "G7": "2007-06-01", "G8": "2008-02-29", "G9": "2008-02-28"}


@pytest.fixture(scope="module")
def ages(tmp_path_factory: pytest.TempPathFactory) -> Any:
    deck = {"members": [{"member_id": m, "birth_date": b} for m, b in AGE_BIRTHS.items()],
            "medical_claim": [ed(f"E{m[1:]}", m, "2025-06-01") for m in AGE_BIRTHS if m != "G8"]
            + [ed("E8A", "G8", "2025-02-28"), ed("E8B", "G8", "2025-03-01")]}
    return compute(tmp_path_factory.mktemp("age"), AGE_SPEC, deck)


@pytest.mark.parametrize(("rate", "met"), [
    # every visit on June 1, 2025
    ("AGE-JAN1", {"E1": True, "E2": False, "E3": False, "E4": False, "E5": False, "E6": False, "E7": False}),
    ("AGE-APR30", {"E1": True, "E2": True, "E3": True, "E4": False, "E5": False, "E6": False, "E7": False}),
    ("AGE-DEC31", {"E1": True, "E2": True, "E3": True, "E4": True, "E5": True, "E6": False, "E7": True}),
    ("AGE-IDX", {"E1": True, "E2": True, "E3": True, "E4": True, "E5": False, "E6": False, "E7": True}),
    # born February 29, 2008: 16 on February 28, 2025, 17 on March 1
    ("AGE-IDX17", {"E8A": False, "E8B": True}),
    ("AGE-MAX17", {"E8A": True, "E8B": True, "E6": True, "E5": True, "E7": False}),
    # MY-02-29 is February 28 in 2025: born February 28, 2008 is 17 that day, born February 29 is not
    ("AGE-FEB29", {"E8A": False, "E9": True}),
])
def test_age_on_fixed_and_event_dates(ages: Any, rate: str, met: dict[str, bool]) -> None:
    """`age: {min, max, at}` in whole years on `at`: a measurement-year date (MY-01-01, MY-04-30, MY-12-31,
    MY-02-29 = February 28 in a common year) or the index date; a birthday on that date counts, the day
    after does not; a February 29 birth turns a year older on March 1 of a common year."""
    rows = detail_rows(ages, rate)
    assert {e: rows[e]["numerator"] for e in met} == met
    assert all(rows[e]["denominator"] for e in met)
