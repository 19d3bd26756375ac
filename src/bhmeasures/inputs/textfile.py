"""Text tables (.csv, .csv.gz): every line must hold as many fields as the header; blank lines carry nothing.

Polars pads a short line with nulls and stops at a long one without saying where, so the fields of
every line are counted first, from the file's lines: commas outside double quotes, plus one. A file
whose quoted values span lines is counted with Python's csv module instead (slower, exact).
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import polars as pl

LINE = "_bhm_line"  # each row's line number in the file, for messages; not part of the typed table
_SHOWN = 3
_COUNTS = {"line": pl.Int64, "fields": pl.Int64}  # fields is 0 on a blank line
NULL_TEXT = ["", "NULL", "null", "Null"]  # how database exports write a missing value


def _records_by_csv_module(path: Path) -> pl.DataFrame:
    """(line where the record starts, fields) of every record."""
    lines, fields = [], []
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        start = 1
        for row in reader:
            lines.append(start)
            fields.append(0 if not any(v.strip() for v in row) and len(row) <= 1 else len(row))
            start = reader.line_num + 1
    return pl.DataFrame({"line": lines, "fields": fields}, schema=_COUNTS)


def records(path: Path) -> pl.DataFrame:
    """(line, fields) of every record of a text table, the header first."""
    text = pl.read_csv(path, glob=False, has_header=False, separator="\x1f", quote_char=None, schema={"text": pl.String},
                       empty_string_is_null=False, truncate_ragged_lines=True, raise_if_empty=False)
    quotes = text.select(pl.col("text").str.count_matches('"', literal=True).alias("q"))["q"]
    if (quotes % 2 == 1).any():
        return _records_by_csv_module(path)  # a quoted value spans lines
    # commas inside quotes are not separators; most files quote nothing, and skip the regex
    unquoted = pl.col("text").str.replace_all(r'"[^"]*"', "") if quotes.sum() else pl.col("text")
    fields = pl.when(pl.col("text").str.strip_chars() == "").then(0).otherwise(unquoted.str.count_matches(",", literal=True) + 1)
    return text.select(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("line"), fields.cast(pl.Int64).alias("fields"))


def _examples(rows: pl.DataFrame) -> str:
    shown = ", ".join(f"line {r['line']} ({r['fields']} fields)" for r in rows.head(_SHOWN).iter_rows(named=True))
    return f"e.g. {shown}" + (", ..." if rows.height > _SHOWN else "")


def read_text_table(path: Path, shown: str) -> tuple[pl.DataFrame | None, list[str]]:
    """Every column as text plus LINE, or None and the problems that keep the file from being read."""
    counts = records(path)
    if counts.is_empty() or counts["fields"][0] == 0:
        return None, [f"{shown}: the first line is empty; it must name the columns (the header)."]
    expected = counts["fields"][0]
    body = counts.slice(1)
    problems = []
    short = body.filter(pl.col("fields").is_between(1, expected - 1))
    if short.height:
        problems.append(f"{shown}: {short.height} line(s) have fewer fields than the header's {expected}, {_examples(short)}. "
                        "Each line needs a value or an empty field for every column.")
    long = body.filter(pl.col("fields") > expected)
    if long.height:
        problems.append(f"{shown}: {long.height} line(s) have more fields than the header's {expected}, {_examples(long)}. "
                        'Put values that contain commas in double quotes ("a, b").')
    if problems:
        return None, problems
    frame = pl.read_csv(path, glob=False, infer_schema=False, null_values=NULL_TEXT)
    duplicated = sorted({c.split("_duplicated_")[0] for c in frame.columns if "_duplicated_" in c})
    if duplicated:
        return None, [f"{shown}: column(s) {', '.join(duplicated)} appear more than once in the header; keep one of each."]
    if frame.height != body.height:  # should not happen; row numbers are then the best we can name
        return frame.with_row_index(LINE, offset=2).with_columns(pl.col(LINE).cast(pl.Int64)), []
    # Polars reads a blank line as a row of nulls: it carries nothing and is dropped.
    frame = frame.with_columns(body["line"].alias(LINE))
    blank = body.filter(pl.col("fields") == 0)["line"]
    return (frame.filter(~pl.col(LINE).is_in(blank.implode())) if blank.len() else frame), []
