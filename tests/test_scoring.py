"""Scoring kinds: proportions, events per 1,000 member months, paid dollars per member per month.

The summary keeps the counts (numerator events or cents; denominator member months), so the payment
module's what-ifs can count what moves a rate to the next tier for every kind. Hand computation:

member A is enrolled January 1 - June 30 (6 months whose first day is covered), member B all year (12),
member C from March 15 (9 months: April..December; March 1 is not covered): 27 member months.
ED visits: A twice (paid 100.50 and 200.00), B once (49.50), C none -> 3 visits, 350.00 paid.
per 1,000 member months: 3 / 27 x 1000 = 111.11; per member per month: 35000 cents / 27 / 100 = 12.96.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from deckutil import deck_frames

import bhmeasures

SPEC = """
id: TOY-ED
title: Toy ED use
version: 0.0.1
steward: bhm tests
basis: event
event_name: ED visit
codes: public_substitute
value_sets:
  - {{name: ED, version: bhm-public-2025.1}}
defines:
  Enrolled Members:
    enrolled_members: {{over: [MY-01-01, MY-12-31]}}
  ED Visits:
    encounters:
      one_per: day
      where: {{code_in: ED}}
  ED Visits In The Year:
    filter:
      from: ED Visits
      dated: [MY-01-01, MY-12-31]
      reason: outside the year
populations:
  scoring: {scoring}
  member_months: Enrolled Members
  initial_population: ED Visits
  denominator: ED Visits In The Year
  rates:
    - {{id: TOY-ED, numerator: ED Visits In The Year}}
stratifiers:
  age_band:
    at: MY-12-31
    bands: [{{label: "0-17", max: 17}}, {{label: "18+", min: 18}}]
"""

DECK = {
    "members": [
        {"member_id": "A", "birth_date": "1980-01-01", "enrollment": [["2025-01-01", "2025-06-30"]]},
        {"member_id": "B", "birth_date": "2010-01-01", "enrollment": [["2025-01-01", "2025-12-31"]]},
        {"member_id": "C", "birth_date": "1990-01-01", "enrollment": [["2025-03-15", "2025-12-31"]]},
    ],
    "medical_claim": [
        {"claim_id": "A1", "member_id": "A", "claim_start_date": "2025-02-01", "hcpcs_code": "99284",
         "place_of_service_code": "23", "diagnosis_code_1": "S01.00XA", "paid_amount": "100.50"},
        {"claim_id": "A2", "member_id": "A", "claim_start_date": "2025-05-01", "hcpcs_code": "99283",
         "place_of_service_code": "23", "diagnosis_code_1": "S01.00XA", "paid_amount": "200.00"},
        {"claim_id": "B1", "member_id": "B", "claim_start_date": "2025-07-04", "hcpcs_code": "99285",
         "place_of_service_code": "23", "diagnosis_code_1": "S01.00XA", "paid_amount": "49.50"},
    ],
}


def _run(tmp_path: Path, scoring: str) -> pl.DataFrame:
    spec = tmp_path / "TOY-ED.yaml"
    spec.write_text(SPEC.format(scoring=scoring))
    result = bhmeasures.compute_frames(deck_frames(DECK), 2025, specs=[spec])
    assert result.computed == ["TOY-ED"], result.skipped
    return result.summary


def _row(summary: pl.DataFrame, stratifier: str = "total", stratum: str = "total") -> dict:
    rows = summary.filter((pl.col("stratifier") == stratifier) & (pl.col("stratum") == stratum)).to_dicts()
    assert len(rows) == 1, summary
    return rows[0]


def test_events_per_1000_member_months(tmp_path: Path) -> None:
    s = _run(tmp_path, "per_1000_member_months")
    total = _row(s)
    assert (total["numerator"], total["denominator"], total["scoring"]) == (3, 27, "per_1000_member_months")
    assert total["rate"] == pytest.approx(3 / 27 * 1000)
    # strata: B is 15 on December 31 (12 months, 1 visit); A and C are adults (15 months, 2 visits)
    assert (_row(s, "age_band", "0-17")["numerator"], _row(s, "age_band", "0-17")["denominator"]) == (1, 12)
    assert (_row(s, "age_band", "18+")["numerator"], _row(s, "age_band", "18+")["denominator"]) == (2, 15)


def test_paid_dollars_per_member_per_month(tmp_path: Path) -> None:
    total = _row(_run(tmp_path, "per_member_per_month"))
    assert (total["numerator"], total["denominator"]) == (35000, 27)  # cents over member months
    assert total["rate"] == pytest.approx(350.00 / 27)


def test_ratio_needs_its_member_months(tmp_path: Path) -> None:
    spec = tmp_path / "TOY-ED.yaml"
    spec.write_text(SPEC.format(scoring="proportion"))
    _, issues = bhmeasures.validate([spec])
    assert any("member_months names the members" in str(i) for i in issues), [str(i) for i in issues]
