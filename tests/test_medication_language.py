"""Spec language for medication measures: value-set attributes on medical-claim events (looked up by HCPCS),
an injection covering its list's days supply (`covers_days_from`) on medical and pharmacy claims, counting
dispensing events by date and drug (`members_with ... distinct`), and the checks `bhm validate` makes."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import bhmeasures

HEADER = "value_set,version,code_system,code,description,provenance,source,attributes\n"
SETS = {
    "injections.csv": HEADER
    + "Toy Injections,t1,HCPCS,J2426,paliperidone,test,test,drug=paliperidone;days_supply=28\n"
    + "Toy Injections,t1,HCPCS,J2794,risperidone,test,test,drug=risperidone;days_supply=14\n"
    + "Toy Injections,t1,HCPCS,J1631,haloperidol,test,test,drug=haloperidol\n",
    "fills.csv": HEADER
    + "Toy Fills,t1,NDC,50458056401,paliperidone,test,test,drug=paliperidone;days_supply=28\n"
    + "Toy Fills,t1,NDC,00054006344,risperidone,test,test,drug=risperidone\n",
}
SPEC = """
id: TOYLAI
title: Toy injections
version: 0.0.1
steward: bhm tests
basis: event
event_name: injection
codes: public_substitute
value_sets:
  - {name: Toy Injections, version: t1}
  - {name: Toy Fills, version: t1}
defines:
  Injections:
    encounters:
      where: {code_in: Toy Injections}
      attributes: {drug: Toy Injections.drug}
      covers_days_from: Toy Injections.days_supply
  Fills:
    dispensings:
      where: {code_in: Toy Fills}
      attributes: {drug: Toy Fills.drug}
      covers_days_from: Toy Fills.days_supply
  Events:
    union: [Injections, Fills]
  Members With Two Events:
    members_with: {events: Events, dated: [MY-01-01, MY-12-31], at_least: 2, distinct: [date, drug]}
  Counted:
    filter:
      from: Events
      in: Members With Two Events
populations:
  initial_population: Events
  denominator: Events
  rates:
    - {id: TOY, numerator: Counted}
