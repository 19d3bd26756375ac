"""`bhm pay` and `bhm programs` end to end: files written atomically, totals that are sums, errors and exit codes,
the bundled demo for every program."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from payment_helpers import write_yaml

from bhmeasures.bundled import sample_dir
from bhmeasures.cli import main
from bhmeasures.errors import ExitCode
from bhmeasures.payment import derive_from_data

PROGRAMS = ("colorado_acc", "minnesota_ihp", "rhode_island_ae", "mssp")


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """A small results folder as `bhm compute` writes it: entity rows for two RAEs."""
    folder = tmp_path / "results"
    folder.mkdir()
    rows = [("CO-FUH", "CO-FUH-7", "E1", 20, 9), ("CO-FUH", "CO-FUH-7", "E2", 10, 2), ("CO-FUA", "CO-FUA-7", "E1", 12, 3),
            ("CO-FUA", "CO-FUA-7", "E2", 0, 0), ("CO-FUH", "CO-FUH-7", "total", 30, 11)]
    pl.DataFrame({
        "measure_id": [r[0] for r in rows], "rate_id": [r[1] for r in rows],
        "stratifier": ["total" if r[2] == "total" else "entity" for r in rows], "stratum": [r[2] for r in rows],
        "denominator": [r[3] for r in rows], "numerator": [r[4] for r in rows], "exclusions": [0] * len(rows),
        "rate": [r[4] / r[3] if r[3] else None for r in rows],
    }).write_parquet(folder / "summary.parquet")
    return folder


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    entity = {"member_months": 120_000, "bh_capitation": 6_000_000,
              "baselines": {"CO-FUH-7": 0.40, "CO-FUA-7": 0.20}, "rates": {"CO-DEP-FU": {"rate": 0.5, "numerator": 10, "denominator": 20}}}
    return write_yaml(tmp_path / "inputs.yaml", {
        "performance_year": 2025,
        "defaults": {"benchmarks": {"CO-FUH-7": 0.45, "CO-FUA-7": 0.30, "CO-DEP-FU": 0.6}, "baselines": {"CO-DEP-FU": 0.5}},
        "entities": {"E1": entity, "E2": {**entity, "member_months": 60_000}}})


def test_pay_writes_line_items_totals_what_if_and_json(results: Path, inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "pay"
    r = CliRunner().invoke(main, ["pay", "--program", "colorado_acc", "--results", str(results), "--inputs", str(inputs),
                                  "--out", str(out), "--set", "kpi.pmpm_max=3.50"])
    assert r.exit_code == 0, r.output
    assert "E1" in r.output and "totals" in r.output and "what-if" in r.output
    assert sorted(p.name for p in out.iterdir()) == ["line_items.parquet", "payment.json", "totals.parquet", "what_if.parquet"]
    items = pl.read_parquet(out / "line_items.parquet")
    totals = pl.read_parquet(out / "totals.parquet")
    assert items.schema["amount"] == pl.Decimal(38, 2)
    sums = items.group_by("entity_id", "account").agg(pl.col("amount").sum())
    for t in totals.iter_rows(named=True):
        for account in ("earned", "owed", "forfeited", "kept_by_payer", "moved", "pass_through"):
            got = sums.filter((pl.col("entity_id") == t["entity_id"]) & (pl.col("account") == account))["amount"].sum()
            assert Decimal(got or 0) == t[account], (t["entity_id"], account)
        assert t["net"] == t["earned"] + t["owed"]
    e1 = items.filter((pl.col("entity_id") == "E1") & (pl.col("item") == "CO-FUH-7")).row(0, named=True)
    assert e1["rate"] == pytest.approx(0.45) and e1["numerator"] == 9 and e1["tier"] == "tier2"
    e2 = items.filter((pl.col("entity_id") == "E2") & (pl.col("item") == "CO-FUA-7")).row(0, named=True)
    assert e2["rate_source"] == "not available" and "denominator is 0" in e2["explanation"]
    kpi_pool = items.filter((pl.col("entity_id") == "E1") & (pl.col("component") == "kpi"))["pool"][0]
    assert kpi_pool == Decimal("420000.00")  # $3.50 x 120,000 member months, overridden on the command line
    doc = json.loads((out / "payment.json").read_text())
    assert doc["program"]["overrides"] == ["kpi.pmpm_max=3.50"]
    assert any(p["path"] == "kpi.pmpm_max" and p["provenance"] == "override" for p in doc["program"]["parameters"])
    e1_doc = next(e for e in doc["entities"] if e["entity_id"] == "E1")
    assert e1_doc["totals"]["earned"] == str(totals.filter(pl.col("entity_id") == "E1")["earned"][0])
    assert next(w for w in e1_doc["what_if"] if w["measure_id"] == "CO-FUH-7")["note"] == "top tier reached"
    e2_doc = next(e for e in doc["entities"] if e["entity_id"] == "E2")
    fuh = next(w for w in e2_doc["what_if"] if w["measure_id"] == "CO-FUH-7")
    # 2/10 needs 3 more events to pass tier1 (>= 40.5%); 5/10 = 50% also passes tier2 (>= 41%): the row and its note
    # name the tier reached, not the one aimed at
    assert (fuh["events_needed"], fuh["next_tier"], fuh["new_rate"], fuh["next_target"]) == (3, "tier2", 0.5, 0.41)
    assert fuh["note"].startswith("3 more numerator event(s) (50.00%) reaches tier2 (>= 41.00%)")
    what_if = pl.read_parquet(out / "what_if.parquet")
    assert {"events_needed", "worth", "next_target"} <= set(what_if.columns)


def test_pay_csv_json_quiet(results: Path, inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "pay"
    r = CliRunner().invoke(main, ["pay", "--program", "colorado_acc", "--results", str(results), "--inputs", str(inputs),
                                  "--out", str(out), "--format", "csv", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert [e["entity_id"] for e in doc["entities"]] == ["E1", "E2"]
    assert (out / "line_items.csv").exists() and (out / "totals.csv").exists()
    r = CliRunner().invoke(main, ["pay", "--program", "colorado_acc", "--results", str(results), "--inputs", str(inputs),
                                  "--out", str(out), "--quiet"])
    assert r.exit_code == 0 and r.output == ""
    assert (out / "totals.parquet").exists() and not (out / "totals.csv").exists()  # no stale other-format tables


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--program", "colorado"], ExitCode.SPEC_INVALID, "unknown program 'colorado'"),
    (["--program", "colorado_acc", "--set", "kpi.pmpm=3"], ExitCode.SPEC_INVALID, "no parameter 'kpi.pmpm'"),
    (["--program", "colorado_acc", "--year", "2024"], ExitCode.INPUT_INVALID, "not 2024"),
])
def test_pay_errors_are_one_line_and_write_nothing(results: Path, inputs: Path, tmp_path: Path, args: list[str],
                                                   code: ExitCode, message: str) -> None:
    out = tmp_path / "pay"
    r = CliRunner().invoke(main, ["pay", "--results", str(results), "--inputs", str(inputs), "--out", str(out), *args])
    assert r.exit_code == code, r.output
    assert message in r.output and "Traceback" not in r.output
    assert not out.exists()


def test_pay_needs_inputs_for_results_that_are_not_the_demo(results: Path, tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["pay", "--program", "mssp", "--results", str(results), "--out", str(tmp_path / "o")])
    assert r.exit_code == ExitCode.INPUT_INVALID and "--inputs FILE is required" in r.output


def test_pay_derives_member_months_and_tcoc_from_data(tmp_path: Path) -> None:
    """Member months and actual TCOC left out of the inputs are derived from --data (attribution and paid claims)."""
    results = tmp_path / "results"
    r = CliRunner().invoke(main, ["compute", "--out", str(results), "--quiet", "--measures", "FUH"])
    assert r.exit_code == 0, r.output
    inputs = write_yaml(tmp_path / "inputs.yaml", {"performance_year": 2025, "entities": {
        "RAE-1": {"tcoc_target_pmpm": 300, "quality_score": 0.8, "incentive_pool": 0, "track": "one_sided"}}})
    out = tmp_path / "pay"
    r = CliRunner().invoke(main, ["pay", "--program", "rhode_island_ae", "--results", str(results), "--inputs", str(inputs),
                                  "--data", str(sample_dir()), "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    derived = derive_from_data(sample_dir(), 2025, want_tcoc=True)
    doc = json.loads(r.stdout)
    (entity,) = doc["entities"]
    assert entity["member_months"] == derived.member_months["RAE-1"]
    tcoc = next(i for i in entity["line_items"] if i["tcoc_actual"] is not None)
    assert Decimal(tcoc["tcoc_actual"]) == Decimal(derived.tcoc_cents["RAE-1"]) / 100
    assert "paid claims" in tcoc["explanation"]
    assert "entities in the results but not in the inputs" in r.stderr


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`bhm compute` bare, as a new user runs it."""
    cwd = tmp_path_factory.mktemp("demo")
    import os

    old = Path.cwd()
    os.chdir(cwd)
    try:
        r = CliRunner().invoke(main, ["compute", "--quiet"])
    finally:
        os.chdir(old)
    assert r.exit_code == 0, r.output
    return cwd


