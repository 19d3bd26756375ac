"""Which files are the input tables, found by name: light (no Polars), so `bhm compute` can start hashing them
before it imports the engine."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path

from bhmeasures.digest import previous_input_digests, start_hashing
from bhmeasures.errors import BhmError, InputError, UsageError, did_you_mean, shown_path
from bhmeasures.inputs.schema import REQUIRED_TABLES, TABLES

SUFFIXES = (".parquet", ".csv", ".csv.gz")


def find_tables(data_dir: Path | None, overrides: dict[str, Path]) -> dict[str, Path]:
    """Map table names to files: `<table>.parquet|.csv|.csv.gz` in the data directory, then explicit paths."""
    unknown = [t for t in overrides if t not in TABLES]
    if unknown:
        raise UsageError("\n".join(f"--table {t}=...: unknown table '{t}'. " + (did_you_mean(t, list(TABLES)) or "")
                                   + f" Tables are {', '.join(TABLES)}." for t in unknown))
    found: dict[str, Path] = {}
    problems: list[str] = []
    if data_dir is not None:
        if not data_dir.is_dir():
            raise InputError(f"{shown_path(data_dir)}: data directory does not exist; pass --data DIR with the input tables.")
        for table in TABLES:
            matches = [data_dir / f"{table}{s}" for s in SUFFIXES if (data_dir / f"{table}{s}").exists()]
            if len(matches) > 1:
                problems.append(f"{shown_path(data_dir)}: table {table} is in more than one file "
                                f"({', '.join(m.name for m in matches)}); keep one.")
            elif matches:
                found[table] = matches[0]
    for table, path in overrides.items():
        if not path.is_file():
            problems.append(f"{shown_path(path)}: file for table {table} "
                            f"{'is a folder' if path.is_dir() else 'does not exist'}.")
        else:
            found[table] = path
    for table in REQUIRED_TABLES:
        if table not in found and not any(t == table for t in overrides):
            hint = ""
            if data_dir is not None:
                near = sorted(p.name for p in data_dir.iterdir() if p.name.lower().startswith(table))
                if near:
                    hint = f" Found {', '.join(near)}: pass --table {table}={shown_path(data_dir / near[0])}."
            where = shown_path(data_dir) if data_dir is not None else "the inputs"
            problems.append(f"{where}: required table {table} is missing (expected {table}.parquet, .csv or .csv.gz).{hint}")
    if problems:
        raise InputError("\n".join(problems))
    return found


def start_hashing_inputs(data_dir: Path | None, overrides: Mapping[str, Path], out: Path) -> None:
    """Start hashing the input files a run into `out` will read, but not those an earlier run there hashed and
    that are unchanged since. A problem finding or reading them is left for the run to report, in its turn."""
    with contextlib.suppress(BhmError, OSError):
        start_hashing(find_tables(data_dir, dict(overrides)).values(), previous_input_digests(out))
