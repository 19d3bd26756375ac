"""The shared YAML layer: every file bhm reads reports a duplicated key at its line, never keeps the last."""

from __future__ import annotations

from pathlib import Path

import pytest

from bhmeasures.bundled import sample_dir, specs_dir
from bhmeasures.payment.inputs import InputsError, load_program_inputs
from bhmeasures.payment.loader import programs_dir, validate_program
from bhmeasures.spec.loader import load_spec_file
from bhmeasures.yamlio import read_yaml_file


def _line_of(text: str, needle: str, nth: int = 1) -> int:
    seen = 0
    for i, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == nth:
                return i
    raise AssertionError(f"{needle!r} not found {nth} time(s)")


def test_duplicate_key_is_an_error_with_both_lines(tmp_path: Path) -> None:
    f = tmp_path / "x.yaml"
    f.write_text("a: 1\nb:\n  c: 2\n  c: 3\n", encoding="utf-8")
    parsed, issues = read_yaml_file(f, "test file")
    assert parsed is None
    assert len(issues) == 1
    text = str(issues[0])
    assert text.startswith(f"{f}:4: key 'c' appears twice in b (first on line 3)")


def test_duplicated_define_in_a_spec_is_reported(tmp_path: Path) -> None:
    text = (specs_dir() / "FUH.yaml").read_text(encoding="utf-8")
    block = "  Acute Inpatient Stays:\n    filter:\n      from: Inpatient Stays\n      where: {not: {code_in: Nonacute Inpatient Stay}}\n"
    assert block in text
    f = tmp_path / "FUH.yaml"
    f.write_text(text.replace(block, block + "\n" + block), encoding="utf-8")
    loaded, issues = load_spec_file(f)
    assert loaded is None
    assert [i.line for i in issues] == [_line_of(f.read_text(), "  Acute Inpatient Stays:", 2)]
    assert "'Acute Inpatient Stays' appears twice" in issues[0].message


def test_duplicated_entity_in_program_inputs_is_reported(tmp_path: Path) -> None:
    text = (sample_dir() / "program_inputs_2025.yaml").read_text(encoding="utf-8")
    f = tmp_path / "inputs.yaml"
    f.write_text(text + "\n  RAE-1:\n    capitation_bh: 1\n", encoding="utf-8")
    with pytest.raises(InputsError) as e:
        load_program_inputs(f)
    assert "key 'RAE-1' appears twice in entities" in str(e.value)


def test_duplicated_parameter_in_a_program_is_reported(tmp_path: Path) -> None:
    text = (programs_dir() / "mssp_2025.yaml").read_text(encoding="utf-8")
    f = tmp_path / "mssp.yaml"
    f.write_text(text.replace("\ntitle:", "\nperformance_year: 2024\ntitle:", 1), encoding="utf-8")
    loaded, issues = validate_program(f)
    assert loaded is None
    assert any("performance_year' appears twice" in i.message for i in issues), issues


def test_numbers_with_stray_separators_are_errors(tmp_path: Path) -> None:
    """YAML 1.1 reads 1_5 as 15 and 1:30 as 90 (base 60); quoted text and plain numbers pass."""
    f = tmp_path / "x.yaml"
    f.write_text("a: 1_5\nb:\n  - 1:30\nc: '1_5'\nd: 1.5\ne: 2025\n", encoding="utf-8")
    parsed, issues = read_yaml_file(f, "test file")
    assert parsed is None
    assert [(i.line, i.column) for i in issues] == [(1, 4), (3, 5)]
    assert "a: '1_5' is read by YAML as 15" in issues[0].message
    assert "b.0: '1:30' is read by YAML as 90" in issues[1].message
    f.write_text("c: '1_5'\nd: 1.5\ne: 2025\n", encoding="utf-8")
    parsed, issues = read_yaml_file(f, "test file")
    assert issues == [] and parsed is not None and parsed.data == {"c": "1_5", "d": 1.5, "e": 2025}
