"""Issue 7, item 6: the same data spelled differently give byte-identical summary and detail files.

A spelling is a named transform of the input tables (all-text frames, as a CSV file holds them) and the
file format they are written in. Each spelling is run through `bhm compute`'s path (files in, files out)
on populations generated as in test_properties, and its summary and detail files must equal, byte for
byte, those of the plain CSV spelling of the same population.

To add a spelling, append a `Spelling` to SPELLINGS. Spellings whose support is not built yet carry
`pending=<reason>` and are skipped with that reason; remove it once they pass.

Every parametrized case draws the same populations (one seed per session, `@seed`), so the plain CSV
results are computed once per population and shared (see `reference`). Profiles as in test_properties
(env BHM_HYPOTHESIS_PROFILE): ci 5 populations per spelling, dev 2, thorough 40.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from deckutil import deck_frames
from hypothesis import HealthCheck, given, seed, settings
from test_properties import populations

from bhmeasures import api

Tables = dict[str, pl.DataFrame]
EXAMPLES = {"ci": 5, "dev": 2, "thorough": 40}[os.environ.get("BHM_HYPOTHESIS_PROFILE", "ci")]
SESSION_SEED = random.SystemRandom().getrandbits(32)
MEASURES = ["FUH", "FUA", "FUM"]
DATES = ("birth_date", "death_date", "enrollment_start_date", "enrollment_end_date", "claim_start_date", "claim_end_date",
         "admission_date", "discharge_date", "dispensing_date", "start_date", "end_date")
WHOLE_NUMBERS = ("claim_line_number", "days_supply")
CODES = ("diagnosis_code_1", "diagnosis_code_2", "hcpcs_code", "rendering_taxonomy_code")
DIGIT_CODES = ("bill_type_code", "revenue_center_code", "place_of_service_code", "ndc_code")
IDS = ("member_id", "claim_id")


# -- transforms of all-text tables -------------------------------------------------------------------
def columns(tables: Tables, names: tuple[str, ...], change: Callable[[pl.Expr], pl.Expr]) -> Tables:
    return {t: df.with_columns(change(pl.col(c)).alias(c) for c in df.columns if c in names) for t, df in tables.items()}


def shuffled(tables: Tables, rng: random.Random) -> Tables:
    return {t: df.sample(fraction=1.0, shuffle=True, seed=rng.getrandbits(32)) for t, df in tables.items()}


def typed(tables: Tables) -> Tables:
    """As a database export types them: dates, integers, booleans."""
    tables = columns(tables, DATES, lambda c: c.str.to_date())
    tables = columns(tables, WHOLE_NUMBERS, lambda c: c.cast(pl.Int64))
    return columns(tables, ("mh_benefit", "medical_benefit", "pharmacy_benefit", "cd_benefit"),
                   lambda c: c.replace_strict({"true": True, "false": False}, default=None, return_dtype=pl.Boolean))


def every_other(c: pl.Expr, a: Callable[[pl.Expr], pl.Expr], b: Callable[[pl.Expr], pl.Expr]) -> pl.Expr:
    return pl.when(pl.int_range(pl.len()) % 2 == 0).then(a(c)).otherwise(b(c))


def lowercase_codes(tables: Tables) -> Tables:
    return columns(tables, CODES, lambda c: c.str.to_lowercase())


def dashed_ndc(code: str, pick: int) -> str:
    """An 11-digit NDC in one of the FDA's dashed layouts it fits (5-4-2 always; 4-4-2, 5-3-2, 5-4-1 when the
    segment they shorten starts with a 0)."""
    labeler, product, package = code[:5], code[5:9], code[9:]
    layouts = [f"{labeler}-{product}-{package}"]
    if labeler.startswith("0"):
        layouts.append(f"{labeler[1:]}-{product}-{package}")
    if product.startswith("0"):
        layouts.append(f"{labeler}-{product[1:]}-{package}")
    if package.startswith("0"):
        layouts.append(f"{labeler}-{product}-{package[1:]}")
    return layouts[pick % len(layouts)]


def dashed_ndcs(tables: Tables) -> Tables:
    return columns(tables, ("ndc_code",), lambda c: c.map_elements(lambda v: dashed_ndc(v, zlib.crc32(v.encode())),
                                                                     return_dtype=pl.String))


# -- spellings ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spelling:
    name: str
    fmt: str  # "csv", "csv.gz" or "parquet"
    transform: Callable[[Tables, random.Random], Tables]
    csv_options: tuple[tuple[str, Any], ...] = ()
    pending: str | None = None  # why it is not expected to pass yet


def _same(tables: Tables, _rng: random.Random) -> Tables:
    return tables


SPELLINGS = [
    Spelling("csv, rows shuffled", "csv", lambda t, rng: shuffled(t, rng)),
    Spelling("csv.gz", "csv.gz", _same),
    Spelling("csv, every field quoted, CRLF line ends", "csv", _same, (("quote_style", "always"), ("line_terminator", "\r\n"))),
    Spelling("csv, ISO date-times and YYYYMMDD dates", "csv", lambda t, _: columns(t, DATES, lambda c: every_other(
        c, lambda d: d + pl.lit("T00:00:00"), lambda d: d.str.replace_all("-", "")))),
    Spelling("csv, lowercase codes", "csv", lambda t, _: lowercase_codes(t)),
    Spelling("csv, padded values and dropped leading zeros", "csv", lambda t, _: columns(
        columns(t, CODES + IDS, lambda c: pl.lit(" ") + c + pl.lit("  ")),
        ("revenue_center_code", "place_of_service_code"), lambda c: c.str.strip_chars_start("0"))),
    Spelling("csv, column names in upper case", "csv", lambda t, _: {n: df.rename(str.upper) for n, df in t.items()}),
    Spelling("parquet, text columns", "parquet", _same),
    Spelling("parquet, typed columns, rows shuffled", "parquet", lambda t, rng: shuffled(typed(t), rng)),
    Spelling("parquet, YYYYMMDD integer dates", "parquet", lambda t, _: columns(
        typed(t), DATES, lambda c: c.dt.year().cast(pl.Int32) * 10_000 + c.dt.month().cast(pl.Int32) * 100 + c.dt.day())),
    Spelling("parquet, timestamps", "parquet", lambda t, _: columns(typed(t), DATES, lambda c: c.cast(pl.Datetime("us")))),
    Spelling("parquet, integer ids in every table", "parquet", lambda t, _: columns(typed(t), IDS, lambda c: c.cast(pl.Int64))),
    Spelling("parquet, whole numbers and digit codes as numbers", "parquet", lambda t, _: columns(
        columns(typed(t), WHOLE_NUMBERS, lambda c: c.cast(pl.Float64)), DIGIT_CODES, lambda c: c.cast(pl.Int64))),
    Spelling("parquet, lowercase codes", "parquet", lambda t, _: lowercase_codes(t)),
    Spelling("csv, dashed NDCs", "csv", lambda t, _: dashed_ndcs(t)),
    Spelling("parquet, dashed NDCs", "parquet", lambda t, _: dashed_ndcs(typed(t))),
]


# -- running -----------------------------------------------------------------------------------------
def canonical(deck: dict[str, Any]) -> Tables:
    """The population's tables with numeric text ids, so that integer-id spellings mean the same ids."""
    tables = deck_frames(deck)
    claims = sorted({c for t in ("medical_claim", "pharmacy_claim") for c in tables[t]["claim_id"]})
    claim_ids = {c: str(5_000_000 + i) for i, c in enumerate(claims)}
    out = {}
    for name, df in tables.items():
        df = df.with_columns(pl.concat_str(pl.lit("1"), pl.col("member_id").str.strip_prefix("M").str.zfill(3)).alias("member_id"))
        if "claim_id" in df.columns:
            df = df.with_columns(pl.col("claim_id").replace_strict(claim_ids))
        out[name] = df
    return out


