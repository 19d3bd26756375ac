"""Numbers with provenance: every value a program uses says where it comes from.

The provenance tags are those of the payments reference, so a run can say which dollars rest on
verified rules and which on illustrative defaults.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator

from bhmeasures.payment.money import as_fraction

# payments.md tags: [V] verified, [V2] verified in a secondary source, per the seed document, [R] recalled, [I] illustrative
PROVENANCE = ("verified", "verified-secondary", "seed", "recalled", "illustrative", "override")
TAGS = {"verified": "V", "verified-secondary": "V2", "seed": "seed", "recalled": "R", "illustrative": "I", "override": "set"}
Provenance = Literal["verified", "verified-secondary", "seed", "recalled", "illustrative", "override"]


def _number(value: Any) -> Fraction:
    try:
        return as_fraction(value)
    except TypeError as e:
        raise ValueError(str(e)) from e


Number = Annotated[Fraction, BeforeValidator(_number)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


def exactly_one(model: BaseModel, keys: tuple[str, ...], what: str) -> None:
    given = [k for k in keys if getattr(model, k) is not None]
    if len(given) != 1:
        raise ValueError(f"{what} needs exactly one of: {', '.join(keys)} (got {len(given)})")


def shown(value: Fraction | bool | str) -> str:
    """A parameter's value as `bhm programs` lists it and `--set` takes it: 0.4, 1/6, true."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return str(value.numerator)
        return f"{float(value):g}" if (value * 10**6).denominator == 1 else f"{value.numerator}/{value.denominator}"
    return str(value)


class _Sourced(Model):
    """A value with its provenance; `source` names an entry of the program's `sources`."""

    value: Any
    provenance: Provenance
    source: str | None = None

    @property
    def tag(self) -> str:
        return TAGS[self.provenance]

    def shown(self) -> str:
        return shown(self.value)


class Param(_Sourced):
    """A number with its provenance."""

    value: Number


class Share(Param):
    """A fraction between 0 and 1 (a rate, a share, a percentage written as 0.05)."""

    @model_validator(mode="after")
    def _in_unit_range(self) -> Share:
        if not 0 <= self.value <= 1:
            raise ValueError(f"value {float(self.value):g} is outside [0, 1]; write percentages as fractions (5% = 0.05)")
        return self


class Amount(Param):
    """A non-negative number (dollars, a weight, a count)."""

    @model_validator(mode="after")
    def _non_negative(self) -> Amount:
        if self.value < 0:
            raise ValueError(f"value {float(self.value):g} is negative")
        return self


class Flag(_Sourced):
    """A yes or no with its provenance."""

    value: bool
