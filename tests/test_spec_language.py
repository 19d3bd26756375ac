"""Spec constructs the shipped measures do not use yet, on a toy member-based measure (AMM-like).

first_per_member (member-based units), covered_days (days supply coverage), `with ... at_least`
(distinct service dates) and windows in the year before the measurement year.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import bhmeasures

TOY = """
id: TOYAMM
title: Toy antidepressant coverage
version: 0.0.1
steward: bhm tests
basis: member
event_name: index prescription
codes: public_substitute
value_sets:
  - {name: Antidepressant Medications, version: bhm-public-2025.1}
defines:
  Antidepressant Fills:
    dispensings:
      where: {code_in: Antidepressant Medications}
  Fills In Intake Period:
    filter:
      from: Antidepressant Fills
      dated: [MY-1-05-01, MY-04-30]
      reason: fill outside the intake period
  Index Prescription Per Member:
    first_per_member:
      from: Fills In Intake Period
  Members Covered 84 Of 114 Days:
    filter:
      from: Index Prescription Per Member
      covered_days: {events: Antidepressant Fills, over: [index_date, index_date + 113 days], min_days: 84}
  Members Covered 75 Percent:
    filter:
      from: Index Prescription Per Member
      covered_days: {events: Antidepressant Fills, over: [index_date, index_date + 113 days], min_share: 0.75}
  Members With Fills On Two Days:
    filter:
      from: Index Prescription Per Member
      with: {events: Antidepressant Fills, dated: [index_date, index_date + 113 days], at_least: 2, counts_own_claim: true}
populations:
  initial_population: Antidepressant Fills
  denominator: Index Prescription Per Member
  rates:
    - {id: TOY-84, numerator: Members Covered 84 Of 114 Days}
    - {id: TOY-75PCT, numerator: Members Covered 75 Percent}
    - {id: TOY-TWO, numerator: Members With Fills On Two Days}
"""
SERTRALINE = "00049490030"
FILLS = [  # member, claim, date, days supply
    ("A", "A1", "2025-02-01", 30), ("A", "A2", "2025-03-03", 30), ("A", "A3", "2025-04-02", 30),  # 90 days
    ("B", "B1", "2025-02-01", 90),  # one fill, 90 days
    ("C", "C1", "2025-02-01", 30), ("C", "C2", "2025-04-15", 30),  # 30 + 41 days to the window's end
    ("D", "D1", "2025-02-01", 60), ("D", "D2", "2025-02-15", 60),  # overlap: union is 74 days
    ("E", "E1", "2025-06-01", 30),  # outside the intake period
    ("F", "F1", "2024-12-01", 90), ("F", "F2", "2025-01-05", 30),  # index is the earlier fill
]


@pytest.fixture(scope="module")
def detail(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    spec = tmp_path_factory.mktemp("spec") / "TOYAMM.yaml"
    spec.write_text(TOY)
    members = sorted({m for m, *_ in FILLS})
    tables = {
        "eligibility": pl.DataFrame({"member_id": members, "birth_date": ["1980-01-01"] * len(members),
                                     "gender": ["female"] * len(members), "enrollment_start_date": ["2024-01-01"] * len(members),
                                     "enrollment_end_date": ["2025-12-31"] * len(members)}),
        "medical_claim": pl.DataFrame(schema={c: pl.String for c in ("claim_id", "claim_line_number", "claim_type", "member_id",
                                                                      "claim_start_date", "claim_end_date", "diagnosis_code_1")}),
        "pharmacy_claim": pl.DataFrame({"claim_id": [c for _, c, _, _ in FILLS], "member_id": [m for m, *_ in FILLS],
                                        "dispensing_date": [d for *_, d, _ in FILLS], "ndc_code": [SERTRALINE] * len(FILLS),
                                        "days_supply": [str(n) for *_, n in FILLS]}),
    }
    result = bhmeasures.compute_frames(tables, 2025, specs=[spec])
    return result.detail


def row(detail: pl.DataFrame, rate: str, event: str) -> dict:
    rows = detail.filter((pl.col("rate_id") == rate) & (pl.col("event_id") == event)).to_dicts()
    assert len(rows) == 1, rows
    return rows[0]


@pytest.mark.parametrize(("event", "n84", "n75", "two"), [
    ("A1", True, True, True),
    ("B1", True, True, False),  # 90 of 114 days: 75% needs 86
    ("C1", False, False, True),
    ("D1", False, False, True),  # [I] overlapping fills count each calendar day once (no shifting)
    ("F1", True, True, True),
])
def test_member_units_and_coverage(detail: pl.DataFrame, event: str, n84: bool, n75: bool, two: bool) -> None:
    assert row(detail, "TOY-84", event)["denominator"]
    assert row(detail, "TOY-84", event)["numerator"] is n84
    assert row(detail, "TOY-75PCT", event)["numerator"] is n75
    assert row(detail, "TOY-TWO", event)["numerator"] is two


def test_one_unit_per_member_and_reasons(detail: pl.DataFrame) -> None:
    units = detail.filter((pl.col("rate_id") == "TOY-84") & pl.col("denominator"))
    assert units["member_id"].is_unique().all() and units.height == 5
    assert row(detail, "TOY-84", "F2")["reason"] == "not the member's first index prescription"
    assert row(detail, "TOY-84", "E1")["reason"] == "fill outside the intake period"
    # the second distinct date is the evidence for `at_least: 2`
    assert row(detail, "TOY-TWO", "C1")["evidence_claim_id"] == "C2"


def test_coverage_needs_one_threshold(tmp_path: Path) -> None:
    spec = tmp_path / "TOYAMM.yaml"
    spec.write_text(TOY.replace("min_days: 84}", "min_days: 84, min_share: 0.5}"))
    _, issues = bhmeasures.validate([spec])
    assert any("exactly one of min_days, min_share" in str(i) for i in issues)
