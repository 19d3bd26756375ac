"""A tiny data folder as CSV text: one FUH discharge with a follow-up (FUH-7 1/1), one ED visit for substance
use with a buprenorphine fill (FUA-7 1/1), a provider table; helpers to write it as CSV or Parquet."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
from click.testing import CliRunner, Result

from bhmeasures.cli import main

ELIGIBILITY = """member_id,birth_date,gender,enrollment_start_date,enrollment_end_date
M1,1980-01-01,female,2025-01-01,2025-12-31
M2,1990-06-15,male,2025-01-01,2025-12-31
"""
MEDICAL = """\
claim_id,claim_line_number,claim_type,member_id,claim_start_date,claim_end_date,admission_date,discharge_date,bill_type_code,revenue_center_code,hcpcs_code,place_of_service_code,diagnosis_code_1,rendering_npi
IP1,1,institutional,M1,2025-03-01,2025-03-05,2025-03-01,2025-03-05,111,100,,,F32.9,
OP1,1,professional,M1,2025-03-09,2025-03-09,,,,,90834,2,F329,1234567893
ED1,1,professional,M2,2025-04-02,2025-04-02,,,,,99284,23,F10.20,
"""
PHARMACY = """claim_id,member_id,dispensing_date,ndc_code,days_supply
RX1,M1,2025-03-10,12496120803,30
RX2,M2,2025-04-04,00054017613,7
"""
PROVIDER = """npi,taxonomy_code
1234567893,2084P0800X
"""
TEXTS = {"eligibility": ELIGIBILITY, "medical_claim": MEDICAL, "pharmacy_claim": PHARMACY, "provider": PROVIDER}


def write_data(folder: Path, **overrides: str) -> Path:
    """The CSV files, with some tables' text replaced."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in {**TEXTS, **overrides}.items():
        (folder / f"{name}.csv").write_text(text)
    return folder


def frames(**overrides: str) -> dict[str, pl.DataFrame]:
    """Every table as all-text columns, as a CSV file holds them."""
    return {name: pl.read_csv(text.encode(), infer_schema=False) for name, text in {**TEXTS, **overrides}.items()}


def write_parquet(folder: Path, tables: dict[str, pl.DataFrame]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.write_parquet(folder / f"{name}.parquet")
    return folder


def with_columns(tables: dict[str, pl.DataFrame], test: Callable[[str], bool],
                 change: Callable[[pl.Expr], pl.Expr]) -> dict[str, pl.DataFrame]:
    """Every table with `change` applied to the columns whose names pass `test`."""
    return {t: df.with_columns(change(pl.col(c)).alias(c) for c in df.columns if test(c)) for t, df in tables.items()}


# the measures the tiny claims-only data can support (the screening measures need the observation table
# or the foster-care column, and would be skipped with exit 5)
CLAIMS_MEASURES = "FUH,FUA,FUM,IET,CO-FUH,CO-FUA,CO-SUD-ENG"


def compute(data: Path, out: Path, *extra: str) -> Result:
    chosen = () if "--measures" in extra else ("--measures", CLAIMS_MEASURES)
    return CliRunner().invoke(main, ["compute", "--data", str(data), "--out", str(out), "--quiet", *chosen, *extra])


def totals(out: Path) -> dict[str, tuple[int, int]]:
    summary = pl.read_parquet(out / "summary.parquet").filter(pl.col("stratifier") == "total")
    return {r["rate_id"]: (r["denominator"], r["numerator"]) for r in summary.iter_rows(named=True)}
