"""The library's public functions; the CLI is a thin layer over these."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from bhmeasures.bundled import specs_dir, valuesets_dir
from bhmeasures.digest import KnownDigests, cancel_pending_hashes, previous_input_digests
from bhmeasures.engine.compute import ComputeResult
from bhmeasures.engine.compute import compute as _compute
from bhmeasures.errors import BhmError, Issue, SpecError, UsageError, check_year, did_you_mean
from bhmeasures.inputs.files import find_tables, start_hashing_inputs
from bhmeasures.inputs.reader import Inputs, inputs_from_frames, read_inputs
from bhmeasures.plan.compile import compile_plan
from bhmeasures.plan.model import MeasurePlan
from bhmeasures.spec.loader import LoadedSpec
from bhmeasures.spec.validate import load_specs, validate_paths
from bhmeasures.valuesets import ValueSetLibrary, load_value_sets


def _stamp(paths: list[Path], pattern: str) -> tuple:
    """What identifies the contents of these files for caching: every matching file with its mtime and size."""
    out = []
    for p in paths:
        files = sorted(p.rglob(pattern)) if p.is_dir() else [p]
        out.append((str(p), tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files if f.exists())))
    return tuple(out)


@functools.lru_cache(maxsize=8)
def _library(dirs: tuple[Path, ...], _stamp: tuple) -> ValueSetLibrary:
    return load_value_sets(list(dirs))


def value_sets(extra: list[Path] | None = None) -> ValueSetLibrary:
    """The bundled public value sets, overridden by any user directories (e.g. licensed NCQA files)."""
    dirs = [valuesets_dir(), *(extra or [])]
    return _library(tuple(dirs), _stamp(dirs, "*.csv"))


def libraries_dir() -> Path:
    return specs_dir() / "libraries"


@functools.lru_cache(maxsize=8)
def _specs(paths: tuple[Path, ...], library: ValueSetLibrary, _stamp: tuple) -> list[LoadedSpec]:
    # the bundled libraries are always there to include, whichever spec folders are given
    return load_specs(list(paths), library, [*sorted(libraries_dir().glob("*.yaml"))])


def select_specs(loaded: list[LoadedSpec], measures: list[str] | None) -> list[LoadedSpec]:
    """The asked-for specs in the order asked (each once); an unknown id is a usage error (exit 2)."""
    if not measures:
        return loaded
    by_id = {s.spec.id: s for s in loaded}
    unknown = [m for m in dict.fromkeys(measures) if m not in by_id]
    if unknown:
        known = f"Known measures: {', '.join(sorted(by_id))}."
        raise UsageError("\n".join(" ".join(filter(None, [f"unknown measure '{m}'.", did_you_mean(m, list(by_id)), known]))
                                    for m in unknown))
    return [by_id[m] for m in dict.fromkeys(measures)]


def validate(paths: list[Path] | None = None, valuesets: list[Path] | None = None) -> tuple[list[LoadedSpec], list[Issue]]:
    """Check specs (default: the bundled ones) and value sets; return the specs that loaded and every issue."""
    try:
        library = value_sets(valuesets)
    except SpecError as e:
        return [], e.issues
    return validate_paths(paths or [specs_dir()], library, [*sorted(libraries_dir().glob("*.yaml"))])


def prepare_specs(
    specs: list[Path] | None, valuesets: list[Path] | None, measures: list[str] | None
) -> tuple[list[LoadedSpec], ValueSetLibrary]:
    library = value_sets(valuesets)
    paths = specs or [specs_dir()]
    # specs and value sets are immutable once loaded: reuse them while their files are unchanged
    loaded = _specs(tuple(paths), library, _stamp([*paths, libraries_dir()], "*.y*ml"))
    return select_specs(loaded, measures), library


def plans(loaded: list[LoadedSpec], library: ValueSetLibrary, year: int) -> list[MeasurePlan]:
    """The measure plans of the specs for one measurement year."""
    return [compile_plan(s, library, year) for s in loaded]


def explain(measure: str, year: int = 2025, specs: list[Path] | None = None, valuesets: list[Path] | None = None) -> dict:
    """The plan of one measure for a measurement year, as `bhm explain --json` prints it."""
    from bhmeasures.plan.explain import explain_plan

    loaded, library = prepare_specs(specs, valuesets, [measure])
    return explain_plan(compile_plan(loaded[0], library, year))


def compute(
    inputs: Inputs,
    year: int,
    measures: list[str] | None = None,
    specs: list[Path] | None = None,
    valuesets: list[Path] | None = None,
    progress: Callable[[str], None] | None = None,
) -> ComputeResult:
    """Compute measures over checked inputs (see `open_inputs` and `inputs_from_frames`)."""
    check_year(year)
    loaded, library = prepare_specs(specs, valuesets, measures)
    return _compute(inputs, plans(loaded, library, year), library, progress)


def finalize(partials: list[pl.DataFrame], year: int, measures: list[str] | None = None,
             specs: list[Path] | None = None, valuesets: list[Path] | None = None) -> pl.DataFrame:
    """The summary of partial counts computed separately (member buckets, cluster workers): summed, then rated.

    Equal, byte for byte, to the summary of one run over all the members.
    """
    from bhmeasures.engine.populations import finalize as _finalize
    from bhmeasures.engine.populations import merge_partials

    loaded, library = prepare_specs(specs, valuesets, measures)
    merged = merge_partials(partials)
    wanted = set(merged["measure_id"].unique().to_list())
    return _finalize(merged, [p for p in plans(loaded, library, year) if p.measure_id in wanted])


def open_inputs(data: Path | None, tables: dict[str, Path] | None = None, *,
                known_digests: KnownDigests | None = None) -> Inputs:
    """Find and check the input tables of a data directory plus explicit per-table paths (`known_digests`: see
    `read_inputs`)."""
    return read_inputs(find_tables(data, tables or {}), known_digests)


def compute_frames(
    tables: dict[str, pl.DataFrame],
    year: int,
    measures: list[str] | None = None,
    specs: list[Path] | None = None,
    valuesets: list[Path] | None = None,
    progress: Callable[[str], None] | None = None,
) -> ComputeResult:
    """Compute from in-memory tables (strings or typed columns), checked like files."""
    check_year(year)
    return compute(inputs_from_frames(tables), year, measures, specs, valuesets, progress)


@dataclass
class RunResult:
    result: ComputeResult
    out: Path
    files: list[Path]
    manifest: dict


def run(
    data: Path | None,
    tables: dict[str, Path] | None,
    year: int,
    measures: list[str] | None = None,
    specs: list[Path] | None = None,
    valuesets: list[Path] | None = None,
    out: Path = Path("bhm_results"),
    fmt: str = "parquet",
    progress: Callable[[str], None] | None = None,
) -> RunResult:
    """What `bhm compute` does: check specs and inputs, compute, write results atomically."""
    from bhmeasures import __version__
    from bhmeasures.outputs import build_manifest, check_results_folder, write_results

    say = progress or (lambda _m: None)
    start_hashing_inputs(data, tables or {}, out)  # while the specs load (`bhm compute` started it before its imports)
    try:
        loaded, library = prepare_specs(specs or None, valuesets or None, measures)
        check_year(year)
        check_results_folder(out, fmt)
        say("reading inputs")
        # an input file unchanged since the run that wrote this folder keeps the digest that run took
        inputs = open_inputs(data, tables, known_digests=previous_input_digests(out))
    except BhmError:
        cancel_pending_hashes()  # no manifest will name them, and the exit need not wait for them
        raise
    result = _compute(inputs, plans(loaded, library, year), library, progress)
    say("writing results")
    manifest = build_manifest(result, loaded, library, inputs, year, __version__)
    files = write_results(result, manifest, out, fmt)
    return RunResult(result, Path(os.path.realpath(out)), files, manifest)
