"""Payment inputs: the per-entity program-inputs YAML (what claims cannot say), validated with every problem reported.

A schema error in one entity's field does not hide the rest: the field is reported and left out, and
the checks that need the other fields still run (`read_program_inputs`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bhmeasures.bundled import sample_dir
from bhmeasures.errors import InputError, Issue
from bhmeasures.payment.money import as_fraction
from bhmeasures.payment.params import Model, Number
from bhmeasures.yamlio import line_for, pydantic_issues, read_yaml_file, yaml_loc

DERIVABLE = ("member_months", "members", "tcoc_actual")
MONEY_FIELDS = ("bh_capitation", "tcoc_benchmark", "tcoc_actual", "participant_revenue", "incentive_pool")
_DICT_FIELDS = ("baselines", "benchmarks", "rates", "targets")


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
    try:
        return as_fraction(value)
    except (TypeError, ValueError) as e:
        raise ValueError("msr_election is a rate such as 0.02, or size_based") from e


class RateInput(Model):
    """A rate the inputs supply (for measures bhm does not compute); counts make what-ifs exact.

    Give the rate, or numerator and denominator, or all three (then the rate must be the counts' rate as
    written, to its last decimal). What the counts mean depends on the measure's unit (docs/payments.md).
    """

    rate: Number | None = None
    numerator: Number | None = Field(default=None, ge=0)
    denominator: Number | None = Field(default=None, ge=0)
    note: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> RateInput:
        if (self.numerator is None) != (self.denominator is None):
            raise ValueError("give numerator and denominator together")
        if self.rate is None and self.numerator is None:
            raise ValueError("give the rate, or numerator and denominator")
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
    low_revenue: bool | None = None  # MSSP: a low revenue ACO (42 CFR 425.20), as CMS determines it
    alternative_quality_standard_met: bool | None = None  # MSSP: 42 CFR 425.512(a)(5)(ii), as CMS reports it
    health_equity_adjustment: Number | None = None  # MSSP PY2023-2025: bonus points on the quality score, as a fraction
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

    @field_validator("quality_score", "health_equity_adjustment")
    @classmethod
    def _unit(cls, v: Fraction | None) -> Fraction | None:
        if v is not None and not 0 <= v <= 1:
            raise ValueError(f"{float(v):g} is outside [0, 1]; scores are fractions (76.7 points = 0.767)")
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


def merge(*layers: EntityFields) -> EntityFields:
    """Later layers win; dictionaries merge key by key (targets tier by tier)."""
    out: dict[str, Any] = {}
    for layer in layers:
        for name in EntityFields.model_fields:
            v = getattr(layer, name)
            if name in ("baselines", "benchmarks", "rates"):
                out[name] = {**out.get(name, {}), **v}
            elif name == "targets":
                t = {k: dict(x) for k, x in out.get("targets", {}).items()}
                for k, x in v.items():
                    t[k] = {**t.get(k, {}), **x}
                out["targets"] = t
            elif v is not None:
                out[name] = v
    return EntityFields.model_construct(**{k: out[k] if k in out else f.get_default(call_default_factory=True)
                                           for k, f in EntityFields.model_fields.items()})


@dataclass(frozen=True)
class ProgramInputs:
    data: ProgramInputsFile
    path: Path
    lines: dict[tuple, int]
    sha256: str
    # (entity or "defaults", field[, key]) left out because they failed validation: checks skip them
    left_out: frozenset[tuple[str, ...]] = frozenset()

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

    def was_left_out(self, entity: str, loc: tuple[Any, ...]) -> bool:
        """Whether a check about `loc` under the entity would only repeat a schema error already reported."""
        loc = tuple(str(x) for x in loc)
        for scope, *path in self.left_out:
            if path[:1] == ["programs"]:
                path = path[2:]  # a per-program value stands for the field itself
            if scope in (entity, "defaults") and (loc[: len(path)] == tuple(path) or tuple(path[: len(loc)]) == loc):
                return True
        return False

    def where(self, entity: str, program: str, name: str) -> str:
        """The YAML path a value for `name` would go to, for error hints."""
        return f"entities.{entity}.{name} (or entities.{entity}.programs.{program}.{name}, or defaults.{name})"


def read_program_inputs(path: Path) -> tuple[ProgramInputs | None, list[Issue]]:
    """Read a program-inputs file: the inputs without the parts that failed validation, and every problem."""
    parsed, issues = read_yaml_file(path, "program-inputs file")
    if parsed is None:
        return None, issues
    return _validate(parsed.data, path, parsed.lines, hashlib.sha256(path.read_bytes()).hexdigest())


def load_program_inputs(path: Path) -> ProgramInputs:
    """Read and validate a program-inputs file; raise InputsError with every problem at file:line."""
    inputs, issues = read_program_inputs(path)
    if issues or inputs is None:
        raise InputsError(issues)
    return inputs


def program_inputs_from_data(data: Any, path: Path = Path("<inputs>"), lines: dict[tuple, int] | None = None,
                             sha256: str = "") -> ProgramInputs:
    """Validate already-parsed inputs (a dict built in a test or a notebook) like a file."""
    inputs, issues = _validate(data, path, lines or {}, sha256)
    if issues or inputs is None:
        raise InputsError(issues)
    return inputs


def _validate(data: Any, path: Path, lines: dict[tuple, int], sha256: str) -> tuple[ProgramInputs | None, list[Issue]]:
    if not isinstance(data, dict):
        return None, [Issue(str(path), 1, "a program-inputs file is a mapping with performance_year and entities.")]
    try:
        return ProgramInputs(ProgramInputsFile.model_validate(data), path, lines, sha256), []
    except ValidationError as e:
        issues = pydantic_issues(e, str(path), lines, data, ProgramInputsFile)
        cut = _left_out(e, data)
    if cut is None:
        return None, issues
    salvaged = _without(data, cut)
    try:  # the rest of the file, so that the checks needing it still report their problems
        model = ProgramInputsFile.model_validate(salvaged)
    except ValidationError:
        return None, issues
    scoped = frozenset(p[1:] for p in cut)  # (entity id or "defaults", field[, key])
    return ProgramInputs(model, path, lines, sha256, scoped), issues


def _left_out(e: ValidationError, data: dict[str, Any]) -> set[tuple[str, ...]] | None:
    """The smallest parts of entities and defaults to leave out so that the file validates, or None."""
    cut: set[tuple[str, ...]] = set()
    for err in e.errors():
        loc = tuple(str(x) for x in yaml_loc(err["loc"], data))
        if loc[:1] == ("defaults",):
            loc = ("defaults", "defaults", *loc[1:])  # same depth as ("entities", id, ...)
        elif loc[:1] != ("entities",) or len(loc) < 2:
            return None  # performance_year, or entities as a whole: nothing sensible to check without it
        depth = 3
        if len(loc) > 3 and loc[2] == "programs":
            depth = 5
        if len(loc) > depth and loc[depth - 1] in _DICT_FIELDS:
            depth += 1  # one rate, baseline or target, not all of them
        cut.add(loc[:depth])
    return cut


def _without(data: dict[str, Any], cut: set[tuple[str, ...]]) -> dict[str, Any]:
    import copy

    out = copy.deepcopy(data)
    for loc in sorted(cut, key=len, reverse=True):
        parts = loc[1:] if loc[0] == "defaults" else loc
        node: Any = out
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                break
        if isinstance(node, dict):
            key = next((k for k in node if str(k) == parts[-1]), None)
            if key is not None:
                del node[key]
    return out


def bundled_inputs(year: int = 2025) -> Path:
    return sample_dir() / f"program_inputs_{year}.yaml"
