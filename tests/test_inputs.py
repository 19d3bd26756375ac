"""Bad input never produces numbers: one line per problem naming file, column and rows; exit 4; nothing written."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner, Result

from bhmeasures.cli import main
from bhmeasures.errors import ExitCode, InputError
from bhmeasures.inputs.files import find_tables
from bhmeasures.inputs.reader import inputs_from_frames, read_inputs

ELIGIBILITY = """member_id,birth_date,gender,enrollment_start_date,enrollment_end_date
M1,1980-01-01,female,2025-01-01,2025-12-31
M2,1990-06-15,male,2025-01-01,2025-12-31
"""
MEDICAL = """\
claim_id,claim_line_number,claim_type,member_id,claim_start_date,claim_end_date,admission_date,discharge_date,bill_type_code,revenue_center_code,hcpcs_code,place_of_service_code,diagnosis_code_1
IP1,1,institutional,M1,2025-03-01,2025-03-05,2025-03-01,2025-03-05,111,100,,,F32.9
OP1,1,professional,M1,2025-03-09,2025-03-09,,,,,90834,2,F329
"""
PHARMACY = """claim_id,member_id,dispensing_date,ndc_code,days_supply
RX1,M1,2025-03-10,12496120803,30
"""


def write_data(folder: Path, **overrides: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in {"eligibility": ELIGIBILITY, "medical_claim": MEDICAL, "pharmacy_claim": PHARMACY, **overrides}.items():
        (folder / f"{name}.csv").write_text(text)
    return folder


def run(data: Path, out: Path, *extra: str) -> Result:
    return CliRunner().invoke(main, ["compute", "--data", str(data), "--out", str(out), "--quiet", *extra])


def test_valid_csv_inputs_compute_and_restore_leading_zeros(tmp_path: Path) -> None:
    result = run(write_data(tmp_path / "d"), tmp_path / "out", "--measures", "FUH")
    assert result.exit_code == 0, result.output
    detail = pl.read_parquet(tmp_path / "out" / "detail.parquet")
    # revenue code "100" -> "0100" and POS "2" -> "02": the stay and the telehealth follow-up are recognised
    fuh7 = detail.filter(pl.col("rate_id") == "FUH-7").row(0, named=True)
    assert fuh7["event_id"] == "IP1" and fuh7["numerator"] and fuh7["evidence_claim_id"] == "OP1"


@pytest.mark.parametrize(
    ("table", "old", "new", "expected"),
    [
        ("medical_claim", "2025-03-09,2025-03-09", "2025-03-09,2025-13-09", "column claim_end_date has 1 value(s) that are not dates"),
        ("eligibility", "M2,1990-06-15,male,2025-01-01,2025-12-31", "M2,1990-06-15,male,2025-12-31,2025-01-01",
         "column enrollment_end_date is before enrollment_start_date in 1 row(s)"),
        ("pharmacy_claim", "12496120803,30", "12496120803,-30", "column days_supply is negative in 1 row(s)"),
        ("pharmacy_claim", "12496120803,30", "12496120803,thirty", "column days_supply has 1 value(s) that are not whole numbers"),
        ("medical_claim", "claim_id,claim_line_number,claim_type,member_id,", "claim_id,claim_line_number,claim_type,person_id,",
         "required column(s) member_id missing from table medical_claim"),
    ],
)
def test_bad_input_is_reported_and_nothing_written(tmp_path: Path, table: str, old: str, new: str, expected: str) -> None:
    text = {"medical_claim": MEDICAL, "eligibility": ELIGIBILITY, "pharmacy_claim": PHARMACY}[table]
    assert old in text
    data = write_data(tmp_path / "d", **{table: text.replace(old, new)})
    out = tmp_path / "out"
    result = run(data, out)
    assert result.exit_code == ExitCode.INPUT_INVALID, result.output
    assert f"{table}.csv" in result.output and expected in result.output
    assert "line " in result.output or "missing" in result.output  # offending rows are named
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no temp folder left behind


def test_every_problem_in_every_file_is_reported(tmp_path: Path) -> None:
    data = write_data(tmp_path / "d", pharmacy_claim=PHARMACY.replace(",30", ",-1"),
                      eligibility=ELIGIBILITY.replace("1980-01-01", "01/01/1980"))
    with pytest.raises(InputError) as e:
        read_inputs(find_tables(data, {}))
    text = str(e.value)
    assert "days_supply is negative" in text and "birth_date has 1 value(s) that are not dates" in text
    assert "line 2 (01/01/1980, member_id M1)" in text


def test_missing_table_points_at_similarly_named_file(tmp_path: Path) -> None:
    data = write_data(tmp_path / "d")
    (data / "eligibility.csv").rename(data / "eligibility_seed.csv")
    result = run(data, tmp_path / "out")
    assert result.exit_code == ExitCode.INPUT_INVALID
    assert "required table eligibility is missing" in result.output and "--table eligibility=" in result.output


def test_table_option_supplies_oddly_named_files(tmp_path: Path) -> None:
    data = write_data(tmp_path / "d")
    (data / "eligibility.csv").rename(data / "eligibility_seed.csv")
    result = run(data, tmp_path / "out", "--table", f"eligibility={data / 'eligibility_seed.csv'}", "--measures", "FUH")
    assert result.exit_code == 0, result.output


def test_parquet_and_gzip_inputs_give_the_same_result(tmp_path: Path) -> None:
    csv_dir = write_data(tmp_path / "csv")
    pq_dir, gz_dir = tmp_path / "pq", tmp_path / "gz"
    pq_dir.mkdir()
    gz_dir.mkdir()
    import gzip

    for name in ("eligibility", "medical_claim", "pharmacy_claim"):
        frame = pl.read_csv(csv_dir / f"{name}.csv", infer_schema=False)
        frame.write_parquet(pq_dir / f"{name}.parquet")
        (gz_dir / f"{name}.csv.gz").write_bytes(gzip.compress((csv_dir / f"{name}.csv").read_bytes()))
    outs = []
    for d in (csv_dir, pq_dir, gz_dir):
        result = run(d, tmp_path / f"out_{d.name}", "--measures", "FUH")
        assert result.exit_code == 0, result.output
        outs.append(pl.read_parquet(tmp_path / f"out_{d.name}" / "detail.parquet"))
    assert outs[0].equals(outs[1]) and outs[0].equals(outs[2])


def test_measure_with_empty_required_column_is_skipped_with_reason(tmp_path: Path) -> None:
    medical = MEDICAL.replace(",F32.9\n", ",\n").replace(",F329\n", ",\n")
    data = write_data(tmp_path / "d", medical_claim=medical)
    result = CliRunner().invoke(main, ["compute", "--data", str(data), "--out", str(tmp_path / "out"), "--measures", "FUH"])
    assert result.exit_code == ExitCode.MEASURE_SKIPPED
    assert "skipped FUH" in result.output and "every medical_claim.diagnosis_code_1 is empty" in result.output


def test_in_memory_frames_are_checked_like_files() -> None:
    frames = {name: pl.read_csv(text.encode(), infer_schema=False)
              for name, text in {"eligibility": ELIGIBILITY.replace("2025-12-31\n", "2025-02-30\n", 1),
                                 "medical_claim": MEDICAL, "pharmacy_claim": PHARMACY}.items()}
    with pytest.raises(InputError, match="enrollment_end_date has 1 value"):
        inputs_from_frames(frames)


def test_parquet_line_used_by_a_measure_must_have_its_dates(tmp_path: Path) -> None:
    data = tmp_path / "pq"
    data.mkdir()
    for name, text in {"eligibility": ELIGIBILITY, "medical_claim": MEDICAL, "pharmacy_claim": PHARMACY}.items():
        frame = pl.read_csv(text.encode(), infer_schema=False)
        if name == "medical_claim":
            frame = frame.with_columns(
                pl.when(pl.col("claim_id") == "OP1").then(None).otherwise(pl.col("claim_start_date")).alias("claim_start_date"))
        frame.write_parquet(data / f"{name}.parquet")
    out = tmp_path / "out"
    result = run(data, out, "--measures", "FUH")
    assert result.exit_code == ExitCode.INPUT_INVALID, result.output
    assert "medical_claim.parquet: column claim_start_date is empty on 1 line(s)" in result.output and "claims OP1" in result.output
    assert not out.exists()


def test_a_bad_date_is_reported_once(tmp_path: Path) -> None:
    data = write_data(tmp_path / "d", pharmacy_claim=PHARMACY.replace("2025-03-10", "2025-02-30"))
    result = run(data, tmp_path / "out")
    assert result.exit_code == ExitCode.INPUT_INVALID
    assert "dispensing_date has 1 value(s) that are not dates" in result.output
    assert "is empty" not in result.output


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_a_folder_whose_name_looks_like_a_pattern_is_read_as_named(tmp_path: Path, suffix: str) -> None:
    """Brackets and stars are ordinary characters in a folder name ("claims [2025]"), not a file pattern."""
    import bhmeasures
    from bhmeasures.bundled import sample_dir

    folder = tmp_path / "claims [2025] *"
    folder.mkdir()
    for f in sample_dir().glob("*.parquet"):
        frame = pl.read_parquet(f)
        if suffix == "parquet":
            frame.write_parquet(folder / f.name)
        else:
            frame.write_csv(folder / f"{f.stem}.csv")
    got = bhmeasures.compute(bhmeasures.open_inputs(folder), year=2025, measures=["FUH", "IET"])
    expected = bhmeasures.compute(bhmeasures.open_inputs(sample_dir()), year=2025, measures=["FUH", "IET"])
    assert got.summary.sort("rate_id", "stratifier", "stratum").equals(expected.summary.sort("rate_id", "stratifier", "stratum"))
