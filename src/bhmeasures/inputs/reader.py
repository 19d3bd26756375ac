"""Read the input tables (CSV, CSV.gz, Parquet), check them against the contract, normalise types and codes."""

from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from bhmeasures.errors import InputError
from bhmeasures.inputs import observation
from bhmeasures.inputs.schema import (
    BOOL, DATE, FLOAT, INT, POLARS_TYPES, REQUIRED_TABLES, STR, TABLES, ZERO_PADDED, column_types,
)

SUFFIXES = (".parquet", ".csv", ".csv.gz")
_TRUE = ["true", "t", "1", "y", "yes"]
_FALSE = ["false", "f", "0", "n", "no"]
_EXAMPLES = 3
LARGE_TABLES = ("medical_claim", "pharmacy_claim")

_hash_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bhm-sha256")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class InputFile:
    table: str
    path: str
    rows: int
    _sha: Future[str] | str | None = None

    @property
    def sha256(self) -> str | None:
        if isinstance(self._sha, Future):
            self._sha = self._sha.result()
        return self._sha


@dataclass
class Inputs:
    """Typed, normalised input tables as lazy frames, with what was read from where."""

    frames: dict[str, pl.LazyFrame]
    files: dict[str, InputFile]
    _non_null: dict[tuple[str, str], bool] = field(default_factory=dict)

    def has_column(self, table: str, column: str) -> bool:
        return table in self.frames and column in self.frames[table].collect_schema()

    def column_filled(self, table: str, column: str) -> bool:
        """True when the column exists and holds at least one value."""
        key = (table, column)
        if key not in self._non_null:
            self._non_null[key] = self.has_column(table, column) and bool(
                self.frames[table].select(pl.col(column).is_not_null().any()).collect().item()
            )
        return self._non_null[key]

    def prefetch_filled(self, columns: list[tuple[str, str]]) -> None:
        """Check several columns of a table for any value in one pass."""
        by_table: dict[str, list[str]] = {}
        for t, c in columns:
            if (t, c) not in self._non_null:
                if self.has_column(t, c):
                    if c not in by_table.setdefault(t, []):
                        by_table[t].append(c)
                else:
                    self._non_null[(t, c)] = False
        for t, cols in by_table.items():
            # a value in the first rows settles it; only columns empty there need the whole file
            for rows in (self.frames[t].head(100_000), self.frames[t]):
                row = rows.select(pl.col(c).is_not_null().any() for c in cols).collect().row(0)
                self._non_null.update({(t, c): bool(v) for c, v in zip(cols, row, strict=True)})
                cols = [c for c, v in zip(cols, row, strict=True) if not v]
                if not cols:
                    break


def find_tables(data_dir: Path | None, overrides: dict[str, Path]) -> dict[str, Path]:
    """Map table names to files: `<table>.parquet|.csv|.csv.gz` in the data directory, then explicit paths."""
    found: dict[str, Path] = {}
    problems: list[str] = []
    if data_dir is not None:
        if not data_dir.is_dir():
            raise InputError(f"{data_dir}: data directory does not exist; pass --data DIR with the input tables.")
        for table in TABLES:
            matches = [data_dir / f"{table}{s}" for s in SUFFIXES if (data_dir / f"{table}{s}").exists()]
            if len(matches) > 1:
                problems.append(f"{data_dir}: table {table} is in more than one file ({', '.join(m.name for m in matches)}); keep one.")
            elif matches:
                found[table] = matches[0]
    for table, path in overrides.items():
        if table not in TABLES:
            problems.append(f"--table {table}=...: unknown table '{table}'; tables are {', '.join(TABLES)}.")
        elif not path.exists():
            problems.append(f"{path}: file for table {table} does not exist.")
        else:
            found[table] = path
    for table in REQUIRED_TABLES:
        if table not in found:
            hint = ""
            if data_dir is not None:
                near = sorted(p.name for p in data_dir.iterdir() if p.name.startswith(table))
                if near:
                    hint = f" Found {', '.join(near)}: pass --table {table}={data_dir / near[0]}."
            where = data_dir or "the inputs"
            problems.append(f"{where}: required table {table} is missing (expected {table}.parquet, .csv or .csv.gz).{hint}")
    if problems:
        raise InputError("\n".join(problems))
    return found


