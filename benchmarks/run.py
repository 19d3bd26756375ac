"""Benchmark `bhm compute` for FUH, FUA and FUM against bare scans of the columns they read, per data layout.

    python benchmarks/run.py --members 1000000 --runs 3                  # both layouts
    python benchmarks/run.py --members 1000000 --layout full --duckdb    # one layout, plus a DuckDB scan

For each layout (`compact`: bhm's own 22-column files, sorted by member; `full`: every Tuva input-layer
column, mostly null, rows shuffled, 1,000,000-row row groups; see `bhm sample --layout`) the synthetic
data are generated once into benchmarks/data/<layout>/<members>/ (git-ignored, reused by later runs).
Then, in fresh processes under /usr/bin/time, in turn, `--runs` times: two bare Polars scans of exactly
the columns bhm reads from that layout (`decode`: every value decoded, nothing kept; `collect`: every
value decoded into memory), with `--duckdb` a DuckDB scan of the same columns (benchmarks/duckdb_floor.py)
and, for FUH + FUA + FUM, the first step of an analyst's DuckDB SQL of them (benchmarks/duckdb_lines.py:
finding the claim lines that carry a code of their value sets, with and without the procedure positions),
`bhm compute` into a new results folder (every input file hashed for the manifest) and `bhm compute` again
into that folder (`compute_rerun`: the digests of unchanged files reused). Reported per layout: median wall
time, median peak memory (max RSS of the process), the ratios of the medians and the median of the run-by-run
ratios. Each layout appends a JSON line to benchmarks/results.jsonl. The machine is small and noisy: quote
medians and ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
TABLES = ("eligibility", "medical_claim", "pharmacy_claim", "attribution", "provider")

# The columns `bhm compute` reads in its scans (engine/lines.py, engine/compute.py; checked against the query
# plans): diagnosis and procedure positions are read as far as the file has them; every column of eligibility
# and observation (None).
MEDICAL_READ = ("member_id", "claim_id", "claim_type", "claim_start_date", "claim_end_date", "claim_line_start_date",
                "claim_line_end_date", "admission_date", "discharge_date", "hcpcs_code", "revenue_center_code",
                "bill_type_code", "place_of_service_code", "rendering_taxonomy_code", "rendering_npi", "billing_npi",
                "facility_npi", "service_unit_quantity", "paid_amount",
                *(f"diagnosis_code_{i}" for i in range(1, 26)), *(f"procedure_code_{i}" for i in range(1, 26)))
READ: dict[str, tuple[str, ...] | None] = {
    "medical_claim": MEDICAL_READ,
    "pharmacy_claim": ("member_id", "claim_id", "dispensing_date", "days_supply", "ndc_code"),
    "eligibility": None,
    "attribution": ("member_id", "entity_id", "start_date", "end_date"),
    "provider": ("npi", "taxonomy_code"),
    "observation": None,
}


def read_columns(data: Path) -> dict[str, list[str]]:
    """Per table file in `data`, the columns bhm reads from it (those of `READ` the file has)."""
    import polars as pl

    out = {}
    for table, wanted in READ.items():
        path = data / f"{table}.parquet"
        if path.exists():
            names = pl.scan_parquet(path).collect_schema().names()
            out[table] = list(names) if wanted is None else [c for c in wanted if c in set(names)]
    return out


# A bare scan with Polars' streaming engine. argv: data folder, mode, JSON {table: [columns]}.
BARE_SCAN = """
import json, sys, polars as pl
d, mode, columns = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
for table, cols in columns.items():
    frame = pl.scan_parquet(f"{d}/{table}.parquet").select(cols)
    if mode == "collect":  # every value decoded and held in memory
        frame.collect(engine="streaming")
    else:  # every value decoded, nothing held: a string's bytes are summed, other columns take their max
        s = frame.collect_schema()
        frame.select(pl.col(c).str.len_bytes().sum() if s[c] == pl.String else pl.col(c).max() for c in cols).collect(engine="streaming")
