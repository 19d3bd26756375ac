"""What SAA and AMM add to a run of the other measures, at scale: CPU time and peak memory.

    bhm sample --members 1000000 --seed 1 --out /work/data/pharm1m
    python benchmarks/pharmacy.py /work/data/pharm1m --runs 5

Runs `bhm compute --measures FUH,FUA,FUM,IET` (or `--base`) and the same plus SAA,AMM alternately, each in a
fresh process under /usr/bin/time, and reports per set the medians of wall time, user + system CPU seconds and
peak RSS, and the ratios of the medians. CPU seconds are quoted because the machine is shared and noisy (other
jobs stretch wall time, not the CPU the run itself uses). Appends one JSON line to
benchmarks/pharmacy_results.jsonl.
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
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASE = "FUH,FUA,FUM,IET"


def timed(data: Path, measures: str, out: Path) -> dict[str, float]:
    """Wall, user + system CPU and peak RSS of one `bhm compute` in a fresh process."""
    bhm = Path(sys.executable).with_name("bhm")
    cmd = ["/usr/bin/time", "-f", "%e %U %S %M", str(bhm), "compute", "--data", str(data), "--measures", measures,
           "--out", str(out), "--quiet"]
    run = subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if run.returncode not in (0, 5):
        raise SystemExit(run.stderr)
    wall, user, system, kb = run.stderr.strip().splitlines()[-1].split()
    return {"wall_s": float(wall), "cpu_s": float(user) + float(system), "peak_mb": int(kb) / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--base", default=BASE, help=f"the other measures (default {BASE})")
    args = ap.parse_args()
    sets = {"base": args.base, "with_pharmacy": f"{args.base},SAA,AMM"}
    samples: dict[str, list[dict[str, float]]] = {k: [] for k in sets}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            for name in (sets if i % 2 == 0 else reversed(sets)):  # alternate which set runs first
                samples[name].append(timed(args.data, sets[name], Path(tmp) / name))
                print(name, samples[name][-1], flush=True)
    med = {k: {m: statistics.median(s[m] for s in v) for m in ("wall_s", "cpu_s", "peak_mb")} for k, v in samples.items()}
    ratio = {m: med["with_pharmacy"][m] / med["base"][m] for m in ("wall_s", "cpu_s", "peak_mb")}
    count = "import polars as pl, sys; print(pl.scan_parquet(sys.argv[1]).select(pl.len()).collect().item())"
    rows = {t: int(subprocess.run([sys.executable, "-c", count, f"{args.data}/{t}.parquet"], capture_output=True, text=True,
                                  check=True).stdout) for t in ("medical_claim", "pharmacy_claim", "eligibility")}
    record = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "data": str(args.data), "rows": rows, "runs": args.runs,
              "measures": sets,
              "cpus": os.cpu_count(), "python": platform.python_version(), "load_before": os.getloadavg()[0],
              "medians": med, "ratios": ratio, "samples": samples}
    with (HERE / "pharmacy_results.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
    for k, v in med.items():
        print(f"{k:14s} wall {v['wall_s']:.2f} s  cpu {v['cpu_s']:.2f} s  peak {v['peak_mb']:.0f} MB")
    print(f"ratio          wall {ratio['wall_s']:.3f}  cpu {ratio['cpu_s']:.3f}  peak {ratio['peak_mb']:.3f}")


if __name__ == "__main__":
    main()
