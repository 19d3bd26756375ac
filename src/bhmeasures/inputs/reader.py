"""Read the input tables (CSV, CSV.gz, Parquet), check them against the contract, normalise types and codes.

The same data spelled differently must give the same rates or a clear error, never different numbers:
- text files are read as text and every value parsed; a value with trailing characters is an error;
- dates may be dates, date-times (the date part is kept), `YYYY-MM-DD` or `YYYYMMDD` text, or integers
  that are all valid `YYYYMMDD` dates; other integers (days since 1970?) are ambiguous and rejected;
- whole numbers stored as floating point (as pandas writes a column with gaps) count as integers;
- ids matched across tables (member_id, NPIs) must have one type in every table (integer 7 vs "007").

Large typed files are not rewritten row by row: their text columns are taken as written, and
conversions are lazy expressions that run only on the lines the measures keep.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from bhmeasures.digest import KnownDigests, Stamp, digest_of
from bhmeasures.errors import InputError, did_you_mean, shown_path, shown_value
from bhmeasures.inputs import observation
from bhmeasures.inputs.schema import (
    BOOL,
    DATE,
    FLOAT,
    ID_GROUPS,
    INT,
    REQUIRED_TABLES,
    ROW_ID,
    STR,
    TABLES,
    UPPER_CASE_CODES,
    ZERO_PADDED,
    column_types,
)
from bhmeasures.inputs.textfile import LINE, read_text_table

_TRUE = ["true", "t", "1", "y", "yes"]
_FALSE = ["false", "f", "0", "n", "no"]
_EXAMPLES = 3
LARGE_TABLES = ("medical_claim", "pharmacy_claim")
# YYYY-MM-DD, optionally followed by a time of day and a zone, and nothing else
_ISO_DATE = r"^(\d{4}-\d{1,2}-\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$"
_KIND_TEXT = {DATE: "dates (YYYY-MM-DD or YYYYMMDD)", INT: "whole numbers", FLOAT: "numbers", BOOL: "true/false",
              STR: "text"}


@dataclass
class InputFile:
    table: str
    path: str  # as messages show it (relative to the working directory when under it)
    rows: int
    _sha: Future[str] | str | None = None
    stamp: Stamp | None = None  # the file as it was when its digest was taken (digest.file_stamp)

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


# -- parsing text ------------------------------------------------------------------------------------
def _plain_date(column: str) -> pl.Expr:
    """`YYYY-MM-DD` and nothing else: how most files write dates, and far cheaper than the full parse."""
    return pl.col(column).str.strip_chars().str.to_date("%Y-%m-%d", strict=False)


def _parse_text(column: str, kind: str) -> pl.Expr:
    """The typed value of a text column; null where the text is not a value of this kind."""
    s = pl.col(column).str.strip_chars()
    if kind == DATE:
        return pl.coalesce(_plain_date(column), s.str.extract(_ISO_DATE, 1).str.to_date("%Y-%m-%d", strict=False),
                           s.str.to_date("%Y%m%d", strict=False))
    number = s.cast(pl.Float64, strict=False)
    number = pl.when(number.is_finite()).then(number)
    if kind == INT:
        return pl.when(number == number.round(0)).then(number.cast(pl.Int64))
    if kind == FLOAT:
        return number
    low = s.str.to_lowercase()
    return pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False)


def _text_code(column: str) -> pl.Expr:
    """A code column of a text file: trimmed, blank as null, upper case, lost leading zeros restored."""
    e = pl.col(column).str.strip_chars()
    e = pl.when(e != "").then(e)
    if column in UPPER_CASE_CODES:
        e = e.str.to_uppercase()
    if column in ZERO_PADDED:
        e = pl.when(e.str.contains(r"^\d+$")).then(e.str.zfill(ZERO_PADDED[column])).otherwise(e)
    return e


# -- numbers that stand for dates or integers --------------------------------------------------------
def _ymd_parts(v: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    return v // 10_000, v // 100 % 100, v % 100


def _is_ymd(v: pl.Expr) -> pl.Expr:
    """True where the integer is a real calendar date written YYYYMMDD (integer arithmetic, no strings)."""
    y, m, d = _ymd_parts(v)
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    days = pl.when(m == 2).then(28 + leap.cast(pl.Int64)).when(m.is_in([4, 6, 9, 11])).then(30).otherwise(31)
    return v.is_between(10_000_101, 99_991_231) & m.is_between(1, 12) & (d >= 1) & (d <= days)




def _whole(column: str) -> pl.Expr:
    c = pl.col(column).cast(pl.Float64)  # decimals too
    return c.is_null() | (c.is_finite() & (c == c.round(0)))


def _storage(dtype: pl.DataType) -> str:
    """How a column is stored: text, integer, float, date, datetime, boolean, null or other."""
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, (pl.Categorical, pl.Enum)):
        return "text"
    if dtype.is_integer():
        return "integer"
    if dtype.is_float() or dtype.is_decimal():
        return "float"
    if dtype == pl.Date:
        return "date"
    if isinstance(dtype, pl.Datetime):
        return "datetime"
    if dtype == pl.Boolean:
        return "boolean"
    if dtype == pl.Null:
        return "null"
    return "other"


# -- checking one table ------------------------------------------------------------------------------
@dataclass
class _Check:
    """A test that is true on a bad row, the message for n such rows, and the columns to show of one."""

    column: str
    text: str
    bad: pl.Expr
    show: tuple[str, ...] = ()


@dataclass
class _Table:
    name: str
    shown: str
    frame: pl.LazyFrame  # as read (text files: every column text, plus LINE)
    text: bool  # a text file: every value is parsed and rewritten
    problems: list[str] = field(default_factory=list)
    id_storage: dict[str, str] = field(default_factory=dict)  # id column -> "text" | "integer"

    def fail(self, message: str) -> None:
        self.problems.append(f"{self.shown}: {message}")


def _match_columns(t: _Table) -> None:
    """Accept contract columns whose names differ only in case or surrounding spaces, when unambiguous."""
    names = t.frame.collect_schema().names()
    types = column_types(t.name)
    renames = {}
    for wanted in types:
        if wanted in names:
            continue
        near = [n for n in names if n.strip().lower() == wanted and n not in types]
        if len(near) == 1:
            renames[near[0]] = wanted
        elif len(near) > 1:
            t.fail(f"columns {', '.join(near)} could each be {wanted}; keep one.")
    if renames:
        t.frame = t.frame.rename(renames)


def _missing_columns(t: _Table) -> bool:
    names = t.frame.collect_schema().names()
    required, _ = TABLES[t.name]
    missing = [c for c in required if c not in names]
    if not missing:
        return False
    # one hint per missing column that has a near match, each suggestion once ("claim_start_date" and
    # "claim_end_date" both resemble "claim_id")
    hints = list(dict.fromkeys(h for c in missing if (h := did_you_mean(c, [n for n in names if n != LINE]))))
    if names and len(names) <= 2 and any(sep in names[0] for sep in (";", "\t", "|")):
        hints.append("The header looks separated by something other than commas; save the file as comma-separated.")
    found = [n for n in names if n != LINE]
    hint = (" " + " ".join(hints)) if hints else f" Found: {', '.join(found[:12])}{', ...' if len(found) > 12 else ''}."
    t.fail(f"required column(s) {', '.join(missing)} missing from table {t.name}.{hint}")
    return True


def _blank(column: str) -> pl.Expr:
    return pl.col(column).is_null() | (pl.col(column).str.strip_chars() == "")


def _facts(t: _Table, schema: pl.Schema, types: dict[str, str]) -> dict[str, dict[str, int]]:
    """One pass over the columns whose values decide how to read them: floats that should be whole, numbers
    that should be YYYYMMDD dates, text dates not all plain YYYY-MM-DD.
    Column -> {"values", "not_whole", "not_ymd", "not_plain"}."""
    exprs = []
    for c, kind in types.items():
        storage = _storage(schema[c]) if c in schema else None
        if storage == "text" and kind == DATE:
            exprs.append((~_blank(c) & _plain_date(c).is_null()).sum().alias(f"{c}\0not_plain"))
        if storage not in ("integer", "float") or (storage == "integer" and kind != DATE):
            continue
        if kind in (STR, INT, DATE):
            exprs.append(pl.col(c).is_not_null().sum().alias(f"{c}\0values"))
            if storage == "float":
                exprs.append((~_whole(c)).sum().alias(f"{c}\0not_whole"))
            if kind == DATE:
                v = pl.col(c).cast(pl.Int64, strict=False) if storage == "float" else pl.col(c).cast(pl.Int64)
                exprs.append((pl.col(c).is_not_null() & ~_is_ymd(v).fill_null(False)).sum().alias(f"{c}\0not_ymd"))
    if not exprs:
        return {}
    facts: dict[str, dict[str, int]] = {}
    for name, value in t.frame.select(exprs).collect().row(0, named=True).items():
        column, fact = name.split("\0")
        facts.setdefault(column, {})[fact] = int(value)
    return facts


def _normalise(t: _Table) -> tuple[pl.LazyFrame, list[_Check], list[_Check]]:
    """Typed columns, plus the checks on the values as read and on the typed values."""
    schema = t.frame.collect_schema()
    types = {c: k for c, k in column_types(t.name).items() if c in schema}
    facts = _facts(t, schema, types)
    ids = {c for group in ID_GROUPS.values() for table, c in group if table == t.name}
    exprs: list[pl.Expr] = []
    raw_checks: list[_Check] = []
    for c, kind in types.items():
        storage = _storage(schema[c])
        fact = facts.get(c, {})
        if fact.get("not_whole"):
            raw_checks.append(_Check(c, f"has {{n}} value(s) that are not {_KIND_TEXT[kind] if kind != STR else 'whole numbers'}",
                                     ~_whole(c), (c,)))
            continue
        expr = _typed(t, c, kind, storage, fact, raw_checks)
        if expr is not None:
            exprs.append(expr.alias(c))
        if c in ids and storage != "null":  # an empty column matches nothing either way
            t.id_storage[c] = "text" if t.text or storage == "text" else "integer"
    return t.frame.select(*exprs, *([LINE] if LINE in schema else [])), raw_checks, _rules(t.name, types)


def _typed(t: _Table, c: str, kind: str, storage: str, fact: dict[str, int], checks: list[_Check]) -> pl.Expr | None:
    """The expression that gives column `c` its contract type, or None (and a problem) when it cannot."""
    raw = pl.col(c)
    if storage == "text":
        if kind == STR:
            if t.text:
                return _text_code(c)
            # typed files are taken as written: rewriting every string of a large file is costly
            return raw if t.frame.collect_schema()[c] == pl.String else raw.cast(pl.String)
        if kind == DATE and not fact.get("not_plain"):
            return _plain_date(c)  # every value was checked to be one
        blank = _blank(c)
        parsed = _parse_text(c, kind)
        checks.append(_Check(c, f"has {{n}} value(s) that are not {_KIND_TEXT[kind]}", ~blank & parsed.is_null(), (c,)))
        return pl.when(~blank).then(parsed)
    if storage == "null":
        return raw.cast({DATE: pl.Date, STR: pl.String, INT: pl.Int64, FLOAT: pl.Float64, BOOL: pl.Boolean}[kind])
    if kind == DATE:
        if storage == "date":
            return raw
        if storage == "datetime":
            return raw.dt.date()  # the date as written, in the column's own time zone
        if storage in ("integer", "float"):
            return _numeric_date(t, c, fact, checks)
    elif kind == STR and storage in ("integer", "float"):
        text = raw.cast(pl.Int64).cast(pl.String)
        return text.str.zfill(ZERO_PADDED[c]) if c in ZERO_PADDED else text
    elif kind == INT and storage in ("integer", "float"):
        return raw.cast(pl.Int64)
    elif kind == FLOAT and storage in ("integer", "float"):
        return raw.cast(pl.Float64)
    elif kind == BOOL and storage in ("boolean", "integer"):
        return raw.cast(pl.Boolean)
    t.fail(f"column {c} is stored as {t.frame.collect_schema()[c]}, which cannot be read as {_KIND_TEXT[kind]}.")
    return None


def _numeric_date(t: _Table, c: str, fact: dict[str, int], checks: list[_Check]) -> pl.Expr | None:
    """Numbers in a date column: YYYYMMDD when every value is one; day counts are ambiguous."""
    v = pl.col(c).cast(pl.Int64)
    if not fact.get("not_ymd"):
        return pl.date(*_ymd_parts(v))  # every value was checked to be a calendar date
    if fact["not_ymd"] == fact["values"]:
        largest = t.frame.select(pl.col(c).abs().max()).collect().item()
        if largest is not None and largest < 10_000_101:
            t.fail(f"column {c} holds numbers such as {shown_value(largest)}, which are not dates written YYYYMMDD. "
                   "If they count days since 1970-01-01, store the column with the Parquet DATE type "
                   "(polars: .cast(pl.Date)); else write the dates as YYYYMMDD numbers or YYYY-MM-DD text.")
            return None
    checks.append(_Check(c, "has {n} value(s) that are not dates written YYYYMMDD",
                         pl.col(c).is_not_null() & ~_is_ymd(v).fill_null(False), (c,)))
    return None


def _rules(table: str, types: dict[str, str]) -> list[_Check]:
    """Contract rules beyond types, tested on the typed values."""
    rules = []
    if table == "pharmacy_claim" and "days_supply" in types:
        rules.append(_Check("days_supply", "is negative in {n} row(s)", pl.col("days_supply") < 0, ("days_supply",)))
    if table == "observation" and "code_type" in types:
        rules.append(_Check("code_type", observation.UNKNOWN_CODE_TYPE, observation.unknown_code_type(), ("code_type",)))
    spans = {"eligibility": ("enrollment_start_date", "enrollment_end_date"), "attribution": ("start_date", "end_date")}
    if table in spans:
        start, end = spans[table]
        rules.append(_Check(end, f"is before {start} in {{n}} row(s)", pl.col(end) < pl.col(start), (start, end)))
    return rules


def _blank_checks(t: _Table) -> list[_Check]:
    """Empty required values, on every row of text files and small tables. In large typed claim files the
    engine checks them on the lines a measure uses (a full extra pass would cost as much as the measures)."""
    if not t.text and t.name in LARGE_TABLES:
        return []
    schema = t.frame.collect_schema()
    required, _ = TABLES[t.name]
    checks = []
    for c, kind in required.items():
        if c in schema and kind in (STR, DATE) and c not in ("gender", "diagnosis_code_1"):
            checks.append(_Check(c, "is empty in {n} row(s)", _blank(c) if schema[c] == pl.String else pl.col(c).is_null()))
    return checks


def _examples(t: _Table, source: pl.LazyFrame, check: _Check) -> str:
    """`e.g. line 3 (2025-13-09, claim_id OP1)`: where, the value at fault and the row's id, nothing more."""
    schema = source.collect_schema()
    where, label = (LINE, "line") if LINE in schema else ("_bhm_row", "row")
    if where not in schema:
        source = source.with_row_index(where, offset=1)
    id_col = ROW_ID[t.name]
    extra = [id_col] if id_col in schema and id_col not in check.show else []
    rows = source.filter(check.bad.fill_null(False)).select(where, *check.show, *extra).head(_EXAMPLES).collect()
    shown = []
    for r in rows.iter_rows(named=True):
        values = [shown_value(r[c]) if len(check.show) == 1 else f"{c} {shown_value(r[c])}" for c in check.show]
        values += [f"{c} {shown_value(r[c])}" for c in extra]
        shown.append(f"{label} {r[where]}" + (f" ({', '.join(values)})" if values else ""))
    return "e.g. " + ", ".join(shown)