"""


def _tables(lines: list[tuple], fills: list[tuple]) -> dict[str, pl.DataFrame]:
    members = sorted({m for m, *_ in lines} | {m for m, *_ in fills})
    n = len(members)
    return {
        "eligibility": pl.DataFrame({"member_id": members, "birth_date": ["1980-01-01"] * n, "gender": ["female"] * n,
                                     "enrollment_start_date": ["2025-01-01"] * n, "enrollment_end_date": ["2025-12-31"] * n}),
        "medical_claim": pl.DataFrame({
            "claim_id": [c for _, c, *_ in lines], "claim_line_number": [str(i) for *_, i in lines],
            "claim_type": ["professional"] * len(lines), "member_id": [m for m, *_ in lines],
            "claim_start_date": [d for _, _, d, *_ in lines], "claim_end_date": [d for _, _, d, *_ in lines],
            "hcpcs_code": [h for *_, h, _ in lines], "diagnosis_code_1": ["F20.9"] * len(lines)},
            schema={c: pl.String for c in ("claim_id", "claim_line_number", "claim_type", "member_id", "claim_start_date",
                                           "claim_end_date", "hcpcs_code", "diagnosis_code_1")}),
        "pharmacy_claim": pl.DataFrame({
            "claim_id": [c for _, c, *_ in fills], "member_id": [m for m, *_ in fills], "dispensing_date": [d for _, _, d, *_ in fills],
            "ndc_code": [x for *_, x, _ in fills], "days_supply": [s for *_, s in fills]},
            schema={c: pl.String for c in ("claim_id", "member_id", "dispensing_date", "ndc_code", "days_supply")}),
    }


@pytest.fixture
def toy(tmp_path: Path) -> tuple[Path, Path]:
    spec = tmp_path / "TOYLAI.yaml"
    spec.write_text(SPEC)
    vs = tmp_path / "vs"
    vs.mkdir()
    for name, text in SETS.items():
        (vs / name).write_text(text)
    return spec, vs


def _events(toy: tuple[Path, Path], define: str, tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    from bhmeasures.api import inputs_from_frames, plans, prepare_specs
    from bhmeasures.engine.compute import prepare
    from bhmeasures.engine.run import MeasureRun

    spec, vs = toy
    loaded, library = prepare_specs([spec], [vs], None)
    plan = plans(loaded, library, 2025)[0]
    data = prepare(inputs_from_frames(tables), [plan], library, 2025, lambda _m: None, {})
    return MeasureRun(plan, data).events(define).sort("member_id", "event_id")


def test_an_injection_covers_its_lists_days_and_carries_its_drug(toy: tuple[Path, Path]) -> None:
    lines = [("M1", "A", "2025-03-01", "J2426", "1"),  # 28 days: Mar 1 - Mar 28
             ("M1", "B", "2025-03-05", "j2794", "1"),  # lower-case code, 14 days: Mar 5 - Mar 18
             ("M1", "C", "2025-03-09", "J1631", "1"),  # no days_supply: the line's own dates
             ("M1", "D", "2025-04-01", "J2794", "1"), ("M1", "D", "2025-04-01", "J2426", "2")]  # one event: the longest
    ev = _events(toy, "Injections", _tables(lines, []))
    got = {r["event_id"]: (str(r["end_date"]), r["drug"]) for r in ev.iter_rows(named=True)}
    assert got == {"A": ("2025-03-28", "paliperidone"), "B": ("2025-03-18", "risperidone"), "C": ("2025-03-09", "haloperidol"),
                   "D": ("2025-04-28", "paliperidone")}


def test_a_pharmacy_injection_covers_its_lists_days_not_the_claims(toy: tuple[Path, Path]) -> None:
    fills = [("M1", "F1", "2025-03-01", "50458056401", "1"),  # list: 28 days
             ("M1", "F2", "2025-03-01", "00054006344", "30")]  # no days_supply attribute: the claim's 30 days
    ev = _events(toy, "Fills", _tables([], fills))
    got = {r["event_id"]: (str(r["end_date"]), r["days_supply"], r["drug"]) for r in ev.iter_rows(named=True)}
    assert got == {"F1": ("2025-03-28", 28, "paliperidone"), "F2": ("2025-03-30", 30, "risperidone")}


def test_dispensing_events_counted_by_date_and_drug(toy: tuple[Path, Path]) -> None:
    lines = [("TWO", "A", "2025-03-01", "J2426", "1"), ("SAME", "A", "2025-03-01", "J2426", "1"),
             ("DAYS", "A", "2025-03-01", "J2426", "1"), ("DAYS", "B", "2025-03-02", "J2426", "1")]
    fills = [("TWO", "F", "2025-03-01", "00054006344", "30"),  # another drug the same day: two events
             ("SAME", "F", "2025-03-01", "50458056401", "1")]  # the same drug the same day (billed twice): one
    spec, vs = toy
    result = bhmeasures.compute_frames(_tables(lines, fills), 2025, specs=[spec], valuesets=[vs])
    counted = result.detail.filter(pl.col("numerator"))["member_id"].unique().sort().to_list()
    assert counted == ["DAYS", "TWO"]


@pytest.mark.parametrize(("change", "message"), [
    ("covers_days_from: Toy Injections.days_supply", "value set 'Toy Injections' has no attribute 'days'"),
    ("attributes: {drug: Toy Injections.drug}", "value set 'Toy Injections' has no attribute 'days'"),
])
def test_validate_names_a_missing_attribute(toy: tuple[Path, Path], change: str, message: str) -> None:
    spec, vs = toy
    spec.write_text(SPEC.replace(change, change.replace(".days_supply", ".days").replace(".drug", ".days"), 1))
    _, issues = bhmeasures.validate([spec], [vs])
    assert any(message in str(i) and "Its attributes: days_supply, drug" in str(i) for i in issues), issues


def test_validate_wants_whole_days(toy: tuple[Path, Path]) -> None:
    spec, vs = toy
    (vs / "injections.csv").write_text(SETS["injections.csv"].replace("days_supply=14", "days_supply=two weeks"))
    _, issues = bhmeasures.validate([spec], [vs])
    assert any("'days_supply' must be a whole number of days" in str(i) and "J2794" in str(i) for i in issues), issues


@pytest.mark.parametrize("change", [
    ("covers_days_from: Toy Injections.days_supply", "covers_days_from: Toy Injections"),  # encounters
    ("attributes: {drug: Toy Fills.drug}", "attributes: {drug: Toy Fills}"),  # dispensings
])
def test_validate_names_a_reference_that_is_not_value_set_dot_attribute(toy: tuple[Path, Path],
                                                                       change: tuple[str, str]) -> None:
    spec, vs = toy
    spec.write_text(SPEC.replace(*change, 1))
    _, issues = bhmeasures.validate([spec], [vs])
    wrong = change[1].split(": ")[-1].strip("{}")
    assert any(f"'{wrong}' is not VALUE SET.attribute" in str(i) and "TOYLAI.yaml:" in str(i) for i in issues), issues
