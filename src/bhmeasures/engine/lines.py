"""One pass over the claim lines, batch by batch, code columns as dictionaries.

Every source condition and every claim-level leaf of every asked-for measure is answered in the same
pass. A code column of a batch comes as its distinct codes and a position per row (inputs/batches.py),
so membership in every value set at once is a bit mask computed once per distinct code and looked up per
row; a condition is then a few integer tests. Only lines that meet a source condition are kept, with a
boolean column per condition; every later step works on those few lines. A claim-level leaf that is not
on the claim header (a lab's place of service, an ED revenue line) may sit on another line of the claim:
such lines keep only their claim key and flags, and count only for claims that have a kept line.
Batches are smaller than a row group, so memory stays bounded however the files were written.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from bhmeasures.engine.codes import CodeIndex
from bhmeasures.engine.linetests import LineTests, Node, compile_condition
from bhmeasures.inputs.batches import Batch, CodeColumn, parquet_as_written, table_batches
from bhmeasures.inputs.observation import ROW_INDEX, code_type_key
from bhmeasures.inputs.reader import Inputs
from bhmeasures.inputs.schema import DX_COLUMNS, PCS_COLUMNS
from bhmeasures.spec.base import Predicate

FAMILY_COLUMNS = {
    "hcpcs": ("hcpcs_code",), "rev": ("revenue_center_code",), "tob": ("bill_type_code",),
    "pos": ("place_of_service_code",), "pcs": PCS_COLUMNS, "ndc": ("ndc_code",), "loinc": ("code",),
}
# Fields of the claim header, repeated on every line: a claim-level test on them needs only one kept line.
HEADER_FAMILIES = {"dx", "tob"}
MEDICAL_BASE = ("member_id", "claim_id", "claim_type", "claim_start_date", "claim_end_date")
MEDICAL_DATES = ("claim_line_start_date", "claim_line_end_date", "admission_date", "discharge_date")
# what tells the parts of one stay apart (kinds/stays.py), who rendered the service, its units and payment
STAY_COLUMNS = ("bill_type_code", "facility_npi", "billing_npi")
EVENT_ATTRIBUTE_COLUMNS = ("rendering_npi", "service_unit_quantity")
PAID_COLUMN = "paid_amount"  # read only for a rate of paid amounts: a float per line, as costly to decode as a code
TAXONOMY_COLUMNS = ("rendering_taxonomy_code", "rendering_npi", "billing_npi")


def leaves(p: Predicate) -> list[Predicate]:
    if p.any_of is not None or p.all_of is not None:
        return [leaf for c in (p.any_of or p.all_of or []) for leaf in leaves(c)]
    if p.not_ is not None:
        return leaves(p.not_)
    return [p]


@dataclass
class CodeUse:
    """What a scan saw in one code column: whether any row had a value, whether any value was in a value set."""

    filled: bool = False
    matched: bool = False
    examples: list[str] = field(default_factory=list)


@dataclass
class LinePlan:
    """Every line-level condition the asked-for measures need, deduplicated by content."""

    codes: CodeIndex
    medical_sources: dict[str, Predicate] = field(default_factory=dict)
    pharmacy_sources: dict[str, Predicate] = field(default_factory=dict)
    observation_sources: dict[str, Predicate] = field(default_factory=dict)
    claim_leaves: dict[str, Predicate] = field(default_factory=dict)
    # filled in by the scan: per table and code column, whether any value was in a value set (for the 0/0 notes)
    code_use: dict[str, dict[str, CodeUse]] = field(default_factory=dict)
    # input columns some source reads from the kept lines (a code to look value-set attributes up by)
    line_columns: set[str] = field(default_factory=set)
    paid_amounts: bool = False  # some rate sums the paid amounts of its events
    _keys: dict[str, str] = field(default_factory=dict)

    def _key(self, p: Predicate, prefix: str) -> str:
        text = prefix + p.model_dump_json(by_alias=True, exclude_none=True)
        if text not in self._keys:
            self._keys[text] = f"_{prefix}{len(self._keys)}"
        return self._keys[text]

    def add_source(self, p: Predicate, table: str) -> str:
        for vs in p.value_sets():
            self.codes.register(vs)
        key = self._key(p, "s")
        target = {"pharmacy_claim": self.pharmacy_sources, "observation": self.observation_sources}.get(table, self.medical_sources)
        target[key] = p
        return key

    def source_key(self, p: Predicate) -> str:
        return self._key(p, "s")

    def add_claim_condition(self, p: Predicate) -> None:
        for leaf in leaves(p):
            for vs in leaf.value_sets():
                self.codes.register(vs)
            self.claim_leaves[self.leaf_key(leaf)] = leaf

    def leaf_key(self, leaf: Predicate) -> str:
        return self._key(leaf, "l")

    def leaf_families(self, leaf: Predicate) -> set[str]:
        if leaf.claim_type is not None:
            return set()
        if leaf.code_in is None:
            return {"dx"}
        return set(self.codes.families(leaf.code_in))


def _mask_name(family: str, leaf: Predicate, stage: str) -> str:
    if family == "dx":
        return "_m_dxp" if leaf.principal_diagnosis_in else "_m_dxany"
    if family == "taxonomy" and stage == "A":
        return "_a_taxonomy"
    return f"_m_{family}"


def _exact(p: Predicate, codes: CodeIndex, families: set[str]) -> pl.Expr:
    """The condition on one line, from the mask columns."""
    if p.any_of is not None:
        return pl.any_horizontal([_exact(c, codes, families) for c in p.any_of])
    if p.all_of is not None:
        return pl.all_horizontal([_exact(c, codes, families) for c in p.all_of])
    if p.not_ is not None:
        return ~_exact(p.not_, codes, families)
    if p.claim_type is not None:
        return pl.col("claim_type").str.to_lowercase() == p.claim_type
    name = p.code_in or p.diagnosis_in or p.principal_diagnosis_in
    assert name is not None  # a leaf left after any_of, all_of, not_ and claim_type names its value set
    fams = codes.families(name) if p.code_in else (["dx"] if "dx" in codes.families(name) else [])
    tests = []
    for family in fams:
        families.add(family)
        tests.append(codes.test(family, name, _mask_name(family, p, "B")))
    return pl.any_horizontal(tests) if tests else pl.lit(False)


def _masks(codes: CodeIndex, families: set[str], schema: pl.Schema, stage: str, provider: pl.DataFrame | None) -> list[pl.Expr]:
    exprs: list[pl.Expr] = []
    for family in sorted(families):
        for chunk in range(codes.chunks(family)):
            if family == "dx":
                dx = [c for c in DX_COLUMNS if c in schema]
                principal = codes.mask("dx", chunk, pl.col(dx[0]))
                exprs.append(principal.alias(f"_m_dxp_{chunk}"))
                anyx = principal
                for c in dx[1:]:
                    anyx = anyx | codes.mask("dx", chunk, pl.col(c))
                exprs.append(anyx.alias(f"_m_dxany_{chunk}"))
            elif family == "taxonomy":
                if stage == "A":
                    col = pl.col("rendering_taxonomy_code") if "rendering_taxonomy_code" in schema else pl.lit(None, dtype=pl.String)
                    exprs.append(codes.mask(family, chunk, col).alias(f"_a_taxonomy_{chunk}"))
                else:
                    exprs.append(codes.mask(family, chunk, _taxonomy(schema, provider)).alias(f"_m_taxonomy_{chunk}"))
            else:
                cols = [c for c in FAMILY_COLUMNS[family] if c in schema]
                m = pl.lit(0, dtype=pl.UInt64)
                for c in cols:
                    m = m | codes.mask(family, chunk, pl.col(c))
                exprs.append(m.alias(f"_m_{family}_{chunk}"))
    return exprs


def _taxonomy(schema: pl.Schema, provider: pl.DataFrame | None) -> pl.Expr:
    """The rendering provider's taxonomy: from the claim line, else the provider table by rendering then billing NPI."""
    parts = [pl.col("rendering_taxonomy_code")] if "rendering_taxonomy_code" in schema else []
    if provider is not None and provider.height:
        keys, values = provider["npi"].to_list(), provider["taxonomy_code"].to_list()
        for npi in ("rendering_npi", "billing_npi"):
            if npi in schema:
                parts.append(pl.col(npi).replace_strict(keys, values, default=None, return_dtype=pl.String))
    return pl.coalesce(parts) if parts else pl.lit(None, dtype=pl.String)


