"""Pydantic models of a measure spec: the YAML file, validated, with unknown keys rejected."""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_MY_DATE = re.compile(r"^MY(?P<offset>[+-]\d+)?-(?P<month>\d{2})-(?P<day>\d{2})$")


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _exactly_one(model: BaseModel, keys: tuple[str, ...], what: str) -> None:
    given = [k for k in keys if getattr(model, k) is not None]
    if len(given) != 1:
        shown = ", ".join(k.rstrip("_") for k in keys)
        msg = f"{what} needs exactly one of: {shown} (got {len(given)})"
        raise ValueError(msg)


class MYDate(str):
    """A date relative to the measurement year, written `MY-MM-DD` or `MY-1-MM-DD`."""

    def resolve(self, year: int) -> date:
        m = _MY_DATE.match(self)
        assert m is not None
        return date(year + int(m["offset"] or 0), int(m["month"]), int(m["day"]))


def _check_my_date(value: str) -> MYDate:
    m = _MY_DATE.match(value)
    if not m:
        msg = f"'{value}' is not a measurement-year date; write MY-MM-DD (e.g. MY-12-01) or MY-1-MM-DD for the year before"
        raise ValueError(msg)
    try:
        date(2024, int(m["month"]), int(m["day"]))  # a leap year accepts every valid month-day
    except ValueError as e:
        raise ValueError(f"'{value}' has no such month and day") from e
    return MYDate(value)


class Predicate(Model):
    """A condition on claim lines; combine leaves with any_of / all_of / not."""

    code_in: str | None = None
    diagnosis_in: str | None = None
    principal_diagnosis_in: str | None = None
    claim_type: Literal["institutional", "professional"] | None = None
    any_of: list[Predicate] | None = None
    all_of: list[Predicate] | None = None
    not_: Predicate | None = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _one_operator(self) -> Predicate:
        _exactly_one(
            self,
            ("code_in", "diagnosis_in", "principal_diagnosis_in", "claim_type", "any_of", "all_of", "not_"),
            "a condition",
        )
        return self

    def value_sets(self) -> list[str]:
        names = [n for n in (self.code_in, self.diagnosis_in, self.principal_diagnosis_in) if n]
        for child in (self.any_of or []) + (self.all_of or []) + ([self.not_] if self.not_ else []):
            names.extend(child.value_sets())
        return names


class SourceStep(Model):
    """Claim lines (or pharmacy fills) that match `where`, one event per claim.

    `one_per: day` makes one event of a member's matching claims of one service date (an ED visit is one
    visit however many claims bill it).
    """

    where: Predicate
    one_per: Literal["claim", "day"] = "claim"


class EventWindow(Model):
    """Events of another define whose date falls in [index + from_day, index + to_day].

    `at_least` counts distinct event dates (IET engagement: two services on different days). The event's
    own claim never counts (FUM: the ED visit is not its own follow-up) unless `counts_own_claim` is true
    (SAA: the first dispensing is one of the two).
    """

    events: str
    from_day: int
    to_day: int
    at_least: int = Field(default=1, ge=1)
    counts_own_claim: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> EventWindow:
        if self.from_day > self.to_day:
            raise ValueError(f"from_day {self.from_day} is after to_day {self.to_day}; swap them")
        return self


class Coverage(Model):
    """Days of [index + from_day, index + to_day] covered by the events' date ranges (e.g. days supply).

    Give `min_days` (AMM: 84 treatment days) or `min_share` of the window (SAA: 0.8).
    """

    events: str
    from_day: int
    to_day: int
    min_days: int | None = Field(default=None, ge=1)
    min_share: float | None = Field(default=None, gt=0, le=1)

    @model_validator(mode="after")
    def _one_threshold(self) -> Coverage:
        if (self.min_days is None) == (self.min_share is None):
            raise ValueError("covered_days needs exactly one of min_days, min_share")
        if self.from_day > self.to_day:
            raise ValueError(f"from_day {self.from_day} is after to_day {self.to_day}; swap them")
        return self


class Enrollment(Model):
    """Continuous enrollment over [index + from_day, index + to_day] with allowable gaps."""

    from_day: int
    to_day: int
    allowable_gaps: int = Field(default=0, ge=0)
    max_gap_days: int = Field(default=0, ge=0)
    benefits: list[Literal["medical", "pharmacy", "mental_health", "chemical_dependency"]] = ["medical"]


class AgeRange(Model):
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)


def _my_window(value: list[str]) -> tuple[MYDate, MYDate]:
    if len(value) != 2:
        raise ValueError("a date window is [first, last], both inclusive")
    return (_check_my_date(value[0]), _check_my_date(value[1]))


