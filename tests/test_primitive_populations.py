"""Member sources and member sets, the shape of the populations (exceptions, exclusions named for what they
exclude, a denominator that depends on numerator evidence), stratifiers, and partial counts merged from
member buckets, on toy measures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from primitive_helpers import (
    ALCOHOL,
    DEPRESSION,
    HOSPICE,
    PEER,
    PHONE,
    SCHIZOPHRENIA,
    compute,
    counts,
    detail_rows,
    ed,
    line,
    outcome,
    spec,
    summary_row,
    write_spec,
)

import bhmeasures

NO = (True, False, None, None)

# -- 8. member sources and member sets ------------------------------------------------------------------------
MEMBER_SPEC = spec("TOYMEM", """
defines:
  Hospice Services:
    encounters: {where: {code_in: Hospice Encounter}}
  Phone Calls:
    encounters: {where: {code_in: Telephone Visits}}
  Enrolled Any Day:
    enrolled_members: {over: [MY-01-01, MY-12-31]}
  Enrolled All Year With One Gap Of 45 Days:
    enrolled_members: {over: [MY-01-01, MY-12-31], continuously: true, allowable_gaps: 1, max_gap_days: 45}
  Members With Hospice:
    members_with: {events: Hospice Services, dated: [MY-01-01, MY-12-31], reason: member used hospice}
  Members With Calls:
    members_with: {events: Phone Calls, dated: [MY-01-01, MY-12-31]}
  Members With Hospice Or Calls:
    members: {union: [Members With Hospice, Members With Calls]}
  Members With Hospice And Calls:
    members: {intersection: [Members With Hospice, Members With Calls]}
  Members With Calls But No Hospice:
    members: {difference: [Members With Calls, Members With Hospice]}
  Member Units:
    member_units: {members: Enrolled Any Day, index_date: MY-12-31}
  Continuously Enrolled Units:
    filter: {from: Member Units, in: Enrolled All Year With One Gap Of 45 Days}
  Units With Hospice Or Calls:
    filter: {from: Member Units, in: Members With Hospice Or Calls}
  Units With Hospice And Calls:
    filter: {from: Member Units, in: Members With Hospice And Calls}
  Units With Calls But No Hospice:
    filter: {from: Member Units, in: Members With Calls But No Hospice}
  Units Without Hospice:
    filter: {from: Member Units, not_in: [Members With Hospice]}
  Units In The Continuously Enrolled Units:
    filter: {from: Member Units, in: Continuously Enrolled Units}
  Units Not In The Continuously Enrolled Units:
    filter: {from: Member Units, not_in: [Continuously Enrolled Units]}
populations:
  initial_population: Member Units
  denominator: Member Units
  rates:
    - {id: MEM-CONT, numerator: Continuously Enrolled Units}
    - {id: MEM-UNION, numerator: Units With Hospice Or Calls}
    - {id: MEM-INTER, numerator: Units With Hospice And Calls}
    - {id: MEM-DIFF, numerator: Units With Calls But No Hospice}
    - {id: MEM-NOTIN, numerator: Units Without Hospice}
    - {id: MEM-EV-IN, numerator: Units In The Continuously Enrolled Units}
    - {id: MEM-EV-NOTIN, numerator: Units Not In The Continuously Enrolled Units}