"""


def collect_mb(data: Path, columns: dict[str, list[str]]) -> float:
    """Roughly what collecting `columns` holds in memory: 16 bytes a string (Polars' views), 4-8 other values."""
    import polars as pl

    total = 0
    for table, cols in columns.items():
        frame = pl.scan_parquet(data / f"{table}.parquet")
        schema = frame.collect_schema()
        width = sum(16 if schema[c] == pl.String else 1 if schema[c] == pl.Boolean else 4 if schema[c] in (
            pl.Date, pl.Int32) else 8 for c in cols)
        total += width * frame.select(pl.len()).collect().item()
    return total / 2**20


def available_mb() -> float:
    with open("/proc/meminfo") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("MemAvailable")) / 1024


def peak_of(cmd: list[str]) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MB) and CPU seconds (user + system) of one fresh process, from /usr/bin/time.

    CPU seconds move less than wall time when other jobs share the machine.
    """
    out = subprocess.run(["/usr/bin/time", "-f", "%e %M %U %S", *cmd], check=True, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    wall, kb, user, system = out.stderr.strip().splitlines()[-1].split()
    return float(wall), int(kb) / 1024, float(user) + float(system)


def describe(data: Path) -> dict[str, object]:
    """Row counts, medical_claim row groups and file size: what the figures were measured on."""
    import polars as pl

    info: dict[str, object] = {
        "rows": {t: pl.scan_parquet(data / f"{t}.parquet").select(pl.len()).collect().item()
                 for t in ("medical_claim", "pharmacy_claim", "eligibility")},
        "medical_columns": len(pl.scan_parquet(data / "medical_claim.parquet").collect_schema()),
        "parquet_mb": round(sum((data / f"{t}.parquet").stat().st_size for t in TABLES) / 2**20),
    }
    try:
        import pyarrow.parquet as pq
    except ImportError:  # optional: only to report the row-group size
        return info
    meta = pq.ParquetFile(data / "medical_claim.parquet").metadata
    info["medical_row_group_rows"] = max(meta.row_group(i).num_rows for i in range(meta.num_row_groups))
    return info


def generate(layout: str, members: int, seed: int, data: Path) -> dict[str, float]:
    """`bhm sample` into `data`, via a side folder so that a broken run leaves no complete-looking set."""
    tmp = data.with_name(data.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    wall, peak, cpu = peak_of([sys.executable, "-m", "bhmeasures.cli", "sample", "--members", str(members), "--seed",
                          str(seed), "--layout", layout, "--out", str(tmp)])
    data.mkdir(parents=True, exist_ok=True)
    for t in TABLES:  # provider last: the set counts as complete once all five are in place
        (tmp / f"{t}.parquet").replace(data / f"{t}.parquet")
    tmp.rmdir()
    print(f"generated {data} in {wall:.1f} s ({cpu:.0f} CPU s), peak {peak:.0f} MB", flush=True)
    return {"generate_wall_s": round(wall, 1), "generate_cpu_s": round(cpu, 1), "generate_peak_mb": round(peak)}


def bench(layout: str, args: argparse.Namespace) -> dict[str, object]:
    data = args.data or HERE / "data" / layout / str(args.members)
    generated = {}
    if not all((data / f"{t}.parquet").exists() for t in TABLES):
        generated = generate(layout, args.members, args.seed, data)
    import polars as pl

    read = read_columns(data)
    columns = json.dumps(read)
    cmds = {"scan": [sys.executable, "-c", BARE_SCAN, str(data), "decode", columns]}
    # The collect floor holds every value at once: on the full layout at 1M members that is ~40 GB, so it is
    # skipped (and said so) when it would not fit comfortably, rather than pushing a shared machine into swap/OOM.
    need, free = collect_mb(data, read), available_mb()
    skipped = {}
    if need < 0.6 * free:
        cmds["collect_scan"] = [sys.executable, "-c", BARE_SCAN, str(data), "collect", columns]
    else:
        skipped["collect_scan_skipped"] = f"needs ~{need / 1024:.0f} GB, {free / 1024:.0f} GB available"
        print(f"{layout}: collect scan skipped, {skipped['collect_scan_skipped']}", flush=True)
    if args.duckdb:
        cmds["duckdb_scan"] = [sys.executable, str(HERE / "duckdb_floor.py"), str(data)]
        if sorted(args.measures.upper().split(",")) == ["FUA", "FUH", "FUM"]:
            # the first step of an analyst's DuckDB SQL of these measures: a lower bound for that SQL
            lines = [sys.executable, str(HERE / "duckdb_lines.py"), str(data)]
            subprocess.run([*lines, "--prepare"], check=True)  # its expanded code lists, made once, untimed
            cmds["duckdb_lines"] = lines
            cmds["duckdb_lines_without_procedures"] = [*lines, "--without-procedures"]
    times: dict[str, list[tuple[float, float, float]]] = {k: [] for k in (*cmds, "compute", "compute_rerun")}
    with tempfile.TemporaryDirectory() as tmp:
        chosen = [] if args.measures.upper() == "ALL" else ["--measures", args.measures]
        for i in range(args.runs):
            # `compute` writes into a new folder, so it hashes every input file (the manifest's sha256);
            # `compute_rerun` runs again into that folder and reuses the digests of the unchanged files
            out = Path(tmp) / f"out{i}"
            compute = [sys.executable, "-m", "bhmeasures.cli", "compute", "--data", str(data), *chosen,
                       "--out", str(out), "--quiet"]
            for name, cmd in {**cmds, "compute": compute, "compute_rerun": compute}.items():
                times[name].append(peak_of(cmd))
            print(f"{layout} run {i + 1}: " + " | ".join(f"{k} {v[-1][0]:.2f} s {v[-1][1]:.0f} MB"
                                                         for k, v in times.items()), flush=True)
        manifest = json.loads((out / "manifest.json").read_text())

    def med(name: str, i: int) -> float:
        return statistics.median(x[i] for x in times[name])

    result: dict[str, object] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "layout": layout, "members": args.members,
        "measures": args.measures,
        **describe(data), "runs": args.runs, "cpus": os.cpu_count(), "python": platform.python_version(),
        "polars": pl.__version__, "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    for name in times:
        result[f"{name}_wall_s"] = round(med(name, 0), 2)
        result[f"{name}_peak_mb"] = round(med(name, 1))
        result[f"{name}_cpu_s"] = round(med(name, 2), 2)
    for name in (n for n in times if not n.startswith("compute")):
        result[f"ratio_to_{name}"] = round(med("compute", 0) / med(name, 0), 2)
        # run by run (the commands alternate), so a drift in the machine's speed cancels out
        pairs = [c[0] / f[0] for c, f in zip(times["compute"], times[name], strict=True)]
        result[f"ratio_to_{name}_paired"] = round(statistics.median(pairs), 2)
    result.update(skipped)
    result["compute_walls_s"] = [round(w, 2) for w, _, _ in times["compute"]]
    result["compute_rerun_walls_s"] = [round(w, 2) for w, _, _ in times["compute_rerun"]]
    result["last_run_timings_s"] = manifest["timings_seconds"]
    result.update(generated)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--layout", choices=("compact", "full", "both"), default="both")
    ap.add_argument("--duckdb", action="store_true", help="also time a DuckDB scan of the same columns and, for "
                    "FUH,FUA,FUM, the first step of an analyst's DuckDB SQL of them")
    ap.add_argument("--measures", default="FUH,FUA,FUM", help="measures bhm compute runs (ALL: every shipped spec)")
    ap.add_argument("--data", type=Path, help="existing data folder, one layout only "
                                              "(default: benchmarks/data/<layout>/<members>)")
    args = ap.parse_args()
    layouts = ("compact", "full") if args.layout == "both" else (args.layout,)
    if args.data and len(layouts) > 1:
        ap.error("--data needs one --layout")
    for layout in layouts:
        result = bench(layout, args)
        with (HERE / "results.jsonl").open("a") as fh:
            fh.write(json.dumps(result) + "\n")
        print(json.dumps(result, indent=2), flush=True)


if __name__ == "__main__":
    main()
