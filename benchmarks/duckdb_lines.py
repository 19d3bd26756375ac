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

Like an analyst's expanded value sets, diagnosis prefixes are expanded beforehand into the codes they cover:
against the codes the file holds, found once and cached beside the data (`.duckdb_diagnosis_codes.txt`, by
`--prepare` or the first run), so the runs that count do not pay for it. Codes are compared without their
dots, as the files store them. Place of service and provider taxonomy are left out, as they qualify a line
only together with another code: the count is a little smaller than the lines the measures need, never
larger.

DuckDB is a benchmark-only dependency (`pip install duckdb`); bhm does not use it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb
import yaml

from bhmeasures.bundled import specs_dir, valuesets_dir
from bhmeasures.valuesets.store import load_value_sets

MEASURES = ("FUH", "FUA", "FUM")
FAMILY = {"ICD10CM": "dx", "ICD10PCS": "pcs", "CPT": "hcpcs", "HCPCS": "hcpcs", "UBREV": "rev", "UBTOB": "tob"}


def value_set_names() -> set[str]:
    """The value sets FUH, FUA and FUM name, with those of the libraries they include."""
    libraries = {}
    for path in (specs_dir() / "libraries").glob("*.yaml"):
        doc = yaml.safe_load(path.read_text())
        libraries[doc["library"]] = doc
    names: set[str] = set()
    for measure in MEASURES:
        doc = yaml.safe_load((specs_dir() / f"{measure}.yaml").read_text())
        for part in [doc, *(libraries[name] for name in doc.get("include", []))]:
            names |= {entry["name"] for entry in part.get("value_sets", [])}
    return names


def code_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Tables `codes(family, code)` and `prefixes(family, width, prefix)` of the measures' value sets."""
    library = load_value_sets([valuesets_dir()])
    codes, prefixes = set(), set()
    for name in value_set_names():
        value_set = library[name]
        for system, family in FAMILY.items():
            codes |= {(family, code.replace(".", "")) for code in value_set.codes.get(system, ())}
            prefixes |= {(family, code.replace(".", "")) for code in value_set.prefixes.get(system, ())}
    con.execute("CREATE TABLE codes (family VARCHAR, code VARCHAR)")
    con.executemany("INSERT INTO codes VALUES (?, ?)", sorted(codes))
    con.execute("CREATE TABLE prefixes (family VARCHAR, width INTEGER, prefix VARCHAR)")
    con.executemany("INSERT INTO prefixes VALUES (?, ?, ?)", sorted((f, len(p), p) for f, p in prefixes))


def expand_diagnosis_prefixes(con: duckdb.DuckDBPyConnection, claims: Path, dx: list[str]) -> None:
    """Replace the diagnosis prefixes by the codes of the file they cover (the file's codes cached beside it)."""
    cache = claims.parent / ".duckdb_diagnosis_codes.txt"
    if not cache.exists() or cache.stat().st_mtime < claims.stat().st_mtime:
        every = " UNION ".join(f"SELECT {c} AS code FROM read_parquet('{claims}')" for c in dx)
        present = sorted(code for (code,) in con.execute(f"SELECT code FROM ({every}) WHERE code IS NOT NULL").fetchall())
        cache.write_text("\n".join(present))
    con.execute("CREATE TABLE present (code VARCHAR)")
    con.executemany("INSERT INTO present VALUES (?)", [(code,) for code in cache.read_text().split()])
    con.execute("""INSERT INTO codes SELECT DISTINCT 'dx', p.code FROM present p JOIN prefixes x
                   ON x.family = 'dx' AND left(p.code, x.width) = x.prefix""")
    con.execute("DELETE FROM prefixes WHERE family = 'dx'")


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
                        help="only find and cache the file's diagnosis codes (run once before timing)")
    args = parser.parse_args()
    claims = args.data / "medical_claim.parquet"
    con = duckdb.connect()  # in memory, default threads (every core) and memory limit
    code_tables(con)
    names = [name for (name,) in con.execute(f"SELECT name FROM parquet_schema('{claims}')").fetchall()]
    dx = [c for c in names if c.startswith("diagnosis_code_") and c != "diagnosis_code_type"]
    pcs = [] if args.without_procedures else [
        c for c in names if c.startswith("procedure_code_") and c != "procedure_code_type"]
    expand_diagnosis_prefixes(con, claims, dx)
    if args.prepare:
        return
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