class FilterStep(Model):
    """Keep the events of `from` that meet every condition given; `reason` says why others fail."""

    from_: str = Field(alias="from")
    where: Predicate | None = None
    index_date_between: list[str] | None = None
    age_on_index_date: AgeRange | None = None
    continuously_enrolled: Enrollment | None = None
    with_: EventWindow | None = Field(default=None, alias="with")
    without: EventWindow | None = None
    covered_days: Coverage | None = None
    member_in: str | None = None
    member_not_in: str | None = None
    reason: str | None = None

    @field_validator("index_date_between")
    @classmethod
    def _window(cls, v: list[str] | None) -> list[str] | None:
        return list(_my_window(v)) if v is not None else v

    @model_validator(mode="after")
    def _some_condition(self) -> FilterStep:
        conditions = (
            self.where, self.index_date_between, self.age_on_index_date, self.continuously_enrolled,
            self.with_, self.without, self.covered_days, self.member_in, self.member_not_in,
        )
        if all(c is None for c in conditions):
            raise ValueError("a filter needs at least one condition (where, with, without, ...)")
        return self


class ReadmissionChainStep(Model):
    """Follow readmissions: keep the last discharge of a chain, or drop the whole chain."""

    from_: str = Field(alias="from")
    readmissions: str
    admitted_within_days: list[int]
    continue_when: Predicate
    reason_superseded: str
    reason_dropped: str

    @field_validator("admitted_within_days")
    @classmethod
    def _pair(cls, v: list[int]) -> list[int]:
        if len(v) != 2 or v[0] > v[1] or v[0] < 0:
            raise ValueError("admitted_within_days is [first, last] days after discharge, 0 <= first <= last")
        return v


class OnePerPeriodStep(Model):
    """Keep the first event, skip events in the next `days - 1` days, repeat."""

    from_: str = Field(alias="from")
    days: int = Field(gt=0)
    reason: str | None = None


class FirstPerMemberStep(Model):
    """One event per member, the earliest (ties: lowest event id), which keeps its event id.

    This turns a member-based measure's qualifying events into its units (AMM's index prescription
    start date, SAA's first dispensing, DEV's child).
    """

    from_: str = Field(alias="from")
    reason: str | None = None


class MembersWithStep(Model):
    """Members with at least one event of `events` dated in the window."""

    events: str
    between: list[str]
    @field_validator("between")
    @classmethod
    def _window(cls, v: list[str]) -> list[str]:
        return list(_my_window(v))


class MembersWhoDiedStep(Model):
    between: list[str]
    @field_validator("between")
    @classmethod
    def _window(cls, v: list[str]) -> list[str]:
        return list(_my_window(v))


STEP_KINDS = (
    "stays", "encounters", "dispensings", "filter", "readmission_chain",
    "one_per_period", "first_per_member", "members_with", "members_who_died", "union",
)
# kinds that narrow or transform the events of their `from` (the path between populations)
PATH_KINDS = ("filter", "readmission_chain", "one_per_period", "first_per_member")


class Define(Model):
    """A named step; exactly one kind."""

    stays: SourceStep | None = None
    encounters: SourceStep | None = None
    dispensings: SourceStep | None = None
    filter: FilterStep | None = None
    readmission_chain: ReadmissionChainStep | None = None
    one_per_period: OnePerPeriodStep | None = None
    first_per_member: FirstPerMemberStep | None = None
    members_with: MembersWithStep | None = None
    members_who_died: MembersWhoDiedStep | None = None
    union: list[str] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Define:
        _exactly_one(self, STEP_KINDS, "a define")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in STEP_KINDS if getattr(self, k) is not None)

    @property
    def step(self):  # noqa: ANN201 - one of the step models
        return getattr(self, self.kind)

    @property
    def produces_members(self) -> bool:
        return self.kind in ("members_with", "members_who_died")

    def inputs(self) -> list[str]:
        """Names of the defines this step reads."""
        s = self.step
        if self.kind == "union":
            return list(s)
        refs: list[str] = []
        for attr in ("from_", "readmissions", "events", "member_in", "member_not_in"):
            v = getattr(s, attr, None)
            if v:
                refs.append(v)
        for attr in ("with_", "without", "covered_days"):
            v = getattr(s, attr, None)
            if v:
                refs.append(v.events)
        return refs

    def value_sets(self) -> list[str]:
        s = self.step
        names: list[str] = []
        for attr in ("where", "continue_when"):
            p = getattr(s, attr, None)
            if p is not None:
                names.extend(p.value_sets())
        return names


class ValueSetRef(Model):
    name: str
    version: str


class RateSpec(Model):
    id: str
    numerator: str
    denominator: str | None = None


class Populations(Model):
    initial_population: str
    denominator: str
    denominator_exclusions: list[str] = []
    rates: list[RateSpec] = Field(min_length=1)


class AgeBand(Model):
    label: str
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)


class Stratifiers(Model):
    age_band: list[AgeBand] = []


class MeasureSpec(Model):
    """One measure: metadata, value sets, named defines and the fixed populations."""

    id: str = Field(pattern=r"^[A-Z][A-Z0-9-]*$")
    title: str
    version: str
    steward: str
    basis: Literal["event", "member"]
    event_name: str = "event"
    codes: Literal["public_substitute", "licensed", "mixed"]
    improvement: Literal["increase", "decrease"] = "increase"
    requires: list[str] = []
    notes: list[str] = []
    value_sets: list[ValueSetRef]
    defines: dict[str, Define]
    populations: Populations
    stratifiers: Stratifiers = Stratifiers()

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, v: object) -> object:
        return str(v) if isinstance(v, (int, float)) else v