def _examples(frame: pl.DataFrame, column: str, line_offset: int, label: str) -> str:
    rows = frame.head(_EXAMPLES)
    shown = ", ".join(f"{label} {r['_row'] + line_offset} ({r[column]!r})" for r in rows.iter_rows(named=True))
    return f"e.g. {shown}"


def _parse_expr(column: str, kind: str) -> pl.Expr:
    c = pl.col(column)
    if kind == DATE:
        s = c.str.strip_chars()
        return pl.coalesce(
            s.str.to_date("%Y-%m-%d", strict=False),
            s.str.to_date("%Y%m%d", strict=False),
            s.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False),
        )
    if kind == INT:
        return c.str.strip_chars().cast(pl.Float64, strict=False).pipe(
            lambda f: pl.when(f == f.round(0)).then(f.cast(pl.Int64)))
    if kind == FLOAT:
        return c.str.strip_chars().cast(pl.Float64, strict=False)
    if kind == BOOL:
        low = c.str.strip_chars().str.to_lowercase()
        return pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False)
    return c


_KIND_TEXT = {DATE: "dates (YYYY-MM-DD)", INT: "whole numbers", FLOAT: "numbers", BOOL: "true/false"}


def _normalise(table: str, frame: pl.LazyFrame, path: str, csv_like: bool) -> tuple[pl.LazyFrame, list[str]]:
    """Cast every contract column to its type and return (frame, problems)."""
    schema = frame.collect_schema()
    types = column_types(table)
    required, _ = TABLES[table]
    problems: list[str] = []
    missing = [c for c in required if c not in schema]
    if missing:
        problems.append(f"{path}: required column(s) {', '.join(missing)} missing from table {table}.")
        return frame, problems
    keep = [c for c in schema if c in types]
    exprs: list[pl.Expr] = []
    checks: list[tuple[str, str, pl.Expr]] = []  # (column, kind, expr that is true on a bad row)
    for c in keep:
        kind, dtype = types[c], schema[c]
        raw = pl.col(c)
        if dtype == pl.String and not csv_like and kind == STR:
            expr = raw  # typed files are taken as written: rewriting every string of a large file is costly
        elif dtype == pl.String:
            raw = pl.when(raw.str.strip_chars() != "").then(raw)
            if kind == STR:
                expr = raw.str.strip_chars()
                if c in ZERO_PADDED and csv_like:
                    expr = expr.str.zfill(ZERO_PADDED[c])
            else:
                expr = _parse_expr(c, kind).pipe(lambda e, r=raw: pl.when(r.is_not_null()).then(e))
                checks.append((c, kind, raw.is_not_null() & expr.is_null()))
        elif kind == STR:
            expr = raw.cast(pl.String)
            if c in ZERO_PADDED and dtype.is_integer():
                expr = expr.str.zfill(ZERO_PADDED[c])
        elif kind == DATE and isinstance(dtype, pl.Datetime):
            expr = raw.dt.date()
        else:
            try:
                pl.Series([], dtype=dtype).cast(POLARS_TYPES[kind])
            except Exception:  # noqa: BLE001 - any failure means the type cannot hold this kind
                problems.append(f"{path}: column {c} has type {dtype}, which cannot be read as {_KIND_TEXT.get(kind, kind)}.")
                continue
            expr = raw.cast(POLARS_TYPES[kind], strict=False)
        exprs.append(expr.alias(c))
    typed = frame.select(exprs)
    # Contract rules beyond types.
    rules: list[tuple[str, str, pl.Expr]] = []
    # Empty required values: checked on every row of text files and small tables; in large typed claim
    # files the engine checks them on the lines a measure uses (a full extra pass would cost as much as
    # the measures themselves).
    empty: list[tuple[str, str, pl.Expr]] = []  # tested on the values as read, so a bad date is not also "empty"
    if csv_like or table not in LARGE_TABLES:
        for c in required:
            if c in keep and types[c] in (STR, DATE) and c not in ("gender", "diagnosis_code_1"):
                blank = pl.col(c).is_null()
                if schema[c] == pl.String:
                    blank = blank | (pl.col(c).str.strip_chars() == "")
                empty.append((c, "is empty", blank))
    if table == "pharmacy_claim" and "days_supply" in keep:
        rules.append(("days_supply", "is negative", pl.col("days_supply") < 0))
    if table == "eligibility":
        rules.append(("enrollment_end_date", "is before enrollment_start_date",
                      pl.col("enrollment_end_date") < pl.col("enrollment_start_date")))
    if table == "attribution":
        rules.append(("end_date", "is before start_date", pl.col("end_date") < pl.col("start_date")))
    label, offset = ("line", 2) if csv_like else ("row", 1)
    if table == "observation":
        problems.extend(observation.check_table(frame, path, label, offset))
    # each list of tests is counted in one pass over the frame it reads (raw strings or typed values)
    not_parsed = [(c, f"has {{n}} value(s) that are not {_KIND_TEXT[kind]}", e) for c, kind, e in checks]
    broken = [(c, f"{text} in {{n}} row(s)", e.fill_null(False)) for c, text, e in rules]
    blank = [(c, f"{text} in {{n}} row(s)", e) for c, text, e in empty]
    for source, tests in ((frame, blank), (frame, not_parsed), (typed, broken)):
        if not tests:
            continue
        counts = source.select(e.sum().alias(f"_{i}") for i, (_, _, e) in enumerate(tests)).collect().row(0)
        for (c, text, e), n in zip(tests, counts, strict=True):
            if n:
                bad = source.with_row_index("_row").filter(e).select("_row", c).head(_EXAMPLES).collect()
                problems.append(f"{path}: column {c} {text.format(n=n)}, {_examples(bad, c, offset, label)}.")
    return typed, problems


