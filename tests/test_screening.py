"""Screening measures (CDF, DSF-E, DEV, Colorado): the observation table as an optional source, its input
checks, skipping with the reason, and properties over small generated populations."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner, Result
from deckutil import check_invariants, deck_frames
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bhmeasures
from bhmeasures.cli import main
from bhmeasures.errors import ExitCode, InputError

SCREENING = ["CDF", "DSF-E", "DEV", "CO-DEP-FU", "CO-FOSTER-BH", "CO-BH-ENG"]
RATES = {"CDF": ["CDF"], "DSF-E": ["DSF-SCREEN", "DSF-FOLLOWUP"], "DEV": ["DEV-12", "DEV-24", "DEV-36", "DEV-TOTAL"],
         "CO-DEP-FU": ["CO-DEP-FU"], "CO-FOSTER-BH": ["CO-FOSTER-BH"], "CO-BH-ENG": ["CO-BH-ENG"]}

ELIGIBILITY = """member_id,birth_date,gender,enrollment_start_date,enrollment_end_date
M1,1980-01-01,female,2024-12-01,2026-01-31
"""
MEDICAL = """\
claim_id,claim_line_number,claim_type,member_id,claim_start_date,claim_end_date,hcpcs_code,place_of_service_code,diagnosis_code_1
C1,1,professional,M1,2025-03-09,2025-03-09,99213,11,Z00.00
C1,2,professional,M1,2025-03-09,2025-03-09,G8510,11,Z00.00
"""
PHARMACY = """claim_id,member_id,dispensing_date,ndc_code,days_supply
RX1,M1,2025-03-10,12496120803,30
"""
OBSERVATION = """member_id,observation_date,code_type,code,result
M1,2025-03-09,LOINC,44261-6,4
M1,2025-03-09,loinc,55758-7,1
"""


def write_data(folder: Path, **overrides: str | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    tables = {"eligibility": ELIGIBILITY, "medical_claim": MEDICAL, "pharmacy_claim": PHARMACY,
              "observation": OBSERVATION, **overrides}
    for name, text in tables.items():
        if text is not None:
            (folder / f"{name}.csv").write_text(text)
    return folder


def run(data: Path, out: Path, *extra: str) -> Result:
    return CliRunner().invoke(main, ["compute", "--data", str(data), "--out", str(out), "--quiet", *extra])


def test_screening_measures_compute_from_files(tmp_path: Path) -> None:
    result = run(write_data(tmp_path / "d"), tmp_path / "out", "--measures", "CDF,DSF-E")
    assert result.exit_code == 0, result.output
    summary = pl.read_parquet(tmp_path / "out" / "summary.parquet").filter(pl.col("stratifier") == "total")
    got = {r["rate_id"]: (r["numerator"], r["denominator"]) for r in summary.iter_rows(named=True)}
    assert got == {"CDF": (1, 1), "DSF-SCREEN": (1, 1), "DSF-FOLLOWUP": (0, 0)}


def test_a_measure_that_needs_observations_is_skipped_without_them(tmp_path: Path) -> None:
    """DSF-E needs the observation table (exit 5, with the reason); CDF and CO-DEP-FU run on the G-codes."""
    data = write_data(tmp_path / "d", observation=None)
    result = run(data, tmp_path / "out", "--measures", "DSF-E,CDF")
    assert result.exit_code == int(ExitCode.MEASURE_SKIPPED), result.output
    assert "DSF-E" in result.output and "observation table" in result.output
    result = run(data, tmp_path / "out2", "--measures", "CDF,CO-DEP-FU")
    assert result.exit_code == 0, result.output


def test_foster_care_measure_is_skipped_without_the_column(tmp_path: Path) -> None:
    result = run(write_data(tmp_path / "d"), tmp_path / "out", "--measures", "CO-FOSTER-BH")
    assert result.exit_code == int(ExitCode.MEASURE_SKIPPED), result.output
    assert "eligibility.foster_care is missing" in result.output
    elig = ELIGIBILITY.replace("enrollment_end_date\n", "enrollment_end_date,foster_care\n").replace("2026-01-31\n", "2026-01-31,Y\n")
    result = run(write_data(tmp_path / "d2", eligibility=elig), tmp_path / "out2", "--measures", "CO-FOSTER-BH")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("observation", "expected"),
    [
        (OBSERVATION.replace("44261-6,4", "44261-6,four"),
         ["observation.csv: column result has 1 value(s) that are not numbers on scored screening instruments", "line 2"]),
        (OBSERVATION.replace("loinc,55758-7", "ICD9,55758-7"),
         ["observation.csv: column code_type has 1 value(s) that are not a known code type (loinc, snomed)", "line 3", "ICD9"]),
        (OBSERVATION.replace("2025-03-09,LOINC", "2025-02-30,LOINC"),
         ["observation.csv: column observation_date", "line 2", "2025-02-30"]),
    ],
)
def test_bad_observations_are_reported_with_file_column_and_rows(tmp_path: Path, observation: str, expected: list[str]) -> None:
    result = run(write_data(tmp_path / "d", observation=observation), tmp_path / "out", "--measures", "DSF-E")
    assert result.exit_code == int(ExitCode.INPUT_INVALID), result.output
    line = next((x for x in result.output.splitlines() if expected[0].split(":")[0] in x and "column" in x), "")
    assert all(part in " ".join(result.output.split()) for part in expected), result.output
    assert line, result.output
    assert not (tmp_path / "out").exists()


def test_a_coded_result_is_not_a_bad_score() -> None:
    """Text results are fine on codes that carry no threshold (CMS2's assessments, unrelated observations)."""
    frames = deck_frames({"members": [{"member_id": "M1", "birth_date": "1980-01-01"}],
                          "observation": [{"member_id": "M1", "observation_date": "2025-03-09", "code": "73832-8",
                                           "result": "428171000124102"},
                                          {"member_id": "M1", "observation_date": "2025-03-09", "code": "72166-2",
                                           "result": "never smoker"}]})
    bhmeasures.compute_frames(frames, year=2025, measures=["DSF-E"])
    bad = {**frames, "observation": frames["observation"].with_columns(pl.lit("44261-6").alias("code"))}
    with pytest.raises(InputError, match="not numbers on scored screening instruments"):
        bhmeasures.compute_frames(bad, year=2025, measures=["DSF-E"])


# -- properties -----------------------------------------------------------------------------------------
YEAR = 2025
INSTRUMENTS = [("44261-6", 10), ("55758-7", 3), ("89209-1", 20), ("89204-2", 10), ("73832-8", None), ("73831-0", None)]
VISIT_CODES = ["99213", "99394", "90834", "G8510", "G8431", "G8511", "G8433", "96110", "96127", "H0031", "T1017"]
DX = ["Z00.00", "F32.9", "F31.9", "F41.1", "J06.9"]


@st.composite
def populations(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 6))
    members, fills, obs = [], [], []
    # one unrelated claim, so every measure's required claim columns are filled
    claims = [{"claim_id": "BASE", "member_id": "M0", "claim_start_date": "2025-02-01", "hcpcs_code": "80053",
               "place_of_service_code": "81", "diagnosis_code_1": "Z00.00"}]

    def day(d: int) -> str:
        return (date(YEAR, 1, 1) + timedelta(days=d)).isoformat()

    for i in range(n):
        m = f"M{i}"
        age_days = draw(st.sampled_from([400, 800, 1100, 4500, 6200, 6500, 15000, 24000]))
        birth = (date(YEAR, 1, 1) - timedelta(days=age_days + draw(st.integers(-200, 200)))).isoformat()
        foster = draw(st.booleans())
        start = draw(st.integers(-400, 200))
        members.append({"member_id": m, "birth_date": birth,
                        "enrollment": [{"start": day(start), "end": day(400), "foster_care": foster}]})
        for j in range(draw(st.integers(0, 4))):
            claims.append({"claim_id": f"{m}C{j}", "member_id": m, "claim_start_date": day(draw(st.integers(-30, 364))),
                           "hcpcs_code": draw(st.sampled_from(VISIT_CODES)), "place_of_service_code": "11",
                           "diagnosis_code_1": draw(st.sampled_from(DX))})
        for j in range(draw(st.integers(0, 1))):
            fills.append({"claim_id": f"{m}R{j}", "member_id": m, "dispensing_date": day(draw(st.integers(0, 364))),
                          "ndc_code": "00378261001"})
        for _ in range(draw(st.integers(0, 3))):
            code, threshold = draw(st.sampled_from(INSTRUMENTS))
            if threshold is None:
                result = draw(st.sampled_from(["428171000124102", "428181000124104"]))
            else:
                result = str(draw(st.integers(max(0, threshold - 2), threshold + 1)))
            obs.append({"member_id": m, "observation_date": day(draw(st.integers(-20, 364))), "code": code, "result": result})
    return {"members": members, "medical_claim": claims, "pharmacy_claim": fills, "observation": obs}


