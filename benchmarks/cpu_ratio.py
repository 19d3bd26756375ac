"""CPU time (user + sys) and peak RSS of `bhm compute` on every shipped measure against a bare decode of
the columns the measures read (run.py's BARE_SCAN, observation table included), alternating, each in a
fresh process under /usr/bin/time. CPU seconds are steadier than wall time on a shared machine.

    python benchmarks/cpu_ratio.py --data /work/data/screen1m --runs 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from run import BARE_SCAN, read_columns


def timed(cmd: list[str]) -> tuple[float, float, float]:
    """(wall s, user + sys s, peak RSS MB)."""
    out = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", *cmd], check=True, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    wall, user, sys_, kb = out.stderr.strip().splitlines()[-1].split()
    return float(wall), float(user) + float(sys_), int(kb) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--measures", default="ALL")
    args = ap.parse_args()
    chosen = [] if args.measures.upper() == "ALL" else ["--measures", args.measures]
    decode, compute = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            decode.append(timed([sys.executable, "-c", BARE_SCAN, str(args.data), "decode", json.dumps(read_columns(args.data))]))
            compute.append(timed([sys.executable, "-m", "bhmeasures.cli", "compute", "--data", str(args.data), *chosen,
                                  "--out", str(Path(tmp) / "out"), "--quiet"]))
            print(f"run {i + 1}: decode {decode[-1][0]:.2f} s wall, {decode[-1][1]:.2f} s cpu, {decode[-1][2]:.0f} MB | "
                  f"compute {compute[-1][0]:.2f} s wall, {compute[-1][1]:.2f} s cpu, {compute[-1][2]:.0f} MB", flush=True)

    def med(runs: list[tuple[float, float, float]], i: int) -> float:
        return statistics.median(x[i] for x in runs)

    print(f"medians: decode {med(decode, 0):.2f} s wall / {med(decode, 1):.2f} s cpu / {med(decode, 2):.0f} MB; "
          f"compute {med(compute, 0):.2f} s wall / {med(compute, 1):.2f} s cpu / {med(compute, 2):.0f} MB; "
          f"ratio {med(compute, 0) / med(decode, 0):.2f}x wall, {med(compute, 1) / med(decode, 1):.2f}x cpu")


if __name__ == "__main__":
    main()
