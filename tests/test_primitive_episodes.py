"""The `episodes` kind on a toy measure (IET-like): an ED visit leading to a stay, direct transfers, a visit
dated during a stay, and the negative cases one day past each boundary."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from primitive_helpers import ALCOHOL, PHONE, compute, define_frames, detail_rows, ed, line, members, outcome, spec, stay

EPISODE_SPEC = spec("TOYEP", """
defines:
  SUD Visits:
    encounters:
      where:
        all_of:
          - any_of: [{code_in: ED}, {code_in: Telephone Visits}]
          - diagnosis_in: AOD Abuse and Dependence
  ED Visits:
    encounters: {where: {code_in: ED}}
  Inpatient Stays:
    stays: {where: {code_in: Inpatient Stay}}
  SUD Stays:
    filter: {from: Inpatient Stays, where: {diagnosis_in: AOD Abuse and Dependence}}
  SUD Episodes:
    episodes:
      visits: SUD Visits
      stays: SUD Stays
      all_stays: Inpatient Stays
      leading_visits: ED Visits
      visit_leads_to_stay_within_days: 1
      transfer_within_days: 1
  Episodes With An ED Claim:
    filter: {from: SUD Episodes, where: {code_in: ED}}
  Episodes Dated By A Discharge:
    filter: {from: SUD Episodes, attribute: {name: from_stay, is_true: true}}
populations:
  initial_population: SUD Episodes
  denominator: SUD Episodes
  rates:
    - {id: EP-ED, numerator: Episodes With An ED Claim}
    - {id: EP-STAY, numerator: Episodes Dated By A Discharge}
""", value_sets=["ED", "Telephone Visits", "Inpatient Stay", "AOD Abuse and Dependence"])

EPISODE_DECK = {
    "members": members("P1", "P2", "P3", "P4", "P5", "P6"),
    "medical_claim": [
        # P1: an ED visit the day before the admission leads to the stay (which has no SUD diagnosis)
        ed("E1", "P1", "2025-03-04", dx=ALCOHOL), stay("S1", "P1", "2025-03-05", "2025-03-10"),
        # P2: an ED visit on the admission date
        ed("E2", "P2", "2025-03-05", dx=ALCOHOL), stay("S2", "P2", "2025-03-05", "2025-03-10"),
        # P3: an ED visit two days before the admission is an episode of its own; the stay is none
        ed("E3", "P3", "2025-03-03", dx=ALCOHOL), stay("S3", "P3", "2025-03-05", "2025-03-10"),
        # P4: a direct transfer (admitted the day after the discharge, another facility)
        stay("T1", "P4", "2025-03-01", "2025-03-05", dx=ALCOHOL),
        stay("T2", "P4", "2025-03-06", "2025-03-12", facility_npi="FOTHER"),
        # P5: admitted two days after the discharge: two stays, the second without an SUD diagnosis
        stay("U1", "P5", "2025-03-01", "2025-03-05", dx=ALCOHOL),
        stay("U2", "P5", "2025-03-07", "2025-03-12", facility_npi="FOTHER"),
        # P6: a visit dated during a stay belongs to the stay's episode
        stay("W1", "P6", "2025-03-01", "2025-03-10", dx=ALCOHOL), line("W2", "P6", "2025-03-05", PHONE, dx=ALCOHOL),
    ],
}
D = dt.date


@pytest.fixture(scope="module")
def episodes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    folder = tmp_path_factory.mktemp("episodes")
    return compute(folder, EPISODE_SPEC, EPISODE_DECK), folder


@pytest.mark.parametrize(("rate", "expected"), [
    ("EP-ED", {"S1": (True, True, "S1", "2025-03-10"), "S2": (True, True, "S2", "2025-03-10"),
               "E3": (True, True, "E3", "2025-03-03"), "T2": (True, False, None, None),
               "U1": (True, False, None, None), "W1": (True, False, None, None)}),
    ("EP-STAY", {"S1": (True, True, "S1", "2025-03-10"), "S2": (True, True, "S2", "2025-03-10"),
                 "E3": (True, False, None, None), "T2": (True, True, "T2", "2025-03-12"),
                 "U1": (True, True, "U1", "2025-03-05"), "W1": (True, True, "W1", "2025-03-10")}),
])
def test_episode_units(episodes: tuple[Any, Path], rate: str, expected: dict[str, tuple]) -> None:
    """Exactly one unit per episode: a visit leading to a stay is the stay's discharge (its claims are the
    visit's, so a claim condition `code_in: ED` holds on it); a visit two days before is its own episode and the
    stay without an SUD diagnosis none; a direct transfer is one unit at the last discharge; stays two days
    apart are two chains; a visit during a stay is no unit of its own."""
    rows = detail_rows(episodes[0], rate)
    assert {e: outcome(r) for e, r in rows.items()} == expected


def test_episode_dates_and_claims(episodes: tuple[Any, Path]) -> None:
    """The episode's columns: index_date at the (last) discharge, admission_date the first admission,
    history_date the leading visit's date (else the first admission; a visit's own date), from_stay, and the
    claims that decide its conditions (the visit's; the first stay's for a transfer; the stay's and the visit's
    inside it)."""
    frame = define_frames(episodes[1], EPISODE_DECK, "TOYEP", ["SUD Episodes"])["SUD Episodes"]
    got = {r["event_id"]: (r["index_date"], r["admission_date"], r["history_date"], r["from_stay"], sorted(r["claims"]))
           for r in frame.iter_rows(named=True)}
    assert got == {
        "S1": (D(2025, 3, 10), D(2025, 3, 5), D(2025, 3, 4), True, ["E1"]),
        "S2": (D(2025, 3, 10), D(2025, 3, 5), D(2025, 3, 5), True, ["E2"]),
        "E3": (D(2025, 3, 3), None, D(2025, 3, 3), False, ["E3"]),
        "T2": (D(2025, 3, 12), D(2025, 3, 1), D(2025, 3, 1), True, ["T1"]),
        "U1": (D(2025, 3, 5), D(2025, 3, 1), D(2025, 3, 1), True, ["U1"]),
        "W1": (D(2025, 3, 10), D(2025, 3, 1), D(2025, 3, 1), True, ["W1", "W2"]),
    }
