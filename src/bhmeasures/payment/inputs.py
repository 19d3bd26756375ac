"""Payment inputs: the per-entity program-inputs YAML, and the measure rates from a `bhm compute` results folder."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal

import polars as pl
from pydantic import (
    BeforeValidator,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bhmeasures.bundled import sample_dir
from bhmeasures.errors import InputError, Issue
from bhmeasures.payment.params import Model, Number
from bhmeasures.yamlio import line_for, pydantic_issues, read_yaml_file

SUMMARY_COLUMNS = ("measure_id", "rate_id", "stratifier", "stratum", "denominator", "numerator", "rate")
DERIVABLE = ("member_months", "members", "tcoc_actual")
MONEY_FIELDS = ("bh_capitation", "tcoc_benchmark", "tcoc_actual", "participant_revenue", "incentive_pool")


@dataclass
class InputsError(InputError):
    """The program-inputs file or the results are unusable; carries every problem found."""

    issues: list[Issue] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(str(i) for i in self.issues)


# ---------------------------------------------------------------- the program-inputs file


def _rate_input(value: Any) -> Any:
    return value if isinstance(value, dict) else {"rate": value}


def _election(value: Any) -> Any:
    if value is None or value == "size_based":
        return value
    from bhmeasures.payment.money import as_fraction

    try:
        return as_fraction(value)
    except (TypeError, ValueError) as e:
        raise ValueError("msr_election is a rate such as 0.02, or size_based") from e


class RateInput(Model):
    """A rate the inputs supply (for measures bhm cannot compute yet); counts make what-if exact."""

    rate: Number
    numerator: int | None = Field(default=None, ge=0)
    denominator: int | None = Field(default=None, ge=0)
    note: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> RateInput:
        if (self.numerator is None) != (self.denominator is None):
            raise ValueError("give numerator and denominator together")
        if self.denominator is not None and self.numerator is not None:
            if self.numerator > self.denominator:
                raise ValueError(f"numerator {self.numerator} is above denominator {self.denominator}")
            if self.denominator and abs(Fraction(self.numerator, self.denominator) - self.rate) > Fraction(1, 1000):
                raise ValueError(f"rate {float(self.rate):g} is not numerator/denominator "
                                 f"({self.numerator}/{self.denominator} = {self.numerator / self.denominator:.4f})")
        return self


class EntityFields(Model):
    """What a program needs to know about one entity in one performance year; every field optional here."""

    member_months: Number | None = None
    members: int | None = Field(default=None, ge=0)
    bh_capitation: Number | None = None
    tcoc_target_pmpm: Number | None = None
    tcoc_benchmark: Number | None = None
    tcoc_actual: Number | None = None
    participant_revenue: Number | None = None
    incentive_pool: Number | None = None
    baselines: dict[str, Number] = Field(default_factory=dict)
    benchmarks: dict[str, Number] = Field(default_factory=dict)
    targets: dict[str, dict[str, Number]] = Field(default_factory=dict)
    rates: dict[str, Annotated[RateInput, BeforeValidator(_rate_input)]] = Field(default_factory=dict)
    track: str | None = None
    quality_score: Number | None = None
    msr_election: Annotated[Fraction | Literal["size_based"] | None, BeforeValidator(_election)] = None
    partnership: bool | None = None
    note: str | None = None

    @field_validator("member_months", "tcoc_target_pmpm", *MONEY_FIELDS)
    @classmethod
    def _non_negative(cls, v: Fraction | None) -> Fraction | None:
        if v is not None and v < 0:
            raise ValueError(f"{float(v):g} is negative")
        return v

    @field_validator(*MONEY_FIELDS)
    @classmethod
    def _cents(cls, v: Fraction | None) -> Fraction | None:
        if v is not None and (v * 100).denominator != 1:
            raise ValueError(f"{float(v)} has fractions of a cent; money totals are dollars and cents")
        return v

    @field_validator("quality_score")
    @classmethod
    def _unit(cls, v: Fraction | None) -> Fraction | None:
        if v is not None and not 0 <= v <= 1:
            raise ValueError(f"{float(v):g} is outside [0, 1]")
        return v


class EntityInputs(EntityFields):
    programs: dict[str, EntityFields] = Field(default_factory=dict)  # per-program values that win over the entity's common ones


class ProgramInputsFile(Model):
    performance_year: int = Field(ge=2000, le=2100)
    description: str | None = None
    defaults: EntityInputs = EntityInputs()
    entities: dict[str, EntityInputs] = Field(min_length=1)

    @field_validator("entities", mode="before")
    @classmethod
    def _entity_ids_are_text(cls, v: Any) -> Any:
        return {str(k): ({} if x is None else x) for k, x in v.items()} if isinstance(v, dict) else v


_DICT_FIELDS = ("baselines", "benchmarks", "rates")


def merge(*layers: EntityFields) -> EntityFields:
    """Later layers win; dictionaries merge key by key (targets tier by tier)."""
    out: dict[str, Any] = {}
    for layer in layers:
        for name in EntityFields.model_fields:
            v = getattr(layer, name)
            if name in _DICT_FIELDS:
                out[name] = {**out.get(name, {}), **v}
            elif name == "targets":
                t = {k: dict(x) for k, x in out.get("targets", {}).items()}
                for k, x in v.items():
                    t[k] = {**t.get(k, {}), **x}
                out["targets"] = t
            elif v is not None:
                out[name] = v
    return EntityFields.model_construct(**{k: out.get(k, f.default) for k, f in EntityFields.model_fields.items()})


@dataclass(frozen=True)
class ProgramInputs:
    data: ProgramInputsFile
    path: Path
    lines: dict[tuple, int]
    sha256: str

    @property
    def performance_year(self) -> int:
        return self.data.performance_year

    @property
    def entities(self) -> list[str]:
        return list(self.data.entities)

    def line(self, *loc: Any) -> int | None:
        return line_for(self.lines, loc)

    def resolved(self, entity: str, program: str) -> EntityFields:
        d, e = self.data.defaults, self.data.entities[entity]
        return merge(d, d.programs.get(program, EntityFields()), e, e.programs.get(program, EntityFields()))

    def where(self, entity: str, program: str, name: str) -> str:
        """The YAML path a value for `name` would go to, for error hints."""
        return f"entities.{entity}.{name} (or entities.{entity}.programs.{program}.{name}, or defaults.{name})"


def load_program_inputs(path: Path) -> ProgramInputs:
    """Read and validate a program-inputs file; raise InputsError with every problem at file:line."""
    parsed, issues = read_yaml_file(path, "program-inputs file")
    if parsed is None:
        raise InputsError(issues)
    data, lines = parsed.data, parsed.lines
    return program_inputs_from_data(data, path, lines, hashlib.sha256(path.read_bytes()).hexdigest())


def program_inputs_from_data(data: Any, path: Path = Path("<inputs>"), lines: dict[tuple, int] | None = None,
                             sha256: str = "") -> ProgramInputs:
    """Validate already-parsed inputs (a dict built in a test or a notebook) like a file."""
    lines = lines or {}
    if not isinstance(data, dict):
        raise InputsError([Issue(str(path), 1, "a program-inputs file is a mapping with performance_year and entities.")])
    try:
        model = ProgramInputsFile.model_validate(data)
    except ValidationError as e:
        raise InputsError(pydantic_issues(e, str(path), lines, data, ProgramInputsFile)) from None
    return ProgramInputs(model, path, lines, sha256)


def bundled_inputs(year: int = 2025) -> Path:
    return sample_dir() / f"program_inputs_{year}.yaml"


# ---------------------------------------------------------------- rates from bhm compute results


@dataclass(frozen=True)
class Rate:
    """One measure rate for one entity, exact when counts are known; `value` None means not available."""

    value: Fraction | None
    numerator: int | None = None
    denominator: int | None = None
    source: str = "results"  # results | inputs | not available
    note: str | None = None
    brief: str | None = None  # why not available, in a few words


@dataclass
class ResultsRates:
    folder: Path
    file: Path
    by_entity: dict[str, dict[str, Rate]]
    computed: set[str]  # rate ids present in the results at all
    single_entity: bool
    measurement_year: int | None
    demo: bool
    sha256: str

    def rate(self, entity: str, rate_id: str) -> Rate:
        got = self.by_entity.get(entity, {}).get(rate_id)
        if got is not None:
            return got
        if rate_id in self.computed:
            return Rate(None, source="not available", note=f"the results have no {rate_id} row for {entity} (no eligible events)",
                        brief="no row for this entity")
        return Rate(None, source="not available",
                    note=f"{rate_id} is not in the results (bhm does not compute it yet, or it was not asked for); "
                         f"supply it under rates: in the inputs file", brief="not in results or inputs")


def read_results(folder: Path, entities: list[str]) -> ResultsRates:
    """Per-entity rates from summary rows with stratifier 'entity' (or the total rows for a single-entity run)."""
    if not folder.is_dir():
        raise InputError(f"{folder}: results folder does not exist; run `bhm compute --out {folder}` first, or pass --results DIR.")
    files = [folder / f"summary.{ext}" for ext in ("parquet", "csv") if (folder / f"summary.{ext}").exists()]
    if not files:
        raise InputError(f"{folder}: no summary.parquet or summary.csv; is this a `bhm compute` results folder?")
    file = files[0]
    try:
        if file.suffix == ".parquet":
            summary = pl.read_parquet(file)
        else:
            summary = pl.read_csv(file, schema_overrides={"stratum": pl.String, "rate_id": pl.String, "measure_id": pl.String,
                                                          "stratifier": pl.String})
    except Exception as e:
        raise InputError(f"{file}: cannot read the summary ({type(e).__name__}: {e}).") from e
    missing = [c for c in SUMMARY_COLUMNS if c not in summary.columns]
    if missing:
        raise InputError(f"{file}: summary lacks column(s) {', '.join(missing)}; expected the columns bhm compute writes.")
    entity_rows = summary.filter(pl.col("stratifier") == "entity")
    single = entity_rows.is_empty()
    if single:
        if len(entities) != 1:
            raise InputError(f"{file}: the results have no per-entity rows (stratifier 'entity'), and the inputs list "
                             f"{len(entities)} entities. Run bhm compute with an attribution table, or give one entity in the inputs.")
        rows = summary.filter(pl.col("stratifier") == "total").with_columns(pl.lit(entities[0]).alias("stratum"))
    else:
        rows = entity_rows
    by_entity: dict[str, dict[str, Rate]] = {}
    for r in rows.select("stratum", "rate_id", "numerator", "denominator", "rate").iter_rows(named=True):
        by_entity.setdefault(r["stratum"], {})[r["rate_id"]] = _rate_of(r)
    manifest = manifest_of(folder)
    year = manifest.get("measurement_period", {}).get("year") if manifest else None
    return ResultsRates(folder, file, by_entity, set(summary["rate_id"].unique().to_list()), single, year,
                        results_from_bundled_sample(folder), hashlib.sha256(file.read_bytes()).hexdigest())


def manifest_of(folder: Path) -> dict[str, Any] | None:
    try:
        m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return m if isinstance(m, dict) else None


def results_from_bundled_sample(folder: Path) -> bool:
    """True when the manifest says every input table came from the bundled sample data (the demo)."""
    m = manifest_of(folder)
    try:
        paths = [Path(i["path"]).resolve() for i in (m or {}).get("inputs", [])]
    except (KeyError, TypeError):
        return False
    sample = sample_dir().resolve()
    return bool(paths) and all(p.is_relative_to(sample) for p in paths)


def _rate_of(r: dict[str, Any]) -> Rate:
    num, den = r["numerator"], r["denominator"]
    if num is not None and den:
        return Rate(Fraction(int(num), int(den)), int(num), int(den))  # exact, not the float in the file
    if den == 0:
        return Rate(None, 0 if num is None else int(num), 0, "not available", "denominator is 0 for this entity", "denominator 0")
    if r["rate"] is None:
        return Rate(None, source="not available", note="the results carry no rate", brief="no rate in results")
    from bhmeasures.payment.money import as_fraction

    return Rate(as_fraction(float(r["rate"])))
