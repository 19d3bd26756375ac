"""The sample's SUD treatment episodes (sample/sud.py): new episodes from assessments, office visits, withdrawal
management and stays, started and continued the way claims show them, so IET's initiation and engagement come out
near published Medicaid rates, the opioid cohort (medication treatment) highest."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import bhmeasures
from bhmeasures.sample import generate as gen
from bhmeasures.sample import generate_sample, sud

MEMBERS = 30_000


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sud")
    generate_sample(MEMBERS, seed=11, out=out)
    return out


@pytest.fixture(scope="module")
def iet(sample: Path) -> dict[tuple[str, str], dict]:
    result = bhmeasures.compute(bhmeasures.open_inputs(sample), year=2025, measures=["IET"])
    rows = result.summary.filter(pl.col("stratifier").is_in(["total", "cohort"]))
    return {(r["rate_id"], r["stratum"]): r for r in rows.iter_rows(named=True)}


def test_iet_rates_are_near_published_medicaid_rates(iet: dict[tuple[str, str], dict]) -> None:
    # Medicaid IET is about 40-45% initiation and 12-16% engagement; at this size (about 600 episodes) the rates
    # move a few points from seed to seed (seeds 11-18: initiation 41-45%, engagement 12-17%). The sample's
    # ED visits once initiated themselves (facility and physician claims of one visit, two providers): 62% / 5%.
    init, eng = iet[("IET-INIT", "total")], iet[("IET-ENG", "total")]
    assert init["denominator"] > 400
    assert 0.36 < init["rate"] < 0.50, init["rate"]
    assert 0.11 < eng["rate"] < 0.20, eng["rate"]
    # medication treatment (buprenorphine, methadone, naltrexone) puts the opioid cohort first on both rates
    rate = {(rid, c): iet[(rid, c)]["rate"] for rid in ("IET-INIT", "IET-ENG") for c in ("alcohol", "opioid", "other")}
    assert rate[("IET-INIT", "opioid")] > max(rate[("IET-INIT", "alcohol")], rate[("IET-INIT", "other")])
    assert rate[("IET-ENG", "opioid")] > max(rate[("IET-ENG", "alcohol")], rate[("IET-ENG", "other")]) + 0.05
    for c in ("alcohol", "opioid", "other"):
        assert iet[("IET-INIT", c)]["denominator"] > 100, c


def test_episodes_come_from_every_setting_and_treatment(sample: Path) -> None:
    med = pl.read_parquet(sample / "medical_claim.parquet")
    hcpcs = set(med["hcpcs_code"].drop_nulls().unique().to_list())
    # index services, counseling and IOP, office-based and OTP opioid treatment, long-acting injections
    assert {"H0001", "H0014", "H0004", "H0005", "H0015", "G2086", "G2087", "G2067", "J2315", "Q9992"} <= hcpcs
    withdrawal_stays = med.filter(pl.col("revenue_center_code").is_in(["0116", "0126"]) & (pl.col("bill_type_code") == "111"))
    assert withdrawal_stays["member_id"].n_unique() > 0.001 * MEMBERS
    # weekly OTP bundles carry their week as the claim's dates
    otp = med.filter(pl.col("hcpcs_code") == "G2067")
    assert ((otp["claim_end_date"] - otp["claim_start_date"]).dt.total_days() == 6).all()
    # episodes in the intake period's prior-year part (from November 15, 2024)
    assert med.filter(pl.col("claim_start_date").is_between(pl.date(2024, 11, 15), pl.date(2024, 12, 31))
                      & (pl.col("hcpcs_code") == "H0001")).height > 0


def test_every_treatment_code_is_in_a_bundled_value_set() -> None:
    library = bhmeasures.value_sets()
    listed = set().union(*(library[n].codes.get(s, set()) for n in library.names() for s in ("HCPCS", "CPT")))
    codes = {hcpcs for kind in sud.KINDS.values() for _, hcpcs in kind["first_line"]} - {None}
    assert codes <= listed
    ubrev = set().union(*(library[n].codes.get("UBREV", set()) for n in library.names()))
    assert {rev for rev, _ in sud.KINDS["sud_withdrawal_stay"]["first_line"]} <= ubrev
    dx = {c.replace(".", "") for c in library["AOD Abuse and Dependence"].codes["ICD10CM"]}
    assert {c for pool in sud.DX_COHORT.values() for c in pool} <= dx
    for cohort, name in (("alcohol", "Alcohol Abuse and Dependence"), ("opioid", "Opioid Abuse and Dependence"),
                         ("other", "Other Drug Abuse and Dependence")):
        assert set(sud.DX_COHORT[cohort]) <= {c.replace(".", "") for c in library[name].codes["ICD10CM"]}


def test_an_ed_visit_names_one_clinician_on_both_claims(sample: Path) -> None:
    # the facility claim's rendering (attending) provider is the ED physician of the professional claim, so the
    # visit is not its own same-day initiation with "another provider"; the hospital bills it
    med = pl.read_parquet(sample / "medical_claim.parquet").filter(pl.col("claim_line_number") == 1)
    facility = med.filter(pl.col("revenue_center_code") == "0450")
    professional = med.filter(pl.col("place_of_service_code") == "23")
    visits = facility.join(professional, on=["member_id", "claim_start_date"], suffix="_prof")
    assert visits.height > 0.9 * facility.height
    assert (visits["rendering_npi"] == visits["rendering_npi_prof"]).mean() > 0.95
    assert (facility["billing_npi"] != facility["rendering_npi"]).all()


def test_members_in_ongoing_sud_care_were_seen_the_year_before(sample: Path) -> None:
    # their first visit of the year is no new episode: the sample holds their earlier visits
    med = pl.read_parquet(sample / "medical_claim.parquet").filter(pl.col("claim_line_number") == 1)
    chronic = {c for c in gen.DX_CHRONIC["sud"]} | {c[:3] + "." + c[3:] for c in gen.DX_CHRONIC["sud"]}
    visits = med.filter(pl.col("diagnosis_code_1").is_in(list(chronic)) & pl.col("bill_type_code").is_null())
    per_member = visits.group_by("member_id").agg(
        year=(pl.col("claim_start_date").dt.year() == 2025).sum(), before=(pl.col("claim_start_date").dt.year() == 2024).sum())
    enrolled = pl.read_parquet(sample / "eligibility.parquet").group_by("member_id").agg(
        pl.col("enrollment_start_date").min().alias("since"))
    ongoing = per_member.filter(pl.col("year") >= 6).join(enrolled, on="member_id")
    assert ongoing.height > 0.005 * MEMBERS
    # members enrolled from January 1 have no earlier claims (and no episode before 194 days of enrollment); a
    # few new patients in long courses with the same diagnoses pass for ongoing care here
    enrolled_before = ongoing.filter(pl.col("since") <= pl.date(2024, 6, 1))
    assert enrolled_before.height > 0.3 * ongoing.height
    assert (enrolled_before["before"] > 0).mean() > 0.85