def _report(t: _Table, source: pl.LazyFrame, checks: list[_Check]) -> None:
    """Count every check's bad rows in one pass; name a few of each."""
    if not checks:
        return
    counts = source.select(c.bad.fill_null(False).sum().alias(f"_{i}") for i, c in enumerate(checks)).collect().row(0)
    for check, n in zip(checks, counts, strict=True):
        if n:
            t.fail(f"column {check.column} {check.text.format(n=n)}, {_examples(t, source, check)}.")


def _check_table(t: _Table) -> pl.LazyFrame | None:
    """The typed frame of one table; its problems are added to `t.problems`."""
    _match_columns(t)
    if _missing_columns(t):
        return None
    typed, raw_checks, rules = _normalise(t)
    _report(t, t.frame, _blank_checks(t) + raw_checks)
    typed_columns = typed.collect_schema()
    _report(t, typed, [r for r in rules if all(c in typed_columns for c in r.show)])  # values that could not be typed are null
    return typed.drop(LINE, strict=False)


def _id_type_problems(tables: list[_Table]) -> list[str]:
    """Ids matched across tables must be stored alike: integer 7 and text "007" cannot be matched without guessing."""
    problems = []
    for name, group in ID_GROUPS.items():
        seen = [(t, c, t.id_storage[c]) for t in tables for table, c in group if t.name == table and c in t.id_storage]
        integer = [(t, c) for t, c, s in seen if s == "integer"]
        text = [(t, c) for t, c, s in seen if s == "text"]
        if integer and text:
            (ti, ci), (tt, ct) = integer[0], text[0]
            problems.append(
                f"{ti.shown}: column {ci} holds integers, but column {ct} of {tt.shown} holds text. {name} values are "
                f'matched across tables, and an integer such as 7 cannot be matched to text such as "007" without '
                f"guessing: store {name} the same way in every table (text keeps leading zeros).")
    return problems