def _provider_taxonomy(inputs: Inputs) -> dict[str, str]:
    if "provider" not in inputs.frames:
        return {}
    prov = inputs.frames["provider"].select("npi", "taxonomy_code").drop_nulls().unique("npi", keep="first").collect().sort("npi")
    return dict(zip(prov["npi"].to_list(), prov["taxonomy_code"].to_list(), strict=True))


@dataclass
class _Tables:
    """Lookup tables of one dictionary: per chunk, the value-set mask of each distinct value; whether the value
    (for NPI columns: the taxonomy the provider table gives it) is present; whether any value set holds it."""

    values: pl.Series
    masks: list[np.ndarray]
    present: np.ndarray
    # per chunk's bits of an anchor: whether each value's masks hold any of them (built once per dictionary)
    _hot: dict[tuple[int, ...], np.ndarray | None] = field(default_factory=dict)
    _in_any: np.ndarray | None = None

    @property
    def in_any(self) -> np.ndarray:
        if self._in_any is None:
            self._in_any = (np.logical_or.reduce([m != 0 for m in self.masks]) if self.masks
                            else np.zeros(len(self.present), dtype=bool))
        return self._in_any

    def hot(self, bits: tuple[int, ...]) -> np.ndarray | None:
        """Per value, whether its masks hold any of `bits` (one entry per chunk); None when no value does."""
        if bits not in self._hot:
            out = np.zeros(len(self.present), dtype=bool)
            for mask, b in zip(self.masks, bits, strict=True):
                if b:
                    out |= (mask & np.uint64(b)) != 0
            self._hot[bits] = out if out.any() else None
        return self._hot[bits]


