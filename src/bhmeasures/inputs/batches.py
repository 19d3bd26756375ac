"""A large table read in batches smaller than its row groups, code columns as dictionaries.

Claim files of real extracts are wide (25 diagnosis and 25 procedure columns, mostly empty) and written
in row groups of a million rows. Decoding every code column of a whole row group as strings costs time
and gigabytes; read as dictionaries, a column is its distinct codes (a few thousand) and a small integer
per row, so a value-set test runs once per distinct code and a lookup per row. A column chunk that its
statistics show to be empty is not read at all.

A Parquet file whose columns already have the contract's types is read with pyarrow, batch by batch; any
other input (text files, tables given in memory, Parquet columns the reader has to convert) is read
through the checked, normalised frame of `Inputs`, so both give the same values.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bhmeasures.inputs.reader import Inputs
from bhmeasures.inputs.schema import DATE, FLOAT, INT, STR, column_types

BATCH_ROWS = 131_072


@dataclass
class CodeColumn:
    """A code column of a batch: its distinct values and, per row, the position of its value (-1 for empty)."""

    values: pl.Series  # String
    index: np.ndarray  # int32, one per row
    key: tuple  # identifies the dictionary, so work on its values can be reused across batches

    def take(self, rows: np.ndarray) -> pl.Series:
        """The values of some rows (null where empty)."""
        idx = self.index[rows]
        out = self.values.gather(pl.Series(np.where(idx < 0, 0, idx), dtype=pl.UInt32)) if len(self.values) else \
            pl.Series([None] * len(idx), dtype=pl.String)
        return out.set(pl.Series(idx < 0), None) if (idx < 0).any() else out  # type: ignore[arg-type]


@dataclass
class Batch:
    rows: int
    frame: pl.DataFrame  # the plain columns
    codes: dict[str, CodeColumn]


_CONTRACT_ARROW = {STR: (pa.string(), pa.large_string(), pa.string_view()), DATE: (pa.date32(),),
                   INT: (pa.int8(), pa.int16(), pa.int32(), pa.int64()), FLOAT: (pa.float32(), pa.float64())}


def _as_written(path: Path, table: str, columns: list[str]) -> bool:
    """True when every column the batch needs is stored with the contract's type (no conversion needed)."""
    schema = pq.read_schema(path)
    types = column_types(table)
    for c in columns:
        if c not in schema.names:
            continue
        t = schema.field(c).type
        wanted = _CONTRACT_ARROW.get(types.get(c, STR), ())
        if pa.types.is_dictionary(t):
            t = t.value_type
        if t not in wanted:
            return False
    return True


def _code_column(arr: pa.Array | pa.ChunkedArray, column: str, rg: int) -> CodeColumn:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if not pa.types.is_dictionary(arr.type):
        arr = pc.dictionary_encode(arr)
    dictionary = arr.dictionary
    index = arr.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    values = pl.Series(dictionary.cast(pa.large_string()) if not pa.types.is_large_string(dictionary.type) else dictionary)
    buffers = dictionary.buffers()
    key = (column, rg, len(dictionary), buffers[-1].address if buffers and buffers[-1] is not None else 0)
    return CodeColumn(values.cast(pl.String), index, key)


def _empty_chunks(meta: pq.FileMetaData, rg: int, columns: list[str], names: list[str]) -> set[str]:
    """Columns of a row group whose statistics say every value is empty."""
    out = set()
    group = meta.row_group(rg)
    for c in columns:
        if c not in names:
            continue
        chunk = group.column(names.index(c))
        stats = chunk.statistics
        if stats is not None and stats.has_null_count and stats.null_count == group.num_rows:
            out.add(c)
    return out


def table_batches(inputs: Inputs, table: str, plain: list[str], codes: list[str], rows: int = BATCH_ROWS) -> Iterator[Batch]:
    """The table's rows in batches: `plain` columns as values, `codes` columns as dictionaries (missing -> empty)."""
    f = inputs.files.get(table)
    path = Path(f.path) if f is not None else None
    wanted = [*plain, *codes]
    if path is not None and path.suffix.lower() == ".parquet" and path.exists() and _as_written(path, table, wanted):
        yield from _parquet_batches(path, plain, codes, rows)
        return
    frame = inputs.frames[table]
    schema = frame.collect_schema()
    df = frame.select([c for c in wanted if c in schema]).collect()
    for start in range(0, max(df.height, 1) if df.height else 0, rows):
        part = df.slice(start, rows)
        code_columns = {}
        for c in codes:
            arr = part[c].to_arrow() if c in part.columns else pa.nulls(part.height, pa.string())
            code_columns[c] = _code_column(arr.cast(pa.large_string()) if arr.type != pa.large_string() else arr, c, start)
        yield Batch(part.height, part.select([c for c in plain if c in part.columns]), code_columns)


def _parquet_batches(path: Path, plain: list[str], codes: list[str], rows: int) -> Iterator[Batch]:
    meta = pq.read_metadata(path)
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    present_codes = [c for c in codes if c in names]
    pf = pq.ParquetFile(path, read_dictionary=present_codes)
    for rg in range(meta.num_row_groups):
        empty = _empty_chunks(meta, rg, present_codes, names)
        read_codes = [c for c in present_codes if c not in empty]
        columns = [c for c in plain if c in names] + read_codes
        for batch in pf.iter_batches(batch_size=rows, row_groups=[rg], columns=columns, use_threads=True):
            n = batch.num_rows
            frame = pl.from_arrow(batch.select([c for c in plain if c in names]))
            assert isinstance(frame, pl.DataFrame)
            code_columns = {c: _code_column(batch.column(c), c, rg) for c in read_codes}
            for c in codes:
                if c not in code_columns:
                    code_columns[c] = CodeColumn(pl.Series([], dtype=pl.String), np.full(n, -1, dtype=np.int32), (c, -1, 0, 0))
            yield Batch(n, frame, code_columns)