def _scan(table: str, path: Path) -> _Table:
    shown = shown_path(path)
    name = path.name.lower()
    if name.endswith(".parquet"):
        return _Table(table, shown, pl.scan_parquet(path, glob=False), text=False)
    if name.endswith((".csv", ".csv.gz")):
        frame, problems = read_text_table(path, shown)
        return _Table(table, shown, (frame if frame is not None else pl.DataFrame()).lazy(), text=True, problems=problems)
    return _Table(table, shown, pl.LazyFrame(), text=False, problems=[f"{shown}: unsupported file type; use .parquet, .csv or .csv.gz."])


def _unreadable(table: str, shown: str, error: Exception) -> str:
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if isinstance(error, UnicodeDecodeError) or "utf-8" in first.lower() or "utf8" in first.lower():
        return f"{shown}: is not UTF-8 text; save it as UTF-8 (\"CSV UTF-8\" in spreadsheet programs)."
    return f"{shown}: cannot be read as table {table} ({first})."


def _check_all(tables: list[_Table]) -> dict[str, pl.LazyFrame]:
    frames: dict[str, pl.LazyFrame] = {}
    for t in tables:
        if t.problems:
            continue
        try:
            typed = _check_table(t)
        except pl.exceptions.PolarsError as e:
            t.problems.append(_unreadable(t.name, t.shown, e))
            continue
        if typed is not None:
            frames[t.name] = typed
    problems = [p for t in tables for p in t.problems] + _id_type_problems(tables)
    if problems:
        raise InputError("\n".join(problems))
    return frames