def _scan(path: Path) -> tuple[pl.LazyFrame, bool]:
    name = path.name.lower()
    if name.endswith(".parquet"):
        return pl.scan_parquet(path), False
    if name.endswith(".csv") or name.endswith(".csv.gz"):
        return pl.read_csv(path, infer_schema=False, null_values=[""]).lazy(), True
    raise InputError(f"{path}: unsupported file type; use .parquet, .csv or .csv.gz.")


def read_inputs(paths: dict[str, Path]) -> Inputs:
    """Open, check and normalise every table; raise InputError listing every problem found."""
    frames: dict[str, pl.LazyFrame] = {}
    files: dict[str, InputFile] = {}
    problems: list[str] = []
    for table, path in paths.items():
        try:
            raw, csv_like = _scan(path)
            typed, found = _normalise(table, raw, str(path), csv_like)
        except pl.exceptions.PolarsError as e:
            first = str(e).strip().splitlines()[0]
            problems.append(f"{path}: cannot be read as table {table} ({first}).")
            continue
        problems.extend(found)
        frames[table] = typed
        rows = raw.select(pl.len()).collect().item()
        files[table] = InputFile(table, str(path), rows, _hash_pool.submit(_sha256, path))
    if problems:
        raise InputError("\n".join(problems))
    return Inputs(frames, files)


def inputs_from_frames(frames: dict[str, pl.DataFrame]) -> Inputs:
    """Check and normalise in-memory tables (string or typed columns) exactly as files are."""
    out: dict[str, pl.LazyFrame] = {}
    files: dict[str, InputFile] = {}
    problems: list[str] = []
    for table, df in frames.items():
        if table not in TABLES:
            problems.append(f"<memory>: unknown table '{table}'.")
            continue
        csv_like = all(dt == pl.String for dt in df.schema.values())
        typed, found = _normalise(table, df.lazy(), f"<{table}>", csv_like)
        problems.extend(found)
        out[table] = typed
        files[table] = InputFile(table, f"<{table}>", df.height, None)
    for table in REQUIRED_TABLES:
        if table not in frames:
            problems.append(f"<memory>: required table {table} is missing.")
    if problems:
        raise InputError("\n".join(problems))
    return Inputs(out, files)