""", basis="member", value_sets=["Hospice Encounter", "Telephone Visits"])

MEMBER_DECK = {
    "members": [
        {"member_id": "E1", "birth_date": "1980-01-01", "enrollment": [["2025-01-01", "2025-12-31"]]},
        # a 45-day gap (April 1 - May 15); then a 46-day gap (April 1 - May 16)
        {"member_id": "E2", "birth_date": "1980-01-01", "enrollment": [["2025-01-01", "2025-03-31"], ["2025-05-16", "2025-12-31"]]},
        {"member_id": "E3", "birth_date": "1980-01-01", "enrollment": [["2025-01-01", "2025-03-31"], ["2025-05-17", "2025-12-31"]]},
        # two gaps of 14 days
        {"member_id": "E4", "birth_date": "1980-01-01",
         "enrollment": [["2025-01-01", "2025-03-31"], ["2025-04-15", "2025-06-30"], ["2025-07-15", "2025-12-31"]]},
        # enrolled on December 31 only; on January 1 only; not in the year at all
        {"member_id": "E5", "birth_date": "1980-01-01", "enrollment": [["2025-12-31", "2026-06-30"]]},
        {"member_id": "E7", "birth_date": "1980-01-01", "enrollment": [["2024-06-01", "2025-01-01"]]},
        {"member_id": "E6", "birth_date": "1980-01-01", "enrollment": [["2024-01-01", "2024-12-31"]]},
    ],
    "medical_claim": [
        line("C1", "E1", "2025-03-01", PHONE), line("H1", "E1", "2025-05-01", HOSPICE),
        line("C2", "E2", "2025-03-01", PHONE),
        line("H3", "E3", "2025-05-20", HOSPICE),
        line("C6", "E6", "2025-03-01", PHONE),
    ],
}
UNITS = ("E1", "E2", "E3", "E4", "E5", "E7")


@pytest.fixture(scope="module")
def member_sets(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return compute(tmp_path_factory.mktemp("members"), MEMBER_SPEC, MEMBER_DECK)


def test_member_units_from_members_enrolled_any_day(member_sets: Any) -> None:
    """`enrolled_members` over the year on any day: a span ending January 1 or starting December 31 is enough,
    one ending December 31 of the prior year is not; `member_units` makes one unit per member, named by the
    member and dated December 31."""
    rows = detail_rows(member_sets, "MEM-CONT")
    assert sorted(rows) == list(UNITS)
    assert {r["index_date"].isoformat() for r in rows.values()} == {"2025-12-31"}
    assert all(r["member_id"] == e for e, r in rows.items())


@pytest.mark.parametrize(("rate", "met"), [
    # continuously, at most one gap of at most 45 days
    ("MEM-CONT", {"E1": True, "E2": True, "E3": False, "E4": False, "E5": False, "E7": False}),
    ("MEM-UNION", {"E1": True, "E2": True, "E3": True, "E4": False, "E5": False, "E7": False}),
    ("MEM-INTER", {"E1": True, "E2": False, "E3": False, "E4": False, "E5": False, "E7": False}),
    ("MEM-DIFF", {"E1": False, "E2": True, "E3": False, "E4": False, "E5": False, "E7": False}),
    ("MEM-NOTIN", {"E1": False, "E2": True, "E3": False, "E4": True, "E5": True, "E7": True}),
    # in / not_in a set of events: the unit itself must be in it
    ("MEM-EV-IN", {"E1": True, "E2": True, "E3": False, "E4": False, "E5": False, "E7": False}),
    ("MEM-EV-NOTIN", {"E1": False, "E2": False, "E3": True, "E4": True, "E5": True, "E7": True}),
])
def test_member_sets_and_membership(member_sets: Any, rate: str, met: dict[str, bool]) -> None:
    """`enrolled_members` continuously with `allowable_gaps: 1, max_gap_days: 45` (a 45-day gap is allowed, 46
    days or two gaps are not, nor a late start); `members: {union | intersection | difference}`; `in` / `not_in`
    a set of members (its member) and a set of events (the unit itself)."""
    rows = detail_rows(member_sets, rate)
    assert {e: rows[e]["numerator"] for e in UNITS} == met
    assert all(rows[e]["denominator"] for e in UNITS)


@pytest.mark.parametrize(("rate", "event", "evidence"), [
    ("MEM-UNION", "E1", ("H1", "2025-05-01")),  # the first set listed that holds the member
    ("MEM-UNION", "E2", ("C2", "2025-03-01")),
    ("MEM-INTER", "E1", ("H1", "2025-05-01")),
    ("MEM-DIFF", "E2", ("C2", "2025-03-01")),
])
def test_member_set_evidence_comes_along(member_sets: Any, rate: str, event: str, evidence: tuple) -> None:
    """`in: NAME` brings the member set's evidence (the event that put the member in it) onto the unit."""
    assert outcome(detail_rows(member_sets, rate)[event])[2:] == evidence