# Arrow scalars made once: a Python value handed to a pyarrow compute function is converted on every call, and
# that conversion tries to import dateutil, which costs a search of the import path each time it is missing
_NOT_KNOWN = pa.scalar(-1, pa.int32())
_FALSE = pa.scalar(False)


@dataclass
class _Known:
    """Every distinct value of one code family seen so far, with its masks: a new row group's dictionary costs a
    query only for the values not seen in any earlier one. Entry 0 is the empty value."""

    values: pa.Array  # large_string; value i has id i + 1
    masks: list[np.ndarray]  # per chunk, per id
    present: np.ndarray

    def grow(self, values: pa.Array, masks: list[np.ndarray], present: np.ndarray) -> None:
        self.values = pa.concat_arrays([self.values, values])
        self.masks = [np.concatenate([old, new]) for old, new in zip(self.masks, masks, strict=True)]
        self.present = np.concatenate([self.present, present])

    def ids(self, values: pa.Array) -> pa.Array:
        return pc.index_in(values, value_set=self.values)


@dataclass
class _DictionaryMasks:
    """Value-set masks of each distinct code of a batch's columns: the values of a family's new dictionaries
    not seen before are tested in one query, then every row looks its value up. A dictionary repeated by the
    next batch (the row group's) reuses its tables."""

    codes: CodeIndex
    npi_taxonomy: dict[str, str]
    exprs: dict[str, list[pl.Expr]] = field(default_factory=dict)
    use: dict[str, CodeUse] = field(default_factory=dict)
    tables: dict[tuple[str, str], _Tables] = field(default_factory=dict)
    known: dict[str, _Known] = field(default_factory=dict)
    _noted: set[str] = field(default_factory=set)  # columns whose use this batch has been noted

    def _family_exprs(self, family: str) -> list[pl.Expr]:
        if family not in self.exprs:
            self.exprs[family] = [self.codes.mask(family, chunk, pl.col("v")).alias(f"c{chunk}")
                                  for chunk in range(self.codes.chunks(family))]
        return self.exprs[family]

    def _taxonomies(self, values: pl.Series) -> pl.Series:
        # only the NPIs not seen before come here, a few per row group: a dictionary probe each beats building a
        # replacement table of every provider per call
        get = self.npi_taxonomy.get
        return pl.Series([get(v) for v in values.to_list()], dtype=pl.String)

    def start_batch(self) -> None:
        self._noted.clear()

    def _note_use(self, name: str, col: CodeColumn, tables: _Tables) -> None:
        use = self.use.setdefault(name, CodeUse())
        if use.matched or not col.count or name in self._noted:
            return
        self._noted.add(name)  # once per batch, however many lookups read the column
        use.filled = True
        if tables.in_any.any() and col.lookup(tables.in_any)[1].any():
            use.matched = True
        elif len(use.examples) < 3:
            distinct = col.distinct()
            seen = col.values.gather(pl.Series(distinct[distinct < len(col.values)][:3], dtype=pl.UInt32)).to_list()
            use.examples = list(dict.fromkeys([*use.examples, *seen]))[:3]

    def _empty(self, family: str) -> _Tables:
        key = (family, "")
        if key not in self.tables:
            nothing = np.zeros(0, dtype=np.uint64)
            self.tables[key] = _Tables(pl.Series([], dtype=pl.String), [nothing for _ in range(self.codes.chunks(family))],
                                       np.zeros(0, dtype=bool))
        return self.tables[key]

    def _lookup(self, family: str, namespace: str, columns: list[CodeColumn], via_npi: bool) -> list[_Tables]:
        """The tables of some dictionaries of one family, from the values known so far (NPIs known apart: an
        NPI's masks are those of the taxonomy the provider table gives it). One hash lookup for them all."""
        known = self.known.get(namespace)
        chunks = range(self.codes.chunks(family))
        if known is None:
            known = self.known[namespace] = _Known(pa.array([], type=pa.large_string()),
                                                   [np.zeros(1, dtype=np.uint64) for _ in chunks], np.zeros(1, dtype=bool))
        arrow = pa.concat_arrays([c.arrow for c in columns]) if len(columns) > 1 else columns[0].arrow
        ids = known.ids(arrow)
        if ids.null_count > arrow.null_count:  # values not seen before
            fresh = pc.unique(arrow.filter(pc.and_(pc.is_null(ids), pc.is_valid(arrow))))
            text = pl.Series(fresh)
            # one uint64 matrix: a column per chunk's masks, then whether the value is present
            table = pl.DataFrame({"v": self._taxonomies(text) if via_npi else text}).select(
                *self._family_exprs(family), pl.col("v").is_not_null().cast(pl.UInt64).alias("has")).to_numpy()
            known.grow(fresh, [np.ascontiguousarray(table[:, chunk]) for chunk in chunks], table[:, -1] != 0)
            ids = known.ids(arrow)
        # id 0 is the empty value; known value i is id i + 1
        at = pc.fill_null(ids, _NOT_KNOWN).to_numpy() + 1
        out = []
        start = 0
        for col in columns:
            part = np.append(at[start:start + len(col.arrow)], 0)  # and the empty value's entry, last
            start += len(col.arrow)
            out.append(_Tables(col.values, [m[part] for m in known.masks], known.present[part]))
        return out

    def family_tables(self, columns: dict[str, CodeColumn], family: str,
                      via_npi: AbstractSet[str] = frozenset()) -> dict[str, _Tables]:
        """The lookup tables of each column's dictionary (reused while a column's dictionary stays the same)."""
        out: dict[str, _Tables] = {}
        stale: dict[bool, list[str]] = {False: [], True: []}
        for c, col in columns.items():
            if not col.count:  # empty in this batch: its lookups read nothing
                out[c] = self._empty(family)
                continue
            cached = self.tables.get((family, c))
            if cached is None or cached.values is not col.values:
                stale[c in via_npi].append(c)
            else:
                out[c] = cached
        for npi, names in stale.items():
            if names:
                tables = self._lookup(family, f"{family}:npi" if npi else family, [columns[c] for c in names], npi)
                for c, table in zip(names, tables, strict=True):
                    out[c] = self.tables[(family, c)] = table
        for c, col in columns.items():
            if c not in via_npi:
                self._note_use(c, col, out[c])
        return out


