"""`bhm validate`: shipped specs pass; broken specs fail with every problem, file:line and a hint."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import bhmeasures
from bhmeasures.bundled import specs_dir
from bhmeasures.cli import main
from bhmeasures.errors import ExitCode

FUH = specs_dir() / "FUH.yaml"


def _broken(tmp_path: Path, old: str, new: str, name: str = "FUH.yaml") -> Path:
    text = FUH.read_text()
    assert old in text, old
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1))
    return path


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_shipped_specs_are_valid() -> None:
    loaded, issues = bhmeasures.validate()
    assert issues == []
    assert {s.spec.id for s in loaded} >= {"FUH", "FUA", "FUM"}


def test_cli_validate_ok() -> None:
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 0, result.output
    assert "FUH" in result.output


def test_unknown_value_set_suggests_the_right_name(tmp_path: Path) -> None:
    path = _broken(tmp_path, "principal_diagnosis_in: Mental Illness", "principal_diagnosis_in: Mental Ilness")
    _, issues = bhmeasures.validate([path])
    messages = [str(i) for i in issues]
    assert any("unknown value set 'Mental Ilness'" in m and "did you mean 'Mental Illness'?" in m for m in messages), messages


def test_value_set_missing_from_files_is_an_error(tmp_path: Path) -> None:
    path = _broken(tmp_path, "- {name: Mental Illness, version: bhm-public-2025.1}",
                   "- {name: MH Diagnosis, version: bhm-public-2025.1}\n  - {name: Mental Illness, version: bhm-public-2025.1}")
    path.write_text(path.read_text().replace("diagnosis_in: Intentional Self-Harm\n\n  Last", "diagnosis_in: MH Diagnosis\n\n  Last", 1))
    _, issues = bhmeasures.validate([path])
    text = [str(i) for i in issues]
    line = _line_of(path, "name: MH Diagnosis")
    assert any(f"{path}:{line}:" in m and "'MH Diagnosis' is not in the loaded value set files" in m
               and "did you mean 'Mental Health Diagnosis'?" in m for m in text), text


def test_unknown_key_is_rejected_with_its_line_and_a_hint(tmp_path: Path) -> None:
    path = _broken(tmp_path, "      dated: [MY-01-01, MY-12-01]", "      datd: [MY-01-01, MY-12-01]")
    _, issues = bhmeasures.validate([path])
    line = _line_of(path, "datd")
    assert any(i.line == line and "unknown key 'datd'" in i.message and "did you mean 'dated'?" in (i.hint or "")
               for i in issues), [str(i) for i in issues]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = _broken(tmp_path, "from: Acute Inpatient Stays\n      where:", "from: Acute Inpatient Stay\n      where:")
    path.write_text(path.read_text().replace("numerator: Discharges With Follow-Up Within 7 Days",
                                             "numerator: Discharges With Followup Within 7 Days"))
    _, issues = bhmeasures.validate([path])
    text = "\n".join(map(str, issues))
    assert "unknown define 'Acute Inpatient Stay'" in text and "did you mean 'Acute Inpatient Stays'?" in text
    assert "unknown define 'Discharges With Followup Within 7 Days'" in text


def test_bad_measurement_year_date(tmp_path: Path) -> None:
    path = _broken(tmp_path, "[MY-01-01, MY-12-01]", "[MY-01-01, MY-13-01]")
    _, issues = bhmeasures.validate([path])
    assert any("MY-13-01" in str(i) for i in issues)


def test_bare_not_source_is_rejected(tmp_path: Path) -> None:
    path = _broken(tmp_path, "      where: {code_in: Inpatient Stay}", "      where: {not: {code_in: Inpatient Stay}}")
    _, issues = bhmeasures.validate([path])
    assert any("holds on lines that carry no listed code" in str(i) for i in issues)


def test_exclusion_must_be_on_the_denominator_path(tmp_path: Path) -> None:
    path = _broken(tmp_path, "denominator_exclusions: [Members In Hospice, Members Who Died]",
                   "denominator_exclusions: [Members In Hospice, Acute Inpatient Stays]")
    _, issues = bhmeasures.validate([path])
    line = _line_of(path, "denominator_exclusions")
    assert any(i.line == line and "exclusion 'Acute Inpatient Stays' is not removed by a `not_in`" in i.message for i in issues), \
        [str(i) for i in issues]


def test_invalid_yaml_reports_its_line(tmp_path: Path) -> None:
    path = tmp_path / "X.yaml"
    path.write_text("id: X\ntitle: [unclosed\n")
    _, issues = bhmeasures.validate([path])
    assert issues and issues[0].line is not None and "not valid YAML" in issues[0].message


def test_cli_validate_fails_with_exit_code_and_lines(tmp_path: Path) -> None:
    path = _broken(tmp_path, "version: 2025.1.0", "versoin: 2025.1.0")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == ExitCode.SPEC_INVALID
    assert f"{path}:" in result.output and "unknown key 'versoin'" in result.output and "'version' is required" in result.output


@pytest.mark.parametrize("row", ["Mental Illness,bhm-public-2025.1,ICD10XX,F20*,,public-substitute,x",
                                 "Mental Illness,bhm-public-2025.1,POS,ABC,,public-substitute,x"])
def test_bad_value_set_rows_are_reported(tmp_path: Path, row: str) -> None:
    vs = tmp_path / "vs"
    vs.mkdir()
    (vs / "bad.csv").write_text("value_set,version,code_system,code,description,provenance,source\n" + row + "\n")
    _, issues = bhmeasures.validate(None, [vs])
    assert issues and issues[0].file.endswith("bad.csv") and issues[0].line == 2


def test_value_set_of_codes_the_table_does_not_carry_is_rejected(tmp_path: Path) -> None:
    # a LOINC set read from medical claims used to pass validation and then match nothing (or crash compute)
    path = _broken(tmp_path, "- {name: Telephone Visits, version: bhm-public-2025.1}",
                   "- {name: Telephone Visits, version: bhm-public-2025.1}\n"
                   "  - {name: Depression Screening Instruments, version: bhm-public-2025.1}")
    path.write_text(path.read_text().replace(
        "- code_in: Telephone Visits", "- code_in: Telephone Visits\n                  - code_in: Depression Screening Instruments", 1))
    _, issues = bhmeasures.validate([path])
    text = [str(i) for i in issues]
    assert len(text) == 1, text
    assert "'Depression Screening Instruments' holds only LOINC codes, which medical_claim does not carry" in text[0]
    assert "observations for LOINC" in text[0]


def test_a_copy_of_the_bundled_specs_with_its_libraries_validates(tmp_path: Path) -> None:
    # the usual way to change a measure: copy the bundled folder, libraries/ included, and edit it
    shutil.copytree(specs_dir(), tmp_path / "specs", ignore=shutil.ignore_patterns("valuesets"))
    loaded, issues = bhmeasures.validate([tmp_path / "specs"])
    assert issues == []
    assert {s.spec.id for s in loaded} >= {"FUH", "IET", "CO-FUH"}
    # the copy's library is the one used: an edit to it shows up in the specs that include it
    lib = tmp_path / "specs" / "libraries" / "hospice_and_death.yaml"
    lib.write_text(lib.read_text() + "\nbogus_key: 1\n")
    _, issues = bhmeasures.validate([tmp_path / "specs"])
    assert any(str(lib) in str(i) and "bogus_key" in str(i) for i in issues), [str(i) for i in issues]


def test_two_libraries_of_one_name_in_the_users_folders_are_an_error(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        shutil.copytree(specs_dir() / "libraries", tmp_path / folder / "libraries")
        shutil.copy(FUH, tmp_path / folder / "FUH.yaml" if folder == "a" else tmp_path / folder / "FUM.yaml")
    shutil.copy(specs_dir() / "FUM.yaml", tmp_path / "b" / "FUM.yaml")
    _, issues = bhmeasures.validate([tmp_path / "a", tmp_path / "b"])
    assert any("library 'Hospice And Death' is also defined in" in str(i) for i in issues), [str(i) for i in issues]