def _compute(deck: dict[str, Any]) -> Any:
    return bhmeasures.compute_frames(deck_frames(deck), year=YEAR, measures=SCREENING)


def _counts(result: Any) -> dict[str, tuple[int, int]]:
    total = result.summary.filter(pl.col("stratifier") == "total")
    return {r["rate_id"]: (r["numerator"], r["denominator"]) for r in total.iter_rows(named=True)}


# each example computes six measures: fewer examples than the FUH/FUA/FUM properties
PROPERTY = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@PROPERTY
@given(deck=populations())
def test_numerator_never_exceeds_denominator(deck: dict[str, Any]) -> None:
    result = _compute(deck)
    assert set(result.computed) == set(SCREENING), result.skipped
    assert not check_invariants(result.detail), [str(f) for f in check_invariants(result.detail)]
    for rate, (num, den) in _counts(result).items():
        assert 0 <= num <= den, rate


@PROPERTY
@given(deck=populations(), seed=st.integers(0, 10_000))
def test_observation_row_order_does_not_matter(deck: dict[str, Any], seed: int) -> None:
    shuffled = {**deck, "observation": random.Random(seed).sample(deck["observation"], len(deck["observation"]))}
    a, b = _compute(deck), _compute(shuffled)
    assert a.summary.equals(b.summary)
    assert a.detail.equals(b.detail)


