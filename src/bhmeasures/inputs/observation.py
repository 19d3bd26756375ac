"""Checks of the optional `observation` table (clinical results such as screening scores).

Two kinds of check, each reported as one line naming the file, the column and a few offending rows:

- on reading (`unknown_code_type`, one of the reader's rules): every `code_type` is a code system bhm
  knows (`loinc` or `LN`, `snomed` or `SCT` for coded findings), written in any case;
- on computing (`check_scores`, called once the scan has kept the rows the measures use): an instrument
  whose value set gives it a positive `threshold` is scored, so its `result` must be a number. A text
  result elsewhere (a coded finding) is fine.

Dates and empty required values are checked by the reader like every other table.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from bhmeasures.errors import InputError

# code_type values bhm understands, lower case with spaces, dashes and underscores removed
CODE_TYPES = {"loinc": "loinc", "ln": "loinc", "snomed": "snomed", "snomedct": "snomed", "sct": "snomed"}
ROW_INDEX = "_obs_row"  # the row number of an observation in its file, kept through the scan for messages
_EXAMPLES = 3


def code_type_key(column: str = "code_type") -> pl.Expr:
    """The code type as bhm spells it (`LOINC`, `Loinc`, ` loinc ` are `loinc`; null when unknown)."""
    low = pl.col(column).str.to_lowercase().str.replace_all(r"[\s_-]", "")
    return low.replace_strict(list(CODE_TYPES), list(CODE_TYPES.values()), default=None, return_dtype=pl.String)


def _rows(bad: pl.DataFrame, column: str, label: str, offset: int) -> str:
    shown = ", ".join(f"{label} {r[ROW_INDEX] + offset} ({r[column]!r})" for r in bad.head(_EXAMPLES).iter_rows(named=True))
    return f"e.g. {shown}"


UNKNOWN_CODE_TYPE = "has {n} value(s) that are not a known code type (" + ", ".join(sorted(set(CODE_TYPES.values()))) + ")"


def unknown_code_type() -> pl.Expr:
    """True on a row whose code_type bhm does not know (the reader reports them with file, column and rows)."""
    return pl.col("code_type").is_not_null() & code_type_key().is_null()


def scored_codes(library: Any, value_sets: set[str]) -> list[str]:
    """Every spelling of the codes that value sets give a positive `threshold` (instruments scored as numbers)."""
    from bhmeasures.engine.codes import spellings

    out: set[str] = set()
    for name in value_sets:
        vs = library[name]
        for code in vs.attributes.get("threshold", {}):
            system = next((s for s, codes in vs.codes.items() if code in codes), "LOINC")
            out.update(spellings(system, code))
    return sorted(out)


def check_scores(rows: pl.DataFrame | None, codes: list[str], path: str, csv_like: bool) -> None:
    """Raise InputError when an observation the measures use is a scored instrument without a numeric result."""
    if rows is None or rows.is_empty() or not codes or ROW_INDEX not in rows.columns:
        return
    number = pl.col("result").str.strip_chars().cast(pl.Float64, strict=False)
    bad = rows.filter(pl.col("code").is_in(codes) & pl.col("result").is_not_null() & number.is_null()).sort(ROW_INDEX)
    if bad.is_empty():
        return
    label, offset = ("line", 2) if csv_like else ("row", 1)
    raise InputError(f"{path}: column result has {bad.height} value(s) that are not numbers on scored screening "
                     f"instruments (each needs its numeric score), {_rows(bad, 'result', label, offset)}.")