def write(tables: Tables, folder: Path, spelling: Spelling) -> Path:
    folder.mkdir(parents=True)
    for name, df in tables.items():
        path = folder / f"{name}.{spelling.fmt}"
        if spelling.fmt == "parquet":
            df.write_parquet(path)
        else:
            text = df.write_csv(**dict(spelling.csv_options)).encode()
            path.write_bytes(gzip.compress(text, mtime=0) if spelling.fmt == "csv.gz" else text)
    return folder


def results(tables: Tables, spelling: Spelling) -> dict[str, bytes]:
    """summary.parquet and detail.parquet of `bhm compute` on these tables, written as `spelling` says."""
    with tempfile.TemporaryDirectory() as tmp:
        data = write(tables, Path(tmp) / "data", spelling)
        run = api.run(data, {}, 2025, MEASURES, out=Path(tmp) / "out")
        assert not run.result.skipped, run.result.skipped
        return {f.name: f.read_bytes() for f in run.files if f.name != "manifest.json"}


PLAIN = Spelling("csv", "csv", _same)
_reference: dict[str, dict[str, bytes]] = {}


def reference(tables: Tables) -> dict[str, bytes]:
    """The plain CSV spelling's results, once per population."""
    key = json.dumps({t: df.to_dict(as_series=False) for t, df in tables.items()}, sort_keys=True)
    if key not in _reference:
        _reference[key] = results(tables, PLAIN)
    return _reference[key]


@pytest.mark.parametrize("spelling", [pytest.param(s, id=s.name, marks=[pytest.mark.skip(reason=s.pending)] if s.pending else [])
                                      for s in SPELLINGS])
@seed(SESSION_SEED)
@settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(deck=populations())
def test_a_spelling_gives_byte_identical_results(spelling: Spelling, deck: dict[str, Any]) -> None:
    tables = canonical(deck)
    rng = random.Random(zlib.crc32(json.dumps(deck, sort_keys=True, default=str).encode()))
    assert results(spelling.transform(tables, rng), spelling) == reference(tables), f"{spelling.name} changed the results"


def test_the_spellings_really_differ_from_the_plain_files() -> None:
    """Guard against a transform that changes nothing (which would make its property vacuous)."""
    visit = {"member_id": "M1", "diagnosis_code_1": "F32.9", "hcpcs_code": "99213", "place_of_service_code": "02",
             "bill_type_code": "111", "revenue_center_code": "0100", "rendering_taxonomy_code": "2084P0800X"}
    deck = {"members": [{"member_id": "M1", "birth_date": "1990-02-03", "mh_benefit": "false"}],
            "medical_claim": [{**visit, "claim_id": c, "claim_start_date": f"2025-03-0{i + 1}"} for i, c in enumerate("ABCDE")],
            "pharmacy_claim": [{"claim_id": "F", "member_id": "M1", "dispensing_date": "2025-03-05", "ndc_code": "00054017613"}]}
    tables = canonical(deck)
    with tempfile.TemporaryDirectory() as tmp:
        plain = write(tables, Path(tmp) / "plain", PLAIN)
        for i, s in enumerate(SPELLINGS):
            folder = write(s.transform(tables, random.Random(1)), Path(tmp) / str(i), s)
            same = all((folder / f"{t}.{s.fmt}").read_bytes() == (plain / f"{t}.csv").read_bytes() for t in tables)
            assert not same, f"{s.name}: the files are the plain CSV files"
