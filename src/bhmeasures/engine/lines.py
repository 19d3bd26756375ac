"""One pass over the claim lines: value-set masks, then only the lines some step can use."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from bhmeasures.engine.codes import CodeIndex
from bhmeasures.inputs import Inputs
from bhmeasures.inputs.schema import DX_COLUMNS, PCS_COLUMNS
from bhmeasures.spec.models import Predicate

FAMILY_COLUMNS = {
    "hcpcs": ("hcpcs_code",), "rev": ("revenue_center_code",), "tob": ("bill_type_code",),
    "pos": ("place_of_service_code",), "pcs": PCS_COLUMNS, "ndc": ("ndc_code",),
}
MEDICAL_BASE = ("member_id", "claim_id", "claim_type", "claim_start_date", "claim_end_date")
MEDICAL_DATES = ("claim_line_start_date", "admission_date", "discharge_date")


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
    claim_leaves: dict[str, Predicate] = field(default_factory=dict)
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
        (self.pharmacy_sources if table == "pharmacy_claim" else self.medical_sources)[key] = p
        return key

    def add_claim_condition(self, p: Predicate) -> None:
        for leaf in leaves(p):
            for vs in leaf.value_sets():
                self.codes.register(vs)
            self.claim_leaves[self.leaf_key(leaf)] = leaf

    def leaf_key(self, leaf: Predicate) -> str:
        return self._key(leaf, "l")


def _line_expr(p: Predicate, codes: CodeIndex, families: set[str]) -> pl.Expr:
    if p.any_of is not None:
        return pl.any_horizontal([_line_expr(c, codes, families) for c in p.any_of])
    if p.all_of is not None:
        return pl.all_horizontal([_line_expr(c, codes, families) for c in p.all_of])
    if p.not_ is not None:
        return ~_line_expr(p.not_, codes, families)
    if p.claim_type is not None:
        return pl.col("claim_type").str.to_lowercase() == p.claim_type
    if p.diagnosis_in is not None or p.principal_diagnosis_in is not None:
        name = p.diagnosis_in or p.principal_diagnosis_in
        if "dx" not in codes.families(name):
            return pl.lit(False)
        families.add("dx")
        return codes.test("dx", name, "_m_dxany" if p.diagnosis_in else "_m_dxp")
    tests = []
    for family in codes.families(p.code_in):
        families.add(family)
        tests.append(codes.test(family, p.code_in, "_m_dxany" if family == "dx" else f"_m_{family}"))
    return pl.any_horizontal(tests) if tests else pl.lit(False)


def _mask_columns(frame: pl.LazyFrame, codes: CodeIndex, families: set[str], provider: pl.DataFrame | None) -> pl.LazyFrame:
    schema = frame.collect_schema()
    exprs: list[pl.Expr] = []
    for family in sorted(families):
        for chunk in range(codes.chunks(family)):
            if family == "dx":
                dx = [c for c in DX_COLUMNS if c in schema]
                per_column = [codes.mask("dx", chunk, pl.col(c)) for c in dx]
                exprs.append(per_column[0].alias(f"_m_dxp_{chunk}"))
                anyx = pl.col(f"_m_dxp_{chunk}")
                for e in per_column[1:]:
                    anyx = anyx | e
                exprs.append(anyx.alias(f"_m_dxany_{chunk}"))
                continue
            if family == "taxonomy":
                exprs.append(codes.mask(family, chunk, _taxonomy(schema, provider)).alias(f"_m_taxonomy_{chunk}"))
                continue
            cols = [c for c in FAMILY_COLUMNS[family] if c in schema]
            if not cols:
                exprs.append(pl.lit(0, dtype=pl.UInt64).alias(f"_m_{family}_{chunk}"))
                continue
            m = codes.mask(family, chunk, pl.col(cols[0]))
            for c in cols[1:]:
                m = m | codes.mask(family, chunk, pl.col(c))
            exprs.append(m.alias(f"_m_{family}_{chunk}"))
    # the any-diagnosis mask reads the principal one, so add in two steps
    first = [e for e in exprs if "_m_dxany_" not in e.meta.output_name()]
    second = [e for e in exprs if "_m_dxany_" in e.meta.output_name()]
    frame = frame.with_columns(first)
    return frame.with_columns(second) if second else frame


def _taxonomy(schema: pl.Schema, provider: pl.DataFrame | None) -> pl.Expr:
    """The rendering provider's taxonomy: from the claim line, else the provider table by rendering then billing NPI."""
    parts = [pl.col("rendering_taxonomy_code")] if "rendering_taxonomy_code" in schema else []
    if provider is not None and provider.height:
        keys, values = provider["npi"].to_list(), provider["taxonomy_code"].to_list()
        for npi in ("rendering_npi", "billing_npi"):
            if npi in schema:
                parts.append(pl.col(npi).replace_strict(keys, values, default=None, return_dtype=pl.String))
    return pl.coalesce(parts) if parts else pl.lit(None, dtype=pl.String)


def medical_lines(inputs: Inputs, plan: LinePlan) -> pl.DataFrame:
    """Lines that match any source or claim condition, with a boolean column per condition."""
    frame = inputs.frames["medical_claim"]
    schema = frame.collect_schema()
    families: set[str] = set()
    flags = {k: _line_expr(p, plan.codes, families) for k, p in {**plan.medical_sources, **plan.claim_leaves}.items()}
    if not flags:
        return pl.DataFrame()
    provider = None
    if "taxonomy" in families and "provider" in inputs.frames:
        provider = inputs.frames["provider"].select("npi", "taxonomy_code").drop_nulls().unique("npi").collect()
    needed = {c for c in (*MEDICAL_BASE, *MEDICAL_DATES) if c in schema}
    needed |= {c for f in families if f in FAMILY_COLUMNS for c in FAMILY_COLUMNS[f] if c in schema}
    if "dx" in families:
        needed |= {c for c in DX_COLUMNS if c in schema}
    if "taxonomy" in families:
        needed |= {c for c in ("rendering_taxonomy_code", "rendering_npi", "billing_npi") if c in schema}
    lf = _mask_columns(frame.select(sorted(needed)), plan.codes, families, provider)
    date = (lambda c: pl.col(c) if c in schema else pl.lit(None, dtype=pl.Date))
    lf = lf.with_columns(**flags).filter(pl.any_horizontal(list(flags))).select(
        "member_id", "claim_id",
        pl.coalesce(date("claim_line_start_date"), pl.col("claim_start_date")).alias("service_date"),
        pl.coalesce(date("admission_date"), pl.col("claim_start_date")).alias("admission_date"),
        pl.coalesce(date("discharge_date"), pl.col("claim_end_date")).alias("discharge_date"),
        *flags,
    )
    return lf.collect(engine="streaming")


def pharmacy_lines(inputs: Inputs, plan: LinePlan) -> pl.DataFrame:
    if not plan.pharmacy_sources:
        return pl.DataFrame()
    families: set[str] = set()
    flags = {k: _line_expr(p, plan.codes, families) for k, p in plan.pharmacy_sources.items()}
    frame = inputs.frames["pharmacy_claim"].select("member_id", "claim_id", "dispensing_date", "days_supply", "ndc_code")
    lf = _mask_columns(frame, plan.codes, families, None).with_columns(**flags).filter(pl.any_horizontal(list(flags)))
    return lf.select("member_id", "claim_id", "dispensing_date", "days_supply", *flags).collect(engine="streaming")