# -- 9. population shape --------------------------------------------------------------------------------------
POP_SPEC = spec("TOYPOP", """
include: [Hospice And Death]
defines:
  ED Visits:
    encounters: {where: {code_in: ED}}
  Phone Calls:
    encounters: {where: {code_in: Telephone Visits}}
  Peer Support:
    encounters: {where: {code_in: Peer Support Services}}
  Eligible Visits:
    filter: {from: ED Visits, not_in: [Members In Hospice, Members Who Died]}
  Visits With A Medical Reason:
    filter: {from: ED Visits, where: {diagnosis_in: Schizophrenia}, reason: follow-up not indicated for a medical reason}
  Followed Visits:
    filter:
      from: Eligible Visits
      evidence_as: contact
      any_of:
        - with: {events: Phone Calls, dated: [index_date + 1 day, index_date + 30 days]}
        - with: {events: Peer Support, dated: [index_date + 1 day, index_date + 30 days]}
  Visits Followed First By Peer Support:
    filter:
      from: Followed Visits
      attribute: {name: contact_kind, equals: Peer Support}
      reason: first followed up by peer support
  Denominator Visits:
    filter: {from: Eligible Visits, not_in: [Visits Followed First By Peer Support]}
  Followed Denominator Visits:
    filter: {from: Denominator Visits, in: Followed Visits}
populations:
  initial_population: ED Visits
  denominator: Denominator Visits
  denominator_exclusions: [Members In Hospice, Members Who Died]
  denominator_exceptions: [Visits With A Medical Reason]
  rates:
    - {id: POP-FU, numerator: Followed Denominator Visits}
""", value_sets=["ED", "Telephone Visits", "Peer Support Services", "Schizophrenia"])

POP_MEMBERS = [f"X{i}" for i in range(1, 11)]
POP_DECK = {
    "members": [{"member_id": m, "birth_date": "1980-01-01",
                 **({"death_date": "2025-08-01"} if m in ("X5", "X7") else {})} for m in POP_MEMBERS],
    "medical_claim": [
        ed("E1", "X1", "2025-03-01", dx=SCHIZOPHRENIA),
        ed("E2", "X2", "2025-03-01", dx=SCHIZOPHRENIA), line("P2", "X2", "2025-03-05", PHONE),
        ed("E3", "X3", "2025-03-01"),
        ed("E4", "X4", "2025-03-01"), line("H4", "X4", "2025-05-01", HOSPICE),
        ed("E5", "X5", "2025-03-01"),
        ed("E6", "X6", "2025-03-01", dx=SCHIZOPHRENIA), line("H6", "X6", "2025-05-01", HOSPICE),
        ed("E7", "X7", "2025-03-01"), line("H7", "X7", "2025-05-01", HOSPICE),
        ed("E8", "X8", "2025-03-01"), line("R8", "X8", "2025-03-05", PEER), line("P8", "X8", "2025-03-10", PHONE),
        ed("E9", "X9", "2025-03-01"), line("P9", "X9", "2025-03-04", PHONE), line("R9", "X9", "2025-03-05", PEER),
        ed("E10", "X10", "2025-03-01", dx=SCHIZOPHRENIA), line("R10", "X10", "2025-03-05", PEER),
    ],
}
HOSPICE_REASON = "member used hospice services during the measurement year"
DIED_REASON = "member died during the measurement year"


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return compute(tmp_path_factory.mktemp("pop"), POP_SPEC, POP_DECK)


@pytest.mark.parametrize(("event", "expected"), [
    # (denominator, numerator, excluded, exception, reason, evidence claim)
    ("E1", (False, False, False, True, "follow-up not indicated for a medical reason", None)),  # exception
    ("E2", (True, True, False, False, None, "P2")),  # in the exception set but meets the numerator
    ("E3", (True, False, False, False, None, None)),
    ("E4", (False, False, True, False, HOSPICE_REASON, None)),
    ("E5", (False, False, True, False, DIED_REASON, None)),
    ("E6", (False, False, True, False, HOSPICE_REASON, None)),  # excluded before it can be an exception
    ("E7", (False, False, True, False, HOSPICE_REASON, None)),  # in both sets: the first listed gives the reason
    ("E8", (False, False, False, False, "first followed up by peer support", None)),  # removed by numerator evidence
    ("E9", (True, True, False, False, None, "P9")),
    ("E10", (False, False, False, False, "first followed up by peer support", None)),
])
def test_exceptions_exclusions_and_a_denominator_on_numerator_evidence(population: Any, event: str,
                                                                       expected: tuple) -> None:
    """`denominator_exceptions`: a unit in the set leaves the denominator unless it meets the numerator
    (detail `exception: true`, the set's reason). Exclusions are named for what they exclude: a `not_in` on
    the path removes the unit with the reason of the first set it is in, and `excluded: true` when that set is
    listed under `denominator_exclusions`. A denominator may remove units by their numerator evidence
    (`evidence_as: contact` then `contact_kind`): removed with that set's reason, not as an exclusion."""
    r = detail_rows(population, "POP-FU")[event]
    assert (r["denominator"], r["numerator"], r["excluded"], r["exception"], r["reason"], r["evidence_claim_id"]) == expected


