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

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty, Full, Queue
from typing import TypeVar

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bhmeasures.inputs.reader import Inputs
from bhmeasures.inputs.schema import DATE, FLOAT, INT, STR, column_types

BATCH_ROWS = 262_144  # rows per batch: fewer per-batch steps than 131,072 (8% less time on a wide file) and no more memory
T = TypeVar("T")


# what an empty column holds, shared (never written to): built per batch, they cost 0.16 CPU s per 39M lines
_NO_VALUES = pl.Series([], dtype=pl.String)
_NO_TEXT = pa.array([], type=pa.large_string())
_NO_ROWS = np.zeros(0, dtype=np.int64)


@dataclass
class CodeColumn:
    """A code column of a batch: its distinct values, and which rows hold which of them. Two layouts:
    - as pyarrow decoded it: each row's position in `values` as stored (`raw`, unspecified on an empty row) and
      which rows have a value (`valid`); nothing is converted row by row, empty rows are masked per lookup;
    - mostly empty (diagnosis positions past the tenth, procedure codes; read by their filled rows): the rows
      that have a value and their positions only, so the work on them follows the values they hold."""

    values: pl.Series  # String; the same object for every batch that shares the dictionary
    arrow: pa.Array  # `values` as an Arrow large_string array
    n: int  # rows in the batch
    count: int  # rows with a value
    raw: np.ndarray | None = None  # per row, the position of its value as stored (any integer type)
    valid: np.ndarray | None = None  # per row, whether it has a value; None when every row has
    rows: np.ndarray | None = None  # mostly empty: the rows with a value, ascending
    codes: np.ndarray | None = None  # mostly empty: their values' positions
    # the rows last looked up with `lookup_at`, which of them have a value, and those values' positions
    _at_memo: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @classmethod
    def empty(cls, n: int) -> CodeColumn:
        return cls(_NO_VALUES, _NO_TEXT, n, 0, rows=_NO_ROWS, codes=_NO_ROWS)

    def lookup(self, table: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """(rows, table entry of each row's value): rows None for every row, the zero entry where a row is empty;
        else the rows that have a value. Every lookup table ends with an entry for values it does not know."""
        if self.raw is None:
            assert self.rows is not None and self.codes is not None
            return self.rows, np.take(table, self.codes)  # np.take: half the time of fancy indexing here
        # an empty row's stored position is arbitrary: clipped into the table, then masked
        entries = np.take(table, self.raw, mode="clip")
        if self.valid is not None:
            if entries.dtype == np.bool_:
                entries &= self.valid
            else:
                entries *= self.valid
        return None, entries

    def lookup_at(self, table: np.ndarray, at: np.ndarray) -> np.ndarray:
        """The table entry of each given row's value; the zero entry where the row is empty."""
        has, codes = self._at(at)
        if has is None:
            return np.take(table, codes, mode="clip")
        out = np.zeros(len(at), dtype=table.dtype)
        out[has] = np.take(table, codes, mode="clip")
        return out

    def _at(self, at: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """(which of the rows `at` have a value, None if all; their values' positions), kept for the next table
        looked up at the same rows."""
        memo = self._at_memo
        if memo is not None and memo[0] is at:
            return memo[1], memo[2]
        has: np.ndarray | None
        if self.raw is not None:
            codes = np.take(self.raw, at)
            has = None if self.valid is None else np.take(self.valid, at)
            if has is not None:
                codes = codes[has]
        else:
            rows, values = self.rows, self.codes
            assert rows is not None and values is not None
            if len(rows):
                pos = np.minimum(np.searchsorted(rows, at), len(rows) - 1)
                has = rows[pos] == at
                codes = values[pos[has]]
            else:
                has, codes = np.zeros(len(at), dtype=bool), values
        self._at_memo = (at, has, codes)  # type: ignore[assignment]
        return has, codes

    def positions(self, rows: np.ndarray) -> np.ndarray:
        """Each given row's position in `values`, -1 where the row is empty."""
        out = np.full(len(rows), -1, dtype=np.int64)
        has, codes = self._at(rows)
        if has is None:
            out[:] = codes
        else:
            out[has] = codes
        return out

    def distinct(self) -> np.ndarray:
        """The positions of the values some row of the batch holds."""
        if self.raw is None:
            assert self.codes is not None
            return np.unique(self.codes)
        return np.unique(self.raw if self.valid is None else self.raw[self.valid])

    def take_arrow(self, rows: np.ndarray) -> pa.Array:
        """The values of some rows as Arrow text (null where empty)."""
        idx = self.positions(rows)
        return self.arrow.take(pa.array(idx, mask=idx < 0))


@dataclass
class Batch:
    rows: int
    plain: pa.RecordBatch | pl.DataFrame  # the plain columns, as read
    codes: dict[str, CodeColumn]

    @property
    def columns(self) -> list[str]:
        return list(self.plain.schema.names) if isinstance(self.plain, pa.RecordBatch) else self.plain.columns

    def column(self, name: str) -> pl.Series:
        if isinstance(self.plain, pa.RecordBatch):
            return pl.Series(name, self.plain.column(name))
        return self.plain[name]

    def take_arrow(self, rows: np.ndarray, columns: list[str]) -> list[pa.Array]:
        """Some columns at some rows, copied (nothing keeps the batch alive)."""
        if isinstance(self.plain, pa.RecordBatch):
            index = pa.array(rows)
            return [self.plain.column(c).take(index) for c in columns]
        part = self.plain.select(columns)[pl.Series(rows, dtype=pl.UInt32)].to_arrow()
        return [part.column(c).combine_chunks() for c in columns]


_CONTRACT_ARROW = {STR: (pa.string(), pa.large_string(), pa.string_view()), DATE: (pa.date32(),),
                   INT: (pa.int8(), pa.int16(), pa.int32(), pa.int64()),
                   FLOAT: (pa.float32(), pa.float64(), pa.int8(), pa.int16(), pa.int32(), pa.int64())}


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


_INDEX_DTYPES = {pa.int8(): np.int8, pa.int16(): np.int16, pa.int32(): np.int32, pa.int64(): np.int64}


@dataclass
class _Dictionaries:
    """The last dictionary seen per column: batches of one row group repeat it, and its values (and the work
    done on them downstream) are reused while it stays the same."""

    seen: dict[str, tuple[pa.Array, pl.Series, pa.Array]]

    def values(self, column: str, dictionary: pa.Array) -> tuple[pl.Series, pa.Array]:
        last = self.seen.get(column)
        if last is not None and len(last[0]) == len(dictionary) and last[0].equals(dictionary):
            return last[1], last[2]
        text = dictionary if pa.types.is_large_string(dictionary.type) else dictionary.cast(pa.large_string())
        values = pl.Series(text).cast(pl.String)
        self.seen[column] = (dictionary, values, text)
        return values, text


def _code_column(arr: pa.Array | pa.ChunkedArray, column: str, dictionaries: _Dictionaries) -> CodeColumn:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    n = len(arr)
    if arr.null_count == n:
        return CodeColumn.empty(n)
    if not pa.types.is_dictionary(arr.type):
        arr = pc.dictionary_encode(arr)
    values, text = dictionaries.values(column, arr.dictionary)
    indices = arr.indices
    validity, data = indices.buffers()[:2]
    offset = indices.offset
    # the stored positions, as they are: filling the empty rows' positions cost more than masking per lookup
    raw = np.frombuffer(data, dtype=_INDEX_DTYPES[indices.type], count=offset + n)[offset:]
    valid = None
    if arr.null_count:
        bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), count=offset + n, bitorder="little")
        valid = bits[offset:].view(np.bool_)
    return CodeColumn(values, text, n, n - arr.null_count, raw=raw, valid=valid)


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


