"""Program files and program inputs are validated like measure specs: every problem, at file:line, with a hint;
missing inputs name the entity and the field. Member months and TCOC derive from attribution and claims."""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest
from payment_helpers import pay, program, write_yaml

from bhmeasures.errors import ExitCode, InputError, SpecError
from bhmeasures.payment import (
    InputsError,
    find_program,
    load_program_inputs,
    load_programs,
    member_months,
    parameters,
    read_results,
    total_cost_of_care,
    validate_program,
)
from bhmeasures.payment.loader import programs_dir

CO = programs_dir() / "colorado_acc_2025.yaml"


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = CO.read_text()
    assert old in text, old
    path = tmp_path / "colorado_acc_2025.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_shipped_programs_validate_and_every_parameter_has_provenance() -> None:
    loaded = load_programs()
    assert {(lp.program.id, lp.program.performance_year) for lp in loaded} == {
        ("colorado_acc", 2025), ("minnesota_ihp", 2025), ("rhode_island_ae", 2025), ("mssp", 2025)}
    for lp in loaded:
        rows = parameters(lp.program, lp.lines)
        assert rows and all(r.provenance in ("verified", "verified-secondary", "seed", "recalled", "illustrative") for r in rows)
        assert all(r.source in lp.program.sources for r in rows)
    mssp = next(lp for lp in loaded if lp.program.id == "mssp")
    assert {r.provenance for r in parameters(mssp.program)} >= {"verified", "recalled"}


def test_unknown_key_is_reported_at_its_line_with_a_hint(tmp_path: Path) -> None:
    path = _broken(tmp_path, "    unearned_to: to the Performance Pool", "    unearned_too: to the Performance Pool")
    loaded, issues = validate_program(path)
    assert loaded is None
    line = _line_of(path, "unearned_too")
    assert any(i.line == line and "unknown key 'unearned_too'" in i.message and "did you mean 'unearned_to'?" in (i.hint or "")
               for i in issues), [str(i) for i in issues]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = _broken(tmp_path, "pmpm_max: {value: 4.00, provenance: verified-secondary, source: nashp}",
                   "pmpm_max: {value: -4.00, provenance: verified-secondary, source: nashp}")
    path.write_text(path.read_text().replace("capitation_pct_max: {value: 0.05,", "capitation_pct_max: {value: 5,", 1)
                    .replace("pct: {value: 0.10, provenance: illustrative, source: engine}",
                             "pct: {value: 0.10, provenance: ilustrative, source: engine}", 1))
    _, issues = validate_program(path)
    text = "\n".join(map(str, issues))
    assert f"{path}:{_line_of(path, 'value: -4.00')}: components.kpi.pmpm_max: value -4 is negative" in text
    assert f"{path}:{_line_of(path, 'value: 5,')}:" in text and "outside [0, 1]" in text and "5% = 0.05" in text
    assert "components.pass_through.pct.provenance" in text


def test_semantic_checks_name_the_line(tmp_path: Path) -> None:
    path = _broken(tmp_path, "    of: [kpi, performance_pool, bhi, ceiling]", "    of: [kpi, performance_pool, bhj, ceiling]")
    path.write_text(path.read_text().replace("pmpm_max: {value: 4.00, provenance: verified-secondary, source: nashp}",
                                             "pmpm_max: {value: 4.00, provenance: verified-secondary, source: nasph}", 1))
    text = path.read_text().splitlines()
    tier2 = next(i for i, line in enumerate(text) if "tier2:" in line)
    text[tier2 + 2] = text[tier2 + 2].replace("value: 1.0", "value: 0.4")  # tier2 credit below tier1's
    path.write_text("\n".join(text) + "\n")
    _, issues = validate_program(path)
    by_message = {i.message: i for i in issues}
    unknown = next(i for m, i in by_message.items() if "unknown component 'bhj'" in m)
    assert unknown.line == _line_of(path, "of: [kpi, performance_pool, bhj, ceiling]") and "did you mean 'bhi'?" in unknown.hint
    source = next(i for m, i in by_message.items() if "source 'nasph'" in m)
    assert source.line == _line_of(path, "source: nasph") and "did you mean 'nashp'?" in source.hint
    assert any("tier credits must rise" in m for m in by_message)


