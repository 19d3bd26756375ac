"""The `bhm` commands end to end: demo defaults, output files, formats, JSON, manifest, explain."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from bhmeasures.cli import main
from bhmeasures.errors import ExitCode

RATES = {"FUH-7", "FUH-30", "FUA-7", "FUA-30", "FUM-7", "FUM-30", "IET-INIT", "IET-ENG", "CO-FUH-7", "CO-FUA-7", "CO-SUD-ENG",
         "CDF", "DSF-SCREEN", "DSF-FOLLOWUP", "DEV-12", "DEV-24", "DEV-36", "DEV-TOTAL", "CO-DEP-FU", "CO-FOSTER-BH",
         "CO-BH-ENG", "SAA", "AMM-ACUTE", "AMM-CONT"}
MEASURES = {"FUH", "FUA", "FUM", "IET", "CO-FUH", "CO-FUA", "CO-SUD-ENG", "CDF", "DSF-E", "DEV", "CO-DEP-FU", "CO-FOSTER-BH",
            "CO-BH-ENG", "SAA", "AMM"}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    result = CliRunner().invoke(main, ["sample", "--members", "3000", "--seed", "11", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_bare_compute_runs_the_bundled_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["compute"])
    assert result.exit_code == 0, result.output
    for rate in RATES:
        assert rate in result.output
    summary = pl.read_parquet(tmp_path / "bhm_results" / "summary.parquet")
    totals = summary.filter(pl.col("stratifier") == "total")
    assert set(totals["rate_id"]) == RATES
    assert (totals["denominator"] > 0).all()


def test_outputs_follow_the_contract(sample: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["compute", "--data", str(sample), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.output == ""
    summary = pl.read_parquet(out / "summary.parquet")
    detail = pl.read_parquet(out / "detail.parquet")
    # the contract's columns first, in its order; then what the contract grew (initial population, exceptions, scoring)
    assert summary.columns == ["measure_id", "rate_id", "stratifier", "stratum", "denominator", "numerator", "exclusions", "rate",
                               "initial_population", "exceptions", "scoring"]
    assert detail.columns == ["measure_id", "rate_id", "member_id", "event_id", "index_date", "denominator", "numerator",
                              "excluded", "reason", "evidence_claim_id", "evidence_date", "entity_id", "exception"]
    assert {"total", "age_band", "entity"} <= set(summary["stratifier"])
    # the summary is the detail counted
    counted = detail.group_by("rate_id").agg(pl.col("denominator").sum(), pl.col("numerator").sum(), pl.col("excluded").sum())
    totals = summary.filter(pl.col("stratifier") == "total").join(counted, on="rate_id", suffix="_d")
    assert (totals["denominator"] == totals["denominator_d"]).all()
    assert (totals["numerator"] == totals["numerator_d"]).all()
    assert (totals["exclusions"] == totals["excluded"]).all()
    # every row out of the denominator says why; every numerator row names its evidence
    assert detail.filter(~pl.col("denominator") & pl.col("reason").is_null()).is_empty()
    assert detail.filter(pl.col("numerator") & pl.col("evidence_claim_id").is_null()).is_empty()
    assert detail.filter(pl.col("numerator") & ~pl.col("denominator")).is_empty()
    # entity strata add up to the attributed total
    entity = summary.filter(pl.col("stratifier") == "entity").group_by("rate_id").agg(pl.col("denominator").sum())
    attributed = detail.filter(pl.col("denominator") & pl.col("entity_id").is_not_null()).group_by("rate_id").len()
    assert entity.join(attributed, on="rate_id").filter(pl.col("denominator") != pl.col("len")).is_empty()

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["measurement_period"]["year"] == 2025
    assert {s["id"] for s in manifest["specs"]} == MEASURES
    assert all(len(s["sha256"]) == 64 for s in manifest["specs"])
    assert {i["table"] for i in manifest["inputs"]} >= {"eligibility", "medical_claim", "pharmacy_claim"}
    assert all(len(i["sha256"]) == 64 and i["rows"] > 0 for i in manifest["inputs"])
    assert any(v["name"] == "Mental Illness" and "public-substitute" in v["provenance"] for v in manifest["value_sets"])


def test_csv_format_and_json_stdout(sample: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["compute", "--data", str(sample), "--out", str(out), "--format", "csv", "--json",
                                       "--measures", "fuh"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert {r["rate_id"] for r in payload["summary"]} == {"FUH-7", "FUH-30"}
    csv_summary = pl.read_csv(out / "summary.csv")
    assert csv_summary.height == len(payload["summary"])
    assert not (out / "summary.parquet").exists()


def test_unknown_measure_is_a_clear_error(sample: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["compute", "--data", str(sample), "--out", str(tmp_path / "o"), "--measures", "FUX"])
    assert result.exit_code == ExitCode.USAGE_ERROR
    assert "unknown measure 'FUX'" in result.output and "did you mean 'FU" in result.output
    assert not (tmp_path / "o").exists()


def test_bad_table_option(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["compute", "--table", "eligibility", "--out", str(tmp_path / "o")])
    assert result.exit_code == ExitCode.USAGE_ERROR
    assert "NAME=PATH" in result.output


def test_sample_is_deterministic(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        assert CliRunner().invoke(main, ["sample", "--members", "500", "--seed", "3", "--out", str(d)]).exit_code == 0
    for name in ("eligibility", "medical_claim", "pharmacy_claim"):
        assert pl.read_parquet(a / f"{name}.parquet").equals(pl.read_parquet(b / f"{name}.parquet"))


def test_explain_shows_named_steps() -> None:
    result = CliRunner(env={"COLUMNS": "240"}).invoke(main, ["explain", "FUH"])
    assert result.exit_code == 0, result.output
    for step in ("FUH-7", "Eligible Discharges", "Last Discharges Of Mental Health Readmission Chains", "readmission_chain"):
        assert step in result.output


def test_rerun_replaces_results(sample: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["compute", "--data", str(sample), "--out", str(out), "--quiet", "--measures", "FUA"]
    assert CliRunner().invoke(main, args).exit_code == 0
    assert CliRunner().invoke(main, [*args, "--format", "csv"]).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["detail.csv", "manifest.json", "summary.csv"]


TUVA = Path(__file__).resolve().parents[2] / "shared" / "external" / "tuva-synthetic-claims" / "tuva_ci_2026"


@pytest.mark.skipif(not TUVA.exists(), reason="the shared Tuva files sit beside the project")
def test_real_tuva_files_say_what_they_could_not_support(tmp_path: Path) -> None:
    tables = [f"--table={t}={TUVA / f'{t}_seed.csv'}" for t in ("eligibility", "medical_claim", "pharmacy_claim")]
    # claims only: DSF-E (observations) and CO-FOSTER-BH (foster_care) are skipped with the reason (exit 5), and so are
    # SAA and AMM (days_supply is empty)
    result = CliRunner().invoke(main, ["compute", *tables, "--year", "2017", "--out", str(tmp_path / "all"), "--json"])
    assert result.exit_code == ExitCode.MEASURE_SKIPPED, result.output
    payload = json.loads(result.output.splitlines()[0])
    assert {"DSF-E", "CO-FOSTER-BH"} <= set(payload["skipped"])
    assert payload["skipped"]["SAA"] == payload["skipped"]["AMM"] == "every pharmacy_claim.days_supply is empty"
    assert not [r for r in payload["summary"] if r["measure_id"] in ("SAA", "AMM")]
    result = CliRunner().invoke(main, ["compute", *tables, "--year", "2017", "--measures", "FUH,FUA,FUM,IET,CDF,DEV",
                                       "--out", str(tmp_path / "o"), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    notes = " | ".join(payload["notes"])
    assert "no attribution table" in notes and "days_supply is empty" in notes and "FUA: no candidate ED visit" in notes
    totals = {r["rate_id"]: (r["denominator"], r["numerator"]) for r in payload["summary"] if r["stratifier"] == "total"}
    assert totals["FUH-30"] == (1, 0) and totals["FUM-30"] == (0, 0) and totals["FUA-30"] == (0, 0)
    detail = pl.read_parquet(tmp_path / "o" / "detail.parquet")
    fum = detail.filter(pl.col("rate_id") == "FUM-30").row(0, named=True)
    assert fum["event_id"] == "340806" and fum["excluded"] and "admitted to inpatient care" in fum["reason"]


def test_compute_table_explains_its_columns_dashes_and_what_it_leaves_out(sample: Path, tmp_path: Path) -> None:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(main, ["compute", "--data", str(sample), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    entity_rows = pl.read_parquet(tmp_path / "o" / "summary.parquet").filter(pl.col("stratifier") == "entity").height
    assert entity_rows > 0
    assert f"Not shown: {entity_rows:,} rows of entity strata" in result.output and "in summary.parquet" in result.output
    for words in ("denominator: events that meet", "numerator: those with the follow-up", "exclusions: events taken out",
                  "rate % = numerator / denominator", "- : no events in the denominator (0/0)"):
        assert words in result.output
    assert "entity" not in result.output.split("Not shown")[0].split("rate %")[1]  # no entity rows in the table itself
    # each stratum is labelled by its own stratifier, as the summary names it
    summary = pl.read_parquet(tmp_path / "o" / "summary.parquet")
    labels = {"age_band": "age", "payer_type": "payer", "cohort": "cohort"}
    for stratifier, stratum in summary.filter(~pl.col("stratifier").is_in(["total", "entity"])).select(
            "stratifier", "stratum").unique().iter_rows():
        assert f"{labels[stratifier]} {stratum}" in result.output
    assert "age medicaid" not in result.output and "age alcohol" not in result.output


def test_a_rate_without_denominator_shows_a_dash_and_says_why(tmp_path: Path) -> None:
    from tinydata import write_data

    # claims only: the measures that need observations or foster care would be skipped (exit 5)
    result = CliRunner(env={"COLUMNS": "200"}).invoke(main, ["compute", "--data", str(write_data(tmp_path / "d")),
                                                            "--measures", "FUH,FUA,FUM,IET", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    fum = next(line for line in result.output.splitlines() if "FUM-7" in line)
    assert fum.replace("│", " ").split()[-1] == "-"
    assert "(0/0)" in result.output and "note: FUM: no candidate" in result.output
    assert "Not shown" not in result.output and "note: no attribution table" in result.output


@pytest.mark.parametrize(("command", "target"), [
    (["compute", "--quiet"], "bhmeasures.api.run"),
    (["validate"], "bhmeasures.api.validate"),
    (["explain", "FUH"], "bhmeasures.api.prepare_specs"),
    (["sample", "--out", "s"], "bhmeasures.sample.generate_sample"),
    (["pay", "--program", "mssp"], "bhmeasures.payment.run_payment"),
    (["programs"], "bhmeasures.payment.describe_programs"),
])
def test_ctrl_c_exits_130_from_every_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str], target: str) -> None:
    def pressed(*_args: object, **_kw: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(target, pressed)
    result = CliRunner().invoke(main, command)
    assert result.exit_code == ExitCode.INTERRUPTED == 130
    assert "interrupted" in result.output and "Traceback" not in result.output
    assert [p.name for p in tmp_path.iterdir()] == []  # nothing written, no temporary folder


def test_a_code_column_that_matches_no_value_set_is_named_in_the_notes(tmp_path: Path) -> None:
    import tinydata
    # codes written with a system prefix are not a spelling bhm can normalise: every rate becomes 0/0, and the
    # notes must say which columns held values none of which is in a value set
    prefixed = tinydata.MEDICAL.replace(",F32.9,", ",ICD10:F32.9,").replace(",F329,", ",ICD10:F329,") \
        .replace(",F10.20,", ",ICD10:F10.20,").replace(",90834,", ",CPT:90834,").replace(",99284,", ",CPT:99284,")
    for name, medical in (("plain", tinydata.MEDICAL), ("prefixed", prefixed)):
        data = tinydata.write_data(tmp_path / name, medical_claim=medical)
        result = tinydata.compute(data, tmp_path / f"out-{name}", "--json")
        assert result.exit_code == 0, result.output
        notes = json.loads(result.output)["notes"]
        manifest = json.loads((tmp_path / f"out-{name}" / "manifest.json").read_text())
        assert manifest["notes"] == notes
        unmatched = [n for n in notes if "no value is a code of any value set" in n]
        if name == "plain":
            assert unmatched == [], notes
        else:
            assert sorted(n.split(":")[0] for n in unmatched) == ["medical_claim.diagnosis_code_1", "medical_claim.hcpcs_code"]
            assert any("'ICD10:F32.9'" in n for n in unmatched), unmatched