def _ahead(batches: Iterator[T], depth: int = 2) -> Iterator[T]:
    """The batches, decoded by a helper thread up to `depth` ahead of the consumer: Parquet decoding (pyarrow) and
    the consumer's value-set lookups (numpy, polars) release the GIL, so on two cores they overlap."""
    done = object()
    queue: Queue[object] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        queue.put(batch, timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(done)
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, which raises it
            queue.put(e)

    worker = threading.Thread(target=produce, name="bhm-parquet-reader", daemon=True)
    worker.start()
    try:
        while True:
            item = queue.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                queue.get(timeout=0.1)
            except Empty:
                pass
        worker.join()


def parquet_as_written(inputs: Inputs, table: str, columns: list[str]) -> Path | None:
    """The table's Parquet file when it can be read as stored (every column with the contract's type), else
    None (a CSV file, or columns that need converting: read through the input frame)."""
    f = inputs.files.get(table)
    path = Path(f.path) if f is not None else None
    if path is not None and path.suffix.lower() == ".parquet" and path.exists() and _as_written(path, table, columns):
        return path
    return None


def table_batches(inputs: Inputs, table: str, plain: list[str], codes: list[str], rows: int = BATCH_ROWS) -> Iterator[Batch]:
    """The table's rows in batches, in file order: `plain` columns as values, `codes` columns as dictionaries
    (missing -> empty)."""
    wanted = [*plain, *codes]
    path = parquet_as_written(inputs, table, wanted)
    if path is not None:
        yield from _ahead(_parquet_batches(path, plain, codes, rows))
        return
    frame = inputs.frames[table]
    schema = frame.collect_schema()
    df = frame.select([c for c in wanted if c in schema]).collect()
    dictionaries = _Dictionaries({})
    for start in range(0, max(df.height, 1) if df.height else 0, rows):
        part = df.slice(start, rows)
        code_columns = {}
        for c in codes:
            arr = part[c].to_arrow() if c in part.columns else pa.nulls(part.height, pa.string())
            code_columns[c] = _code_column(arr.cast(pa.large_string()) if arr.type != pa.large_string() else arr, c,
                                           dictionaries)
        yield Batch(part.height, part.select([c for c in plain if c in part.columns]), code_columns)


def _parquet_batches(path: Path, plain: list[str], codes: list[str], rows: int) -> Iterator[Batch]:
    """Two stages, each a step ahead of the next: pyarrow decodes the next batch (in its own threads) while
    this one's code columns are turned into positions and the consumer tests the one before. Mostly empty
    code columns are not decoded by pyarrow at all: their filled rows are read once by Polars (`_Sparse`)."""
    meta = pq.read_metadata(path)
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    kept = [c for c in plain if c in names]
    sparse = _Sparse(path, meta, names, codes)
    dictionaries = _Dictionaries({})
    start = 0
    for n, batch, read_codes in _ahead(_parquet_records(path, plain, [c for c in codes if c not in sparse.columns], rows)):
        code_columns = {c: _code_column(batch.column(c), c, dictionaries) for c in read_codes}
        for c in sparse.columns:
            code_columns[c] = sparse.column(c, start, n)
        for c in codes:
            if c not in code_columns:
                code_columns[c] = CodeColumn.empty(n)
        start += n
        yield Batch(n, batch.select(kept) if kept else pa.RecordBatch.from_pylist([]), code_columns)


SPARSE_FILL = 0.05  # a code column with a value on fewer of the file's rows than this is read by its filled rows


class _Sparse:
    """The mostly empty code columns of a file (diagnosis positions past the first ten, procedure codes): pyarrow
    decodes every row's definition level, about 0.14 CPU s per column per 39M rows however few values it holds,
    where Polars reads a column's filled rows only at about half that. Each such column is read once, its values
    dictionary-encoded: positions and codes are a few bytes per filled row, and a batch takes its slice."""

    def __init__(self, path: Path, meta: pq.FileMetaData, names: list[str], codes: list[str]) -> None:
        self.path = path
        # a column with no value at all is left to pyarrow, which skips its chunks by their statistics unread
        self.columns = [c for c in codes if c in names and 0 < _fill(meta, names.index(c)) < SPARSE_FILL]
        self._read: dict[str, tuple[np.ndarray, np.ndarray, pl.Series, pa.Array]] = {}

    def _load(self, column: str) -> tuple[np.ndarray, np.ndarray, pl.Series, pa.Array]:
        if column not in self._read:
            filled = (pl.scan_parquet(self.path, glob=False).with_row_index("row")
                      .filter(pl.col(column).is_not_null()).select("row", pl.col(column).cast(pl.String))
                      .collect(engine="streaming"))
            if not filled.get_column("row").is_sorted():  # a batch takes its slice by binary search
                filled = filled.sort("row")
            encoded = pc.dictionary_encode(filled.get_column(column).to_arrow())
            if isinstance(encoded, pa.ChunkedArray):
                encoded = encoded.combine_chunks()
            text = encoded.dictionary.cast(pa.large_string())
            self._read[column] = (filled.get_column("row").to_numpy().astype(np.int64),
                                  encoded.indices.to_numpy().astype(np.int32), pl.Series(text).cast(pl.String), text)
        return self._read[column]

    def column(self, column: str, start: int, n: int) -> CodeColumn:
        rows, codes, values, text = self._load(column)
        lo, hi = np.searchsorted(rows, [start, start + n])
        if lo == hi:
            return CodeColumn.empty(n)
        return CodeColumn(values, text, n, int(hi - lo), rows=rows[lo:hi] - start, codes=codes[lo:hi])


def _fill(meta: pq.FileMetaData, index: int) -> float:
    """The share of the file's rows that have a value in a column, by the row groups' statistics (1 if unknown)."""
    nulls = 0
    for rg in range(meta.num_row_groups):
        stats = meta.row_group(rg).column(index).statistics
        if stats is None or not stats.has_null_count:
            return 1.0
        nulls += stats.null_count
    return 1 - nulls / meta.num_rows if meta.num_rows else 1.0


def _parquet_records(path: Path, plain: list[str], codes: list[str], rows: int) -> Iterator[tuple[int, pa.RecordBatch, list[str]]]:
    """(rows, the batch as pyarrow decoded it, the code columns it holds) per batch, in file order."""
    meta = pq.read_metadata(path)
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    present_codes = [c for c in codes if c in names]
    pf = pq.ParquetFile(path, read_dictionary=present_codes)
    for rg in range(meta.num_row_groups):
        empty = _empty_chunks(meta, rg, present_codes, names)
        read_codes = [c for c in present_codes if c not in empty]
        columns = [c for c in plain if c in names] + read_codes
        if not columns:  # nothing to read in this row group: its rows, every code empty
            total = meta.row_group(rg).num_rows
            for start in range(0, total, rows):
                yield min(rows, total - start), pa.RecordBatch.from_pylist([]), []
            continue
        for batch in pf.iter_batches(batch_size=rows, row_groups=[rg], columns=columns, use_threads=True):
            yield batch.num_rows, batch, read_codes