FOLLOW_UPS = [("medical_claim", {"hcpcs_code": "90834", "place_of_service_code": "11", "diagnosis_code_1": "F32.9"}),
              ("medical_claim", {"hcpcs_code": "H0004", "diagnosis_code_1": "F32.9"}),
              ("medical_claim", {"hcpcs_code": "96110", "diagnosis_code_1": "Z00.129"}),
              ("medical_claim", {"hcpcs_code": "96127", "diagnosis_code_1": "Z00.129"}),
              ("pharmacy_claim", {"ndc_code": "00378261001"})]


@PROPERTY
@given(deck=populations(), data=st.data())
def test_adding_a_follow_up_never_lowers_a_numerator(deck: dict[str, Any], data: st.DataObject) -> None:
    """A visit, service or fill that is not an exclusion, a screening or a qualifying encounter only adds evidence."""
    before = _counts(_compute(deck))
    member = data.draw(st.sampled_from([m["member_id"] for m in deck["members"]]))
    table, row = data.draw(st.sampled_from(FOLLOW_UPS))
    when = (date(YEAR, 1, 1) + timedelta(days=data.draw(st.integers(0, 364)))).isoformat()
    added = {**row, "member_id": member, "claim_id": "ADDED"}
    added["claim_start_date" if table == "medical_claim" else "dispensing_date"] = when
    after = _counts(_compute({**deck, table: [*deck[table], added]}))
    for rate, (num, den) in before.items():
        if rate == "CDF" and row.get("hcpcs_code") in ("90834", "96110"):
            continue  # psychotherapy and 96110 are qualifying encounters too: they can add a member to CDF
        assert after[rate][1] == den, rate
        assert after[rate][0] >= num, rate