def test_set_overrides_a_parameter_and_marks_its_provenance() -> None:
    lp = find_program("colorado_acc", 2025, ["kpi.pmpm_max=3.50", "bhi.measures.CO-FUH-7.weight=2"])
    assert lp.program.components["kpi"].pmpm_max.value == Fraction(7, 2)
    assert lp.program.components["kpi"].pmpm_max.provenance == "override"
    row = next(r for r in parameters(lp.program) if r.path == "kpi.pmpm_max")
    assert (row.value, row.tag) == ("3.5", "set")
    r = pay(lp, {"RAE": {"member_months": 1000, "bh_capitation": 0}})
    assert r.items("RAE", "kpi")[0].pool_cents == 350_000


def test_bad_set_and_unknown_program_are_spec_errors() -> None:
    with pytest.raises(SpecError) as e:
        find_program("colorado_acc", 2025, ["kpi.pmpm_mx=3.50"])
    assert "no parameter 'kpi.pmpm_mx'" in str(e.value) and "did you mean 'pmpm_max'?" in str(e.value)
    assert e.value.exit_code == ExitCode.SPEC_INVALID
    with pytest.raises(SpecError) as e:
        find_program("colorado", 2025)
    assert "unknown program 'colorado'" in str(e.value) and "colorado_acc" in str(e.value)
    with pytest.raises(SpecError, match="out of range|outside"):
        find_program("colorado_acc", 2025, ["bhi.capitation_pct_max=7"])
    with pytest.raises(SpecError, match="no rules for performance year 2019"):
        find_program("mssp", 2019)


def test_missing_entity_field_names_the_entity_and_the_field(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "inputs.yaml", {"performance_year": 2025, "entities": {
        "RAE-1": {"member_months": 1200, "bh_capitation": 1000},
        "RAE-2": {"member_months": 1200}}})
    inputs = load_program_inputs(path)
    with pytest.raises(InputsError) as e:
        from bhmeasures.payment import apply_payment_rules

        apply_payment_rules(program("colorado_acc"), {}, inputs)
    text = str(e.value)
    assert f"{path}:{_line_of(path, 'RAE-2:')}: entity RAE-2: 'bh_capitation' is missing" in text
    assert "RAE-1" not in text and "entities.RAE-2.bh_capitation" in text
    assert e.value.exit_code == ExitCode.INPUT_INVALID


def test_inputs_problems_are_all_reported(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "inputs.yaml", {"performance_year": 2025, "entities": {
        "AE-1": {"tcoc_target_pmpm": 600, "tcoc_actual": 10.005, "track": "two_side", "quality_scor": 0.5},
        "AE-2": {"rates": {"FUH-30": {"rate": 0.5, "numerator": 3, "denominator": 10}}}}})
    with pytest.raises(InputsError) as e:
        load_program_inputs(path)
    text = str(e.value)
    assert "unknown key 'quality_scor'" in text and "did you mean 'quality_score'?" in text
    assert "fractions of a cent" in text
    path = write_yaml(tmp_path / "inputs.yaml", {"performance_year": 2025, "entities": {
        "AE-1": {"member_months": 10, "tcoc_target_pmpm": 600, "tcoc_actual": 10, "track": "two_side", "incentive_pool": 0},
        "AE-2": {"member_months": 10, "tcoc_target_pmpm": 600, "tcoc_actual": 10, "incentive_pool": 0,
                 "rates": {"FUH-30": 41.5, "CDF": {"rate": 0.5, "numerator": 3, "denominator": 10}},
                 "programs": {"rhode_iland_ae": {"track": "one_sided"}}}}})
    with pytest.raises(InputsError) as e:
        from bhmeasures.payment import apply_payment_rules

        apply_payment_rules(program("rhode_island_ae"), {}, load_program_inputs(path))
    text = str(e.value)
    assert "entity AE-1: unknown rhode_island_ae track 'two_side'. did you mean 'two_sided'?" in text
    assert "entity AE-2: FUH-30: rate 41.5 is outside [0, 1]" in text
    assert "entity AE-2: CDF: rate 0.5 is not numerator/denominator (3/10 gives 0.3)" in text
    assert "unknown program 'rhode_iland_ae'" in text and "did you mean 'rhode_island_ae'?" in text
    assert "entity AE-2: no baseline for FUH-30" in text


def test_rate_not_available_is_a_line_item_not_a_silent_zero() -> None:
    r = pay(program("colorado_acc"), {"RAE": {"member_months": 12000, "bh_capitation": 100000,
                                              "baselines": {"CO-FUH-7": 0.3}, "benchmarks": {"CO-FUH-7": 0.4}}},
            {"RAE": {"CO-FUH-7": 0.5}})
    dep = next(i for i in r.items("RAE", "bhi") if i.measure_id == "CO-DEP-FU")
    assert dep.amount_cents == 0 and dep.rate_source == "not available" and "rate not available" in dep.explanation
    assert "supply it under rates" in dep.explanation
    fuh = next(i for i in r.items("RAE", "bhi") if i.measure_id == "CO-FUH-7")
    assert fuh.amount_cents == 100_000 and fuh.tier == "tier2"  # 5% of $100,000 / 5 measures
    what = next(w for w in r.what_if if w.measure_id == "CO-DEP-FU")
    assert what.worth_cents is None and what.note.startswith("rate not available")


