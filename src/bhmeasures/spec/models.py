"""Pydantic models of a measure spec, a shared library and a variant: the YAML files, validated, with
unknown keys rejected. A define's kinds come from the step-kind registry (bhmeasures.kinds)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, create_model, field_validator, model_validator

from bhmeasures.kinds.registry import STEP_KINDS
from bhmeasures.spec.base import Model, Predicate, StepModel, exactly_one
from bhmeasures.spec.dates import parse_date_expr


def _one_kind(self: Any) -> Any:
    exactly_one(self, tuple(STEP_KINDS.keys()), "a define")
    return self


Define: Any = create_model(  # type: ignore[call-overload]
    "Define", __base__=Model, __validators__={"_one_kind": model_validator(mode="after")(_one_kind)},
    __doc__="A named step of exactly one kind.",
    **{key: (kind.model | None, None) for key, kind in STEP_KINDS.kinds.items()},
)


def define_kind(define: Any) -> str:
    return next(k for k in STEP_KINDS.keys() if getattr(define, k) is not None)


def define_step(define: Any) -> StepModel:
    return getattr(define, define_kind(define))


class ValueSetRef(Model):
    name: str
    version: str


class RateSpec(Model):
    id: str = Field(pattern=r"^[A-Z][A-Z0-9-]*$")
    numerator: str
    denominator: str | None = None


class Populations(Model):
    """CQL's fixed population names. Exclusions and exceptions name what they remove: a set of events or
    members that a `not_in` on the way to the denominator removes (exclusions), or that leaves the
    denominator unless the event meets the numerator (exceptions, as CMS measures report them)."""

    initial_population: str
    denominator: str
    denominator_exclusions: list[str] = []
    denominator_exceptions: list[str] = []
    rates: list[RateSpec] = Field(min_length=1)
    # proportion: numerator units / denominator units. The ratios count the numerator's events (or sum their
    # paid amounts in cents) over the enrolled member months of `member_months` (a set of members): months of
    # the measurement year whose first day is covered by an enrollment span with a medical benefit.
    scoring: Literal["proportion", "per_1000_member_months", "per_member_per_month"] = "proportion"
    member_months: str | None = None

    @model_validator(mode="after")
    def _ratio_needs_member_months(self) -> Populations:
        if (self.scoring == "proportion") != (self.member_months is None):
            msg = ("member_months names the members whose enrolled months are the denominator of a "
                   "per_1000_member_months or per_member_per_month measure, and only of those")
            raise ValueError(msg)
        return self


class AgeBand(Model):
    label: str
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)


class AgeBands(Model):
    """Age bands of the age on a date: a date the units carry (index_date) or a measurement-year date."""

    at: str = "index_date"
    bands: list[AgeBand] = Field(min_length=1)

    @field_validator("at")
    @classmethod
    def _date(cls, v: str) -> str:
        parse_date_expr(v)
        return v


MEMBER_ATTRIBUTES = ("payer_type", "gender", "race", "ethnicity", "payer", "plan")


class Stratifiers(Model):
    """`age_band` (a list of bands of the age on the index date, or {at, bands}); `by_define` (stratifier ->
    stratum label -> define: a unit is in the stratum when it is an event of that define; one unit may be in
    several, like IET cohorts); `member_attributes` (eligibility columns, from the span covering the index
    date). Entity strata come from the attribution table when one is given."""

    age_band: AgeBands | None = None
    by_define: dict[str, dict[str, str]] = {}
    member_attributes: list[Literal["payer_type", "gender", "race", "ethnicity", "payer", "plan"]] = []

    @model_validator(mode="before")
    @classmethod
    def _bands_list(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("age_band"), list):
            return {**data, "age_band": {"at": "index_date", "bands": data["age_band"]}}
        return data


class Header(Model):
    """What every measure file says about itself."""

    id: str = Field(pattern=r"^[A-Z][A-Z0-9-]*$")
    title: str
    version: str
    steward: str
    source_status: Literal["verified", "reconstructed"] = "verified"
    requires: list[str] = []
    notes: list[str] = []

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, v: object) -> object:
        return str(v) if isinstance(v, (int, float)) else v


class MeasureSpec(Header):
    """One measure: metadata, value sets, named conditions, named defines and the fixed populations."""

    basis: Literal["event", "member"]
    event_name: str = "event"
    codes: Literal["public_substitute", "licensed", "mixed"]
    improvement: Literal["increase", "decrease"] = "increase"
    include: list[str] = []
    value_sets: list[ValueSetRef] = []
    conditions: dict[str, Predicate] = {}
    defines: dict[str, Define]
    populations: Populations
    stratifiers: Stratifiers = Stratifiers()


class Library(Model):
    """Defines, named conditions and value sets shared by several measures (`include: [NAME]`)."""

    library: str
    version: str
    notes: list[str] = []
    value_sets: list[ValueSetRef] = []
    conditions: dict[str, Predicate] = {}
    defines: dict[str, Define] = {}

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, v: object) -> object:
        return str(v) if isinstance(v, (int, float)) else v


class Variant(Header):
    """A measure that extends another: it inherits everything and overrides what it lists.

    `bind_value_sets` makes the variant use its own set wherever the parent names another (only in this
    variant); `defines` replace or add defines by name; `populations` and `stratifiers` replace the parent's;
    notes are appended."""

    extends: str
    event_name: str | None = None
    codes: Literal["public_substitute", "licensed", "mixed"] | None = None
    include: list[str] = []
    value_sets: list[ValueSetRef] = []
    bind_value_sets: dict[str, str] = {}
    conditions: dict[str, Predicate] = {}
    defines: dict[str, Define] = {}
    populations: Populations | None = None
    stratifiers: Stratifiers | None = None
