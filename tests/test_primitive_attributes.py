"""Event attributes on toy measures: per-code value-set attributes on fills (`dispensings: {attributes}`) and
observations (`observations` with `result` and an instrument's threshold), carried through steps and named
evidence (`with ... as`), compared by the `attribute` condition with a value or another column; and
`same_day: other_provider`.

The attribute value sets are written by the tests (an `attributes` column, `name=value;name=value`) and
passed with `valuesets=[dir]`, next to the bundled sets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from primitive_helpers import (
    FLUOXETINE,
    PHONE,
    SERTRALINE,
    VERSION,
    compute,
    detail_rows,
    ed,
    fill,
    header,
    line,
    members,
    outcome,
    spec,
    write_spec,
)

import bhmeasures

NO = (True, False, None, None)
AMITRIPTYLINE = "00378261001"
PHQ9, PHQA = "44261-6", "89204-2"
ATTRIBUTE_SETS = f"""value_set,version,code_system,code,description,provenance,source,attributes
Toy Antidepressants,{VERSION},NDC,{SERTRALINE},sertraline,test,test,drug=sertraline;drug_class=ssri
Toy Antidepressants,{VERSION},NDC,{FLUOXETINE},fluoxetine,test,test,drug=fluoxetine;drug_class=ssri
Toy Antidepressants,{VERSION},NDC,{AMITRIPTYLINE},amitriptyline,test,test,drug=amitriptyline;drug_class=tca
Toy Depression Screens,{VERSION},LOINC,{PHQ9},PHQ-9 total score,test,test,threshold=10
Toy Depression Screens,{VERSION},LOINC,{PHQA},PHQ-A total score,test,test,threshold=11
"""


def attribute_sets(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "toy_attributes.csv").write_text(ATTRIBUTE_SETS, encoding="utf-8")
    return folder


# -- dispensings with attributes ------------------------------------------------------------------------------
FILLS_SPEC = spec("TOYATTR", """
defines:
  Fills:
    dispensings:
      where: {code_in: Toy Antidepressants}
      attributes: {drug: Toy Antidepressants.drug, drug_class: Toy Antidepressants.drug_class}
  First Fills:
    first_per_member: {from: Fills}
  SSRI Starts:
    filter: {from: First Fills, attribute: {name: drug_class, equals: ssri}}
  Starts Followed By Another Fill:
    filter:
      from: First Fills
      with: {events: Fills, dated: [index_date + 1 day, index_date + 90 days], as: next}
  Refilled With The Same Drug:
    filter: {from: Starts Followed By Another Fill, attribute: {name: next_drug, equals: drug}}
  Switched To Another Drug:
    filter: {from: Starts Followed By Another Fill, attribute: {name: next_drug, not_equals: drug}}
  Switched To A Tricyclic:
    filter: {from: Starts Followed By Another Fill, attribute: {name: next_drug_class, in: [tca]}}
populations:
  initial_population: Fills
  denominator: First Fills
  rates:
    - {id: ATTR-SSRI, numerator: SSRI Starts}
    - {id: ATTR-SAME, numerator: Refilled With The Same Drug}
    - {id: ATTR-SWITCH, numerator: Switched To Another Drug}
    - {id: ATTR-TCA, numerator: Switched To A Tricyclic}