def read_inputs(paths: dict[str, Path], known_digests: KnownDigests | None = None) -> Inputs:
    """Open, check and normalise every table; raise InputError listing every problem found. `known_digests` (by
    absolute path: the file's stamp and sha256, from an earlier run's manifest) spares hashing a file again
    while its stamp is unchanged."""
    tables = []
    for table, path in paths.items():
        try:
            tables.append(_scan(table, path))
        except (pl.exceptions.PolarsError, UnicodeDecodeError, OSError) as e:
            tables.append(_Table(table, shown_path(path), pl.LazyFrame(), False, [_unreadable(table, shown_path(path), e)]))
    frames = _check_all(tables)
    files = {}
    for t in tables:
        rows = t.frame.select(pl.len()).collect().item()
        stamp, digest = digest_of(paths[t.name], known_digests or {})
        files[t.name] = InputFile(t.name, t.shown, rows, digest, stamp)
    return Inputs(frames, files)


def inputs_from_frames(frames: dict[str, pl.DataFrame]) -> Inputs:
    """Check and normalise in-memory tables (string or typed columns) exactly as files are."""
    unknown = [t for t in frames if t not in TABLES]
    missing = [t for t in REQUIRED_TABLES if t not in frames]
    if unknown or missing:
        raise InputError("\n".join([*(f"<memory>: unknown table '{t}'." for t in unknown),
                                    *(f"<memory>: required table {t} is missing." for t in missing)]))
    tables = [_Table(name, f"<{name}>", df.lazy(), text=all(dt == pl.String for dt in df.schema.values()))
              for name, df in frames.items()]
    checked = _check_all(tables)
    files = {name: InputFile(name, f"<{name}>", df.height, None) for name, df in frames.items()}
    return Inputs(checked, files)
