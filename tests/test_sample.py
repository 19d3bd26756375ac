"""The synthetic sample generator: determinism, contract shape, code formats and planted scenarios."""

from __future__ import annotations

import itertools
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from bhmeasures.inputs.schema import TABLES
from bhmeasures.sample import TABLE_NAMES, generate_sample
from bhmeasures.sample import generate as gen

MEMBERS = 5000

EXPECTED_SCHEMAS = {
    "eligibility": {
        "member_id": pl.String, "birth_date": pl.Date, "gender": pl.String, "enrollment_start_date": pl.Date,
        "enrollment_end_date": pl.Date, "death_date": pl.Date, "payer_type": pl.String, "plan": pl.String,
        "medical_benefit": pl.Boolean, "pharmacy_benefit": pl.Boolean, "mh_benefit": pl.Boolean,
        "cd_benefit": pl.Boolean, "foster_care": pl.Boolean,
    },
    "medical_claim": dict(gen.MEDICAL_SCHEMA),
    "pharmacy_claim": dict(gen.PHARMACY_SCHEMA),
    "attribution": {"member_id": pl.String, "entity_id": pl.String, "start_date": pl.Date, "end_date": pl.Date},
    "provider": {"npi": pl.String, "taxonomy_code": pl.String},
    "observation": {"member_id": pl.String, "observation_date": pl.Date, "code_type": pl.String, "code": pl.String,
                    "result": pl.String},
}
CONTRACT_DTYPES = {"str": (pl.String,), "date": (pl.Date,), "int": (pl.Int32, pl.Int64), "float": (pl.Float64,),
                   "bool": (pl.Boolean,)}


def _read(d: Path) -> dict[str, pl.DataFrame]:
    return {t: pl.read_parquet(d / f"{t}.parquet") for t in TABLE_NAMES}


Sample = tuple[dict[str, int], dict[str, pl.DataFrame]]  # row counts and the tables written


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    out = tmp_path_factory.mktemp("sample5k")
    counts = generate_sample(MEMBERS, seed=1, out=out)
    return counts, _read(out)


def _undot(col: str) -> pl.Expr:
    return pl.col(col).str.replace(".", "", literal=True)


def test_writes_exactly_the_six_tables(sample: Sample, tmp_path: Path) -> None:
    counts, frames = sample
    assert set(counts) == set(TABLE_NAMES)
    assert {t: frames[t].height for t in TABLE_NAMES} == counts
    generate_sample(50, seed=3, out=tmp_path / "new" / "dir")
    assert sorted(p.name for p in (tmp_path / "new" / "dir").iterdir()) == sorted(f"{t}.parquet" for t in TABLE_NAMES)


def test_same_seed_same_frames_different_seed_different(tmp_path: Path) -> None:
    a = generate_sample(1500, seed=11, out=tmp_path / "a")
    b = generate_sample(1500, seed=11, out=tmp_path / "b")
    generate_sample(1500, seed=12, out=tmp_path / "c")
    assert a == b
    fa, fb, fc = _read(tmp_path / "a"), _read(tmp_path / "b"), _read(tmp_path / "c")
    for t in TABLE_NAMES:
        assert_frame_equal(fa[t], fb[t])
    for t in ("eligibility", "medical_claim", "pharmacy_claim", "attribution", "provider", "observation"):
        assert not fa[t].equals(fc[t]), t


@pytest.mark.parametrize("layout", ["compact", "full"])
def test_part_file_fallback_writes_identical_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   layout: str) -> None:
    generate_sample(800, seed=5, out=tmp_path / "plugin", layout=layout)
    monkeypatch.setattr(gen, "USE_IO_PLUGIN", False)
    generate_sample(800, seed=5, out=tmp_path / "parts", layout=layout)
    fp, fq = _read(tmp_path / "plugin"), _read(tmp_path / "parts")
    for t in TABLE_NAMES:
        assert_frame_equal(fp[t], fq[t])
    assert not any(p.name.startswith(".bhm_sample_") for p in (tmp_path / "parts").iterdir())