""", basis="member", value_sets=["Toy Antidepressants"])

FILLS_DECK = {
    "members": members("D1", "D2", "D3", "D4"),
    "pharmacy_claim": [
        fill("D1A", "D1", "2025-01-10", SERTRALINE), fill("D1B", "D1", "2025-02-09", SERTRALINE),
        fill("D2A", "D2", "2025-01-10", FLUOXETINE), fill("D2B", "D2", "2025-02-09", AMITRIPTYLINE),
        fill("D3A", "D3", "2025-01-10", AMITRIPTYLINE),
        fill("D4A", "D4", "2025-01-10", SERTRALINE), fill("D4B", "D4", "2025-04-11", FLUOXETINE),  # day 91
    ],
}


@pytest.fixture(scope="module")
def fills(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("attr")
    return compute(root / "specs", FILLS_SPEC, FILLS_DECK, valuesets=[attribute_sets(root / "vs")])


@pytest.mark.parametrize(("rate", "expected"), [
    ("ATTR-SSRI", {"D1A": (True, True, "D1A", "2025-01-10"), "D2A": (True, True, "D2A", "2025-01-10"),
                   "D3A": NO, "D4A": (True, True, "D4A", "2025-01-10")}),
    ("ATTR-SAME", {"D1A": (True, True, "D1B", "2025-02-09"), "D2A": NO, "D3A": NO, "D4A": NO}),
    ("ATTR-SWITCH", {"D1A": NO, "D2A": (True, True, "D2B", "2025-02-09"), "D3A": NO, "D4A": NO}),
    ("ATTR-TCA", {"D1A": NO, "D2A": (True, True, "D2B", "2025-02-09"), "D3A": NO, "D4A": NO}),
])
def test_fill_attributes_carried_and_compared(fills: Any, rate: str, expected: dict[str, tuple]) -> None:
    """`dispensings: {attributes: {drug: SET.drug}}` puts each code's attribute on its fills; it survives
    `first_per_member` and filters; `with ... as: next` carries the matched fill's attributes as next_drug,
    next_drug_class; `attribute` compares with a value (`equals: ssri`, `in: [tca]`) or with another column
    the events carry (`equals: drug`, `not_equals: drug`). A fill 91 days later is outside the window."""
    rows = detail_rows(fills, rate)
    assert {e: outcome(rows[e]) for e in expected} == expected


def test_attribute_on_named_evidence_of_the_same_filter(tmp_path: Path) -> None:
    """A filter lists conditions that must all hold (docs/spec-language.md, Filter conditions): `with ... as:
    nxt` and `attribute: {name: nxt_drug, not_equals: drug}` in one filter keep the starts whose next fill is
    another drug (D2A), as the two-step version above does. If the engine cannot do it in one filter,
    validation should say so rather than empty the numerator."""
    one = FILLS_SPEC.replace("id: TOYATTR", "id: TOYATTRONE").replace("""  Switched To Another Drug:
    filter: {from: Starts Followed By Another Fill, attribute: {name: next_drug, not_equals: drug}}""", """  Switched To Another Drug:
    filter:
      from: First Fills
      with: {events: Fills, dated: [index_date + 1 day, index_date + 90 days], as: nxt}
      attribute: {name: nxt_drug, not_equals: drug}""")
    assert "as: nxt" in one
    vs = attribute_sets(tmp_path / "vs")
    _, issues = bhmeasures.validate([write_spec(tmp_path / "specs", one)], valuesets=[vs])
    result = compute(tmp_path / "specs", one, FILLS_DECK, valuesets=[vs])
    switched = {e: r["numerator"] for e, r in detail_rows(result, "ATTR-SWITCH").items() if r["denominator"]}
    assert switched == {"D1A": False, "D2A": True, "D3A": False, "D4A": False} or issues


# -- observations: result and threshold -----------------------------------------------------------------------
SCREEN_SETS = f"value_sets:\n  - {{name: ED, version: {VERSION}}}\n  - {{name: Toy Depression Screens, version: {VERSION}}}\n"
SCREEN_DEFINES = """
defines:
  ED Visits:
    encounters: {where: {code_in: ED}}
  Screens:
    observations:
      where: {code_in: Toy Depression Screens}
      attributes: {threshold: Toy Depression Screens.threshold}
  Visits With A Screen:
    filter:
      from: ED Visits
      with: {events: Screens, dated: [index_date - 14 days, index_date], as: screen}
      reason: no screen in the 14 days before the visit
"""
SCREEN_VALUE_SPEC = header("TOYOBS", "event") + SCREEN_SETS + SCREEN_DEFINES + """
  Screens Scoring 10 Or More:
    filter: {from: Screens, attribute: {name: result, at_least: 10}}
  Visits With A Screen Scoring 15 Or More:
    filter: {from: Visits With A Screen, attribute: {name: screen_result, at_least: 15}}
  Visits Screened With The PHQ-A:
    filter: {from: Visits With A Screen, attribute: {name: screen_threshold, equals: "11"}}
populations:
  initial_population: ED Visits
  denominator: Visits With A Screen
  rates:
    - {id: OBS-15, numerator: Visits With A Screen Scoring 15 Or More}
    - {id: OBS-PHQA, numerator: Visits Screened With The PHQ-A}
"""
SCREEN_UNIT_SPEC = header("TOYOBSUNIT", "event") + SCREEN_SETS.replace(f"  - {{name: ED, version: {VERSION}}}\n", "") + """
defines:
  Screens:
    observations:
      where: {code_in: Toy Depression Screens}
      attributes: {threshold: Toy Depression Screens.threshold}
  Screens Scoring 10 Or More:
    filter: {from: Screens, attribute: {name: result, at_least: 10}}
populations:
  initial_population: Screens
  denominator: Screens
  rates:
    - {id: OBS-10, numerator: Screens Scoring 10 Or More}
"""
SCREEN_THRESHOLD_SPEC = header("TOYOBSPOS", "event") + SCREEN_SETS + SCREEN_DEFINES + """
  Positive Screens:
    filter: {from: Screens, attribute: {name: result, at_least: threshold}}
  Visits With A Positive Screen:
    filter: {from: Visits With A Screen, attribute: {name: screen_result, at_least: screen_threshold}}