def test_population_counts(population: Any) -> None:
    """Summary counts: initial population 10; denominator 3 (exceptions and exclusions out); numerator 2;
    exclusions 4; exceptions 1; rate 2/3."""
    row = summary_row(population, "POP-FU")
    assert {k: row[k] for k in ("initial_population", "denominator", "numerator", "exclusions", "exceptions")} == {
        "initial_population": 10, "denominator": 3, "numerator": 2, "exclusions": 4, "exceptions": 1}
    assert row["rate"] == pytest.approx(2 / 3)


# -- 10. stratifiers ------------------------------------------------------------------------------------------
STRAT_BODY = """
defines:
  ED Visits:
    encounters: {where: {code_in: ED}}
  Phone Calls:
    encounters: {where: {code_in: Telephone Visits}}
  Depression Visits:
    filter: {from: ED Visits, where: {diagnosis_in: Major Depression}}
  Alcohol Visits:
    filter: {from: ED Visits, where: {diagnosis_in: AOD Abuse and Dependence}}
  Followed Visits:
    filter: {from: ED Visits, with: {events: Phone Calls, dated: [index_date + 1 day, index_date + 30 days]}}
  Visits With A Call:
    filter:
      from: ED Visits
      with: {events: Phone Calls, dated: [index_date + 1 day, index_date + 30 days], as: call}
  Calls Within 7 Days:
    filter: {from: Visits With A Call, with: {events: Phone Calls, dated: [index_date + 1 day, index_date + 7 days]}}
"""
STRAT_SETS = ["ED", "Telephone Visits", "Major Depression", "AOD Abuse and Dependence"]
STRAT_SPEC = spec("TOYSTRAT", STRAT_BODY + """
populations:
  initial_population: ED Visits
  denominator: ED Visits
  rates:
    - {id: STRAT-FU, numerator: Followed Visits}
stratifiers:
  age_band: {at: MY-01-01, bands: [{label: "0-17", max: 17}, {label: "18+", min: 18}]}
  by_define:
    diagnosis: {depression: Depression Visits, alcohol: Alcohol Visits}
  member_attributes: [payer_type]
""", value_sets=STRAT_SETS)
STRAT_CALL_SPEC = spec("TOYSTRATCALL", STRAT_BODY + """
populations:
  initial_population: ED Visits
  denominator: Visits With A Call
  rates:
    - {id: STRAT-CALL, numerator: Calls Within 7 Days}
stratifiers:
  age_band: {at: call_date, bands: [{label: "0-17", max: 17}, {label: "18+", min: 18}]}
""", value_sets=STRAT_SETS)


def _spans(member: str, birth: str, payer: tuple[str | None, str | None]) -> list[dict[str, Any]]:
    return [{"member_id": member, "birth_date": birth, "gender": "female", "enrollment_start_date": start,
             "enrollment_end_date": end, "payer_type": p}
            for (start, end), p in zip([("2025-01-01", "2025-03-31"), ("2025-04-01", "2025-12-31")], payer, strict=True)]


STRAT_DECK = {
    "eligibility": [*_spans("S1", "2007-03-10", ("Medicaid", "Commercial")),
                    *_spans("S2", "1990-01-01", ("Medicaid", "Commercial")),
                    *_spans("S3", "2007-01-01", ("Medicaid", "Commercial")),
                    *_spans("S4", "2010-01-01", (None, None))],
    "medical_claim": [
        # S1: one visit with a depression and an alcohol diagnosis, on March 1 (Medicaid), aged 17 on January 1
        ed("E1", "S1", "2025-03-01", dx=DEPRESSION, diagnosis_code_2=ALCOHOL), line("P1", "S1", "2025-03-15", PHONE),
        ed("E2", "S2", "2025-06-01", dx=DEPRESSION),
        ed("E3", "S3", "2025-04-01"), line("P3", "S3", "2025-04-02", PHONE),
        ed("E4", "S4", "2025-05-01"),
    ],
}


