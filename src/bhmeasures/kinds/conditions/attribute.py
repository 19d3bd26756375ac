"""`attribute`: compare a column the events carry with a value or with another column.

`{name: screening_result, at_least: screening_threshold}` keeps events whose named evidence scored at
or above the instrument's threshold; `{name: initiation_kind, equals: Initiation Admissions}` those
initiated by an admission; `{name: initiation_end_date, after: MY-11-27}` those whose initiating stay
ends after November 27. Numbers compare as numbers (a value-set attribute "10" with a result 9.0);
a comparison with a missing value does not hold.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from pydantic import Field, model_validator

from bhmeasures.kinds.conditions.base import ConditionKind, Outcome, register_condition
from bhmeasures.spec.base import Model
from bhmeasures.spec.dates import parse_date_expr

_OPS = ("equals", "not_equals", "in_", "at_least", "above", "at_most", "below", "after", "before", "is_true")
Scalar = str | int | float | bool


class AttributeTest(Model):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    equals: Scalar | None = None
    not_equals: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    at_least: Scalar | None = None
    above: Scalar | None = None
    at_most: Scalar | None = None
    below: Scalar | None = None
    after: str | None = None  # a date expression (MY-11-27, index_date + 1 day)
    before: str | None = None
    is_true: bool | None = None

    @model_validator(mode="after")
    def _one_test(self) -> AttributeTest:
        given = [o for o in _OPS if getattr(self, o) is not None]
        if len(given) != 1:
            shown = ", ".join(o.rstrip("_") for o in _OPS)
            msg = f"an attribute test needs exactly one of: {shown} (got {len(given)})"
            raise ValueError(msg)
        for o in ("after", "before"):
            if getattr(self, o) is not None:
                parse_date_expr(getattr(self, o))
        return self

    @property
    def op(self) -> str:
        return next(o for o in _OPS if getattr(self, o) is not None)


def _operand(value: Scalar, columns: list[str]) -> pl.Expr:
    """Another column when the value names one the events carry, else the value itself."""
    if isinstance(value, str) and value in columns:
        return pl.col(value)
    return pl.lit(value)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _numeric(e: pl.Expr) -> pl.Expr:
    # value-set attributes are text ("10"); a result is a number: compare numbers as numbers
    return e.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)


@register_condition
class AttributeCondition(ConditionKind):
    key = "attribute"
    model = AttributeTest
    cost = 4  # after the conditions that add columns (named evidence of a `with` in the same filter)

    def dates_used(self, value: AttributeTest) -> set[str]:
        out = {value.name} if value.name.endswith("_date") else set()
        for o in ("after", "before"):
            if getattr(value, o) is not None:
                e = parse_date_expr(getattr(value, o))
                if not e.is_calendar:
                    out.add(e.base)
        return out

    def describe(self, value: AttributeTest, year: int) -> str:
        op = value.op
        rhs = getattr(value, op)
        if op in ("after", "before"):
            e = parse_date_expr(rhs)
            rhs = e.resolve(year).isoformat() if e.is_calendar else rhs
        words = {"equals": "is", "not_equals": "is not", "in_": "is one of", "at_least": "is at least", "above": "is above",
                 "at_most": "is at most", "below": "is below", "after": "is after", "before": "is before", "is_true": "is"}
        return f"{value.name} {words[op]} {rhs}"

    def evaluate(self, events: pl.DataFrame, value: AttributeTest, run: Any) -> Outcome:
        from bhmeasures.engine.exprs import date_of

        if value.name not in events.columns:
            return Outcome(events.clear())
        col, op, rhs = pl.col(value.name), value.op, getattr(value, value.op)
        schema = events.schema
        numeric_col = schema[value.name].is_numeric()
        if op in ("after", "before"):
            d = date_of(parse_date_expr(rhs), run.year)
            cond = col > d if op == "after" else col < d
        elif op == "in_":
            if any(_is_number(v) for v in rhs):
                cond = _numeric(col).is_in([float(v) for v in rhs if _is_number(v)])
            else:
                cond = col.cast(pl.String).is_in([str(v) for v in rhs])
        elif op == "is_true":
            cond = col == rhs
        else:
            other = _operand(rhs, events.columns)
            other_numeric = _is_number(rhs) or (isinstance(rhs, str) and rhs in schema and schema[rhs].is_numeric())
            if numeric_col or other_numeric:
                col, other = _numeric(col), _numeric(other)
            elif op in ("equals", "not_equals"):
                col, other = col.cast(pl.String), other.cast(pl.String)
            cond = {"equals": col == other, "not_equals": col != other, "at_least": col >= other, "above": col > other,
                    "at_most": col <= other, "below": col < other}[op]
        return Outcome(events.filter(cond.fill_null(False)))