def test_member_months_count_first_days_of_attributed_months() -> None:
    att = pl.DataFrame({
        "member_id": ["a", "a", "b", "c", "d", "e"],
        "entity_id": ["E1", "E1", "E1", "E2", "E2", "E1"],
        "start_date": [date(2025, 1, 1), date(2025, 3, 1), date(2025, 1, 15), date(2024, 6, 1), date(2025, 5, 2), date(2026, 1, 1)],
        "end_date": [date(2025, 4, 30), date(2025, 6, 30), date(2025, 3, 1), date(2025, 2, 10), date(2025, 5, 30), date(2026, 3, 1)],
    })
    got = {r["entity_id"]: (r["member_months"], r["members"]) for r in member_months(att, 2025).iter_rows(named=True)}
    # a: Jan-Jun once despite the overlap (6); b: Feb, Mar (2); c: Jan, Feb (2); d: no first day in its span; e: 2026
    assert got == {"E1": (8, 2), "E2": (2, 1)}


def test_tcoc_sums_medical_and_pharmacy_paid_in_attributed_months() -> None:
    att = pl.DataFrame({"member_id": ["a", "b"], "entity_id": ["E1", "E2"],
                        "start_date": [date(2025, 1, 1), date(2025, 7, 1)], "end_date": [date(2025, 12, 31), date(2025, 12, 31)]})
    med = pl.DataFrame({"member_id": ["a", "a", "b", "b", "a"],
                        "claim_start_date": [date(2025, 2, 3), date(2025, 2, 3), date(2025, 3, 1), date(2025, 8, 9), date(2024, 12, 31)],
                        "paid_amount": [100.10, 0.2, 999.0, 50.05, 7.0]})
    rx = pl.DataFrame({"member_id": ["a", "b"], "dispensing_date": [date(2025, 5, 5), date(2025, 9, 9)], "paid_amount": [10.01, None]})
    got = {r["entity_id"]: r for r in total_cost_of_care(med, rx, att, 2025).iter_rows(named=True)}
    assert got["E1"]["tcoc_cents"] == 10030 + 1001 and got["E1"]["pharmacy_cents"] == 1001
    assert got["E2"]["tcoc_cents"] == 5005  # March is before b's attribution; the null pharmacy claim counts 0
    assert got["E2"]["lines_without_paid_amount"] == 1


def test_results_total_rows_serve_a_single_entity(tmp_path: Path) -> None:
    pl.DataFrame({"measure_id": ["FUH"], "rate_id": ["FUH-7"], "stratifier": ["total"], "stratum": ["total"],
                  "denominator": [40], "numerator": [10], "exclusions": [0], "rate": [0.25]}).write_csv(tmp_path / "summary.csv")
    rates = read_results(tmp_path, ["ONLY"])
    assert rates.single_entity and rates.rate("ONLY", "FUH-7").value == Fraction(1, 4)
    with pytest.raises(InputError, match="no per-entity rows"):
        read_results(tmp_path, ["A", "B"])


def test_decimal_commas_are_errors_not_other_numbers(tmp_path: Path) -> None:
    """'1,5' member months used to be read as 15 and '2,50' capitation as $250.00 (commas stripped anywhere)."""
    from bhmeasures.payment.money import as_fraction

    path = write_yaml(tmp_path / "inputs.yaml", {"performance_year": 2025, "entities": {
        "RAE-1": {"member_months": "1,5", "bh_capitation": "2,50", "tcoc_actual": "1,234,567.50"}}})
    with pytest.raises(InputsError) as e:
        load_program_inputs(path)
    lines = str(e.value).splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"{path}:{_line_of(path, 'member_months')}: entities.RAE-1.member_months: '1,5' is not a number")
    assert lines[1].startswith(f"{path}:{_line_of(path, 'bh_capitation')}: entities.RAE-1.bh_capitation: '2,50' is not a number")
    assert as_fraction("1,234,567.50") == Fraction(123456750, 100)  # well-formed thousands separators are kept
    for bad in ("12,34", "1,2345", "1_000", "1 000"):
        with pytest.raises(ValueError, match="is not a number"):
            as_fraction(bad)
