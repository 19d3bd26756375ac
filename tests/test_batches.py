"""The batch reader gives back every value of every row, whatever the layout: row groups and batches of any
size, dictionaries repeated or not, columns empty, sparse or full (engine/lines.py reads codes only this way)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import tinydata
from hypothesis import given, settings
from hypothesis import strategies as st

import bhmeasures
from bhmeasures.inputs.batches import _as_written, _code_column, _Dictionaries, _Sparse, table_batches

CODES = st.one_of(st.none(), st.sampled_from(["F329", "F1020", "Z0000", "99213", "0450", ""]))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(CODES, CODES, st.sampled_from([None, "F329"])), min_size=1, max_size=300),
       st.integers(1, 120), st.integers(1, 50), st.booleans())
def test_batches_return_every_value(rows: list[tuple], row_group: int, batch: int, dictionary: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _check(Path(tmp), rows, row_group, batch, dictionary)


@pytest.mark.parametrize(("row_group", "batch", "dictionary"), [(300, 300, True), (37, 16, True), (50, 7, False)])
def test_mostly_empty_columns_read_by_their_filled_rows(tmp_path: Path, row_group: int, batch: int, dictionary: bool) -> None:
    # 300 rows, diagnosis position 12 filled on 8 of them: read by Polars, sliced per batch
    codes = ["F329", "F1020", "Z0000", "99213", "0450", None]
    _check(tmp_path, [(codes[i % 6], codes[(i + 1) % 6], "F329") for i in range(300)], row_group, batch, dictionary)


def _check(folder: Path, rows: list[tuple], row_group: int, batch: int, dictionary: bool) -> None:
    n = len(rows)
    df = pl.DataFrame({
        "member_id": [f"M{i % 7}" for i in range(n)], "claim_id": [f"C{i}" for i in range(n)],
        "claim_line_number": pl.Series([1] * n, dtype=pl.Int32), "claim_type": ["professional"] * n,
        "claim_start_date": [dt.date(2025, 3, 1)] * n, "claim_end_date": [dt.date(2025, 3, 1)] * n,
        "diagnosis_code_1": pl.Series([r[0] for r in rows], dtype=pl.String),
        "hcpcs_code": pl.Series([r[1] for r in rows], dtype=pl.String),
        "diagnosis_code_9": pl.Series([r[2] if i % 5 == 0 else None for i, r in enumerate(rows)], dtype=pl.String),
        # filled on under 5% of rows: read by its filled rows (Polars), not decoded row by row
        "diagnosis_code_12": pl.Series([r[0] if i % 40 == 4 else None for i, r in enumerate(rows)], dtype=pl.String),
        "procedure_code_1": pl.Series([None] * n, dtype=pl.String),
    })
    pq.write_table(df.to_arrow(), folder / "medical_claim.parquet", row_group_size=row_group, use_dictionary=dictionary)
    tinydata.write_data(folder)  # the other tables
    (folder / "medical_claim.csv").unlink()
    inputs = bhmeasures.open_inputs(folder)
    # the file has the contract's types, so it is read batch by batch with pyarrow (not through a frame)
    assert _as_written(folder / "medical_claim.parquet", "medical_claim", ["claim_id", "diagnosis_code_1"])
    codes = ["diagnosis_code_1", "hcpcs_code", "diagnosis_code_9", "diagnosis_code_12", "procedure_code_1", "revenue_center_code"]
    path = folder / "medical_claim.parquet"
    meta = pq.read_metadata(path)
    sparse = _Sparse(path, meta, [meta.schema.column(i).name for i in range(meta.num_columns)], codes).columns
    assert sparse == [c for c in codes if c in df.columns and 0 < df[c].is_not_null().mean() < 0.05]  # by the file's statistics
    got: dict[str, list] = {c: [] for c in [*codes, "claim_id"]}
    for b in table_batches(inputs, "medical_claim", ["claim_id"], codes, rows=batch):
        assert b.rows <= batch
        got["claim_id"].extend(b.column("claim_id").to_list())
        for c in codes:
            col = b.codes[c]
            index = col.positions(np.arange(b.rows))
            assert len(index) == b.rows
            got[c].extend(None if i < 0 else col.values[int(i)] for i in index)
            # looked up at some rows only (the rows that passed the anchor): each row's entry, zero where empty
            at = np.flatnonzero(np.arange(b.rows) % 3 != 1)
            entries = col.lookup_at(np.append(np.arange(1, len(col.values) + 1), 0), at)  # tables end with the empty value's entry
            assert entries.tolist() == [int(i) + 1 if i >= 0 else 0 for i in index[at]]
    assert got["claim_id"] == df["claim_id"].to_list()
    for c in ("diagnosis_code_1", "hcpcs_code", "diagnosis_code_9", "diagnosis_code_12", "procedure_code_1"):
        # the reader's contract normalises text: an empty string is no value
        want = [None if v in (None, "") else v for v in df[c].to_list()]
        assert [None if v in (None, "") else v for v in got[c]] == want, c
    assert got["revenue_center_code"] == [None] * n  # a column the file lacks reads as empty


# the scan reads no other column / the claim key / every measure's conditions (taxonomies, claim types, labs)
@pytest.mark.parametrize("measures", [["FUA"], ["FUH", "FUA", "FUM", "IET"], None])
def test_kept_lines_read_back_by_row_agree_with_the_scan(tmp_path: Path, measures: list[str] | None) -> None:
    """On Parquet the scan reads the code columns (claim lines and fills) and Polars reads the other columns of the
    kept rows by their position afterwards: with row groups whose code columns are all empty (read as nothing), tiny row groups and
    batches (every batch after the first is narrowed by the anchor before any mask is built), the results are
    those of the same data read in one piece."""
    import shutil

    import bhmeasures
    from bhmeasures.bundled import sample_dir

    expected = bhmeasures.compute(bhmeasures.open_inputs(sample_dir()), year=2025, measures=measures)
    folder = tmp_path / "d"
    shutil.copytree(sample_dir(), folder)
    med = pl.read_parquet(folder / "medical_claim.parquet")
    codes = [c for c in med.columns if c.endswith("_code") or c.startswith("diagnosis_code")]
    blank = med.head(2_500).with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in codes).with_columns(
        ("BLANK" + pl.col("member_id")).alias("member_id"), ("BLANK" + pl.col("claim_id")).alias("claim_id"))
    pq.write_table(pl.concat([blank, med]).to_arrow(), folder / "medical_claim.parquet", row_group_size=1_000)
    # fills: NDCs decide in batches, the other columns of the kept fills are read back by position
    rx = pl.read_parquet(folder / "pharmacy_claim.parquet")
    blank_rx = rx.head(700).with_columns(pl.lit(None, dtype=pl.String).alias("ndc_code"),
                                         ("BLANK" + pl.col("claim_id")).alias("claim_id"))
    pq.write_table(pl.concat([blank_rx, rx]).to_arrow(), folder / "pharmacy_claim.parquet", row_group_size=300)
    got = bhmeasures.compute(bhmeasures.open_inputs(folder), year=2025, measures=measures)
    assert got.detail.sort("rate_id", "member_id", "event_id").equals(expected.detail.sort("rate_id", "member_id", "event_id"))
    assert got.summary.sort("rate_id", "stratifier", "stratum").equals(expected.summary.sort("rate_id", "stratifier", "stratum"))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([None, "F329", "F1020", "Z0000"]), max_size=400), st.integers(0, 100),
       st.booleans(), st.integers(0, 10))
def test_code_columns_as_read_at_any_offset(values: list[str | None], skip: int, encoded: bool, garbage: int) -> None:
    # a column as pyarrow decoded it keeps each row's stored position and which rows are empty; an empty row's
    # stored position is arbitrary (here: `garbage`, in or past the dictionary), and every lookup masks it
    array = pa.array(values, type=pa.string())
    if encoded:
        indices = pc.dictionary_encode(array).indices
        stored = pc.fill_null(indices, garbage).to_numpy()
        array = pa.DictionaryArray.from_arrays(pa.array(stored, mask=~np.asarray(array.is_valid()).astype(bool)),
                                               pc.dictionary_encode(array).dictionary)
    array = array.slice(min(skip, len(values)))
    col = _code_column(array, "diagnosis_code_1", _Dictionaries({}))
    expected = values[min(skip, len(values)):]
    n = len(expected)
    assert col.n == n and col.count == sum(v is not None for v in expected)
    if not col.count:
        return
    shown = [None if i < 0 else col.values[int(i)] for i in col.positions(np.arange(n))]
    assert shown == expected
    table = np.append(np.arange(1, len(col.values) + 1, dtype=np.uint64), np.uint64(0))
    rows, entries = col.lookup(table)
    full = np.zeros(n, dtype=np.uint64)
    if rows is None:
        full[:] = entries
    else:
        full[rows] = entries
    assert [col.values[int(e) - 1] if e else None for e in full] == expected
    hot = np.append(np.asarray([v == "F329" for v in col.values.to_list()]), False)
    rows, met = col.lookup(hot)
    found = np.zeros(n, dtype=bool)
    if rows is None:
        found |= met
    else:
        found[rows] = met
    assert found.tolist() == [v == "F329" for v in expected]
    at = np.flatnonzero(np.arange(n) % 2 == 0)
    assert col.lookup_at(hot, at).tolist() == [expected[i] == "F329" for i in at]