@pytest.fixture(scope="module")
def strata(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return compute(tmp_path_factory.mktemp("strat"), [STRAT_SPEC, STRAT_CALL_SPEC], STRAT_DECK)


@pytest.mark.parametrize(("stratifier", "stratum", "expected"), [
    ("total", "total", (4, 4, 2, 0)),
    # a visit in two strata of one stratifier counts in each, and once in the total
    ("diagnosis", "depression", (2, 2, 1, 0)),
    ("diagnosis", "alcohol", (1, 1, 1, 0)),
    # payer type of the span covering the visit date (S1's March 1 visit: the Medicaid span); none without one
    ("payer_type", "medicaid", (1, 1, 1, 0)),
    ("payer_type", "commercial", (2, 2, 1, 0)),
    # age on January 1: S1 (born March 10, 2007) is 17, S3 (born January 1, 2007) is 18
    ("age_band", "0-17", (2, 2, 1, 0)),
    ("age_band", "18+", (2, 2, 1, 0)),
])
def test_stratifiers(strata: Any, stratifier: str, stratum: str, expected: tuple) -> None:
    """`by_define` puts a unit in every stratum whose define holds it; `member_attributes: [payer_type]` takes
    the value (lower-cased) from the eligibility span covering the index date; `age_band` with `at: MY-01-01`."""
    assert counts(strata, "STRAT-FU", stratifier, stratum) == expected


def test_payer_strata_are_only_those_seen(strata: Any) -> None:
    """Units without a payer type on the covering span are in no payer stratum."""
    s = strata.summary.filter((pl.col("rate_id") == "STRAT-FU") & (pl.col("stratifier") == "payer_type"))
    assert sorted(s["stratum"].to_list()) == ["commercial", "medicaid"]


@pytest.mark.parametrize(("stratum", "expected"), [("0-17", (0, 0, 0, 0)), ("18+", (2, 2, 1, 0))])
def test_age_band_on_a_named_date(strata: Any, stratum: str, expected: tuple) -> None:
    """`age_band: {at: call_date}` (named evidence of the denominator): S1 turned 18 between the visit (March 1)
    and the call (March 15), so it is 18+ here; units outside the denominator carry no call date."""
    assert counts(strata, "STRAT-CALL", "age_band", stratum) == expected
    assert counts(strata, "STRAT-CALL") == (4, 2, 1, 0)


# -- 13. partial counts ---------------------------------------------------------------------------------------
def _bucket(deck: dict[str, Any], keep: set[str]) -> dict[str, Any]:
    return {k: [r for r in v if r["member_id"] in keep] for k, v in deck.items()}


def test_partial_counts_of_member_buckets_merge_into_the_single_run(tmp_path: Path) -> None:
    """Two member buckets computed apart and merged with `bhmeasures.finalize` give exactly the summary of one run
    over all members (every rate, stratum and count: exclusions, exceptions, payer types seen in one bucket,
    member-based units of members without any claim)."""
    folder = tmp_path / "specs"
    for text in (MEMBER_SPEC, POP_SPEC, STRAT_SPEC, STRAT_CALL_SPEC):
        write_spec(folder, text)
    deck = {"members": POP_DECK["members"] + MEMBER_DECK["members"], "eligibility": STRAT_DECK["eligibility"],
            "medical_claim": POP_DECK["medical_claim"] + STRAT_DECK["medical_claim"] + MEMBER_DECK["medical_claim"]}
    whole = compute(folder, [], deck)
    first = {"X1", "X2", "X3", "X4", "X5", "S1", "S4", "E4", "E5"}
    everyone = {r["member_id"] for r in deck["members"]} | {r["member_id"] for r in deck["eligibility"]}
    parts = [compute(folder, [], _bucket(deck, ids)) for ids in (first, everyone - first)]
    measures = ["TOYMEM", "TOYPOP", "TOYSTRAT", "TOYSTRATCALL"]  # the order a run over the folder computes them in
    merged = bhmeasures.finalize([p.partials for p in parts], 2025, measures=measures, specs=[folder])
    assert_frame_equal(merged, whole.summary)
    # the decks share the ED visits: TOYPOP also counts S1-S4 (S1 and S3 followed by calls), TOYSTRAT X1-X10
    # (X2, X8 and X9 followed by calls)
    assert counts(whole, "POP-FU") == (14, 7, 4, 4) and counts(whole, "STRAT-FU") == (14, 14, 5, 0)
    assert summary_row(whole, "POP-FU")["exceptions"] == 1
    # each bucket alone differs from the whole (the merge is not trivially one bucket)
    assert counts(parts[0], "POP-FU") != counts(whole, "POP-FU")


def test_member_unit_numerators_satisfy_the_detail_invariants(member_sets: Any) -> None:
    """tests/deckutil.py check_invariants states the rules every detail table obeys "whatever the deck", among them
    that evidence_claim_id is given exactly when the numerator is met. A member unit met through a set without
    evidence (`in: Enrolled All Year ...`, `not_in: [...]`) has no claim of its own to show."""
    from deckutil import check_invariants

    assert [f.what for f in check_invariants(member_sets.detail)] == []
