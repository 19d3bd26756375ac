"""The first step of an analyst's DuckDB SQL of FUH, FUA and FUM: find the claim lines any of their rules can use.

    python benchmarks/duckdb_lines.py benchmarks/data/full/1000000                        # every position
    python benchmarks/duckdb_lines.py benchmarks/data/full/1000000 --without-procedures   # diagnoses only

Any SQL of these measures must at least pick, from every claim line, those that carry a code of one of
the measures' value sets in the column its code system lives in (a diagnosis in any of the 25 positions, a
procedure code in any position, a HCPCS/CPT code, a revenue code, a bill type); everything after works on
those lines. This script runs only that step and counts the lines, so its time is a lower bound for the
whole SQL on this machine, not an estimate of it.

It is written the fastest way found: the diagnosis positions unpivoted into one column (nulls dropped) and
joined to the code table, the procedure positions likewise, and a line kept when its row number is among
theirs or one of its other columns holds a code. Measured slower on the full layout at 1M members:
`IN (SELECT ...)` on each of the 25 diagnosis columns (33.5 s), `IN` with a literal list on each (over
300 s), `list_has_any` over the 25 positions (over 200 s), an explicit SEMI JOIN after the unpivot instead of
`IN` (+3.7 s), a union of the sets of lines (+0.5 s), diagnoses and procedures in one unpivot (+5 s), prefixes
(`F32*`) matched on the code's first characters in the query (+6.7 s).

Like an analyst's code tables, the value sets' codes are made beforehand (`--prepare`, or the first run) and
cached beside the data (`.duckdb_lines_codes.tsv`), diagnosis prefixes expanded into the codes of the file
they cover, so the runs that count pay neither for that nor for importing bhm. Codes are compared without their
dots, as the files store them. Place of service and provider taxonomy are left out, as they qualify a line
only together with another code: the count is a little smaller than the lines the measures need, never
larger.

DuckDB is a benchmark-only dependency (`pip install duckdb`); bhm does not use it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

MEASURES = ("FUH", "FUA", "FUM")
FAMILY = {"ICD10CM": "dx", "ICD10PCS": "pcs", "CPT": "hcpcs", "HCPCS": "hcpcs", "UBREV": "rev", "UBTOB": "tob"}


def prepare(con: duckdb.DuckDBPyConnection, claims: Path, dx: list[str], cache: Path) -> None:
    """Cache the code lists of the value sets FUH, FUA and FUM use (as bhm's plans of them name them, their
    libraries' included), diagnosis prefixes expanded into the codes of the file they cover."""
    from bhmeasures.api import plans, prepare_specs  # here only: the timed runs import no Polars

    loaded, library = prepare_specs(None, None, list(MEASURES))
    codes, prefixes = set(), set()
    for name in {name for plan in plans(loaded, library, 2025) for name in plan.value_sets}:
        value_set = library[name]
        for system, family in FAMILY.items():
            codes |= {(family, code.replace(".", "")) for code in value_set.codes.get(system, ())}
            prefixes |= {(family, code.replace(".", "")) for code in value_set.prefixes.get(system, ())}
    every = " UNION ".join(f"SELECT {c} AS code FROM read_parquet('{claims}')" for c in dx)
    present = [code for (code,) in con.execute(f"SELECT code FROM ({every}) WHERE code IS NOT NULL").fetchall()]
    dx_prefixes = {p for f, p in prefixes if f == "dx"}
    codes |= {("dx", code) for code in present if any(code.startswith(p) for p in dx_prefixes)}
    rows = sorted({(f, c, 0) for f, c in codes} | {(f, p, len(p)) for f, p in prefixes if f != "dx"})
    cache.write_text("".join(f"{f}\t{c}\t{w}\n" for f, c, w in rows))


def code_tables(con: duckdb.DuckDBPyConnection, cache: Path) -> None:
    """Tables `codes(family, code)` and `prefixes(family, width, prefix)` from the cache."""
    source = f"read_csv('{cache}', delim = '\t', header = false, columns = {{'family': 'VARCHAR', 'code': 'VARCHAR', 'width': 'INTEGER'}})"
    con.execute(f"CREATE TABLE codes AS SELECT family, code FROM {source} WHERE width = 0")
    con.execute(f"CREATE TABLE prefixes AS SELECT family, width, code AS prefix FROM {source} WHERE width > 0")


def matches(family: str, expr: str, con: duckdb.DuckDBPyConnection) -> str:
    """SQL: `expr` is a code of `family` (exactly, or by one of the family's prefixes)."""
    tests = [f"{expr} IN (SELECT code FROM codes WHERE family = '{family}')"]
    widths = [w for (w,) in con.execute("SELECT DISTINCT width FROM prefixes WHERE family = ?", [family]).fetchall()]
    tests += [f"left({expr}, {w}) IN (SELECT prefix FROM prefixes WHERE family = '{family}' AND width = {w})"
              for w in sorted(widths)]
    return " OR ".join(tests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, help="folder holding medical_claim.parquet")
    parser.add_argument("--without-procedures", action="store_true",
                        help="leave the procedure positions out (the ECT rule's ICD-10-PCS codes are not looked for)")
    parser.add_argument("--prepare", action="store_true",
                        help="only make the cached code lists (run once before timing)")
    args = parser.parse_args()
    claims = args.data / "medical_claim.parquet"
    con = duckdb.connect()  # in memory, default threads (every core) and memory limit
    names = [name for (name,) in con.execute(f"SELECT name FROM parquet_schema('{claims}')").fetchall()]
    dx = [c for c in names if c.startswith("diagnosis_code_") and c != "diagnosis_code_type"]
    pcs = [] if args.without_procedures else [
        c for c in names if c.startswith("procedure_code_") and c != "procedure_code_type"]
    cache = claims.parent / ".duckdb_lines_codes.tsv"
    if args.prepare or not cache.exists() or cache.stat().st_mtime < claims.stat().st_mtime:
        prepare(con, claims, dx, cache)
    if args.prepare:
        return
    code_tables(con, cache)
    source = f"read_parquet('{claims}', file_row_number = true)"

    def positions(columns: list[str], family: str) -> str:
        """The positions unpivoted into one column (nulls dropped): row numbers of lines holding a code."""
        listed = ", ".join(columns)
        return (f"file_row_number IN (SELECT file_row_number FROM (UNPIVOT (SELECT file_row_number, {listed} "
                f"FROM {source}) ON {listed} INTO NAME position VALUE code) WHERE {matches(family, 'code', con)})")

    tests = [matches("hcpcs", "hcpcs_code", con), matches("rev", "revenue_center_code", con),
             matches("tob", "ltrim(bill_type_code, chr(48))", con), positions(dx, "dx")]
    tests += [positions(pcs, "pcs")] if pcs else []
    query = f"SELECT count(*) FROM {source} WHERE " + " OR ".join(f"({test})" for test in tests)
    (lines,) = con.execute(query).fetchone() or (0,)
    print(f"{lines} claim lines carry a code of FUH, FUA or FUM")


if __name__ == "__main__":
    main()
