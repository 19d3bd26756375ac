"""Benchmark `bhm compute` for FUH, FUA and FUM against a bare Polars scan of the columns they read.

    python benchmarks/run.py --members 1000000 --runs 3

Generates the synthetic data once (kept in benchmarks/data/, git-ignored), then runs, in turn, two
bare scans of the columns the measures read (`decode`: every value decoded, nothing kept; `collect`:
every value decoded into memory) and `bhm compute`, in fresh processes, each `--runs` times, and
reports median wall time, median peak memory (max RSS of the process) and the ratios of the medians. Results are
appended to benchmarks/results.jsonl. The machine is small and noisy: quote medians and ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent

# What a bare scan reads: exactly the columns the three measures read (see engine/lines.py and
# engine/compute.py), collected into memory with the same streaming engine.
BARE_SCAN = """
import sys, polars as pl
d, mode = sys.argv[1], sys.argv[2]
medical = pl.scan_parquet(f"{d}/medical_claim.parquet")
schema = medical.collect_schema()
wanted = ["member_id", "claim_id", "claim_type", "claim_start_date", "claim_end_date", "claim_line_start_date",
          "claim_line_end_date", "admission_date", "discharge_date", "hcpcs_code", "revenue_center_code",
          "bill_type_code", "place_of_service_code", "rendering_taxonomy_code", "rendering_npi", "billing_npi"]
wanted += [c for c in schema.names() if c.startswith("diagnosis_code_") or c.startswith("procedure_code_")]
wanted = [c for c in wanted if c in schema]
tables = [(medical, wanted),
          (pl.scan_parquet(f"{d}/pharmacy_claim.parquet"), ["member_id", "claim_id", "dispensing_date", "days_supply", "ndc_code"]),
          (pl.scan_parquet(f"{d}/eligibility.parquet"), None), (pl.scan_parquet(f"{d}/attribution.parquet"), None)]
import os
if os.path.exists(f"{d}/observation.parquet"):  # the screening measures read every observation column
    tables.append((pl.scan_parquet(f"{d}/observation.parquet"), None))
for frame, cols in tables:
    cols = cols or frame.collect_schema().names()
    if mode == "collect":  # every value decoded and held in memory
        frame.select(cols).collect(engine="streaming")
    else:  # every value decoded, nothing held: a string's bytes are summed, other columns take their max
        s = frame.collect_schema()
        frame.select(pl.col(c).str.len_bytes().sum() if s[c] == pl.String else pl.col(c).max() for c in cols).collect(engine="streaming")
"""




def peak_of(cmd: list[str]) -> tuple[float, float]:
    out = subprocess.run(["/usr/bin/time", "-f", "%e %M", *cmd], check=True, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    wall, kb = out.stderr.strip().splitlines()[-1].split()
    return float(wall), int(kb) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data", type=Path, help="existing data folder (default: benchmarks/data/<members>)")
    ap.add_argument("--measures", default="FUH,FUA,FUM", help="measures bhm compute runs (ALL: every shipped spec)")
    args = ap.parse_args()

    data = args.data or HERE / "data" / str(args.members)
    if not (data / "medical_claim.parquet").exists():
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bhmeasures.cli", "sample", "--members", str(args.members),
                        "--seed", str(args.seed), "--out", str(data)], check=True)
        print(f"generated {data} in {time.perf_counter() - t0:.1f} s")
    import polars as pl

    rows = {t: pl.scan_parquet(data / f"{t}.parquet").select(pl.len()).collect().item()
            for t in ("medical_claim", "pharmacy_claim", "eligibility")}

    scan_cmd = [sys.executable, "-c", BARE_SCAN, str(data), "decode"]
    collect_cmd = [sys.executable, "-c", BARE_SCAN, str(data), "collect"]
    scans, collects, computes = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        chosen = [] if args.measures.upper() == "ALL" else ["--measures", args.measures]
        compute_cmd = [sys.executable, "-m", "bhmeasures.cli", "compute", "--data", str(data), *chosen,
                       "--out", str(Path(tmp) / "out"), "--quiet"]
        for i in range(args.runs):
            scans.append(peak_of(scan_cmd))
            collects.append(peak_of(collect_cmd))
            computes.append(peak_of(compute_cmd))
            print(f"run {i + 1}: decode scan {scans[-1][0]:.2f} s {scans[-1][1]:.0f} MB | "
                  f"collect scan {collects[-1][0]:.2f} s {collects[-1][1]:.0f} MB | "
                  f"bhm compute {computes[-1][0]:.2f} s {computes[-1][1]:.0f} MB", flush=True)
        manifest = json.loads((Path(tmp) / "out" / "manifest.json").read_text())
    med = lambda xs, i: statistics.median(x[i] for x in xs)  # noqa: E731
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "members": args.members, "rows": rows, "runs": args.runs, "measures": args.measures,
        "cpus": os.cpu_count(), "python": platform.python_version(), "polars": pl.__version__,
        "scan_wall_s": round(med(scans, 0), 2), "scan_peak_mb": round(med(scans, 1)),
        "collect_scan_wall_s": round(med(collects, 0), 2), "collect_scan_peak_mb": round(med(collects, 1)),
        "compute_wall_s": round(med(computes, 0), 2), "compute_peak_mb": round(med(computes, 1)),
        "ratio_to_scan": round(med(computes, 0) / med(scans, 0), 2),
        "ratio_to_collect_scan": round(med(computes, 0) / med(collects, 0), 2),
        "last_run_timings_s": manifest["timings_seconds"],
    }
    with (HERE / "results.jsonl").open("a") as fh:
        fh.write(json.dumps(result) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
