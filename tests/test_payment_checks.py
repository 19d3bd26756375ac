"""No silent wrong dollars: every bad input stops `bhm pay` with exit 4, naming file, line, entity and field, and
writes nothing; all problems are reported in one run; doubtful ones are warnings, printed and kept in payment.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from payment_helpers import write_yaml

from bhmeasures.cli import main
from bhmeasures.errors import ExitCode

COLUMNS = "measure_id,rate_id,stratifier,stratum,denominator,numerator,exclusions,rate"


def _results(folder: Path, *rows: str) -> Path:
    """A results folder with summary.csv: one line per row after the header (line 1)."""
    folder.mkdir(exist_ok=True)
    (folder / "summary.csv").write_text("\n".join([COLUMNS, *rows]) + "\n", encoding="utf-8")
    return folder


GOOD_ROWS = ("CO-FUH,CO-FUH-7,entity,E1,20,9,0,0.45", "CO-FUA,CO-FUA-7,entity,E1,12,3,0,0.25",
             "CO-FUH,CO-FUH-7,entity,E2,10,2,0,0.2", "CO-FUA,CO-FUA-7,entity,E2,10,5,0,0.5")


def _inputs(path: Path, **entities: dict[str, Any]) -> Path:
    base = {"member_months": 1200, "bh_capitation": 600_000, "baselines": {"CO-FUH-7": 0.40, "CO-FUA-7": 0.20}}
    return write_yaml(path, {"performance_year": 2025,
                             "defaults": {"benchmarks": {"CO-FUH-7": 0.45, "CO-FUA-7": 0.30}},
                             "entities": {k: {**base, **v} for k, v in (entities or {"E1": {}, "E2": {}}).items()}})


def _pay(tmp_path: Path, results: Path, inputs: Path, program: str = "colorado_acc", *extra: str) -> tuple[Result, Path]:
    out = tmp_path / "pay"
    r = CliRunner().invoke(main, ["pay", "--program", program, "--results", str(results), "--inputs", str(inputs),
                                  "--out", str(out), *extra])
    return r, out


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def _errors(r: Result) -> list[str]:
    assert r.exit_code == ExitCode.INPUT_INVALID, r.output
    assert "Traceback" not in r.output and "internal error" not in r.output
    return [line.removeprefix("error: ") for line in r.output.splitlines() if line.strip()]


def test_decimal_commas_in_inputs_and_results_stop_the_run(tmp_path: Path) -> None:
    """'1,5' member months would have been 15, '2,50' capitation $250.00, a '1,5' numerator 15 events."""
    inputs = _inputs(tmp_path / "inputs.yaml", E1={"member_months": "1,5", "bh_capitation": "2,50"}, E2={})
    results = _results(tmp_path / "results", "CO-FUH,CO-FUH-7,entity,E1,20,\"1,5\",0,0.45", *GOOD_ROWS[1:])
    r, out = _pay(tmp_path, results, inputs)
    errors = _errors(r)
    assert f"{inputs}:{_line_of(inputs, 'member_months: 1,5')}: entities.E1.member_months: '1,5' is not a number" in errors[0]
    assert f"{inputs}:{_line_of(inputs, 'bh_capitation: 2,50')}: entities.E1.bh_capitation: '2,50' is not a number" in errors[1]
    assert errors[2].startswith(f"{results / 'summary.csv'}:2: entity E1: CO-FUH-7 numerator: '1,5' is not a number")
    assert len(errors) == 3 and not out.exists()


def test_duplicated_entity_in_the_inputs_stops_the_run(tmp_path: Path) -> None:
    inputs = tmp_path / "inputs.yaml"
    inputs.write_text("performance_year: 2025\nentities:\n  E1: {member_months: 10, bh_capitation: 100}\n"
                      "  E2: {member_months: 10, bh_capitation: 100}\n  E1: {member_months: 99, bh_capitation: 100}\n")
    r, out = _pay(tmp_path, _results(tmp_path / "results", *GOOD_ROWS), inputs)
    (error,) = _errors(r)
    assert error.startswith(f"{inputs}:5: key 'E1' appears twice in entities (first on line 3)")
    assert not out.exists()


def test_duplicated_key_in_a_program_file_stops_the_run(tmp_path: Path) -> None:
    """A program file is a spec: its problems exit 3 (invalid program file), as documented."""
    from bhmeasures.payment.loader import programs_dir

    program = tmp_path / "co.yaml"
    text = (programs_dir() / "colorado_acc_2025.yaml").read_text()
    program.write_text(text.replace("    pmpm_max:", "    pmpm_max: {value: 9, provenance: illustrative, source: engine}\n"
                                    "    pmpm_max:", 1))
    r, out = _pay(tmp_path, _results(tmp_path / "results", *GOOD_ROWS), _inputs(tmp_path / "inputs.yaml"), str(program))
    assert r.exit_code == ExitCode.SPEC_INVALID, r.output
    assert f"{program}:{_line_of(program, 'pmpm_max') + 1}: key 'pmpm_max' appears twice in components.kpi" in r.output
    assert not out.exists()


def test_duplicated_result_rows_stop_the_run(tmp_path: Path) -> None:
    results = _results(tmp_path / "results", *GOOD_ROWS, "CO-FUH,CO-FUH-7,entity,E2,10,9,0,0.9")
    r, out = _pay(tmp_path, results, _inputs(tmp_path / "inputs.yaml"))
    (error,) = _errors(r)
    assert error.startswith(f"{results / 'summary.csv'}:6: entity E2: CO-FUH-7 appears twice (first on line 4)")
    assert not out.exists()


@pytest.mark.parametrize(("row", "message"), [
    # 15/10 used to be paid full credit
    ("CO-FUH,CO-FUH-7,entity,E1,10,15,0,1.5", "entity E1: CO-FUH-7: numerator 15 is above denominator 10; a proportion cannot pass 100%."),
    ("CO-FUH,CO-FUH-7,entity,E1,-10,5,0,", "entity E1: CO-FUH-7 denominator is -10, below 0."),
    ("CO-FUH,CO-FUH-7,entity,E1,,,0,1.45", "entity E1: CO-FUH-7: rate 1.45 is outside [0, 1] for a proportion."),
    ("CO-FUH,CO-FUH-7,entity,E1,20,n/a,0,0.45", "entity E1: CO-FUH-7 numerator: 'n/a' is not a number"),
    ("CO-FUH,CO-FUH-7,entity,E1,20.5,9,0,", "entity E1: CO-FUH-7: counts 9/20.5 are not whole numbers of events."),
])
def test_impossible_results_stop_the_run_at_their_line(tmp_path: Path, row: str, message: str) -> None:
    results = _results(tmp_path / "results", row, *GOOD_ROWS[1:])
    r, out = _pay(tmp_path, results, _inputs(tmp_path / "inputs.yaml"))
    (error,) = _errors(r)
    assert error.startswith(f"{results / 'summary.csv'}:2: {message}"), error
    assert not out.exists()


def test_impossible_rates_in_the_inputs_stop_the_run(tmp_path: Path) -> None:
    targets = {"CO-DEP-FU": {"tier1": 0.5, "tier2": 0.6}, "CO-DENTAL": {"tier1": 0.3, "tier2": 0.4}}
    inputs = _inputs(tmp_path / "inputs.yaml", E1={"rates": {"CO-DEP-FU": {"numerator": 12, "denominator": 10}}, "targets": targets},
                     E2={"rates": {"CO-DENTAL": 41.5}, "targets": targets})
    r, out = _pay(tmp_path, _results(tmp_path / "results", *GOOD_ROWS), inputs)
    errors = _errors(r)
    assert errors == [
        (f"{inputs}:{_line_of(inputs, 'CO-DEP-FU:')}: entity E1: CO-DEP-FU: numerator 12 is above denominator 10; "
         "a proportion cannot pass 100%."),
        (f"{inputs}:{_line_of(inputs, 'CO-DENTAL: 41.5')}: entity E2: CO-DENTAL: rate 41.5 is outside [0, 1]; "
         "proportions are fractions (41.5% = 0.415)."),
    ]
    assert not out.exists()


def test_schema_semantic_and_results_problems_are_reported_together(tmp_path: Path) -> None:
    """A schema error (E1's member months), a missing field (E2's capitation), an unknown track and a bad results row:
    one run names all four; the schema error does not hide the rest, nor repeat itself as 'missing'."""
    inputs = _inputs(tmp_path / "inputs.yaml", E1={"member_months": "lots"}, E2={"track": "basic"})
    text = inputs.read_text().replace("    bh_capitation: 600000\n", "", 2)
    inputs.write_text(text.replace("  E1:\n", "  E1:\n    bh_capitation: 600000\n", 1))
    results = _results(tmp_path / "results", "CO-FUH,CO-FUH-7,entity,E1,10,11,0,", *GOOD_ROWS[1:])
    r, out = _pay(tmp_path, results, inputs)
    errors = _errors(r)
    assert len(errors) == 4, errors
    assert "entities.E1.member_months: 'lots' is not a number" in errors[0]
    assert any("entity E2: track 'basic' given, but colorado_acc has no tracks." in e for e in errors)
    assert any(f"{inputs}:{_line_of(inputs, 'E2:')}: entity E2: 'bh_capitation' is missing" in e for e in errors)
    assert errors[-1].startswith(f"{results / 'summary.csv'}:2: entity E1: CO-FUH-7: numerator 11 is above denominator 10")
    assert not any("'member_months' is missing" in e for e in errors)
    assert not out.exists()


def test_doubtful_inputs_are_warnings_printed_and_kept_in_payment_json(tmp_path: Path) -> None:
    """CO-FUA-7 is absent from the results for every entity; E3 has no result rows; E2 has 0 member months."""
    results = _results(tmp_path / "results", GOOD_ROWS[0], GOOD_ROWS[2])
    inputs = _inputs(tmp_path / "inputs.yaml", E1={}, E2={"member_months": 0}, E3={})
    r, out = _pay(tmp_path, results, inputs)
    assert r.exit_code == 0, r.output
    warnings = json.loads((out / "payment.json").read_text())["warnings"]
    expected = [
        f"{inputs}:{_line_of(inputs, 'member_months: 0')}: entity E2: member_months is 0: every per-member-month amount is $0.00.",
        f"{inputs}:{_line_of(inputs, 'E3:')}: entity E3: the results have no rows for it",
        f"{results / 'summary.csv'}: CO-FUA-7 is not in the results for any entity, and 3 of 3 entities have no rate for it",
    ]
    for w in expected:
        assert sum(x.startswith(w) for x in warnings) == 1, (w, warnings)
        assert w in r.output.replace("\n", "")  # printed too (stderr)
    r, _ = _pay(tmp_path, results, inputs, "colorado_acc", "--quiet")
    assert r.exit_code == 0 and r.output == ""  # --quiet prints nothing but errors; payment.json keeps the warnings


def test_a_quality_score_built_from_no_measure_is_a_warning(tmp_path: Path) -> None:
    """Rhode Island scores FUH-30, CDF and DEV-TOTAL; none has a rate here, so the quality score 0 rests on nothing."""
    inputs = write_yaml(tmp_path / "inputs.yaml", {"performance_year": 2025, "entities": {
        "E1": {"member_months": 1200, "tcoc_target_pmpm": 500, "tcoc_actual": 500_000, "incentive_pool": 0}}})
    r, out = _pay(tmp_path, _results(tmp_path / "results", *GOOD_ROWS[:2]), inputs, "rhode_island_ae")
    assert r.exit_code == 0, r.output
    warnings = json.loads((out / "payment.json").read_text())["warnings"]
    assert any(w.startswith(f"{inputs}:3: entity E1: the quality score 0 is built from no available measure") for w in warnings), warnings


def test_a_bad_per_program_value_is_reported_once(tmp_path: Path) -> None:
    """An MSSP quality score of 76.7 (points, not a fraction) is one error, not also a 'missing quality_score'."""
    inputs = write_yaml(tmp_path / "inputs.yaml", {"performance_year": 2025, "entities": {"ACO": {
        "members": 20000, "tcoc_benchmark": 240_000_000, "tcoc_actual": 232_800_000,
        "programs": {"mssp": {"track": "basic_a", "quality_score": 76.7}}}}})
    r, out = _pay(tmp_path, _results(tmp_path / "results", *GOOD_ROWS), inputs, "mssp")
    (error,) = _errors(r)
    assert error.startswith(f"{inputs}:{_line_of(inputs, 'quality_score')}: entities.ACO.programs.mssp.quality_score: "
                            "76.7 is outside [0, 1]; scores are fractions (76.7 points = 0.767)")
    assert not out.exists()
