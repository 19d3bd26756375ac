"""Primitives of the spec language on toy measures: routes of `any_of`, named dates and windows anchored on
them, counting rules of `with ... at_least` and `members_with`, overlap windows and evidence choice.

Each module-scoped fixture writes one toy spec, computes it once over a small deck (all-string frames, as CSV
files give) and the tests assert the detail rows computed by hand, boundaries included.
"""

from __future__ import annotations

from typing import Any

import pytest
from primitive_helpers import (
    DEPRESSION,
    FLUOXETINE,
    HOSPICE,
    IOP,
    PEER,
    PHONE,
    compute,
    detail_rows,
    ed,
    fill,
    line,
    members,
    outcome,
    spec,
    stay,
)

# -- 1. OR across event conditions ----------------------------------------------------------------------------
OR_SPEC = spec("TOYOR", """
defines:
  ED Visits:
    encounters: {where: {code_in: ED}}
  Phone Calls:
    encounters: {where: {code_in: Telephone Visits}}
  Peer Support:
    encounters: {where: {code_in: Peer Support Services}}
  Contacts:
    union: [Phone Calls, Peer Support]
  Visits Through December 1:
    filter: {from: ED Visits, dated: [MY-01-01, MY-12-01], reason: visit after December 1}
  Visits Followed By Any Route:
    filter:
      from: Visits Through December 1
      evidence_as: route
      any_of:
        - with: {events: Phone Calls, dated: [index_date + 1 day, index_date + 30 days]}
        - with: {events: Peer Support, dated: [index_date + 1 day, index_date + 30 days]}
        - where: {diagnosis_in: Major Depression}
      reason: no follow-up by any route
  Visits Followed By A Contact:
    filter:
      from: Visits Through December 1
      with: {events: Contacts, dated: [index_date + 1 day, index_date + 30 days]}
  Visits Followed By A Listed Contact:
    filter:
      from: Visits Through December 1
      with: {events: [Phone Calls, Peer Support], dated: [index_date + 1 day, index_date + 30 days]}
  Visits Whose First Route Was Peer Support:
    filter:
      from: Visits Followed By Any Route
      attribute: {name: route_kind, equals: Peer Support}
populations:
  initial_population: ED Visits
  denominator: Visits Through December 1
  rates:
    - {id: OR-ANY, numerator: Visits Followed By Any Route}
    - {id: OR-UNION, numerator: Visits Followed By A Contact}
    - {id: OR-LIST, numerator: Visits Followed By A Listed Contact}
    - {id: OR-PEER, numerator: Visits Whose First Route Was Peer Support}
""", value_sets=["ED", "Telephone Visits", "Peer Support Services", "Major Depression"])

OR_DECK = {
    "members": members("M1", "M2", "M3", "M4", "M5", "M6"),
    "medical_claim": [
        ed("E1", "M1", "2025-03-01"), line("P1", "M1", "2025-03-20", PHONE), line("S1", "M1", "2025-03-10", PEER),
        ed("E2", "M2", "2025-03-01", dx=DEPRESSION), line("P2", "M2", "2025-03-05", PHONE),
        ed("E3", "M3", "2025-03-01", dx=DEPRESSION),
        ed("E4", "M4", "2025-03-01"), line("P4", "M4", "2025-03-31", PHONE),
        ed("E5", "M5", "2025-03-01"), line("P5", "M5", "2025-04-01", PHONE), line("S5", "M5", "2025-03-01", PEER),
        ed("E6A", "M6", "2025-12-01"), ed("E6B", "M6", "2025-12-02"),
    ],
}
NO = (True, False, None, None)