populations:
  initial_population: ED Visits
  denominator: Visits With A Screen
  rates:
    - {id: OBS-POS, numerator: Visits With A Positive Screen}
"""
SCREEN_UNIT_POSITIVE_SPEC = SCREEN_UNIT_SPEC.replace("id: TOYOBSUNIT", "id: TOYOBSUNITPOS").replace(
    "attribute: {name: result, at_least: 10}", "attribute: {name: result, at_least: threshold}")

SCREENS = [  # member, date, code, result; every ED visit is on March 10 (screens count from February 24)
    ("S1", "2025-03-01", PHQ9, "10"), ("S2", "2025-03-01", PHQ9, "9"), ("S3", "2025-03-01", PHQA, "10"),
    ("S4", "2025-03-01", PHQA, "11"), ("S5", "2025-03-01", PHQ9, "0"), ("S6", "2025-02-23", PHQ9, "20"),
    ("S7", "2025-03-10", PHQ9, "15"),
]
SCREEN_DECK = {"members": members(*(s[0] for s in SCREENS)),
               "medical_claim": [ed(f"E{m[1:]}", m, "2025-03-10") for m, *_ in SCREENS]}
OBSERVATIONS = [{"member_id": m, "observation_date": d, "code_type": "LOINC", "code": c, "result": r}
                for m, d, c, r in SCREENS]


def screen_id(member: str) -> str:
    _, day, code, _ = next(s for s in SCREENS if s[0] == member)
    return f"observation:{code}@{day}"


@pytest.fixture(scope="module")
def screens(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("obs")
    return compute(root / "specs", [SCREEN_VALUE_SPEC, SCREEN_UNIT_SPEC], SCREEN_DECK,
                   valuesets=[attribute_sets(root / "vs")], observation=OBSERVATIONS)


def test_observation_results_and_attributes_compared_with_values(screens: Any) -> None:
    """`observations` are units of their own (`observation:CODE@DATE`) with the numeric `result` (a
    non-numeric score on a scored instrument is bad input, tests/test_screening.py); `with ... as: screen` carries the matched
    screen's `result` and `threshold` attribute as screen_result and screen_threshold, compared with values.
    The screen window `[index_date - 14 days, index_date]` keeps a screen on the visit date and drops one 15
    days before (with the filter's reason)."""
    units = detail_rows(screens, "OBS-10", measure="TOYOBSUNIT", key="member_id")
    assert {m: units[m]["event_id"] for m, *_ in SCREENS} == {m: screen_id(m) for m, *_ in SCREENS}
    assert {m: units[m]["numerator"] for m, *_ in SCREENS} == {
        "S1": True, "S2": False, "S3": True, "S4": True, "S5": False, "S6": True, "S7": True}
    high = detail_rows(screens, "OBS-15", measure="TOYOBS")
    assert {f"E{m[1:]}": outcome(high[f"E{m[1:]}"]) for m, *_ in SCREENS} == {
        "E1": NO, "E2": NO, "E3": NO, "E4": NO, "E5": NO,
        "E6": (False, False, None, None), "E7": (True, True, screen_id("S7"), "2025-03-10")}
    assert high["E6"]["reason"] == "no screen in the 14 days before the visit"
    phqa = detail_rows(screens, "OBS-PHQA", measure="TOYOBS")
    assert {e: r["numerator"] for e, r in phqa.items() if r["denominator"]} == {
        "E1": False, "E2": False, "E3": True, "E4": True, "E5": False, "E7": False}


def test_observation_result_at_least_the_instruments_threshold(tmp_path: Path) -> None:
    """`attribute: {name: result, at_least: threshold}` compares two columns, the result with the code's
    threshold: PHQ-9 (threshold 10) 10 is positive and 9 and 0 are not; PHQ-A (threshold 11) 10 is not and 11 is.
    The same through named evidence (screen_result, screen_threshold)."""
    result = compute(tmp_path / "specs", [SCREEN_THRESHOLD_SPEC, SCREEN_UNIT_POSITIVE_SPEC], SCREEN_DECK,
                     valuesets=[attribute_sets(tmp_path / "vs")], observation=OBSERVATIONS)
    units = detail_rows(result, "OBS-10", measure="TOYOBSUNITPOS", key="member_id")
    assert {m: units[m]["numerator"] for m, *_ in SCREENS} == {
        "S1": True, "S2": False, "S3": False, "S4": True, "S5": False, "S6": True, "S7": True}
    visits = detail_rows(result, "OBS-POS", measure="TOYOBSPOS")
    assert {e: r["numerator"] for e, r in visits.items() if r["denominator"]} == {
        "E1": True, "E2": False, "E3": False, "E4": True, "E5": False, "E7": True}


# -- same_day: other_provider -----------------------------------------------------------------------------------
SAME_DAY_SPEC = spec("TOYSAMEDAY", """
defines:
  ED Visits:
    encounters: {where: {code_in: ED}}
  Phone Calls:
    encounters: {where: {code_in: Telephone Visits}}
  Calls Same Day Only With Another Provider:
    filter:
      from: ED Visits
      with: {events: Phone Calls, dated: [index_date, index_date + 13 days], same_day: other_provider}
  Calls By Any Provider:
    filter:
      from: ED Visits
      with: {events: Phone Calls, dated: [index_date, index_date + 13 days]}
populations:
  initial_population: ED Visits
  denominator: ED Visits
  rates:
    - {id: SD-OTHER, numerator: Calls Same Day Only With Another Provider}
    - {id: SD-ANY, numerator: Calls By Any Provider}
""", value_sets=["ED", "Telephone Visits"])
A, B = "1111111111", "2222222222"


@pytest.fixture(scope="module")
def same_day(tmp_path_factory: pytest.TempPathFactory) -> Any:
    deck = {"members": members("Q1", "Q2", "Q3", "Q4", "Q5"), "medical_claim": [
        ed("E1", "Q1", "2025-03-01", npi=A), line("P1", "Q1", "2025-03-01", PHONE, npi=A),
        ed("E2", "Q2", "2025-03-01", npi=A), line("P2", "Q2", "2025-03-01", PHONE, npi=B),
        ed("E3", "Q3", "2025-03-01", npi=A), line("P3", "Q3", "2025-03-02", PHONE, npi=A),
        ed("E4", "Q4", "2025-03-01", npi=A), line("P4A", "Q4", "2025-03-01", PHONE, npi=A),
        line("P4B", "Q4", "2025-03-03", PHONE, npi=A),
        ed("E5", "Q5", "2025-03-01"), line("P5", "Q5", "2025-03-01", PHONE, npi=B),
    ]}
    return compute(tmp_path_factory.mktemp("sameday"), SAME_DAY_SPEC, deck)


@pytest.mark.parametrize(("rate", "expected"), [
    ("SD-OTHER", {"E1": NO, "E2": (True, True, "P2", "2025-03-01"), "E3": (True, True, "P3", "2025-03-02"),
                  "E4": (True, True, "P4B", "2025-03-03"), "E5": NO}),
    ("SD-ANY", {"E1": (True, True, "P1", "2025-03-01"), "E2": (True, True, "P2", "2025-03-01"),
                "E4": (True, True, "P4A", "2025-03-01"), "E5": (True, True, "P5", "2025-03-01")}),
])
def test_same_day_other_provider(same_day: Any, rate: str, expected: dict[str, tuple]) -> None:
    """`same_day: other_provider`: a call on the index date with the visit's rendering provider does not count,
    with another provider it does; on another day any provider counts (the same-day call is skipped and the
    later one is the evidence). A visit without a known provider cannot show the call's provider differs.
    Without the option every call in the window counts."""
    rows = detail_rows(same_day, rate)
    assert {e: outcome(rows[e]) for e in expected} == expected


@pytest.mark.parametrize(("test", "met"), [
    ("{name: screen_threshold, equals: 11}", {"E1": False, "E2": False, "E3": True, "E4": True, "E5": False, "E7": False}),
    ("{name: screen_threshold, at_least: 11}", {"E1": False, "E2": False, "E3": True, "E4": True, "E5": False, "E7": False}),
    ("{name: screen_result, in: [10, 11]}", {"E1": True, "E2": False, "E3": True, "E4": True, "E5": False, "E7": False}),
])
def test_numeric_attributes_compared_with_numbers(tmp_path: Path, test: str, met: dict[str, bool]) -> None:
    """`attribute` compares "a column the events carry with a value" (docs/spec-language.md): a numeric
    attribute of a value set (an instrument's threshold, written `threshold=11`) with a number, and the numeric
    result with a list of numbers (`in: [10, 11]`)."""
    text = header("TOYOBSNUM", "event") + SCREEN_SETS + SCREEN_DEFINES + f"""
  Visits Meeting The Test:
    filter: {{from: Visits With A Screen, attribute: {test}}}
populations:
  initial_population: ED Visits
  denominator: Visits With A Screen
  rates:
    - {{id: OBS-NUM, numerator: Visits Meeting The Test}}
"""
    result = compute(tmp_path / "specs", text, SCREEN_DECK, valuesets=[attribute_sets(tmp_path / "vs")],
                     observation=OBSERVATIONS)
    rows = detail_rows(result, "OBS-NUM")
    assert {e: r["numerator"] for e, r in rows.items() if r["denominator"]} == met
