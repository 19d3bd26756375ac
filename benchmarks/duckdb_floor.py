"""A DuckDB bare scan of the columns bhm reads: every value decoded, nothing kept.

    python benchmarks/duckdb_floor.py benchmarks/data/full/1000000

The same columns as run.py's Polars decode scan (`read_columns`), from the same files: string
columns' byte lengths are summed, other columns take their max, one query per table. This is the
floor for an analyst's DuckDB SQL of the measures, which must read the same values. DuckDB is a
benchmark-only dependency (`pip install duckdb`); bhm does not use it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
from run import read_columns


def main() -> None:
    data = Path(sys.argv[1])
    con = duckdb.connect()  # in memory, default threads (every core) and memory limit
    for table, cols in read_columns(data).items():
        source = f"read_parquet('{data / f'{table}.parquet'}')"
        types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {source})").fetchall())
        aggs = ", ".join(f'sum(length("{c}"))' if types[c] == "VARCHAR" else f'max("{c}")' for c in cols)
        con.execute(f"SELECT {aggs} FROM {source}").fetchall()


if __name__ == "__main__":
    main()
