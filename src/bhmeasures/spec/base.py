"""The building blocks every step kind shares: the strict base model, conditions on claim lines, windows."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator

from bhmeasures.spec.dates import Window, parse_window


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def exactly_one(model: BaseModel, keys: tuple[str, ...], what: str) -> None:
    given = [k for k in keys if getattr(model, k) is not None]
    if len(given) != 1:
        shown = ", ".join(k.rstrip("_") for k in keys)
        msg = f"{what} needs exactly one of: {shown} (got {len(given)})"
        raise ValueError(msg)


def _window(value: Any) -> Window:
    return value if isinstance(value, Window) else parse_window(value)


# [first, last], both inclusive: "[index_date + 1 day, index_date + 30 days]", "[MY-01-01, MY-12-01]"
WindowField = Annotated[Window, BeforeValidator(_window), PlainSerializer(lambda w: [str(w.first), str(w.last)])]


class Predicate(Model):
    """A condition on claim lines (or pharmacy fills, observations); combine leaves with any_of / all_of / not.

    `condition: NAME` stands for a named condition of the spec (its `conditions:` section) and is replaced
    by it when the spec is loaded.
    """

    code_in: str | None = None
    diagnosis_in: str | None = None
    principal_diagnosis_in: str | None = None
    claim_type: Literal["institutional", "professional"] | None = None
    condition: str | None = None
    any_of: list[Predicate] | None = None
    all_of: list[Predicate] | None = None
    not_: Predicate | None = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _one_operator(self) -> Predicate:
        exactly_one(
            self,
            ("code_in", "diagnosis_in", "principal_diagnosis_in", "claim_type", "condition", "any_of", "all_of", "not_"),
            "a condition",
        )
        return self

    def children(self) -> list[Predicate]:
        return [*(self.any_of or []), *(self.all_of or []), *([self.not_] if self.not_ else [])]

    def value_sets(self) -> list[str]:
        names = [n for n in (self.code_in, self.diagnosis_in, self.principal_diagnosis_in) if n]
        for child in self.children():
            names.extend(child.value_sets())
        return names

    def named_conditions(self) -> list[str]:
        names = [self.condition] if self.condition else []
        for child in self.children():
            names.extend(child.named_conditions())
        return names

    def leaves(self) -> list[Predicate]:
        if self.any_of is not None or self.all_of is not None or self.not_ is not None:
            return [leaf for c in self.children() for leaf in c.leaves()]
        return [self]

    def substitute(self, named: dict[str, Predicate]) -> Predicate:
        """This condition with every `condition: NAME` replaced by the named condition (recursively)."""
        if self.condition is not None:
            return named[self.condition].substitute(named)
        if self.any_of is not None:
            return Predicate(any_of=[c.substitute(named) for c in self.any_of])
        if self.all_of is not None:
            return Predicate(all_of=[c.substitute(named) for c in self.all_of])
        if self.not_ is not None:
            return Predicate.model_validate({"not": self.not_.substitute(named)})
        return self

    def rebind(self, bindings: dict[str, str]) -> Predicate:
        """This condition with value sets renamed (a variant binding its own sets in place of the parent's)."""
        update: dict[str, Any] = {}
        for attr in ("code_in", "diagnosis_in", "principal_diagnosis_in"):
            name = getattr(self, attr)
            if name is not None and name in bindings:
                update[attr] = bindings[name]
        if self.any_of is not None:
            update["any_of"] = [c.rebind(bindings) for c in self.any_of]
        if self.all_of is not None:
            update["all_of"] = [c.rebind(bindings) for c in self.all_of]
        if self.not_ is not None:
            update["not_"] = self.not_.rebind(bindings)
        return self.model_copy(update=update) if update else self

    def describe_lines(self, indent: str = "") -> list[str]:
        """The condition as an indented outline, for `bhm explain`."""
        if self.any_of is None and self.all_of is None:
            return [indent + self.describe()]
        group = self.any_of if self.any_of is not None else self.all_of
        simple = all(c.any_of is None and c.all_of is None for c in group or [])
        if simple:
            return [indent + self.describe().strip("()")]
        head = "any of:" if self.any_of is not None else "all of:"
        return [indent + head, *(line for c in group or [] for line in c.describe_lines(indent + "  "))]

    def describe(self) -> str:
        """The condition as a sentence fragment, for `bhm explain`."""
        if self.code_in:
            return f"code in '{self.code_in}'"
        if self.diagnosis_in:
            return f"any diagnosis in '{self.diagnosis_in}'"
        if self.principal_diagnosis_in:
            return f"principal diagnosis in '{self.principal_diagnosis_in}'"
        if self.claim_type:
            return f"{self.claim_type} claim"
        if self.condition:
            return f"condition '{self.condition}'"
        if self.not_ is not None:
            return f"not ({self.not_.describe()})"
        joiner = " or " if self.any_of is not None else " and "
        return "(" + joiner.join(c.describe() for c in self.children()) + ")"


class AgeRange(Model):
    """Age in whole years on a date: `at` is a date name (index_date) or a measurement-year date (MY-01-01)."""

    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)
    at: str = "index_date"

    @model_validator(mode="after")
    def _ordered(self) -> AgeRange:
        from bhmeasures.spec.dates import parse_date_expr

        parse_date_expr(self.at)
        if self.min is not None and self.max is not None and self.min > self.max:
            msg = f"min {self.min} is above max {self.max}"
            raise ValueError(msg)
        if self.min is None and self.max is None:
            msg = "give min, max or both"
            raise ValueError(msg)
        return self

    def describe(self) -> str:
        if self.max is None:
            span = f"{self.min} or older"
        elif self.min is None:
            span = f"{self.max} or younger"
        else:
            span = f"{self.min} to {self.max}"
        return f"aged {span} on {self.at}"


BENEFITS = ("medical", "pharmacy", "mental_health", "chemical_dependency")
Benefit = Literal["medical", "pharmacy", "mental_health", "chemical_dependency"]


class StepModel(Model):
    """What every define may carry: the sentence written to detail.reason for events it removes."""

    reason: str | None = None


def parse_attribute_ref(ref: str) -> tuple[str, str]:
    """'Antipsychotic Medications.drug' -> ('Antipsychotic Medications', 'drug')."""
    value_set, sep, attribute = ref.rpartition(".")
    if not sep or not value_set.strip() or not attribute.strip():
        msg = f"'{ref}' is not VALUE SET.attribute (e.g. 'Antipsychotic Medications.drug')"
        raise ValueError(msg)
    return value_set.strip(), attribute.strip()


def _attribute_ref(ref: str) -> str:
    parse_attribute_ref(ref)
    return ref


# `VALUE SET.attribute`, checked where a spec is read (a step's `attributes` values, `covers_days_from`)
AttributeRef = Annotated[str, AfterValidator(_attribute_ref)]
