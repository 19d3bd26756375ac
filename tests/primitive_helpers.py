"""Shared helpers of the primitive tests (tests/test_primitive_*.py): toy specs written to a temp folder,
decks built with `deckutil.deck_frames`, and lookups of detail and summary rows.

Every toy spec starts with HEADER (id, metadata, basis) and declares the value sets it uses at the public
version. Codes used by the toy decks (all from measure_specs/valuesets):

- ED (CPT 99283), Telephone Visits (CPT 98966), Peer Support Services (HCPCS H0038),
  Transitional Care Management Services (CPT 99495), Hospice Encounter (HCPCS G9473)
- Partial Hospitalization or Intensive Outpatient (HCPCS H0035), Inpatient Stay (bill type 111)
- Major Depression (ICD-10-CM F32.0), Schizophrenia (F20.0), AOD Abuse and Dependence (F10.20)
- Antidepressant Medications (NDC 00049490030 sertraline, 00093080701 fluoxetine)
"""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
from deckutil import deck_frames

import bhmeasures

VERSION = "bhm-public-2025.1"
ED, PHONE, PEER, TCM, HOSPICE, IOP = "99283", "98966", "H0038", "99495", "G9473", "H0035"
DEPRESSION, SCHIZOPHRENIA, ALCOHOL = "F32.0", "F20.0", "F10.20"
SERTRALINE, FLUOXETINE = "00049490030", "00093080701"
OTHER_DX = "J45.909"  # asthma: in none of the behavioral-health sets


def header(measure_id: str, basis: str = "event", value_sets: list[str] | None = None, extra: str = "") -> str:
    """The top of a toy spec: metadata, and `value_sets:` declaring each name at the public version."""
    lines = [f"id: {measure_id}", f"title: Toy {measure_id}", "version: 0.0.1", "steward: bhm primitive tests",
             f"basis: {basis}", "event_name: unit", "codes: public_substitute"]
    if value_sets:
        lines.append("value_sets:")
        lines += [f"  - {{name: {name}, version: {VERSION}}}" for name in value_sets]
    return "\n".join(lines) + "\n" + textwrap.dedent(extra)


def spec(measure_id: str, body: str, basis: str = "event", value_sets: list[str] | None = None) -> str:
    return header(measure_id, basis, value_sets) + textwrap.dedent(body)


