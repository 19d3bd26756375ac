"""`bhm explain` and `bhmeasures.explain()`: the plan as a reader needs it, kept stable by golden files.

Rewrite the goldens after an intended change with `pytest tests/test_explain.py --update-goldens` and
review the diff like code.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import bhmeasures
from bhmeasures.cli import main
from bhmeasures.plan.explain import render_text

GOLDEN = Path(__file__).parent / "golden" / "explain"
MEASURES = [s.spec.id for s in bhmeasures.validate()[0]]


def _check(path: Path, text: str, update: bool) -> None:
    if update or not path.exists():
        path.write_text(text, encoding="utf-8")
        if not update:
            pytest.fail(f"{path.name} did not exist; written now, review it and rerun")
    assert text == path.read_text(encoding="utf-8"), f"{path.name} changed; rerun with --update-goldens if intended"


@pytest.mark.parametrize("measure", MEASURES)
def test_explain_matches_golden(measure: str, request: pytest.FixtureRequest) -> None:
    update = bool(request.config.getoption("--update-goldens"))
    doc = bhmeasures.explain(measure, year=2025)
    _check(GOLDEN / f"{measure}.json", json.dumps(doc, indent=2) + "\n", update)
    _check(GOLDEN / f"{measure}.txt", render_text(doc), update)


def test_windows_resolve_for_the_year() -> None:
    doc = bhmeasures.explain("FUH", year=2023)
    text = render_text(doc)
    assert "index date in [2023-01-01, 2023-12-01]" in text
    assert doc["measurement_period"] == ["2023-01-01", "2023-12-31"]
    steps = {s["name"]: s for s in doc["steps"]}
    assert steps["Discharges With Follow-Up Within 7 Days"]["roles"] == ["numerator of FUH-7"]
    assert "[index_date + 1 day, index_date + 7 days]" in " ".join(steps["Discharges With Follow-Up Within 7 Days"]["does"])
    assert steps["Members In Hospice"]["reason"] == "member used hospice services during the measurement year"
    assert {"name": "Inpatient Stay", "version": "bhm-public-2025.1"}.items() <= steps["Inpatient Stays"]["value_sets"][0].items()


def test_cli_explain_text_and_json() -> None:
    text = CliRunner().invoke(main, ["explain", "fua", "--year", "2024"])
    assert text.exit_code == 0, text.output
    assert "index date in [2024-01-01, 2024-12-01]" in text.output and "denominator exclusions:" in text.output
    as_json = CliRunner().invoke(main, ["explain", "FUA", "--json"])
    assert as_json.exit_code == 0
    assert json.loads(as_json.output)["populations"]["denominator"] == "First Eligible ED Visit In Each 31 Days"