def _or_into(target: np.ndarray, col: CodeColumn, tables: _Tables, chunk: int, at: np.ndarray | None) -> None:
    if not tables.in_any.any():  # no value of this dictionary is in any value set: nothing to look up
        return
    table = tables.masks[chunk]
    if at is not None:
        target |= col.lookup_at(table, at)
        return
    rows, values = col.lookup(table)
    if rows is None:
        target |= values
    else:
        target[rows] |= values


def _batch_masks(batch: Batch, families: set[str], codes: CodeIndex, luts: _DictionaryMasks,
                 at: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The mask columns `_exact` conditions read, for every row of the batch (or the rows `at` only)."""
    out: dict[str, np.ndarray] = {}
    n = batch.rows if at is None else len(at)
    for family in sorted(families):
        chunks = range(codes.chunks(family))
        if family == "dx":
            dx = [c for c in DX_COLUMNS if c in batch.codes]
            tables = luts.family_tables({c: batch.codes[c] for c in dx}, "dx")
            for chunk in chunks:
                principal = np.zeros(n, dtype=np.uint64)
                if dx:
                    _or_into(principal, batch.codes[dx[0]], tables[dx[0]], chunk, at)
                anyx = principal.copy()
                for c in dx[1:]:
                    _or_into(anyx, batch.codes[c], tables[c], chunk, at)
                out[f"_m_dxp_{chunk}"], out[f"_m_dxany_{chunk}"] = principal, anyx
        elif family == "taxonomy":
            # the rendering provider's taxonomy: the claim line's, else the provider table's by rendering, then billing NPI
            cols = [c for c in TAXONOMY_COLUMNS if c in batch.codes]
            via_npi = {c for c in cols if c != "rendering_taxonomy_code"}
            tables = luts.family_tables({c: batch.codes[c] for c in cols}, "taxonomy", via_npi)
            ms = [np.zeros(n, dtype=np.uint64) for _ in chunks]
            for c in reversed(cols):  # a column earlier in the list overwrites the later ones where it has a taxonomy
                col = batch.codes[c]
                if at is not None:
                    has = col.lookup_at(tables[c].present, at)
                    for chunk in chunks:
                        np.copyto(ms[chunk], col.lookup_at(tables[c].masks[chunk], at), where=has)
                    continue
                rows, has = col.lookup(tables[c].present)
                for chunk in chunks:
                    _, values = col.lookup(tables[c].masks[chunk])
                    if rows is None:
                        np.copyto(ms[chunk], values, where=has)
                    else:
                        ms[chunk][rows[has]] = values[has]
            for chunk in chunks:
                out[f"_m_taxonomy_{chunk}"] = ms[chunk]
        else:
            cols = [c for c in FAMILY_COLUMNS[family] if c in batch.codes]
            tables = luts.family_tables({c: batch.codes[c] for c in cols}, family)
            for chunk in chunks:
                m = np.zeros(n, dtype=np.uint64)
                for c in cols:
                    _or_into(m, batch.codes[c], tables[c], chunk, at)
                out[f"_m_{family}_{chunk}"] = m
    return out


def _taxonomy_hot(batch: Batch, bits: tuple[int, ...], luts: _DictionaryMasks) -> np.ndarray:
    """Per row, whether the rendering provider's taxonomy holds any of `bits` (one entry per chunk). That taxonomy
    is the line's, else the provider table's by rendering, then billing NPI: the first column with one decides."""
    cols = [c for c in TAXONOMY_COLUMNS if c in batch.codes]
    tables = luts.family_tables({c: batch.codes[c] for c in cols}, "taxonomy", {c for c in cols if c != "rendering_taxonomy_code"})
    hot = np.zeros(batch.rows, dtype=bool)
    decided = np.zeros(batch.rows, dtype=bool)  # rows whose taxonomy an earlier column gave
    for i, c in enumerate(cols):
        col = batch.codes[c]
        if not col.count:
            continue
        table = tables[c].hot(bits)  # a value's masks hold a taxonomy's bits only where it has a taxonomy
        if table is not None:
            rows, met = col.lookup(table)
            if rows is None:
                hot |= met & ~decided
            else:
                hot[rows] |= met & ~decided[rows]
        if i < len(cols) - 1:
            rows, has = col.lookup(tables[c].present)
            if rows is None:
                decided |= has
            else:
                decided[rows] |= has
    return hot


_MASK_FAMILY = {"_m_dxp": "dx", "_m_dxany": "dx"}  # mask columns not named after their family


def _anchor_rows(batch: Batch, anchor: Node, codes: CodeIndex, luts: _DictionaryMasks) -> np.ndarray | None:
    """The rows that pass an anchor made of value-set bits only, found without building any row's masks: per
    column, a true/false entry per distinct code (does its mask hold an anchor bit?) looked up per row, and a
    mostly empty column is looked up at its filled rows only. None for an anchor that tests anything else."""
    if anchor.op == "false":
        return np.zeros(0, dtype=np.int64)
    if anchor.op != "bits":
        return None
    n = batch.rows
    found = np.zeros(n, dtype=bool)
    # per mask column name without its chunk: the bits per chunk
    wanted: dict[str, list[int]] = {}
    for name, bits in anchor.bits.items():
        base, position = name.rsplit("_", 1)
        per_chunk = wanted.setdefault(base, [0] * codes.chunks(_MASK_FAMILY.get(base, base[3:])))
        per_chunk[int(position)] |= bits
    if "_m_taxonomy" in wanted:
        found |= _taxonomy_hot(batch, tuple(wanted.pop("_m_taxonomy")), luts)
    by_column: dict[tuple[str, str], tuple[int, ...]] = {}
    dx = [c for c in DX_COLUMNS if c in batch.codes]
    for base, per_chunk in wanted.items():
        family = _MASK_FAMILY.get(base, base[3:])
        cols = (dx[:1] if base == "_m_dxp" else dx) if family == "dx" else [c for c in FAMILY_COLUMNS[family] if c in batch.codes]
        for c in cols:
            old = by_column.get((family, c), (0,) * len(per_chunk))
            by_column[(family, c)] = tuple(a | b for a, b in zip(old, per_chunk, strict=True))
    for family in sorted({f for f, _ in by_column}):
        columns = {c: batch.codes[c] for f, c in by_column if f == family}
        tables = luts.family_tables(columns, family)
        for c, col in columns.items():
            table = tables[c].hot(by_column[(family, c)]) if col.count else None
            if table is None:  # no row has a value, or no value of the column's dictionary can pass
                continue
            rows, hot = col.lookup(table)
            if rows is None:
                found |= hot
            else:
                found[rows[hot]] = True
    return np.flatnonzero(found)


NARROW_BELOW = 0.1  # share of lines passing the anchor under which masks are built for those lines only
CLAIM_KEY = ("member_id", "claim_id")
ROW = "__bhm_row"  # a file's row position, for reading kept rows back (a name no input column has)


def _read_rows(path: Path, positions: np.ndarray, columns: list[str]) -> pl.DataFrame:
    """Some columns of a Parquet file at the rows in `positions` (ascending), read by Polars: its reader decodes
    the columns a scan does not test at about half the CPU of pyarrow's."""
    index = pl.Series(ROW, positions, dtype=pl.UInt32)
    rows = pl.scan_parquet(path, glob=False).with_row_index(ROW).filter(pl.col(ROW).is_in(index.implode())).select(columns).collect()
    if rows.height != len(positions):  # the two readers disagree on the rows: a bug, never a wrong rate
        raise AssertionError(f"{path}: {rows.height} rows read back for {len(positions)} kept lines")
    return rows


def claim_flags_frame(leaves_of: list[str], rows: list[pl.DataFrame]) -> pl.DataFrame:
    """Per claim, which claim-level leaves any of its lines meets; only claims with some leaf met."""
    def flags(r: pl.DataFrame) -> list[pl.Expr]:
        return [pl.col(k) if k in r.columns else pl.lit(False).alias(k) for k in leaves_of]

    parts = [r.select(*CLAIM_KEY, *flags(r)).filter(pl.any_horizontal(leaves_of)) for r in rows if leaves_of and r.height]
    if not parts:
        return pl.DataFrame(schema={"source": pl.String, "member_id": pl.String, "claim_id": pl.String,
                                    **dict.fromkeys(leaves_of, pl.Boolean)})
    return pl.concat(parts).group_by(*CLAIM_KEY).agg(pl.col(leaves_of).any()).with_columns(
        pl.lit("medical_claim").alias("source"))


def _claim_runs(keys: list[pa.Array], flags: list[np.ndarray], names: list[str]) -> pa.Table:
    """Adjacent lines of one claim as one row, their flags or-ed (a claim's lines usually follow each other;
    where they do not, the rows stay apart and are merged after the scan)."""
    same = np.ones(max(len(keys[0]) - 1, 0), dtype=bool)
    for k in keys:
        same &= pc.fill_null(pc.equal(k[1:], k[:-1]), _FALSE).to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(np.concatenate([[True], ~same]))
    index = pa.array(starts)
    return pa.table([*(k.take(index) for k in keys), *(pa.array(np.logical_or.reduceat(f, starts)) for f in flags)],
                    names=[*CLAIM_KEY, *names])


def medical_lines(inputs: Inputs, plan: LinePlan) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(lines that meet a source condition, with a boolean column per condition;
    per claim of those lines, the claim-level leaves some line of the claim meets)."""
    if not plan.medical_sources:
        return pl.DataFrame(), claim_flags_frame(list(plan.claim_leaves), [])
    conditions = {**plan.medical_sources, **plan.claim_leaves}
    families: set[str] = set()
    exact = {k: compile_condition(p, plan.codes, families) for k, p in conditions.items()}
    # claim conditions on header fields can be read from any kept line of the claim, so they need not keep lines
    line_level = [k for k, p in plan.claim_leaves.items() if plan.leaf_families(p) - HEADER_FAMILIES]
    tests = LineTests(exact, [*plan.medical_sources, *line_level])
    uses_claim_type = any(leaf.claim_type is not None for p in conditions.values() for leaf in leaves(p))
    schema = inputs.frames["medical_claim"].collect_schema()
    code_columns = {"bill_type_code"}
    for family in families:
        code_columns |= (set(DX_COLUMNS) if family == "dx" else set(TAXONOMY_COLUMNS) if family == "taxonomy"
                         else set(FAMILY_COLUMNS[family]))
    code_columns = {c for c in code_columns if c in schema}
    attributes = (*EVENT_ATTRIBUTE_COLUMNS, PAID_COLUMN) if plan.paid_amounts else EVENT_ATTRIBUTE_COLUMNS
    plain = [c for c in dict.fromkeys((*MEDICAL_BASE, *MEDICAL_DATES, *STAY_COLUMNS, *attributes, *sorted(plan.line_columns)))
             if c in schema and c not in code_columns]
    if not uses_claim_type:  # no condition asks for it, and no step reads it
        plain = [c for c in plain if c != "claim_type"]
    carried = sorted(code_columns & {*STAY_COLUMNS, *attributes, *plan.line_columns})
    # a Parquet file read as stored: the scan reads what decides which lines are kept (code columns, the claim
    # type, the claim key when a claim-level leaf may sit on another line), and Polars reads the other columns
    # afterwards for the kept rows only (its reader decodes them at about half the CPU of pyarrow's)
    late = parquet_as_written(inputs, "medical_claim", [*plain, *sorted(code_columns)])
    decide = [c for c in plain if c == "claim_type"] if late is not None else plain
    after = [c for c in plain if c not in decide]
    kept_rows: list[np.ndarray] = []
    offset = 0
    luts = _DictionaryMasks(plan.codes, _provider_taxonomy(inputs) if "taxonomy" in families else {})
    parts: list[pa.RecordBatch] = []
    leaf_parts: list[pa.Table] = []  # lines that meet only a line-level claim leaf: claim key and flags
    # the same, on a file read as stored: their positions and flags (their claim keys are read afterwards, for the
    # members with a kept line only: decoding every line's member and claim id would cost more than the scan's tests)
    leaf_rows: list[np.ndarray] = []
    leaf_flags: list[list[np.ndarray]] = []
    for batch in table_batches(inputs, "medical_claim", decide, sorted(code_columns)):
        start, offset = offset, offset + batch.rows
        # after the first batch has chosen the anchor, masks are built for the rows that pass it only (unless many
        # do, as when a claim-level leaf keeps every lab line: then masks of every row cost less than lookups)
        luts.start_batch()
        narrow = tests.anchor is not None and tests.passing is not None and tests.passing < NARROW_BELOW
        at = _anchor_rows(batch, tests.anchor, plan.codes, luts) if narrow and tests.anchor is not None else None
        masks = _batch_masks(batch, families, plan.codes, luts, at)
        if uses_claim_type and "claim_type" in batch.columns:
            types = batch.column("claim_type")
            masks["claim_type"] = (types if at is None else types.gather(at)).str.to_lowercase().to_numpy()
        rows, values = tests.run(masks, batch.rows) if at is None else tests.run_at(masks, at)
        if not len(rows):
            continue
        source = np.logical_or.reduce([values[k] for k in plan.medical_sources])
        if not source.all():
            only = ~source
            if late is not None:
                leaf_rows.append(rows[only] + start)
                leaf_flags.append([values[k][only] for k in line_level])
            else:  # one row per claim of the batch (a lab claim's lines all have the lab's place of service)
                leaf_parts.append(_claim_runs(batch.take_arrow(rows[only], list(CLAIM_KEY)), [values[k][only] for k in line_level],
                                              line_level))
            rows, values = rows[source], {k: v[source] for k, v in values.items()}
        arrays = [*batch.take_arrow(rows, decide), *(batch.codes[c].take_arrow(rows) for c in carried),
                  *(pa.array(values[k]) for k in exact)]
        parts.append(pa.RecordBatch.from_arrays(arrays, names=[*decide, *carried, *exact]))
        if late is not None:
            kept_rows.append(rows + start)
    plan.code_use["medical_claim"] = luts.use
    pa.default_memory_pool().release_unused()  # what pyarrow decoded is gone; let the measures have the memory
    if parts:
        lines = pl.from_arrow(pa.Table.from_batches(parts))
        assert isinstance(lines, pl.DataFrame)
        del parts  # Polars holds its own copy: the Arrow batches' memory goes back now, not at return
        pa.default_memory_pool().release_unused()
        if late is not None and after:
            lines = pl.concat([_read_rows(late, np.concatenate(kept_rows), after), lines], how="horizontal")
    else:
        lines = pl.DataFrame(schema={**{c: schema[c] for c in plain}, **dict.fromkeys(carried, pl.String),
                                     **dict.fromkeys(exact, pl.Boolean)})
    flags = list(exact)
    # a line met only a claim leaf: it counts for a claim that has a kept line, and no other
    # (joined in Arrow: most such lines are of claims with no kept line, and are never converted)
    leaf_only = []
    joined: pl.DataFrame | None = None
    if leaf_parts:
        table = pa.concat_tables(leaf_parts)
        del leaf_parts
        # members first (a set lookup in Arrow), then the claim keys, hashing the smaller side only
        table = table.filter(pc.is_in(table.column("member_id"), value_set=lines.get_column("member_id").unique().to_arrow()))
        arrow_rows = pl.from_arrow(table)
        assert isinstance(arrow_rows, pl.DataFrame)
        joined = arrow_rows
        del table
    elif leaf_rows and lines.height and late is not None:
        # their claim keys, read by Polars for the members with a kept line, and kept for the claims with a kept
        # line: streamed, the lines picked by position from a true/false column over every row of the file (a lab
        # rule can leave millions of such lines, whose keys would take gigabytes)
        positions = np.concatenate(leaf_rows)

        def over_file(values: np.ndarray | bool) -> pl.Expr:
            column = np.zeros(offset, dtype=bool)
            column[positions] = values
            return pl.lit(pl.Series(column)).gather(pl.col(ROW))

        picked = over_file(True)
        flag_columns = [over_file(np.concatenate([f[i] for f in leaf_flags])).alias(k) for i, k in enumerate(line_level)]
        del leaf_flags
        members = lines.get_column("member_id").unique().implode()
        joined = (pl.scan_parquet(late, glob=False).with_row_index(ROW)
                  .filter(picked & pl.col("member_id").is_in(members))
                  .join(lines.select(*CLAIM_KEY).unique().lazy(), on=list(CLAIM_KEY), how="semi")
                  .select(*CLAIM_KEY, *flag_columns).collect(engine="streaming"))
    if joined is not None:
        keys = lines.select(*CLAIM_KEY)
        if joined.height < keys.height:
            keys = keys.join(joined.select(*CLAIM_KEY).unique(), on=list(CLAIM_KEY), how="semi").unique()
        leaf_only.append(joined.join(keys, on=list(CLAIM_KEY), how="semi"))
    claim_flags = claim_flags_frame(list(plan.claim_leaves), [lines, *leaf_only])
    have = set(lines.columns)

    def date(c: str) -> pl.Expr:
        return pl.col(c) if c in have else pl.lit(None, dtype=pl.Date)

    def text(c: str) -> pl.Expr:
        return pl.col(c) if c in have else pl.lit(None, dtype=pl.String)

    return lines.select(
        "member_id", "claim_id",
        pl.coalesce(date("claim_line_start_date"), pl.col("claim_start_date")).alias("service_date"),
        pl.coalesce(date("claim_line_end_date"), pl.col("claim_end_date")).alias("service_end_date"),
        pl.coalesce(date("admission_date"), pl.col("claim_start_date")).alias("admission_date"),
        pl.coalesce(date("discharge_date"), pl.col("claim_end_date")).alias("discharge_date"),
        "claim_start_date", "claim_end_date",
        *[text(c).alias(c) for c in STAY_COLUMNS],
        pl.coalesce(text("rendering_npi"), text("billing_npi")).alias("provider"),
        (pl.col("service_unit_quantity").round(0).cast(pl.Int64, strict=False) if "service_unit_quantity" in have
         else pl.lit(None, dtype=pl.Int64)).alias("units"),
        ((pl.col("paid_amount") * 100).round(0).cast(pl.Int64, strict=False) if "paid_amount" in have
         else pl.lit(None, dtype=pl.Int64)).alias("paid_cents"),
        *[text(c).alias(c) for c in sorted(plan.line_columns - set(STAY_COLUMNS))],
        *flags,
    ), claim_flags


PHARMACY_COLUMNS = ("member_id", "claim_id", "dispensing_date", "days_supply")


def pharmacy_lines(inputs: Inputs, plan: LinePlan) -> pl.DataFrame:
    """Fills that meet a pharmacy source condition, with a boolean column per condition. Read in batches like the
    claim lines, NDCs as dictionaries: a pharmacy file written in row groups of a million fills would otherwise be
    decoded a row group at a time."""
    if not plan.pharmacy_sources:
        return pl.DataFrame()
    families: set[str] = set()
    exact = {k: compile_condition(p, plan.codes, families) for k, p in plan.pharmacy_sources.items()}
    tests = LineTests(exact, list(exact))
    schema = inputs.frames["pharmacy_claim"].collect_schema()
    plain = [c for c in PHARMACY_COLUMNS if c in schema]
    # a Parquet file read as stored: the NDCs decide, and the other columns are read afterwards for the kept fills
    late = parquet_as_written(inputs, "pharmacy_claim", [*plain, "ndc_code"])
    decide = [] if late is not None else plain
    luts = _DictionaryMasks(plan.codes, {})
    parts: list[pa.RecordBatch] = []
    kept_rows: list[np.ndarray] = []
    offset = 0
    for batch in table_batches(inputs, "pharmacy_claim", decide, ["ndc_code"]):
        start, offset = offset, offset + batch.rows
        luts.start_batch()
        rows, values = tests.run(_batch_masks(batch, families, plan.codes, luts), batch.rows)
        if len(rows):
            arrays = [*batch.take_arrow(rows, decide), batch.codes["ndc_code"].take_arrow(rows), *(pa.array(values[k]) for k in exact)]
            parts.append(pa.RecordBatch.from_arrays(arrays, names=[*decide, "ndc_code", *exact]))
            kept_rows.append(rows + start)
    plan.code_use["pharmacy_claim"] = {"ndc_code": luts.use.get("ndc_code", CodeUse())}
    if not parts:
        return pl.DataFrame(schema={**{c: schema[c] for c in plain}, "ndc_code": pl.String, **dict.fromkeys(exact, pl.Boolean)})
    rx = pl.from_arrow(pa.Table.from_batches(parts))
    assert isinstance(rx, pl.DataFrame)
    if late is not None:
        rx = pl.concat([_read_rows(late, np.concatenate(kept_rows), plain), rx], how="horizontal")
    return rx.select(*(pl.col(c).cast(schema[c]) for c in plain), pl.col("ndc_code").cast(pl.String), *exact)


def _table_use(inputs: Inputs, table: str, column: str, matched: bool) -> CodeUse:
    if matched or not inputs.column_filled(table, column):
        return CodeUse(filled=matched, matched=matched)
    examples = inputs.frames[table].select(pl.col(column).drop_nulls().head(3)).collect().to_series().to_list()
    return CodeUse(filled=True, matched=False, examples=examples)


def observation_rows(inputs: Inputs, plan: LinePlan) -> pl.DataFrame | None:
    """Observation rows whose code meets an observation source's condition, with a flag per condition."""
    if not plan.observation_sources or "observation" not in inputs.frames:
        return None
    families: set[str] = set()
    flags = {k: _exact(p, plan.codes, families) for k, p in plan.observation_sources.items()}
    # LOINC value sets are the only observation code system: they match rows whose code_type is loinc; the row
    # number is kept so a bad result can be reported by its line in the file
    frame = inputs.frames["observation"].with_row_index(ROW_INDEX).filter(code_type_key() == "loinc").select(
        ROW_INDEX, "member_id", "observation_date", "code_type", "code", "result")
    schema = frame.collect_schema()
    lf = frame.with_columns(_masks(plan.codes, families, schema, "B", None)).with_columns(**flags).filter(pl.any_horizontal(list(flags)))
    rows = lf.select(ROW_INDEX, "member_id", "observation_date", "code_type", "code", "result", *flags).collect()
    plan.code_use["observation"] = {"code": _table_use(inputs, "observation", "code", not rows.is_empty())}
    return rows
