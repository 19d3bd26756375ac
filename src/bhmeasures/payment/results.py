"""Measure rates from a `bhm compute` results folder: the summary rows per entity, checked cell by cell.

Every problem is reported with the file, the row's line, the entity and the column; a bad row is
left out (so nothing is paid on it) and the rest is still read, so the run can report everything at once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import polars as pl

from bhmeasures.bundled import sample_dir
from bhmeasures.errors import Issue
from bhmeasures.payment.inputs import InputsError
from bhmeasures.payment.money import as_fraction

SUMMARY_COLUMNS = ("measure_id", "rate_id", "stratifier", "stratum", "denominator", "numerator", "rate")
NUMBERS = ("denominator", "numerator", "rate")


@dataclass(frozen=True)
class Rate:
    """One measure rate for one entity, exact when counts are known; `value` None means not available."""

    value: Fraction | None
    numerator: Fraction | None = None
    denominator: Fraction | None = None
    source: str = "results"  # results | inputs | not available
    note: str | None = None
    brief: str | None = None  # why not available, in a few words
    origin: tuple[str, int | None] | None = None  # the file and line it was read from, for error messages


@dataclass
class ResultsRates:
    folder: Path
    file: Path | None
    by_entity: dict[str, dict[str, Rate]]
    computed: set[str]  # rate ids present in the results at all
    single_entity: bool
    measurement_year: int | None
    demo: bool
    sha256: str | None
    rows: dict[str, int] = field(default_factory=dict)  # entity -> number of summary rows read for it

    def rate(self, entity: str, rate_id: str) -> Rate:
        got = self.by_entity.get(entity, {}).get(rate_id)
        if got is not None:
            return got
        if rate_id in self.computed:
            return Rate(None, source="not available", note=f"the results have no {rate_id} row for {entity} (no eligible events)",
                        brief="no row for this entity")
        return Rate(None, source="not available",
                    note=f"{rate_id} is not in the results (bhm does not compute it yet, or it was not asked for); "
                         f"supply it under rates: in the inputs file", brief="not in results or inputs")


def read_results(folder: Path, entities: list[str]) -> ResultsRates:
    """Per-entity rates from summary rows with stratifier 'entity' (or the total rows for a single-entity run);
    raise InputsError listing every problem."""
    rates, issues = load_results(folder, entities)
    if issues or rates is None:
        raise InputsError(issues)
    return rates


def load_results(folder: Path, entities: list[str]) -> tuple[ResultsRates | None, list[Issue]]:
    """The rates that could be read and every problem found (None when the summary itself is unusable)."""
    if not folder.is_dir():
        return None, [Issue(str(folder), None, f"results folder does not exist; run `bhm compute --out {folder}` first, "
                                               "or pass --results DIR.")]
    files = [folder / f"summary.{ext}" for ext in ("parquet", "csv") if (folder / f"summary.{ext}").exists()]
    if not files:
        return None, [Issue(str(folder), None, "no summary.parquet or summary.csv; is this a `bhm compute` results folder?")]
    file = files[0]
    try:
        # CSV cells are read as text and checked here, so that '1,5' or 'n/a' is reported, not guessed
        summary = pl.read_parquet(file, glob=False) if file.suffix == ".parquet" else pl.read_csv(file, glob=False, infer_schema=False)
    except Exception as e:  # noqa: BLE001 - any unreadable file is an input problem
        return None, [Issue(str(file), None, f"cannot read the summary ({type(e).__name__}: {e}).")]
    missing = [c for c in SUMMARY_COLUMNS if c not in summary.columns]
    if missing:
        return None, [Issue(str(file), None, f"the summary lacks column(s) {', '.join(missing)}; expected the columns bhm compute writes.")]
    summary = summary.with_row_index("_row")
    entity_rows = summary.filter(pl.col("stratifier") == "entity")
    single = entity_rows.is_empty()
    if single:
        if len(entities) != 1:
            return None, [Issue(str(file), None, f"the results have no per-entity rows (stratifier 'entity'), and the inputs list "
                                                 f"{len(entities)} entities.",
                                "Run bhm compute with an attribution table, or give one entity in the inputs.")]
        rows = summary.filter(pl.col("stratifier") == "total").with_columns(pl.lit(entities[0]).alias("stratum"))
    else:
        rows = entity_rows
    issues: list[Issue] = []
    by_entity: dict[str, dict[str, Rate]] = {}
    counts: dict[str, int] = {}
    first: dict[tuple[str, str], int] = {}
    csv = file.suffix == ".csv"
    for r in rows.select("_row", "stratum", "rate_id", *NUMBERS).iter_rows(named=True):
        line = r["_row"] + 2 if csv else None  # the header is line 1
        at = "" if csv else f"row {r['_row'] + 1}: "
        entity, rate_id = r["stratum"], r["rate_id"]
        if entity is None or rate_id is None:
            issues.append(Issue(str(file), line, f"{at}an entity row without {'stratum' if entity is None else 'rate_id'}."))
            continue
        counts[entity] = counts.get(entity, 0) + 1
        if (entity, rate_id) in first:
            issues.append(Issue(str(file), line, f"{at}entity {entity}: {rate_id} appears twice (first on "
                                                 f"{'line' if csv else 'row'} {first[(entity, rate_id)]}); the results would "
                                                 "silently keep one.", "Keep one row per entity and rate."))
            continue
        first[(entity, rate_id)] = r["_row"] + (2 if csv else 1)
        cells: dict[str, Fraction | None] = {}
        problems: list[str] = []
        for col in NUMBERS:
            try:
                cells[col] = _number(r[col])
            except ValueError as e:
                problems.append(f"{col}: {e}")
                continue
            if col != "rate" and (cells[col] or 0) < 0:
                problems.append(f"{col} is {_show(cells[col])}, below 0")
        for p in problems:
            issues.append(Issue(str(file), line, f"{at}entity {entity}: {rate_id} {p}.", "Numbers are plain, with a decimal point (0.25)."
                                if ":" in p else None))
        if not problems:  # a row with a bad cell is left out: nothing is paid on it
            by_entity.setdefault(entity, {})[rate_id] = _rate_of(cells, (str(file), line))
    manifest = manifest_of(folder)
    year = manifest.get("measurement_period", {}).get("year") if manifest else None
    rates = ResultsRates(folder, file, by_entity, set(summary["rate_id"].drop_nulls().unique().to_list()), single, year,
                         results_from_bundled_sample(folder), hashlib.sha256(file.read_bytes()).hexdigest(), counts)
    return rates, issues


def _number(cell: Any) -> Fraction | None:
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return None
    try:
        return as_fraction(cell)
    except TypeError as e:
        raise ValueError(f"{cell!r} is not a number") from e


def _show(x: Fraction | None) -> str:
    return "-" if x is None else (str(x.numerator) if x.denominator == 1 else f"{float(x):g}")


def _rate_of(c: dict[str, Fraction | None], origin: tuple[str, int | None]) -> Rate:
    num, den = c["numerator"], c["denominator"]
    if num is not None and den:
        return Rate(num / den, num, den, origin=origin)  # exact, not the float in the file
    if den == 0:
        return Rate(None, num if num is not None else Fraction(0), Fraction(0), "not available", "denominator is 0 for this entity",
                    "denominator 0", origin=origin)
    if c["rate"] is None:
        return Rate(None, source="not available", note="the results carry no rate", brief="no rate in results", origin=origin)
    return Rate(c["rate"], denominator=den, origin=origin)


def manifest_of(folder: Path) -> dict[str, Any] | None:
    try:
        m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return m if isinstance(m, dict) else None


def results_from_bundled_sample(folder: Path) -> bool:
    """True when the manifest says every input table came from the bundled sample data (the demo)."""
    m = manifest_of(folder)
    try:
        paths = [Path(i["path"]).resolve() for i in (m or {}).get("inputs", [])]
    except (KeyError, TypeError):
        return False
    sample = sample_dir().resolve()
    return bool(paths) and all(p.is_relative_to(sample) for p in paths)


__all__ = ["Rate", "ResultsRates", "load_results", "manifest_of", "read_results", "results_from_bundled_sample"]
