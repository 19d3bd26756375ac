"""Every YAML deck under tests/decks/<MEASURE>/ runs through compute_frames and must match its expectations.

A deck marked `xfail: "<reason>"` records a confirmed engine bug: it must fail (with an assertion) and
passing is reported as a failure (strict), so the mark is removed as soon as the bug is fixed.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from deckutil import check_deck, deck_frames, deck_id, deck_paths, deck_year, load_deck, run_deck

PATHS = deck_paths()


def _param(path: Path):  # noqa: ANN202
    try:
        deck = load_deck(path)
    except Exception:  # noqa: BLE001 - a malformed deck fails its own test, not the whole collection
        deck = {}
    marks = []
    if deck.get("xfail"):
        marks.append(pytest.mark.xfail(reason=deck["xfail"], raises=AssertionError, strict=True))
    return pytest.param(path, id=deck_id(path), marks=marks)


@pytest.mark.parametrize("path", [_param(p) for p in PATHS])
def test_deck(path: Path) -> None:
    deck = load_deck(path)
    result = run_deck(deck)
    failures = check_deck(deck, result)
    if failures:
        detail = "\n".join(f"- {f}" for f in failures)
        raise AssertionError(f"{deck_id(path)}: {deck['description']}\n{detail}")


def test_every_measure_has_decks() -> None:
    found = {p.parent.name for p in PATHS}
    assert {"FUH", "FUA", "FUM"} <= found, f"deck folders found: {sorted(found)}"


def test_deck_file_names_are_slugs() -> None:
    bad = [deck_id(p) for p in PATHS if not p.stem.replace("-", "").isalnum() or p.stem != p.stem.lower()]
    assert not bad, f"deck file names must be lowercase slugs: {bad}"


_TINY = {
    "description": "checker self-test", "measure": "FUH",
    "members": [{"member_id": "M1", "birth_date": "1980-05-01"}],
    "medical_claim": [
        {"claim_id": "IP1", "member_id": "M1", "bill_type_code": "0111", "revenue_center_code": "0100",
         "admission_date": "2025-03-01", "discharge_date": "2025-03-05", "diagnosis_code_1": "F32.9"},
        {"claim_id": "IP1", "member_id": "M1", "bill_type_code": "0111", "revenue_center_code": "0250",
         "admission_date": "2025-03-01", "discharge_date": "2025-03-05", "diagnosis_code_1": "F32.9"},
        {"claim_id": "OP1", "member_id": "M1", "claim_start_date": "2025-03-13", "hcpcs_code": "99213",
         "place_of_service_code": "11", "diagnosis_code_1": "F32.9"},
    ],
    "expect": [{"rate_id": "FUH-30", "event_id": "IP1", "numerator": "true"}],
}


def test_builder_fills_the_contract_columns_as_strings() -> None:
    frames = deck_frames(_TINY)
    assert set(frames) == {"eligibility", "medical_claim", "pharmacy_claim"}
    for name, df in frames.items():
        assert all(dt == pl.String for dt in df.schema.values()), f"{name}: {df.schema}"
    mc = frames["medical_claim"]
    assert mc["claim_line_number"].to_list() == ["1", "2", "1"]
    assert mc["claim_type"].to_list() == ["institutional", "institutional", "professional"]
    assert mc["claim_start_date"].to_list() == ["2025-03-01", "2025-03-01", "2025-03-13"]
    assert mc["claim_end_date"].to_list() == ["2025-03-05", "2025-03-05", "2025-03-13"]
    assert mc["bill_type_code"].to_list()[0] == "0111"
    el = frames["eligibility"].row(0, named=True)
    assert (el["enrollment_start_date"], el["enrollment_end_date"], el["gender"]) == ("2024-12-01", "2026-01-31", "female")


def test_checker_reports_wrong_expectations() -> None:
    """The checks must be able to fail: wrong values, a missing row and a wrong summary are all reported."""
    result = run_deck(_TINY)
    assert not check_deck(_TINY, result), "the self-test deck itself should pass"
    wrong = {**_TINY, "expect": [
        {"rate_id": "FUH-7", "event_id": "IP1", "numerator": "true"},                # day 8: only 30-day
        {"rate_id": "FUH-30", "event_id": "IP1", "evidence_date": "2025-03-12"},
        {"rate_id": "FUH-30", "event_id": "IP1", "absent": "true"},
        {"rate_id": "FUH-30", "event_id": "NOPE", "denominator": "true"},
        {"rate_id": "FUH-30", "event_id": "IP1", "not_counted": "true"},
    ], "expect_summary": [{"rate_id": "FUH-30", "denominator": "2"}]}
    failures = check_deck(wrong, result)
    assert len(failures) == 6, "\n".join(map(str, failures))


CLAIM_LEAF_MEASURES = ("FUH", "FUA", "FUM", "IET")  # their claim-level conditions may sit on another line of a claim


@pytest.mark.parametrize("path", [_param(p) for p in PATHS if p.parent.name in CLAIM_LEAF_MEASURES])
def test_deck_from_parquet_in_tiny_row_groups(path: Path, tmp_path: Path) -> None:
    """The same decks from Parquet files with the contract's types, two rows per row group, the first two meeting
    nothing: the scan then reads the code columns batch by batch, narrows every batch after the first by its anchor, reads the other columns
    of kept lines back by position, and finds a claim-level condition met on a line it did not keep by that
    line's position (engine/lines.py). Each path must give the deck's expectations."""
    import pyarrow.parquet as pq

    import bhmeasures

    deck = load_deck(path)
    as_text = tmp_path / "csv"
    as_text.mkdir()
    for table, frame in deck_frames(deck).items():
        frame.write_csv(as_text / f"{table}.csv")
    typed = bhmeasures.open_inputs(as_text)
    folder = tmp_path / "parquet"
    folder.mkdir()
    for table, lazy in typed.frames.items():
        frame = lazy.collect()
        if table == "medical_claim":  # a first batch that meets nothing, so later batches are narrowed by the anchor
            codes = [c for c in frame.columns if c.endswith("_code") or c.startswith(("diagnosis_code", "procedure_code"))]
            blank = frame.head(2).with_columns(pl.lit(None, dtype=frame.schema[c]).alias(c) for c in codes).with_columns(
                ("BLANK" + pl.col("member_id")).alias("member_id"))
            frame = pl.concat([blank, frame])
        pq.write_table(frame.to_arrow(), folder / f"{table}.parquet", row_group_size=2)
    result = bhmeasures.compute(bhmeasures.open_inputs(folder), year=deck_year(deck), measures=[deck["measure"]])
    failures = check_deck(deck, result)
    if failures:
        detail = "\n".join(f"- {f}" for f in failures)
        raise AssertionError(f"{deck_id(path)} from Parquet: {deck['description']}\n{detail}")