@pytest.mark.parametrize("program", PROGRAMS)
def test_demo_pays_every_program_with_the_bundled_inputs(demo: Path, program: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(demo)
    r = CliRunner().invoke(main, ["pay", "--program", program, "--results", "bhm_results", "--out", f"pay_{program}"])
    assert r.exit_code == 0, r.output
    assert "using inputs: the bundled sample" in r.output
    totals = pl.read_parquet(demo / f"pay_{program}" / "totals.parquet")
    assert totals["entity_id"].to_list() == [f"RAE-{i}" for i in range(1, 8)]
    assert totals["member_months"].null_count() == 0
    # the bundled inputs named explicitly, without --data, do the same
    r = CliRunner().invoke(main, ["pay", "--program", program, "--inputs", str(sample_dir() / "program_inputs_2025.yaml"),
                                  "--out", f"pay2_{program}", "--quiet"])
    assert r.exit_code == 0, r.output
    again = pl.read_parquet(demo / f"pay2_{program}" / "totals.parquet")
    assert again.equals(totals)


def test_programs_lists_parameters_with_provenance() -> None:
    r = CliRunner().invoke(main, ["programs"])
    assert r.exit_code == 0, r.output
    for program in PROGRAMS:
        assert program in r.output
    assert "verified" in r.output and "illustrative" in r.output and "kpi.pmpm_max" in r.output
    r = CliRunner().invoke(main, ["programs", "mssp", "--json", "--set", "enhanced.sharing_rate=0.7"])
    assert r.exit_code == 0, r.output
    (doc,) = json.loads(r.stdout)
    rows = {p["path"]: p for p in doc["parameters"]}
    assert rows["basic_a.sharing_rate"]["value"] == "0.4" and rows["basic_a.sharing_rate"]["provenance"] == "verified"
    assert rows["enhanced.sharing_rate"]["provenance"] == "override"
    assert rows["basic_e.loss_cap.pct_revenue"]["provenance"] == "verified-secondary"
    assert rows["basic_a.low_revenue.cap_factor"]["provenance"] == "recalled"
    r = CliRunner().invoke(main, ["programs", "nope"])
    assert r.exit_code == ExitCode.SPEC_INVALID and "unknown program 'nope'" in r.output


def test_each_program_writes_to_its_own_default_folder(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(demo)
    for program in ("colorado_acc", "mssp"):
        r = CliRunner().invoke(main, ["pay", "--program", program, "--quiet"])
        assert r.exit_code == 0, r.output
    for program in ("colorado_acc", "mssp"):
        doc = json.loads((demo / "bhm_payments" / program / "payment.json").read_text())
        assert doc["program"]["id"] == program


def test_json_prints_the_payment_json_that_was_written(results: Path, inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "pay"
    r = CliRunner().invoke(main, ["pay", "--program", "colorado_acc", "--results", str(results), "--inputs", str(inputs),
                                  "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    assert r.stdout == (out / "payment.json").read_text()


def test_the_terminal_names_each_line_item_s_account(results: Path, inputs: Path, tmp_path: Path) -> None:
    """Without colour the account column still says where each amount goes."""
    r = CliRunner().invoke(main, ["pay", "--program", "colorado_acc", "--results", str(results), "--inputs", str(inputs),
                                  "--out", str(tmp_path / "pay")], env={"COLUMNS": "250", "NO_COLOR": "1"})
    assert r.exit_code == 0, r.output
    rows = [line for line in r.stdout.splitlines() if line.startswith("│ E1 ")]
    by_item = {cells[2]: cells[4] for cells in ([c.strip() for c in row.split("│")[1:]] for row in rows) if len(cells) > 5}
    assert by_item["CO-FUH-7"] == "paid" and by_item["unearned: moved to the Performance Pool"] == "moved"
    assert by_item["unearned: not paid (kept by HCPF)"] == "forfeited"
    assert by_item["pass-through to health-neighborhood providers"] == "passed through"
    assert "kept by payer" in r.stdout and "passed through" in r.stdout  # the totals' columns


@pytest.mark.parametrize("program", PROGRAMS)
def test_every_explanation_ends_on_the_amount_it_pays(demo: Path, program: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each line item's explanation ends its arithmetic on its own amount, never on a product it does not pay."""
    import re

    monkeypatch.chdir(demo)
    r = CliRunner().invoke(main, ["pay", "--program", program, "--quiet", "--out", f"explain_{program}"])
    assert r.exit_code == 0, r.output
    items = pl.read_parquet(demo / f"explain_{program}" / "line_items.parquet")
    for i in items.filter(pl.col("account") != "memo").iter_rows(named=True):
        figures = re.findall(r"\$([\d,]+\.\d\d)", i["explanation"])
        assert figures, i
        assert Decimal(figures[-1].replace(",", "")) == abs(i["amount"]), (i["item"], i["explanation"])