def test_columns_and_dtypes(sample: Sample) -> None:
    _, frames = sample
    for t, expected in EXPECTED_SCHEMAS.items():
        assert dict(frames[t].schema) == expected, t
        required, optional = TABLES[t]
        assert set(required) <= set(frames[t].columns), t
        for col, dtype in frames[t].schema.items():
            kind = {**required, **optional}.get(col)
            assert kind is not None, f"{t}.{col} is not a contract column"
            assert dtype in CONTRACT_DTYPES[kind], f"{t}.{col}: {dtype}"


def test_row_counts_scale_with_members(sample: Sample, tmp_path: Path) -> None:
    counts, _ = sample
    small = generate_sample(MEMBERS // 5, seed=1, out=tmp_path)
    for t in ("medical_claim", "pharmacy_claim", "eligibility", "attribution"):
        assert 4.0 < counts[t] / small[t] < 6.0, t
    assert small["provider"] == counts["provider"]
    assert MEMBERS <= counts["eligibility"] < 1.1 * MEMBERS
    assert 35 < counts["medical_claim"] / MEMBERS < 45
    assert 6.5 < counts["pharmacy_claim"] / MEMBERS < 9.5


def test_codes_keep_fixed_width_and_leading_zeros(sample: Sample) -> None:
    _, f = sample
    m, rx = f["medical_claim"], f["pharmacy_claim"]

    def widths(df: pl.DataFrame, col: str) -> set[int]:
        return set(df[col].drop_nulls().str.len_chars().unique().to_list())

    assert widths(m, "revenue_center_code") == {4}
    assert widths(m, "place_of_service_code") == {2}
    assert widths(m, "bill_type_code") == {3}
    assert widths(rx, "ndc_code") == {11}
    assert {"0450", "0114", "0900", "0022"} <= set(m["revenue_center_code"].unique().to_list())
    assert {"02", "10", "11", "52", "53", "57", "81"} <= set(m["place_of_service_code"].unique().to_list())
    assert set(m["bill_type_code"].drop_nulls().unique().to_list()) == {"111", "131", "211", "811"}
    assert rx["ndc_code"].str.starts_with("0").any()
    for df, col in ((m, "member_id"), (rx, "member_id"), (f["eligibility"], "member_id")):
        assert df[col].str.contains(r"^M\d{9}$").all()
    assert m["claim_id"].str.contains(r"^MC\d{10}$").all()
    assert rx["claim_id"].str.contains(r"^RX\d{10}$").all() and rx["claim_id"].is_unique().all()
    # institutional lines carry revenue codes and bill types, professional lines a place of service
    inst = m.filter(pl.col("claim_type") == "institutional")
    prof = m.filter(pl.col("claim_type") == "professional")
    assert inst["revenue_center_code"].null_count() == 0 and inst["place_of_service_code"].null_count() == inst.height
    assert prof["place_of_service_code"].null_count() == 0 and prof["bill_type_code"].null_count() == prof.height


def test_npis_are_valid_and_every_rendering_npi_has_a_taxonomy(sample: Sample) -> None:
    _, f = sample
    prov = f["provider"]
    assert prov["npi"].is_unique().all() and prov["npi"].str.contains(r"^[12]\d{9}$").all()
    digits = prov["npi"].str.split("").list.eval(pl.element().cast(pl.Int64)).to_list()
    for d in digits[:500]:  # Luhn over the 80840 prefix
        base, check = d[:9], d[9]
        s = 24 + sum(x * 2 // 10 + x * 2 % 10 if i % 2 == 0 else x for i, x in enumerate(base))
        assert (10 - s % 10) % 10 == check
    m = f["medical_claim"]
    assert set(m["rendering_npi"].unique().to_list()) <= set(prov["npi"].to_list())
    missing = m["rendering_taxonomy_code"].is_null().mean()
    assert 0.25 < missing < 0.35


def test_population_shape(sample: Sample) -> None:
    _, f = sample
    e = f["eligibility"]
    members = e["member_id"].n_unique()
    assert members == MEMBERS
    age = e.unique("member_id").select(a=(pl.date(2025, 1, 1) - pl.col("birth_date")).dt.total_days() // 365)["a"]
    assert 0.35 < (age < 18).mean() < 0.45 and 0.03 < (age >= 65).mean() < 0.07
    spans = e.group_by("member_id").len()
    assert 0.03 < (spans["len"] == 2).mean() < 0.07
    assert 0 < e["death_date"].drop_nulls().len() < 0.01 * MEMBERS
    full = e.filter((pl.col("enrollment_start_date") <= pl.date(2025, 1, 1))
                    & (pl.col("enrollment_end_date") >= pl.date(2026, 1, 31)))
    assert 0.8 < full.height / MEMBERS < 0.9
    assert (e["enrollment_end_date"] >= e["enrollment_start_date"]).all()
    assert set(e["gender"].unique().to_list()) == {"female", "male"}
    assert set(f["attribution"]["entity_id"].unique().to_list()) <= {f"RAE-{i}" for i in range(1, 8)}


def test_behavioural_health_scenarios_occur(sample: Sample) -> None:
    _, f = sample
    m = f["medical_claim"].with_columns(dx1=_undot("diagnosis_code_1"), dx2=_undot("diagnosis_code_2"))
    hdr = m.filter(pl.col("claim_line_number") == 1)
    mi_dx = pl.col("dx1").str.contains(r"^F(2|3|4[0-3]|6)")

    # MH acute stays, with admission/discharge dates, and a readmission within 30 days
    mh = hdr.filter((pl.col("bill_type_code") == "111") & mi_dx)
    assert mh.height > 0 and mh["admission_date"].null_count() == 0 and mh["discharge_date"].null_count() == 0
    stays = hdr.filter(pl.col("bill_type_code").is_in(["111", "211"])).select(
        "member_id", "admission_date", "bill_type_code")
    after = mh.select("member_id", "discharge_date").join(stays, on="member_id").with_columns(
        gap=(pl.col("admission_date") - pl.col("discharge_date")).dt.total_days())
    assert after.filter(pl.col("gap").is_between(1, 30) & (pl.col("bill_type_code") == "111")).height > 0
    assert after.filter(pl.col("gap").is_between(1, 30) & (pl.col("bill_type_code") == "211")).height > 0

    # follow-up visits with a MI diagnosis 1-7 days after discharge, and some on the discharge day only
    visits = hdr.filter(pl.col("bill_type_code").is_null() | (pl.col("bill_type_code") == "131")).filter(
        mi_dx & (pl.col("revenue_center_code").fill_null("") != "0450")
        & (pl.col("place_of_service_code").fill_null("") != "23")).select("member_id", v="claim_start_date")
    fu = mh.select("member_id", "discharge_date").join(visits, on="member_id").with_columns(
        off=(pl.col("v") - pl.col("discharge_date")).dt.total_days())
    assert fu.filter(pl.col("off").is_between(1, 7)).height > 0
    assert fu.filter(pl.col("off").is_between(8, 30)).height > 0
    assert fu.filter(pl.col("off") == 0).height > 0

    # ED visits for SUD (principal SUD or an overdose in position 2) and for mental illness
    ed = hdr.filter(pl.col("revenue_center_code") == "0450")
    ed_sud = ed.filter(pl.col("dx1").str.starts_with("F1") | pl.col("dx2").str.starts_with("T40"))
    ed_mi = ed.filter(mi_dx | pl.col("dx1").str.starts_with("T1491"))
    assert ed_sud.filter(pl.col("dx2").str.starts_with("T40")).height > 0
    assert ed_sud.height > 0 and ed_mi.height > 0
    admitted = ed_mi.select("member_id", d="claim_start_date").join(stays, on="member_id").filter(
        (pl.col("admission_date") - pl.col("d")).dt.total_days().is_between(0, 30))
    assert admitted.height > 0

    # FUA follow-up by SUD-diagnosed visit and by MOUD dispensing
    sud_visits = hdr.filter(pl.col("dx1").str.starts_with("F1") & (pl.col("revenue_center_code").is_null()))
    fua = ed_sud.select("member_id", d="claim_start_date").join(
        sud_visits.select("member_id", v="claim_start_date"), on="member_id").filter(
        (pl.col("v") - pl.col("d")).dt.total_days().is_between(0, 7))
    assert fua.height > 0
    moud = {n for c in ("sud_buprenorphine_naloxone", "sud_buprenorphine", "sud_naltrexone_oral")
            for n in gen._load_bh_ndcs()[c].tolist()}
    fills = f["pharmacy_claim"].filter(pl.col("ndc_code").is_in(list(moud)))
    rx_fu = ed_sud.select("member_id", d="claim_start_date").join(
        fills.select("member_id", v="dispensing_date"), on="member_id").filter(
        (pl.col("v") - pl.col("d")).dt.total_days().is_between(0, 30))
    assert rx_fu.height > 0

    # service types used as follow-up, telehealth, hospice, dotted and undotted BH codes
    hcpcs = set(m["hcpcs_code"].drop_nulls().unique().to_list())
    assert {"90834", "90837", "90791", "H0035", "H0004", "H0005", "H0038", "99284", "G9473"} <= hcpcs
    assert m.filter(pl.col("revenue_center_code") == "0651").height > 0
    f_dx = m.filter(pl.col("diagnosis_code_1").str.starts_with("F"))["diagnosis_code_1"]
    dotted = f_dx.str.contains(".", literal=True).mean()
    assert 0.1 < dotted < 0.3
    assert f["pharmacy_claim"]["days_supply"].min() > 0


def test_bh_drugs_are_in_the_bundled_medication_value_sets(tmp_path: Path) -> None:
    import bhmeasures

    library = bhmeasures.value_sets()
    listed = set().union(*(library[name].codes.get("NDC", set()) for name in (
        "Opioid Use Disorder Treatment Medications", "Alcohol Use Disorder Treatment Medications",
        "Antidepressant Medications", "Antipsychotic Medications", "Long-Acting Injectable Antipsychotic Medications")))
    embedded = {n for v in gen.BH_NDCS.values() for n in v}
    assert embedded <= listed
    counts = generate_sample(400, seed=2, out=tmp_path / "out")
    rx = pl.read_parquet(tmp_path / "out" / "pharmacy_claim.parquet")
    assert rx.height == counts["pharmacy_claim"]
    assert rx["ndc_code"].is_in(sorted(embedded)).any()


def test_background_ndcs_are_not_bh_drugs() -> None:
    import bhmeasures

    library = bhmeasures.value_sets()
    background = set(gen._background_ndcs().tolist())
    assert len(background) == gen.BACKGROUND_NDC_COUNT
    for name in library.names():
        assert not background & library[name].codes.get("NDC", set()), name


def test_rejects_non_positive_member_count(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="members must be at least 1"):
        generate_sample(0, seed=1, out=tmp_path)


def test_bundled_demo_data_regenerates(tmp_path: Path) -> None:
    """sample_data/ is `bhm sample --members 5000 --seed 2025`: regenerate it after changing the generator."""
    bundled = Path(__file__).parent.parent / "sample_data"
    generate_sample(5000, seed=2025, out=tmp_path)
    for t in TABLE_NAMES:
        assert_frame_equal(pl.read_parquet(tmp_path / f"{t}.parquet"), pl.read_parquet(bundled / f"{t}.parquet"), check_exact=True)


def test_screening_scenarios_are_planted(sample: Sample) -> None:
    """Screening instruments positive and negative, brief followed by full-length, G-codes, foster-care starts,
    developmental screening and other observations the measures do not use."""
    _, frames = sample
    obs, med, elig = frames["observation"], frames["medical_claim"], frames["eligibility"]
    codes = set(obs["code"])
    assert {"44261-6", "55758-7", "73832-8", "8480-6", "72166-2"} <= codes
    phq9 = obs.filter(pl.col("code") == "44261-6")["result"].cast(pl.Int64)
    assert (phq9 >= 10).any() and (phq9 < 10).any()
    brief_then_full = obs.filter(pl.col("code").is_in(["55758-7", "44261-6"])).group_by("member_id", "observation_date").agg(
        pl.col("code").n_unique().alias("n")).filter(pl.col("n") == 2)
    assert brief_then_full.height > 0
    assert {"G8510", "G8431", "G8511", "G8433", "96110", "96127"} <= set(med["hcpcs_code"].drop_nulls())
    foster = elig.filter(pl.col("foster_care"))
    assert foster.height > 0 and set(elig["foster_care"].unique()) == {True, False}


# ---------------------------------------------------------------------------------------------
# Layouts: compact (unchanged) and full (the same claims as real Tuva extracts carry them)
# ---------------------------------------------------------------------------------------------

TUVA = Path(__file__).resolve().parents[2] / "shared" / "external" / "tuva-synthetic-claims" / "tuva_ci_2026"
LAYOUT_MEMBERS = 4000
COMPACT_MEDICAL = list(gen.MEDICAL_SCHEMA)
COMPACT_PHARMACY = list(gen.PHARMACY_SCHEMA)


def test_compact_layout_regenerates_the_bundled_sample_byte_for_byte(tmp_path: Path) -> None:
    from bhmeasures.bundled import sample_dir

    # sample_data/ was made with `bhm sample --members 5000 --seed 2025`
    counts = generate_sample(5000, seed=2025, out=tmp_path, layout="compact")
    assert counts["eligibility"] == pl.scan_parquet(sample_dir() / "eligibility.parquet").select(pl.len()).collect().item()
    for t in TABLE_NAMES:
        assert (tmp_path / f"{t}.parquet").read_bytes() == (sample_dir() / f"{t}.parquet").read_bytes(), t


@pytest.fixture(scope="module")
def layouts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from click.testing import CliRunner

    from bhmeasures.cli import main

    dirs = {}
    for layout in ("compact", "full"):
        dirs[layout] = tmp_path_factory.mktemp(layout)
        args = ["sample", "--members", str(LAYOUT_MEMBERS), "--seed", "4", "--out", str(dirs[layout]), "--layout", layout]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
    return dirs


def test_full_layout_holds_the_same_claims(layouts: dict[str, Path]) -> None:
    compact, full_ = _read(layouts["compact"]), _read(layouts["full"])
    key = ["claim_id", "claim_line_number"]
    assert_frame_equal(full_["medical_claim"].select(COMPACT_MEDICAL).sort(key), compact["medical_claim"].sort(key))
    assert_frame_equal(full_["pharmacy_claim"].select(COMPACT_PHARMACY).sort("claim_id"),
                       compact["pharmacy_claim"].sort("claim_id"))
    for t in ("eligibility", "attribution", "provider", "observation"):
        assert (layouts["full"] / f"{t}.parquet").read_bytes() == (layouts["compact"] / f"{t}.parquet").read_bytes()


def test_full_layout_has_every_tuva_input_layer_column_with_contract_types(layouts: dict[str, Path]) -> None:
    m = pl.read_parquet(layouts["full"] / "medical_claim.parquet")
    rx = pl.read_parquet(layouts["full"] / "pharmacy_claim.parquet")
    tuva_medical = pl.read_csv(TUVA / "medical_claim_seed.csv", n_rows=0).columns
    tuva_pharmacy = pl.read_csv(TUVA / "pharmacy_claim_seed.csv", n_rows=0).columns
    assert m.columns == [*tuva_medical, "rendering_taxonomy_code"]  # the contract's column for the provider type
    assert rx.columns == tuva_pharmacy
    for t, df in (("medical_claim", m), ("pharmacy_claim", rx)):
        types = {**TABLES[t][0], **TABLES[t][1]}
        for col, dtype in df.schema.items():
            if col in types:
                assert dtype in CONTRACT_DTYPES[types[col]], f"{t}.{col}: {dtype}"
    # mostly null, as real extracts carry them
    assert m.select(pl.all().is_null().mean()).row(0, named=True)["procedure_code_1"] > 0.99
    assert m["rendering_tin"].is_null().all() and m["diagnosis_code_type"].eq("icd-10-cm").all()
    assert (m["person_id"] == m["member_id"]).all() and m["plan"].null_count() == 0


def test_full_layout_rows_are_shuffled_with_each_claim_kept_together(layouts: dict[str, Path]) -> None:
    for t in ("medical_claim", "pharmacy_claim"):
        ids = pl.read_parquet(layouts["full"] / f"{t}.parquet", columns=["member_id"])["member_id"]
        assert not ids.is_sorted()
        runs = ids.rle().len()  # sorted: one run per member (~2-10% of rows); shuffled: about one per claim
        assert runs > 0.3 * ids.len()
    m = pl.read_parquet(layouts["full"] / "medical_claim.parquet", columns=["claim_id", "claim_line_number"])
    blocks = m.with_columns(block=(pl.col("claim_id") != pl.col("claim_id").shift().fill_null("")).cum_sum())
    assert blocks["block"].max() == m["claim_id"].n_unique()  # one contiguous block per claim
    in_order = blocks.select((pl.col("claim_line_number") == pl.int_range(1, pl.len() + 1).over("block")).all())
    assert in_order.item()


def test_full_layout_is_deterministic_for_a_seed(layouts: dict[str, Path], tmp_path: Path) -> None:
    generate_sample(LAYOUT_MEMBERS, seed=4, out=tmp_path, layout="full")
    for t in TABLE_NAMES:
        assert (tmp_path / f"{t}.parquet").read_bytes() == (layouts["full"] / f"{t}.parquet").read_bytes(), t


def test_full_layout_fills_extra_positions_like_real_extracts(layouts: dict[str, Path]) -> None:
    m = pl.read_parquet(layouts["full"] / "medical_claim.parquet")
    filled = m.select(pl.col(f"diagnosis_code_{i}").is_not_null().mean() for i in range(5, 26)).row(0)
    assert 0.30 < filled[0] < 0.50  # a 5th diagnosis on ~40% of lines
    assert 0.02 < filled[12 - 5] < 0.06  # ~2-5% reach position 12
    assert 0 < filled[-1] < 0.005  # a few reach 25
    assert all(a >= b for a, b in itertools.pairwise(filled))
    by_type = m.group_by("claim_type").agg(pl.col("diagnosis_code_5").is_not_null().mean())
    share = dict(by_type.iter_rows())
    assert share["institutional"] > share["professional"] + 0.1
    # procedures and present-on-admission flags on acute inpatient claims only, dated within the stay
    inpatient = pl.col("bill_type_code").str.starts_with("11").fill_null(False)
    assert m.filter(~inpatient).select(pl.col("procedure_code_1", "diagnosis_poa_1", "drg_code").null_count()
                                       .sum()).row(0) == (m.filter(~inpatient).height,) * 3
    stays = m.filter(inpatient & (pl.col("claim_line_number") == 1))
    assert 0.4 < stays["procedure_code_1"].is_not_null().mean() < 0.7
    dated = stays.filter(pl.col("procedure_code_1").is_not_null())
    assert dated["procedure_date_1"].is_between(dated["claim_start_date"], dated["claim_end_date"]).all()
    assert stays["diagnosis_poa_1"].null_count() == 0 and stays["procedure_code_type"].drop_nulls().eq("icd-10-pcs").all()
    # a claim never lists a code twice
    codes = m.filter(pl.col("claim_line_number") == 1).select(
        pl.concat_list([f"diagnosis_code_{i}" for i in range(5, 26)]).list.drop_nulls().alias("dx"),
        pl.concat_list([f"procedure_code_{i}" for i in range(1, 26)]).list.drop_nulls().alias("pcs"))
    for c in ("dx", "pcs"):
        assert (codes[c].list.len() == codes[c].list.n_unique()).all()
    mods = m.select(pl.col(f"hcpcs_modifier_{i}").is_not_null().mean() for i in range(1, 6)).row(0)
    assert 0.15 < mods[0] < 0.35 and mods[1] < 0.06 and all(a >= b for a, b in itertools.pairwise(mods))
    assert (m["facility_npi"].is_not_null() == (m["claim_type"] == "institutional")).all()
    assert (m["allowed_amount"] >= m["paid_amount"]).all()


def test_full_layout_extra_codes_are_in_no_value_set(layouts: dict[str, Path]) -> None:
    import bhmeasures
    from bhmeasures.sample import full

    library = bhmeasures.value_sets()

    def listed(system: str) -> tuple[set[str], tuple[str, ...]]:
        exact = {c.replace(".", "") for n in library.names() for c in library[n].codes.get(system, set())}
        prefixes = tuple(p.replace(".", "") for n in library.names() for p in library[n].prefixes.get(system, set()))
        return exact, prefixes

    for system, pool in (("ICD10CM", full.DX_SECONDARY), ("ICD10PCS", full.PCS_INPATIENT)):
        exact, prefixes = listed(system)
        assert exact and len(set(pool)) == len(pool)
        for code in pool:
            assert code not in exact and not code.startswith(prefixes), code
    compact_pools = {c for name in dir(gen) if name.startswith("DX_") for c in getattr(gen, name)
                     if isinstance(getattr(gen, name), tuple)}
    assert not compact_pools & set(full.DX_SECONDARY)
    assert not any(c.startswith(gen.BH_DX_PREFIXES) for c in full.DX_SECONDARY)
    m = pl.read_parquet(layouts["full"] / "medical_claim.parquet")
    extra = set(m.select(pl.concat_list([f"diagnosis_code_{i}" for i in range(5, 26)]).explode().drop_nulls())
                .to_series().unique().to_list())
    pcs = set(m.select(pl.concat_list([f"procedure_code_{i}" for i in range(1, 26)]).explode().drop_nulls())
              .to_series().unique().to_list())
    assert extra and extra <= set(full.DX_SECONDARY)
    assert pcs and pcs <= set(full.PCS_INPATIENT)


def test_both_layouts_give_the_same_rates_and_detail(layouts: dict[str, Path]) -> None:
    from click.testing import CliRunner

    from bhmeasures.cli import main

    results = {}
    for layout, data in layouts.items():
        out = data.parent / f"{data.name}-results"
        # every shipped measure: the full layout's extra columns (units, later diagnosis positions) change none
        result = CliRunner().invoke(main, ["compute", "--data", str(data), "--out", str(out), "--quiet"])
        assert result.exit_code == 0, result.output
        results[layout] = {t: pl.read_parquet(out / f"{t}.parquet") for t in ("summary", "detail")}
    totals = results["compact"]["summary"].filter(pl.col("stratifier") == "total")
    assert set(totals["measure_id"]) >= {"FUH", "FUA", "FUM", "IET", "CDF", "DSF-E", "DEV", "CO-BH-ENG"}
    assert (totals.filter(pl.col("measure_id").is_in(["FUH", "FUA", "FUM", "IET"]))["denominator"] > 0).all()
    for t in ("summary", "detail"):
        assert_frame_equal(results["full"][t], results["compact"][t])


def test_full_layout_writes_large_snappy_row_groups_with_statistics(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    from bhmeasures.sample import full

    assert full.WRITE_OPTIONS["row_group_size"] == full.ROW_GROUP_ROWS == 1_000_000
    monkeypatch.setitem(full.WRITE_OPTIONS, "row_group_size", 30_000)  # a small population, several groups
    counts = generate_sample(2000, seed=6, out=tmp_path, layout="full")
    meta = pq.ParquetFile(tmp_path / "medical_claim.parquet").metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert len(sizes) > 1 and set(sizes[:-1]) == {30_000} and sum(sizes) == counts["medical_claim"]
    col = meta.row_group(0).column(meta.schema.names.index("diagnosis_code_1"))
    assert col.compression == "SNAPPY" and col.statistics is not None and col.statistics.has_min_max


def test_rejects_unknown_layout(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="layout must be one of compact, full"):
        generate_sample(10, seed=1, out=tmp_path, layout="wide")