@pytest.fixture(scope="module")
def or_result(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return compute(tmp_path_factory.mktemp("or"), OR_SPEC, OR_DECK)


@pytest.mark.parametrize(("rate", "event", "expected"), [
    # M1: phone day 19, peer support day 9: the earliest route's event is the evidence, whatever the order listed
    ("OR-ANY", "E1", (True, True, "S1", "2025-03-10")),
    ("OR-UNION", "E1", (True, True, "S1", "2025-03-10")),
    ("OR-LIST", "E1", (True, True, "S1", "2025-03-10")),
    ("OR-PEER", "E1", (True, True, "S1", "2025-03-10")),
    # M2: the diagnosis route has no other event: the visit itself (its claim, its date) is earlier than the call
    ("OR-ANY", "E2", (True, True, "E2", "2025-03-01")),
    ("OR-UNION", "E2", (True, True, "P2", "2025-03-05")),
    ("OR-PEER", "E2", NO),
    # M3: met only by the diagnosis route: its own claim and date
    ("OR-ANY", "E3", (True, True, "E3", "2025-03-01")),
    ("OR-UNION", "E3", NO),
    ("OR-LIST", "E3", NO),
    # M4: a call on day 30 counts
    ("OR-ANY", "E4", (True, True, "P4", "2025-03-31")),
    ("OR-LIST", "E4", (True, True, "P4", "2025-03-31")),
    ("OR-PEER", "E4", NO),
    # M5: a call on day 31 and peer support on the visit date (the window starts the day after) do not
    ("OR-ANY", "E5", NO),
    ("OR-UNION", "E5", NO),
    ("OR-LIST", "E5", NO),
])
def test_any_of_routes_and_earliest_evidence(or_result: Any, rate: str, event: str, expected: tuple) -> None:
    """An `any_of` in a filter is met by any route; the evidence is the earliest event any route found, and a
    route that needs no other event (a `where` on the unit's claims) is met by the unit itself, dated on its
    index date. A numerator on a union of events (`union:` define, or `events: [A, B]`) takes the earliest
    of either; `evidence_as` keeps the winning route's define as NAME_kind."""
    assert outcome(detail_rows(or_result, rate)[event]) == expected


def test_any_of_dated_boundary_and_reason(or_result: Any) -> None:
    """`dated: [MY-01-01, MY-12-01]` keeps December 1 and removes December 2 with the filter's reason; the
    numerator's reason applies only inside the denominator."""
    rows = detail_rows(or_result, "OR-ANY")
    assert rows["E6A"]["denominator"] is True and rows["E6A"]["reason"] is None
    assert rows["E6B"]["denominator"] is False and rows["E6B"]["reason"] == "visit after December 1"
    assert rows["E6B"]["excluded"] is False
    assert len(rows) == 7


# -- 2. named dates as anchors ---------------------------------------------------------------------------------
NAMED_SPEC = spec("TOYNAMED", """
defines:
  ED Visits:
    encounters: {where: {code_in: ED}}
  Inpatient Stays:
    stays: {where: {code_in: Inpatient Stay}}
  Phone Calls:
    encounters: {where: {code_in: Telephone Visits}}
  Peer Support:
    encounters: {where: {code_in: Peer Support Services}}
  Visits Followed By An Admission:
    filter:
      from: ED Visits
      with: {events: Inpatient Stays, dated: [index_date, index_date + 13 days], as: admit}
      reason: no admission within 14 days
  Calls After The Stay:
    filter:
      from: Visits Followed By An Admission
      with: {events: Phone Calls, dated: [admit_end_date + 1 day, admit_date + 34 days]}
      evidence_as: contact
  Peer Support Within A Week Of The Call:
    filter:
      from: Calls After The Stay
      with: {events: Peer Support, dated: [contact_date + 1 day, contact_date + 7 days]}
  Visits In The Called Set:
    filter: {from: Visits Followed By An Admission, in: Calls After The Stay}
  Peer Support Within A Week Of The Imported Call:
    filter:
      from: Visits In The Called Set
      with: {events: Peer Support, dated: [contact_date + 1 day, contact_date + 7 days]}
populations:
  initial_population: ED Visits
  denominator: Visits Followed By An Admission
  rates:
    - {id: NAMED-CALL, numerator: Calls After The Stay}
    - {id: NAMED-PEER, numerator: Peer Support Within A Week Of The Call}
    - {id: NAMED-IN, numerator: Peer Support Within A Week Of The Imported Call}
""", value_sets=["ED", "Inpatient Stay", "Telephone Visits", "Peer Support Services"])

# every ED visit on March 1; the stay admitted March 5, discharged March 15: calls count March 16 - April 8
NAMED_DECK = {
    "members": members("N1", "N2", "N3", "N4", "N5", "N6"),
    "medical_claim": [
        ed("E1", "N1", "2025-03-01"), stay("S1", "N1", "2025-03-05", "2025-03-15"), line("C1", "N1", "2025-03-15", PHONE),
        ed("E2", "N2", "2025-03-01"), stay("S2", "N2", "2025-03-05", "2025-03-15"), line("C2", "N2", "2025-03-16", PHONE),
        line("R2", "N2", "2025-03-23", PEER),
        ed("E3", "N3", "2025-03-01"), stay("S3", "N3", "2025-03-05", "2025-03-15"), line("C3", "N3", "2025-04-08", PHONE),
        line("R3A", "N3", "2025-04-08", PEER), line("R3B", "N3", "2025-04-16", PEER),
        ed("E4", "N4", "2025-03-01"), stay("S4", "N4", "2025-03-05", "2025-03-15"), line("C4", "N4", "2025-04-09", PHONE),
        ed("E5", "N5", "2025-03-01"), stay("S5", "N5", "2025-03-15", "2025-03-20"), line("C5", "N5", "2025-03-21", PHONE),
        ed("E6", "N6", "2025-03-01"), stay("S6", "N6", "2025-03-14", "2025-03-14"), line("C6", "N6", "2025-03-15", PHONE),
    ],
}


@pytest.fixture(scope="module")
def named_result(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return compute(tmp_path_factory.mktemp("named"), NAMED_SPEC, NAMED_DECK)


@pytest.mark.parametrize(("rate", "event", "expected"), [
    ("NAMED-CALL", "E1", NO),  # a call on the discharge date is before admit_end_date + 1 day
    ("NAMED-CALL", "E2", (True, True, "C2", "2025-03-16")),  # the day after discharge
    ("NAMED-CALL", "E3", (True, True, "C3", "2025-04-08")),  # admission + 34 days
    ("NAMED-CALL", "E4", NO),  # admission + 35 days
    ("NAMED-CALL", "E6", (True, True, "C6", "2025-03-15")),  # a same-day stay: the next day is in the window
    ("NAMED-PEER", "E2", (True, True, "R2", "2025-03-23")),  # contact_date + 7 days
    ("NAMED-PEER", "E3", NO),  # peer support on the call's date and 8 days after it
    # `in: Calls After The Stay` brings contact_date along to a step that did not name it
    ("NAMED-IN", "E2", (True, True, "R2", "2025-03-23")),
    ("NAMED-IN", "E3", NO),
    ("NAMED-IN", "E1", NO),
])
def test_windows_on_named_dates(named_result: Any, rate: str, event: str, expected: tuple) -> None:
    """`with ... as: admit` keeps the matched stay's admission and discharge as admit_date / admit_end_date;
    a later filter's window `[admit_end_date + 1 day, admit_date + 34 days]` is resolved per unit from them, and
    `evidence_as: contact` makes the filter's evidence (the call) an anchor for the next step, and `in:` that
    filter brings contact_date along."""
    assert outcome(detail_rows(named_result, rate)[event]) == expected


def test_named_anchor_window_boundary_on_the_admission(named_result: Any) -> None:
    """The admission window `[index_date, index_date + 13 days]`: admitted on day 13 is in, on day 14 is out
    with the filter's reason."""
    rows = detail_rows(named_result, "NAMED-CALL")
    assert rows["E6"]["denominator"] is True
    assert (rows["E5"]["denominator"], rows["E5"]["reason"]) == (False, "no admission within 14 days")


IPSD_SPEC = spec("TOYIPSD", """
defines:
  Antidepressant Fills:
    dispensings: {where: {code_in: Antidepressant Medications}}
  Fills In The Year:
    filter: {from: Antidepressant Fills, dated: [MY-01-01, MY-12-31]}
  Treatment Starts:
    first_per_member: {from: Fills In The Year}
  Covered 80 Percent Through December 31:
    filter:
      from: Treatment Starts
      covered_days: {events: Antidepressant Fills, over: [index_date, MY-12-31], min_share: 0.8}
populations:
  initial_population: Antidepressant Fills
  denominator: Treatment Starts
  rates:
    - {id: IPSD-80, numerator: Covered 80 Percent Through December 31}
""", basis="member", value_sets=["Antidepressant Medications"])


@pytest.fixture(scope="module")
def ipsd_result(tmp_path_factory: pytest.TempPathFactory) -> Any:
    deck = {"members": members("V1", "V2", "V3", "V4", "V5", "V6"), "pharmacy_claim": [
        fill("F1", "V1", "2025-10-02", days=73),   # window Oct 2 - Dec 31 is 91 days: 73 >= 72.8
        fill("F2", "V2", "2025-10-02", days=72),   # 72 < 72.8
        fill("F3", "V3", "2025-07-01", days=148),  # window Jul 1 - Dec 31 is 184 days: 148 >= 147.2
        fill("F4", "V4", "2025-07-01", days=147),  # 147 < 147.2
        fill("F5", "V5", "2025-10-02", days=200),  # past December 31 counts nothing: 91 of 91
        # 60 days, then Nov 15 - Dec 31 (47 of its 120 days): 107 of 184; counted past Dec 31 it would be 180
        fill("F6A", "V6", "2025-07-01", days=60), fill("F6B", "V6", "2025-11-15", days=120),
    ]}
    return compute(tmp_path_factory.mktemp("ipsd"), IPSD_SPEC, deck)


@pytest.mark.parametrize(("event", "met"), [("F1", True), ("F2", False), ("F3", True), ("F4", False), ("F5", True),
                                            ("F6A", False)])
def test_variable_length_window_from_the_index_date_to_december_31(ipsd_result: Any, event: str, met: bool) -> None:
    """`covered_days: {over: [index_date, MY-12-31], min_share: 0.8}`: the window's length depends on each unit's
    IPSD (91 days from October 2, 184 from July 1), and the share is compared with it exactly; days supply past
    December 31 counts nothing."""
    row = detail_rows(ipsd_result, "IPSD-80")[event]
    assert row["denominator"] is True
    assert row["numerator"] is met


# -- 5. counting rules -----------------------------------------------------------------------------------------
COUNT_SPEC = spec("TOYCOUNT", """
defines:
  ED Visits:
    encounters: {where: {code_in: ED}}
  Phone Calls:
    encounters: {where: {code_in: Telephone Visits}}
  Antidepressant Fills:
    dispensings: {where: {code_in: Antidepressant Medications}}
  Intensive Outpatient Units:
    encounters:
      units_as_events: true
      where: {code_in: Partial Hospitalization or Intensive Outpatient}
  Calls On Two Dates:
    filter:
      from: ED Visits
      with: {events: Phone Calls, dated: [index_date + 1 day, index_date + 30 days], at_least: 2}
  Calls On Two Dates Or By Two Providers:
    filter:
      from: ED Visits
      with: {events: Phone Calls, dated: [index_date + 1 day, index_date + 30 days], at_least: 2, distinct: [date, provider]}
  Call Or Fill By Date And Provider:
    filter:
      from: ED Visits
      with:
        events: [Phone Calls, Antidepressant Fills]
        dated: [index_date + 1 day, index_date + 30 days]
        at_least: 2
        distinct: [date, provider]
  Call Or Fill By Date Provider And Kind:
    filter:
      from: ED Visits
      with:
        events: [Phone Calls, Antidepressant Fills]
        dated: [index_date + 1 day, index_date + 30 days]
        at_least: 2
        distinct: [date, provider, kind]
  Two Units Without Counting Units:
    filter:
      from: ED Visits
      with: {events: Intensive Outpatient Units, dated: [index_date + 1 day, index_date + 30 days], at_least: 2,
             distinct: [date, provider, kind]}
  Two Units:
    filter:
      from: ED Visits
      with: {events: Intensive Outpatient Units, dated: [index_date + 1 day, index_date + 30 days], at_least: 2,
             distinct: [date, provider, kind, unit]}
  Members With Calls On Two Dates:
    members_with: {events: Phone Calls, dated: [MY-01-01, MY-12-31], at_least: 2}
  Visits Of Members With Calls On Two Dates:
    filter: {from: ED Visits, in: Members With Calls On Two Dates}
populations:
  initial_population: ED Visits
  denominator: ED Visits
  rates:
    - {id: CNT-DATE, numerator: Calls On Two Dates}
    - {id: CNT-DATE-PROV, numerator: Calls On Two Dates Or By Two Providers}
    - {id: CNT-LIST-DP, numerator: Call Or Fill By Date And Provider}
    - {id: CNT-LIST-DPK, numerator: Call Or Fill By Date Provider And Kind}
    - {id: CNT-UNITS-NO, numerator: Two Units Without Counting Units}
    - {id: CNT-UNITS, numerator: Two Units}
    - {id: CNT-MEMBERS, numerator: Visits Of Members With Calls On Two Dates}
""", value_sets=["ED", "Telephone Visits", "Antidepressant Medications", "Partial Hospitalization or Intensive Outpatient"])

# ED visits on March 1; calls and units in March
COUNT_DECK = {
    "members": members("C1", "C2", "C3", "C4", "C5", "C6"),
    "medical_claim": [
        # C1: two calls on one day by two providers
        ed("E1", "C1", "2025-03-01"), line("C1A", "C1", "2025-03-05", PHONE, npi="1111111111"),
        line("C1B", "C1", "2025-03-05", PHONE, npi="2222222222"),
        # C2: two calls on one day by one provider
        ed("E2", "C2", "2025-03-01"), line("C2A", "C2", "2025-03-05", PHONE, npi="1111111111"),
        line("C2B", "C2", "2025-03-05", PHONE, npi="1111111111"),
        # C3: calls on two days by one provider
        ed("E3", "C3", "2025-03-01"), line("C3A", "C3", "2025-03-05", PHONE, npi="1111111111"),
        line("C3B", "C3", "2025-03-06", PHONE, npi="1111111111"),
        # C4: a call without a provider and a fill on one day
        ed("E4", "C4", "2025-03-01"), line("C4A", "C4", "2025-03-05", PHONE),
        # C5: one line of two units of intensive outpatient; C6: one unit
        ed("E5", "C5", "2025-03-01"), line("U5", "C5", "2025-03-05", IOP, npi="1111111111", service_unit_quantity="2"),
        ed("E6", "C6", "2025-03-01"), line("U6", "C6", "2025-03-05", IOP, npi="1111111111", service_unit_quantity="1"),
    ],
    "pharmacy_claim": [fill("C4B", "C4", "2025-03-05", ndc=FLUOXETINE)],
}


@pytest.fixture(scope="module")
def count_result(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return compute(tmp_path_factory.mktemp("count"), COUNT_SPEC, COUNT_DECK)


@pytest.mark.parametrize(("rate", "expected"), [
    # distinct dates: only C3 has calls on two dates; the second date completes the count
    ("CNT-DATE", {"E1": NO, "E2": NO, "E3": (True, True, "C3B", "2025-03-06"), "E4": NO}),
    # date and provider: two providers on one day count twice, one provider twice on a day once
    ("CNT-DATE-PROV", {"E1": (True, True, "C1B", "2025-03-05"), "E2": NO, "E3": (True, True, "C3B", "2025-03-06")}),
    # a call (no provider) and a fill (no provider) on one day are one by date and provider ...
    ("CNT-LIST-DP", {"E4": NO}),
    # ... and two once the listed define (kind) counts too
    ("CNT-LIST-DPK", {"E4": (True, True, "C4B", "2025-03-05"), "E2": NO}),
    # two units of one line are one service unless the unit counts
    ("CNT-UNITS-NO", {"E5": NO, "E6": NO}),
    ("CNT-UNITS", {"E5": (True, True, "U5", "2025-03-05"), "E6": NO}),
    # members_with at_least 2: two calls on one date are not enough; the second date is the evidence
    ("CNT-MEMBERS", {"E1": NO, "E2": NO, "E3": (True, True, "C3B", "2025-03-06"), "E4": NO}),
])
def test_counting_rules(count_result: Any, rate: str, expected: dict[str, tuple]) -> None:
    """`with ... at_least: 2` counts other events by their `distinct` keys: `[date]` (default) needs two dates;
    `[date, provider]` counts two providers on one day twice; with `events: [A, B]`, `kind` (the listed
    define) counts a call and a fill on one day twice; `unit` counts the units of service of a line
    (`units_as_events`, `service_unit_quantity`) apart. `members_with ... at_least: 2` needs two dates."""
    rows = detail_rows(count_result, rate)
    assert {e: outcome(rows[e]) for e in expected} == expected


# -- 6. overlap windows and evidence choice --------------------------------------------------------------------
OVERLAP_SPEC = spec("TOYOVERLAP", """
defines:
  ED Visits:
    encounters: {where: {code_in: ED}}
  Hospice Services:
    encounters: {where: {code_in: Hospice Encounter}}
  Phone Calls:
    encounters: {where: {code_in: Telephone Visits}}
  Visits Of Members With Hospice Overlapping The Year:
    filter: {from: ED Visits, with: {events: Hospice Services, overlapping: [MY-01-01, MY-12-31]}}
  Visits Of Members With Hospice Dated In The Year:
    filter: {from: ED Visits, with: {events: Hospice Services, dated: [MY-01-01, MY-12-31]}}
  Members In Hospice Any Time In The Year:
    members_with: {events: Hospice Services, overlapping: [MY-01-01, MY-12-31]}
  Members With Hospice Starting In The Year:
    members_with: {events: Hospice Services, dated: [MY-01-01, MY-12-31]}
  Visits Of Members In Hospice Any Time:
    filter: {from: ED Visits, in: Members In Hospice Any Time In The Year}
  Visits Of Members With Hospice Starting In The Year:
    filter: {from: ED Visits, in: Members With Hospice Starting In The Year}
  Earliest Call:
    filter: {from: ED Visits, with: {events: Phone Calls, dated: [index_date + 1 day, index_date + 30 days]}}
  Latest Call:
    filter: {from: ED Visits, with: {events: Phone Calls, dated: [index_date + 1 day, index_date + 30 days], evidence: latest}}
  Second Call:
    filter:
      from: ED Visits
      with: {events: Phone Calls, dated: [index_date + 1 day, index_date + 30 days], at_least: 2}
  Latest Of Two Calls:
    filter:
      from: ED Visits
      with: {events: Phone Calls, dated: [index_date + 1 day, index_date + 30 days], at_least: 2, evidence: latest}
populations:
  initial_population: ED Visits
  denominator: ED Visits
  rates:
    - {id: OV-WITH-OVERLAP, numerator: Visits Of Members With Hospice Overlapping The Year}
    - {id: OV-WITH-DATED, numerator: Visits Of Members With Hospice Dated In The Year}
    - {id: OV-MEM-OVERLAP, numerator: Visits Of Members In Hospice Any Time}
    - {id: OV-MEM-DATED, numerator: Visits Of Members With Hospice Starting In The Year}
    - {id: OV-EARLIEST, numerator: Earliest Call}
    - {id: OV-LATEST, numerator: Latest Call}
    - {id: OV-SECOND, numerator: Second Call}
    - {id: OV-LATEST-OF-TWO, numerator: Latest Of Two Calls}
""", value_sets=["ED", "Hospice Encounter", "Telephone Visits"])


@pytest.fixture(scope="module")
def overlap_result(tmp_path_factory: pytest.TempPathFactory) -> Any:
    deck = {"members": members("H1", "H2", "H3", "K1"), "medical_claim": [
        # H1: hospice from December 20 of the prior year into January 5
        ed("E1", "H1", "2025-06-01"),
        {**line("H1", "H1", "2024-12-20", HOSPICE), "claim_end_date": "2025-01-05"},
        # H2: hospice ending December 31 of the prior year
        ed("E2", "H2", "2025-06-01"),
        {**line("H2", "H2", "2024-12-01", HOSPICE), "claim_end_date": "2024-12-31"},
        # H3: hospice starting January 1
        ed("E3", "H3", "2025-06-01"), line("H3", "H3", "2025-01-01", HOSPICE),
        # K1: calls on days 4, 9 and 19 after the visit
        ed("E4", "K1", "2025-03-01"), line("K1A", "K1", "2025-03-05", PHONE), line("K1B", "K1", "2025-03-10", PHONE),
        line("K1C", "K1", "2025-03-20", PHONE),
    ]}
    return compute(tmp_path_factory.mktemp("overlap"), OVERLAP_SPEC, deck)


@pytest.mark.parametrize(("rate", "expected"), [
    ("OV-WITH-OVERLAP", {"E1": (True, True, "H1", "2024-12-20"), "E2": NO, "E3": (True, True, "H3", "2025-01-01")}),
    ("OV-WITH-DATED", {"E1": NO, "E2": NO, "E3": (True, True, "H3", "2025-01-01")}),
    ("OV-MEM-OVERLAP", {"E1": (True, True, "H1", "2024-12-20"), "E2": NO, "E3": (True, True, "H3", "2025-01-01")}),
    ("OV-MEM-DATED", {"E1": NO, "E2": NO, "E3": (True, True, "H3", "2025-01-01")}),
    ("OV-EARLIEST", {"E4": (True, True, "K1A", "2025-03-05")}),
    ("OV-LATEST", {"E4": (True, True, "K1C", "2025-03-20")}),
    ("OV-SECOND", {"E4": (True, True, "K1B", "2025-03-10")}),
    ("OV-LATEST-OF-TWO", {"E4": (True, True, "K1C", "2025-03-20")}),
])
def test_overlap_windows_and_evidence_choice(overlap_result: Any, rate: str, expected: dict[str, tuple]) -> None:
    """`overlapping: [MY-01-01, MY-12-31]` catches a service that started in December of the prior year and
    ends in January (its start date is the evidence); `dated:` does not; neither catches one that ended on
    December 31 of the prior year. Evidence is the earliest matching event, or the latest with
    `evidence: latest` (also when `at_least: 2` asks for a count: the earliest completes it)."""
    rows = detail_rows(overlap_result, rate)
    assert {e: outcome(rows[e]) for e in expected} == expected


# -- own-route evidence after an earlier step found evidence ------------------------------------------------------
CHAINED_SPEC = spec("TOYCHAIN", """
defines:
  ED Visits:
    encounters: {where: {code_in: ED}}
  Phone Calls:
    encounters: {where: {code_in: Telephone Visits}}
  Peer Support:
    encounters: {where: {code_in: Peer Support Services}}
  Visits With A Call:
    filter: {from: ED Visits, with: {events: Phone Calls, dated: [index_date + 1 day, index_date + 30 days]}}
  Depression Or Peer Support:
    filter:
      from: Visits With A Call
      any_of:
        - where: {diagnosis_in: Major Depression}
        - with: {events: Peer Support, dated: [index_date + 1 day, index_date + 30 days]}
  Depression Visits Named:
    filter: {from: Visits With A Call, where: {diagnosis_in: Major Depression}, evidence_as: dx}
  Named Evidence Is The Visit Itself:
    filter: {from: Depression Visits Named, attribute: {name: dx_claim_id, equals: claim_id}}
populations:
  initial_population: ED Visits
  denominator: Visits With A Call
  rates:
    - {id: CHAIN-OR, numerator: Depression Or Peer Support}
    - {id: CHAIN-NAMED, numerator: Named Evidence Is The Visit Itself}
""", value_sets=["ED", "Telephone Visits", "Peer Support Services", "Major Depression"])
CHAINED_DECK = {"members": members("A", "B"), "medical_claim": [
    # A: a depression visit, then peer support on day 4, the call (the denominator's evidence) on day 9
    ed("EA", "A", "2025-03-01", dx=DEPRESSION), line("SA", "A", "2025-03-05", PEER), line("PA", "A", "2025-03-10", PHONE),
    # B: a depression visit and the call on day 9
    ed("EB", "B", "2025-03-01", dx=DEPRESSION), line("PB", "B", "2025-03-10", PHONE),
]}


@pytest.fixture(scope="module")
def chained(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return compute(tmp_path_factory.mktemp("chain"), CHAINED_SPEC, CHAINED_DECK)


def test_own_route_after_a_step_that_found_evidence(chained: Any) -> None:
    """docs/spec-language.md: an event meets an `any_of` by any route; "its evidence is the earliest any route
    found, a route with no other event being met by the event itself". The units come from a step that found a
    call; the depression route finds no other event, so it is met by the visit (March 1), earlier than peer
    support (March 5)."""
    rows = detail_rows(chained, "CHAIN-OR")
    assert {e: outcome(r) for e, r in rows.items()} == {
        "EA": (True, True, "EA", "2025-03-01"), "EB": (True, True, "EB", "2025-03-01")}


def test_evidence_as_without_evidence_names_the_unit_itself(chained: Any) -> None:
    """docs/spec-language.md: "`evidence_as: NAME` keeps the filter's evidence (the event itself when none)". A
    filter with only a `where` finds no other event, so dx_claim_id is the visit's own claim, even when an
    earlier step (the denominator's `with`) found a call."""
    rows = detail_rows(chained, "CHAIN-NAMED")
    assert {e: r["numerator"] for e, r in rows.items()} == {"EA": True, "EB": True}
