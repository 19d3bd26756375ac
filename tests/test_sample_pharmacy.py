"""The sample's pharmacy cohorts (sample/pharmacy.py): schizophrenia and depression members with realistic fills,
so that SAA and AMM have rates on generated data and on the bundled demo."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import bhmeasures
from bhmeasures.bundled import sample_dir
from bhmeasures.sample import TABLE_NAMES, generate_sample
from bhmeasures.sample import pharmacy as ph

MEMBERS = 20_000
ORAL = {"00378350205", "00054022020", "00093756956"}
ANTIDEPRESSANTS = {"00049490030", "00093080701", "00093585101"}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pharm")
    generate_sample(MEMBERS, seed=4, out=out)
    return out


def _claims_of(sample: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    return pl.read_parquet(sample / "medical_claim.parquet"), pl.read_parquet(sample / "pharmacy_claim.parquet")


def test_schizophrenia_cohort_has_the_fill_patterns_of_real_claims(sample: Path) -> None:
    med, rx = _claims_of(sample)
    scz = med.filter(pl.col("diagnosis_code_1").str.replace(".", "", literal=True).str.contains(r"^F2[05]"))
    assert scz["member_id"].n_unique() > 0.008 * MEMBERS
    # injections on medical claims and at pharmacies, some saying days supply 1; the injection cohort is a
    # dozen-odd members at this size, so most (not always all) of the four codes appear
    jcodes = set(med.filter(pl.col("hcpcs_code").str.starts_with("J"))["hcpcs_code"].unique().to_list())
    assert len({code for code, *_ in ph.INJECTIONS} & jcodes) >= 3
    lai = rx.filter(pl.col("ndc_code").is_in(list(ph.NDCS["antipsychotic_lai"])))
    assert lai.height > 0 and (lai["days_supply"] == 1).any() and (lai["days_supply"] > 1).any()
    # oral refills picked up early (before the last supply runs out) and late (gaps of over a week)
    oral = rx.filter(pl.col("ndc_code").is_in(list(ORAL))).sort("member_id", "ndc_code", "dispensing_date").with_columns(
        gap=(pl.col("dispensing_date") - pl.col("dispensing_date").shift(1) - pl.duration(days=pl.col("days_supply").shift(1)))
        .dt.total_days().over("member_id", "ndc_code"))
    assert (oral["gap"] < 0).sum() > 50 and (oral["gap"] > 7).sum() > 50
    # switches: members dispensed two different oral antipsychotics
    assert (rx.filter(pl.col("ndc_code").is_in(list(ORAL))).group_by("member_id").agg(pl.col("ndc_code").n_unique())
            ["ndc_code"] > 1).sum() > 5


def test_depression_cohort_starts_in_the_intake_period_with_a_diagnosis(sample: Path) -> None:
    med, rx = _claims_of(sample)
    ad = rx.filter(pl.col("ndc_code").is_in(list(ANTIDEPRESSANTS)))
    prior_year = ad.filter(pl.col("dispensing_date").dt.year() == 2024)
    assert prior_year["member_id"].n_unique() > 0.0015 * MEMBERS  # starts from May 1, 2024
    mdd = med.filter(pl.col("diagnosis_code_1").str.replace(".", "", literal=True).str.contains(r"^F3[23]"))
    on_start = prior_year.group_by("member_id").agg(pl.col("dispensing_date").min().alias("d")).join(
        mdd.select("member_id", d="claim_start_date"), on=["member_id", "d"], how="semi")
    assert on_start.height > 0.5 * prior_year["member_id"].n_unique()


def test_saa_and_amm_have_rates_on_generated_data(sample: Path) -> None:
    result = bhmeasures.compute(bhmeasures.open_inputs(sample), year=2025, measures=["SAA", "AMM"])
    assert not result.skipped
    totals = {r["rate_id"]: r for r in result.summary.filter(pl.col("stratifier") == "total").iter_rows(named=True)}
    assert set(totals) == {"SAA", "AMM-ACUTE", "AMM-CONT"}
    for rate_id, row in totals.items():
        assert row["denominator"] > 100 and row["exclusions"] > 0, row
        assert 0.25 < row["rate"] < 0.9, (rate_id, row["rate"])
    assert totals["AMM-CONT"]["rate"] < totals["AMM-ACUTE"]["rate"]
    reasons = set(result.detail.filter(pl.col("rate_id") == "SAA")["reason"].drop_nulls())
    assert "fewer than two antipsychotic dispensing events in the measurement year" in reasons
    assert "member has a dementia diagnosis in the measurement year" in reasons


def test_the_bundled_demo_regenerates_from_its_seed(tmp_path: Path) -> None:
    """sample_data/ is `bhm sample --members 5000 --seed 2025 --out sample_data` (plus program_inputs_2025.yaml)."""
    generate_sample(5000, seed=2025, out=tmp_path)
    for table in TABLE_NAMES:
        assert_frame_equal(pl.read_parquet(tmp_path / f"{table}.parquet"), pl.read_parquet(sample_dir() / f"{table}.parquet"))
