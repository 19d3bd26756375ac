"""Write summary, detail and manifest.json so that a failed run leaves no partial files."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from bhmeasures.engine.compute import ComputeResult
from bhmeasures.inputs import Inputs
from bhmeasures.spec.loader import LoadedSpec
from bhmeasures.valuesets import ValueSetLibrary

FORMATS = ("parquet", "csv")
PUBLIC_PROVENANCE = {"public-substitute", "public-vsac", "public-code-system"}


def value_set_origin(provenance: set[str]) -> str:
    """Where a value set's codes came from, for the manifest: the bundled public substitutes, NCQA's licensed
    workbooks (`bhm valuesets import`), or a user's own files."""
    if provenance <= PUBLIC_PROVENANCE:
        return "public-substitute"
    if provenance == {"ncqa-imported"}:
        return "ncqa-imported"
    return "user-supplied"


def _value_set_hash(library: ValueSetLibrary, name: str) -> str:
    vs = library[name]
    rows = sorted(f"{s}|{c}" for s, codes in vs.codes.items() for c in codes)
    rows += sorted(f"{s}|{c}*" for s, codes in vs.prefixes.items() for c in codes)
    return hashlib.sha256("\n".join([vs.name, vs.version, *rows]).encode()).hexdigest()


def build_manifest(
    result: ComputeResult, specs: list[LoadedSpec], library: ValueSetLibrary, inputs: Inputs, year: int,
    engine_version: str,
) -> dict[str, Any]:
    used = sorted({v.name for s in specs for v in s.spec.value_sets})
    return {
        "engine": {"name": "bhmeasures", "version": engine_version, "polars": pl.__version__, "python": platform.python_version()},
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "measurement_period": {"year": year, "start": f"{year}-01-01", "end": f"{year}-12-31"},
        "status": "complete" if result.complete else "partial",
        "computed": result.computed,
        "skipped": result.skipped,
        "notes": result.notes,
        "specs": [
            {"id": s.spec.id, "version": s.spec.version, "steward": s.spec.steward, "codes": s.spec.codes,
             "path": str(s.path), "sha256": hashlib.sha256(s.text.encode()).hexdigest()}
            for s in specs
        ],
        "value_sets": [
            {"name": n, "version": library[n].version, "origin": value_set_origin(library[n].provenance),
             "provenance": sorted(library[n].provenance),
             "codes": library[n].size(), "file": str(library[n].file), "sha256": _value_set_hash(library, n)}
            for n in used if n in library
        ],
        "inputs": [
            {"table": f.table, "path": f.path, "rows": f.rows, "sha256": f.sha256} for f in inputs.files.values()
        ],
        "timings_seconds": {k: round(v, 3) for k, v in result.timings.items()},
    }


def _write_frame(df: pl.DataFrame, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        df.write_parquet(path)
    else:
        df.write_csv(path)


def write_atomically(out: Path, tables: dict[str, pl.DataFrame], documents: dict[str, Any], fmt: str = "parquet") -> list[Path]:
    """Write `tables` (as NAME.FMT) and JSON `documents` into a temporary folder beside `out`, then move them in.

    A new `out` arrives in one rename; into an existing one the files are replaced one by one, the JSON
    documents last, and tables an earlier run wrote in the other format are removed.
    """
    if fmt not in FORMATS:
        msg = f"unknown format '{fmt}'; use one of {', '.join(FORMATS)}"
        raise ValueError(msg)
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    names = [*(f"{n}.{fmt}" for n in tables), *documents]
    try:
        for name, df in tables.items():
            _write_frame(df, tmp / f"{name}.{fmt}", fmt)
        for name, doc in documents.items():
            (tmp / name).write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
        if not out.exists():
            os.replace(tmp, out)
        else:
            for name in tables:  # results of an earlier run in the other format would now be misleading
                for other in FORMATS:
                    if other != fmt:
                        (out / f"{name}.{other}").unlink(missing_ok=True)
            for name in names:
                os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [out / n for n in names]


def write_results(result: ComputeResult, manifest: dict[str, Any], out: Path, fmt: str = "parquet") -> list[Path]:
    """summary, detail and manifest.json (last)."""
    return write_atomically(out, {"summary": result.summary, "detail": result.detail}, {"manifest.json": manifest}, fmt)