def write_spec(folder: Path, text: str, name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    first = text.split("\n", 1)[0]
    path = folder / f"{name or first.split(':', 1)[1].strip()}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def ed(claim: str, member: str, day: str, dx: str = OTHER_DX, npi: str | None = None, **more: Any) -> dict[str, Any]:
    """A professional ED visit line."""
    row = {"claim_id": claim, "member_id": member, "claim_start_date": day, "hcpcs_code": ED, "diagnosis_code_1": dx}
    if npi:
        row["rendering_npi"] = npi
    return {**row, **more}


def line(claim: str, member: str, day: str, code: str, dx: str = OTHER_DX, npi: str | None = None, **more: Any) -> dict[str, Any]:
    """A professional claim line with a procedure code."""
    row = {"claim_id": claim, "member_id": member, "claim_start_date": day, "hcpcs_code": code, "diagnosis_code_1": dx}
    if npi:
        row["rendering_npi"] = npi
    return {**row, **more}


def stay(claim: str, member: str, admit: str, discharge: str, dx: str = OTHER_DX, **more: Any) -> dict[str, Any]:
    """An inpatient facility claim (bill type 111, room and board 0100)."""
    return {"claim_id": claim, "member_id": member, "bill_type_code": "111", "revenue_center_code": "0100",
            "admission_date": admit, "discharge_date": discharge, "diagnosis_code_1": dx, "facility_npi": "F" + member,
            **more}


def fill(claim: str, member: str, day: str, ndc: str = SERTRALINE, days: int = 30) -> dict[str, Any]:
    return {"claim_id": claim, "member_id": member, "dispensing_date": day, "ndc_code": ndc, "days_supply": days}


def members(*ids: str, birth: str = "1980-01-01", **more: Any) -> list[dict[str, Any]]:
    return [{"member_id": m, "birth_date": birth, **more} for m in ids]


def compute(folder: Path, texts: list[str] | str, deck: Mapping[str, Any], year: int = 2025,
            valuesets: list[Path] | None = None, observation: list[dict[str, Any]] | None = None,
            measures: list[str] | None = None) -> Any:
    """Write the toy specs into `folder` and compute them over the deck's all-string frames."""
    for text in [texts] if isinstance(texts, str) else texts:
        write_spec(folder, text)
    tables = deck_frames(deck)
    if observation is not None:
        cols = ["member_id", "observation_date", "code_type", "code", "result"]
        tables["observation"] = pl.DataFrame({c: [None if r.get(c) is None else str(r.get(c)) for r in observation]
                                              for c in cols}, schema=dict.fromkeys(cols, pl.String))
    kw: dict[str, Any] = {"specs": [folder]}
    if valuesets:
        kw["valuesets"] = valuesets
    return bhmeasures.compute_frames(tables, year, measures=measures, **kw)


def detail_rows(result: Any, rate: str, measure: str | None = None, key: str = "event_id") -> dict[str, dict[str, Any]]:
    """event_id (or `key`: member_id when event ids repeat across members) -> its detail row, for one rate."""
    d = result.detail.filter(pl.col("rate_id") == rate)
    if measure:
        d = d.filter(pl.col("measure_id") == measure)
    out: dict[str, dict[str, Any]] = {}
    for r in d.iter_rows(named=True):
        assert r[key] not in out, f"two detail rows for {key} {r[key]} in {rate}"
        out[r[key]] = r
    return out


def outcome(row: Mapping[str, Any]) -> tuple:
    """(denominator, numerator, evidence_claim_id, evidence_date as text) of a detail row."""
    d = row["evidence_date"]
    return (row["denominator"], row["numerator"], row["evidence_claim_id"], d.isoformat() if isinstance(d, dt.date) else d)


def summary_row(result: Any, rate: str, stratifier: str = "total", stratum: str = "total",
                measure: str | None = None) -> dict[str, Any]:
    s = result.summary.filter((pl.col("rate_id") == rate) & (pl.col("stratifier") == stratifier)
                              & (pl.col("stratum") == stratum))
    if measure:
        s = s.filter(pl.col("measure_id") == measure)
    assert s.height == 1, s
    return s.row(0, named=True)


def counts(result: Any, rate: str, stratifier: str = "total", stratum: str = "total") -> tuple[int, int, int, int]:
    """(initial_population, denominator, numerator, exclusions) of a summary row."""
    r = summary_row(result, rate, stratifier, stratum)
    return (r["initial_population"], r["denominator"], r["numerator"], r["exclusions"])


def issues_text(issues: list[Any]) -> str:
    return "\n".join(str(i) for i in issues)


def define_frames(folder: Path, deck: Mapping[str, Any], measure: str, names: list[str], year: int = 2025,
                  valuesets: list[Path] | None = None) -> dict[str, pl.DataFrame]:
    """The events of some defines of a measure already written to `folder`, as the engine computes them (to
    check columns the detail rows do not show, such as an episode's history_date)."""
    from bhmeasures.api import plans, prepare_specs
    from bhmeasures.engine.compute import prepare
    from bhmeasures.engine.run import MeasureRun
    from bhmeasures.inputs.reader import inputs_from_frames

    loaded, library = prepare_specs([folder], valuesets, [measure])
    measure_plans = plans(loaded, library, year)
    data = prepare(inputs_from_frames(deck_frames(deck)), measure_plans, library, year, lambda _m: None, {})
    run = MeasureRun(measure_plans[0], data)
    return {n: run.events(n) for n in names}
