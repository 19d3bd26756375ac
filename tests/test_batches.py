"""The batch reader gives back every value of every row, whatever the layout: row groups and batches of any
size, dictionaries repeated or not, columns empty, sparse or full (engine/lines.py reads codes only this way)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import tinydata
from hypothesis import given, settings
from hypothesis import strategies as st

import bhmeasures
from bhmeasures.inputs.batches import _as_written, table_batches

CODES = st.one_of(st.none(), st.sampled_from(["F329", "F1020", "Z0000", "99213", "0450", ""]))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(CODES, CODES, st.sampled_from([None, "F329"])), min_size=1, max_size=300),
       st.integers(1, 120), st.integers(1, 50), st.booleans())
def test_batches_return_every_value(rows: list[tuple], row_group: int, batch: int, dictionary: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _check(Path(tmp), rows, row_group, batch, dictionary)


def _check(folder: Path, rows: list[tuple], row_group: int, batch: int, dictionary: bool) -> None:
    n = len(rows)
    df = pl.DataFrame({
        "member_id": [f"M{i % 7}" for i in range(n)], "claim_id": [f"C{i}" for i in range(n)],
        "claim_line_number": pl.Series([1] * n, dtype=pl.Int32), "claim_type": ["professional"] * n,
        "claim_start_date": [dt.date(2025, 3, 1)] * n, "claim_end_date": [dt.date(2025, 3, 1)] * n,
        "diagnosis_code_1": pl.Series([r[0] for r in rows], dtype=pl.String),
        "hcpcs_code": pl.Series([r[1] for r in rows], dtype=pl.String),
        "diagnosis_code_9": pl.Series([r[2] if i % 5 == 0 else None for i, r in enumerate(rows)], dtype=pl.String),
        "procedure_code_1": pl.Series([None] * n, dtype=pl.String),
    })
    pq.write_table(df.to_arrow(), folder / "medical_claim.parquet", row_group_size=row_group, use_dictionary=dictionary)
    tinydata.write_data(folder)  # the other tables
    (folder / "medical_claim.csv").unlink()
    inputs = bhmeasures.open_inputs(folder)
    # the file has the contract's types, so it is read batch by batch with pyarrow (not through a frame)
    assert _as_written(folder / "medical_claim.parquet", "medical_claim", ["claim_id", "diagnosis_code_1"])
    codes = ["diagnosis_code_1", "hcpcs_code", "diagnosis_code_9", "procedure_code_1", "revenue_center_code"]
    got: dict[str, list] = {c: [] for c in [*codes, "claim_id"]}
    for b in table_batches(inputs, "medical_claim", ["claim_id"], codes, rows=batch):
        assert b.rows <= batch
        got["claim_id"].extend(b.column("claim_id").to_list())
        for c in codes:
            col = b.codes[c]
            index = col.index()
            assert len(index) == b.rows
            got[c].extend(None if i < 0 else col.values[int(i)] for i in index)
    assert got["claim_id"] == df["claim_id"].to_list()
    for c in ("diagnosis_code_1", "hcpcs_code", "diagnosis_code_9", "procedure_code_1"):
        # the reader's contract normalises text: an empty string is no value
        want = [None if v in (None, "") else v for v in df[c].to_list()]
        assert [None if v in (None, "") else v for v in got[c]] == want, c
    assert got["revenue_center_code"] == [None] * n  # a column the file lacks reads as empty
