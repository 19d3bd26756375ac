"""One pass over the claim lines, narrowing in three steps, cheapest first.

1. Anchors (`_Anchors`): a compact superset test the Parquet reader applies while reading, so it
   decodes member, claim and date columns only for the lines that pass (about 1 in 20).
2. Stage A (`_StageA`): on those lines, one Enum lookup per code column (HCPCS, revenue, bill type,
   POS, taxonomy) gives exact value-set bit masks; diagnoses are tested by their first letters. The
   conditions' own and/or structure then keeps about 1 line in 70.
3. Stage B: on the kept lines, exact diagnosis masks and the rendering provider's taxonomy (claim line,
   else provider table), and one boolean column per condition.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from bhmeasures.engine.codes import CodeIndex
from bhmeasures.inputs import Inputs
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
# what tells the parts of one stay apart (kinds/stays.py), who rendered the service, and its units
STAY_COLUMNS = ("bill_type_code", "facility_npi", "billing_npi")
EVENT_ATTRIBUTE_COLUMNS = ("rendering_npi", "service_unit_quantity", "paid_amount")


def leaves(p: Predicate) -> list[Predicate]:
    if p.any_of is not None or p.all_of is not None:
        return [leaf for c in (p.any_of or p.all_of or []) for leaf in leaves(c)]
    if p.not_ is not None:
        return leaves(p.not_)
    return [p]


@dataclass
class LinePlan:
    """Every line-level condition the asked-for measures need, deduplicated by content."""

    codes: CodeIndex
    medical_sources: dict[str, Predicate] = field(default_factory=dict)
    pharmacy_sources: dict[str, Predicate] = field(default_factory=dict)
    observation_sources: dict[str, Predicate] = field(default_factory=dict)
    claim_leaves: dict[str, Predicate] = field(default_factory=dict)
    # input columns some source reads from the kept lines (a code to look value-set attributes up by)
    line_columns: set[str] = field(default_factory=set)
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
    fams = codes.families(name) if p.code_in else (["dx"] if "dx" in codes.families(name) else [])
    tests = []
    for family in fams:
        families.add(family)
        tests.append(codes.test(family, name, _mask_name(family, p, "B")))
    return pl.any_horizontal(tests) if tests else pl.lit(False)


class _StageA:
    """Cheap conditions that every line meeting a condition meets too; exact except for diagnoses."""

    def __init__(self, codes: CodeIndex, schema: pl.Schema, provider_npis: dict[str, list[str]]) -> None:
        self.codes, self.schema, self.provider_npis = codes, schema, provider_npis
        self.families: set[str] = set()
        self.heads: dict[str, pl.Expr] = {}

    def _head(self, column: str, head: str) -> pl.Expr:
        name = f"_h_{column}_{head}"
        self.heads.setdefault(name, pl.col(column).str.starts_with(head))
        return pl.col(name)

    def leaf(self, p: Predicate) -> pl.Expr:
        name = p.code_in or p.diagnosis_in or p.principal_diagnosis_in
        fams = self.codes.families(name) if p.code_in else ["dx"]
        parts = []
        for family in fams:
            if family == "dx":
                if "dx" not in self.codes.families(name):
                    continue
                cols = ["diagnosis_code_1"] if p.principal_diagnosis_in else [c for c in DX_COLUMNS if c in self.schema]
                parts += [self._head(c, h) for h in _dx_heads(self.codes, name) for c in cols if c in self.schema]
                continue
            self.families.add(family)
            test = self.codes.test(family, name, _mask_name(family, p, "A"))
            if family == "taxonomy":
                npis = self.provider_npis.get(name, [])
                test = pl.any_horizontal([test, *[pl.col(c).is_in(npis) for c in ("rendering_npi", "billing_npi") if npis and c in self.schema]])
            parts.append(test)
        return pl.any_horizontal(parts) if parts else pl.lit(False)

    def condition(self, p: Predicate) -> pl.Expr | None:
        """None when no cheap test narrows the condition."""
        if p.any_of is not None:
            parts = [self.condition(c) for c in p.any_of]
            return None if any(x is None for x in parts) else pl.any_horizontal(parts)
        if p.all_of is not None:
            parts = [x for c in p.all_of if (x := self.condition(c)) is not None]
            return pl.all_horizontal(parts) if parts else None
        if p.not_ is not None or p.claim_type is not None:
            return None
        return self.leaf(p)


class _Anchors:
    """A compact superset test the Parquet reader can apply while scanning (predicate pushdown).

    For each condition, pick codes a matching line must carry in some column: any_of needs the union
    of its parts' anchors; all_of needs only one part's, and takes the cheapest: the share of a sample's
    lines it passes plus OP_COST per test it adds (measured at 1M members: a test costs about what
    passing a tenth of the lines on to the exact stage does). Per column the anchors merge into one
    `is_in` (plus a few `starts_with`), so the reader decodes the other columns only for lines that pass.
    """

    OP_COST = 0.1

    def __init__(self, codes: CodeIndex, schema: pl.Schema, provider_npis: dict[str, list[str]], sample: pl.DataFrame) -> None:
        self.codes, self.schema, self.provider_npis, self.sample = codes, schema, provider_npis, sample

    def _leaf(self, p: Predicate) -> dict[str, tuple[set[str], set[str]]]:
        name = p.code_in or p.diagnosis_in or p.principal_diagnosis_in
        out: dict[str, tuple[set[str], set[str]]] = {}

        def add(column: str, exact: set[str], prefixes: set[str]) -> None:
            if column in self.schema:
                e, x = out.setdefault(column, (set(), set()))
                e.update(exact)
                x.update(prefixes)

        for family in (self.codes.families(name) if p.code_in else ["dx"]):
            if family == "dx":
                if "dx" in self.codes.families(name):
                    cols = ["diagnosis_code_1"] if p.principal_diagnosis_in else DX_COLUMNS
                    for c in cols:
                        add(c, set(), set(_dx_heads(self.codes, name)))
                continue
            exact, prefixes = self.codes.codes_of(name, family)
            for c in (("rendering_taxonomy_code",) if family == "taxonomy" else FAMILY_COLUMNS[family]):
                add(c, exact, prefixes)
            if family == "taxonomy":
                for c in ("rendering_npi", "billing_npi"):
                    add(c, set(self.provider_npis.get(name, [])), set())
        return out

    def of(self, p: Predicate) -> dict[str, tuple[set[str], set[str]]] | None:
        """column -> (codes, prefixes) a line meeting `p` must match in at least one column; None if no anchor."""
        if p.any_of is not None:
            merged: dict[str, tuple[set[str], set[str]]] = {}
            for child in p.any_of:
                a = self.of(child)
                if a is None:
                    return None
                for c, (e, x) in a.items():
                    me, mx = merged.setdefault(c, (set(), set()))
                    me.update(e)
                    mx.update(x)
            return merged
        if p.all_of is not None:
            options = [a for c in p.all_of if (a := self.of(c)) is not None]
            return min(options, key=self.cost) if options else None
        if p.not_ is not None or p.claim_type is not None:
            return None
        return self._leaf(p)

    def cost(self, anchor: dict[str, tuple[set[str], set[str]]]) -> float:
        tests = sum(bool(exact) + len(prefixes) for exact, prefixes in anchor.values())
        passed = 0.0 if self.sample.is_empty() else float(self.sample.select(self.expr(anchor).mean()).item() or 0.0)
        return passed + self.OP_COST * tests

    @staticmethod
    def expr(anchor: dict[str, tuple[set[str], set[str]]]) -> pl.Expr:
        parts = []
        for c, (exact, prefixes) in sorted(anchor.items()):
            if exact:
                parts.append(pl.col(c).is_in(sorted(exact)))
            parts += [pl.col(c).str.starts_with(x) for x in sorted(prefixes)]
        return pl.any_horizontal(parts).fill_null(False) if parts else pl.lit(False)


def _dx_heads(codes: CodeIndex, value_set: str) -> list[str]:
    """Short leading strings that every ICD-10-CM code of the set starts with."""
    vs = codes.library[value_set]
    heads = {c[:3] for c in vs.codes.get("ICD10CM", set()) | vs.prefixes.get("ICD10CM", set())}
    by_letter: dict[str, set[str]] = {}
    for h in heads:
        by_letter.setdefault(h[0], set()).add(h)
    out: list[str] = []
    for letter, hs in sorted(by_letter.items()):
        out.extend([letter] if len(hs) > 4 else sorted(hs))
    return sorted({*out, *(h.lower() for h in out)})  # f32.9 is F32.9


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


def _provider_npis(codes: CodeIndex, provider: pl.DataFrame | None, value_sets: set[str]) -> dict[str, list[str]]:
    """Per taxonomy value set: the NPIs whose provider-table taxonomy is in it."""
    out: dict[str, list[str]] = {}
    if provider is None or provider.is_empty():
        return out
    for name in sorted(value_sets):
        if "taxonomy" not in codes.families(name):
            continue
        exact, prefixes = codes.codes_of(name, "taxonomy")
        hit = pl.col("taxonomy_code").is_in(sorted(exact))
        for p in prefixes:
            hit = hit | pl.col("taxonomy_code").str.starts_with(p)
        out[name] = provider.filter(hit)["npi"].to_list()
    return out


def medical_lines(inputs: Inputs, plan: LinePlan) -> pl.DataFrame:
    """Lines that match any source or claim condition, with a boolean column per condition."""
    conditions = {**plan.medical_sources, **plan.claim_leaves}
    if not conditions:
        return pl.DataFrame()
    frame = inputs.frames["medical_claim"]
    schema = frame.collect_schema()
    families_b: set[str] = set()
    flags = {k: _exact(p, plan.codes, families_b) for k, p in conditions.items()}
    provider = None
    if "taxonomy" in families_b and "provider" in inputs.frames:
        provider = inputs.frames["provider"].select("npi", "taxonomy_code").drop_nulls().unique("npi").collect()
    value_sets = {v for p in conditions.values() for v in p.value_sets()}
    stage_a = _StageA(plan.codes, schema, _provider_npis(plan.codes, provider, value_sets))
    # claim conditions on header fields can be read from any kept line of the claim, so they need not keep lines
    line_level = [p for k, p in plan.claim_leaves.items() if plan.leaf_families(p) - HEADER_FAMILIES]
    cheap = [stage_a.condition(p) for p in [*plan.medical_sources.values(), *line_level]]

    needed = {c for c in (*MEDICAL_BASE, *MEDICAL_DATES, *STAY_COLUMNS, *EVENT_ATTRIBUTE_COLUMNS, *plan.line_columns)
              if c in schema}
    all_families = families_b | stage_a.families
    needed |= {c for f in all_families if f in FAMILY_COLUMNS for c in FAMILY_COLUMNS[f] if c in schema}
    if "dx" in all_families or stage_a.heads:
        needed |= {c for c in DX_COLUMNS if c in schema}
    if "taxonomy" in all_families:
        needed |= {c for c in ("rendering_taxonomy_code", "rendering_npi", "billing_npi") if c in schema}
    lf = frame.select(sorted(needed))
    anchor_columns = [c for c in (*DX_COLUMNS, *FAMILY_COLUMNS["hcpcs"], *FAMILY_COLUMNS["rev"], *FAMILY_COLUMNS["tob"],
                                  *FAMILY_COLUMNS["pos"], *PCS_COLUMNS, "rendering_taxonomy_code", "rendering_npi",
                                  "billing_npi") if c in schema]
    anchors = _Anchors(plan.codes, schema, stage_a.provider_npis, frame.select(anchor_columns).head(200_000).collect())
    found = [anchors.of(p) for p in [*plan.medical_sources.values(), *line_level]]
    if all(a is not None for a in found):
        merged: dict[str, tuple[set[str], set[str]]] = {}
        for a in found:
            for c, (e, x) in a.items():
                me, mx = merged.setdefault(c, (set(), set()))
                me.update(e)
                mx.update(x)
        lf = frame.filter(_Anchors.expr(merged)).select(sorted(needed))
    if all(c is not None for c in cheap):
        lf = lf.with_columns(_masks(plan.codes, stage_a.families, schema, "A", None) + [e.alias(n) for n, e in stage_a.heads.items()])
        lf = lf.filter(pl.any_horizontal(cheap))
        done = stage_a.families - {"taxonomy"}
    else:
        done = set()
    lf = lf.with_columns(_masks(plan.codes, families_b - done, schema, "B", provider))
    date = (lambda c: pl.col(c) if c in schema else pl.lit(None, dtype=pl.Date))
    lf = lf.with_columns(**flags).filter(pl.any_horizontal(list(plan.medical_sources))).select(
        "member_id", "claim_id",
        pl.coalesce(date("claim_line_start_date"), pl.col("claim_start_date")).alias("service_date"),
        pl.coalesce(date("claim_line_end_date"), pl.col("claim_end_date")).alias("service_end_date"),
        pl.coalesce(date("admission_date"), pl.col("claim_start_date")).alias("admission_date"),
        pl.coalesce(date("discharge_date"), pl.col("claim_end_date")).alias("discharge_date"),
        "claim_start_date", "claim_end_date",
        *[(pl.col(c) if c in schema else pl.lit(None, dtype=pl.String)).alias(c) for c in STAY_COLUMNS],
        pl.coalesce(*[pl.col(c) for c in ("rendering_npi", "billing_npi") if c in schema], pl.lit(None, dtype=pl.String))
        .alias("provider"),
        (pl.col("service_unit_quantity").round(0).cast(pl.Int64, strict=False) if "service_unit_quantity" in schema
         else pl.lit(None, dtype=pl.Int64)).alias("units"),
        ((pl.col("paid_amount") * 100).round(0).cast(pl.Int64, strict=False) if "paid_amount" in schema
         else pl.lit(None, dtype=pl.Int64)).alias("paid_cents"),
        *[(pl.col(c) if c in schema else pl.lit(None, dtype=pl.String)).alias(c) for c in sorted(plan.line_columns - set(STAY_COLUMNS))],
        *flags,
    )
    return lf.collect(engine="streaming")


def pharmacy_lines(inputs: Inputs, plan: LinePlan) -> pl.DataFrame:
    if not plan.pharmacy_sources:
        return pl.DataFrame()
    families: set[str] = set()
    flags = {k: _exact(p, plan.codes, families) for k, p in plan.pharmacy_sources.items()}
    frame = inputs.frames["pharmacy_claim"].select("member_id", "claim_id", "dispensing_date", "days_supply", "ndc_code")
    schema = frame.collect_schema()
    lf = frame.with_columns(_masks(plan.codes, families, schema, "B", None)).with_columns(**flags).filter(pl.any_horizontal(list(flags)))
    return lf.select("member_id", "claim_id", "dispensing_date", "days_supply", "ndc_code", *flags).collect(engine="streaming")


def observation_rows(inputs: Inputs, plan: LinePlan) -> pl.DataFrame | None:
    """Observation rows whose code meets an observation source's condition, with a flag per condition."""
    if not plan.observation_sources or "observation" not in inputs.frames:
        return None
    families: set[str] = set()
    flags = {k: _exact(p, plan.codes, families) for k, p in plan.observation_sources.items()}
    frame = inputs.frames["observation"].select("member_id", "observation_date", "code_type", "code", "result")
    schema = frame.collect_schema()
    lf = frame.with_columns(_masks(plan.codes, families, schema, "B", None)).with_columns(**flags).filter(pl.any_horizontal(list(flags)))
    return lf.select("member_id", "observation_date", "code_type", "code", "result", *flags).collect()
