"""The conditions a filter lists, as one model built from the registered condition kinds, and how they
combine: every listed condition must hold; `any_of`, `all_of` and `not` nest them.

Inside an `any_of`, an event meets the condition by any route; its evidence is the earliest any route
found. Conditions of one list run cheapest first, membership removals (`not_in`) last, so an event that
fails another condition gets the filter's reason.
"""

from __future__ import annotations

import keyword
from typing import Any

import polars as pl
from pydantic import Field, create_model, model_validator

from bhmeasures.engine.exprs import KEY
from bhmeasures.kinds.conditions import (  # noqa: F401 - each module registers its condition kind
    age,
    attribute,
    covered_days,
    dated,
    enrolled,
    events_in_window,
    membership,
    where,
)
from bhmeasures.kinds.conditions.base import CONDITIONS, ConditionKind, Outcome
from bhmeasures.spec.base import Model

COMBINATORS = ("any_of", "all_of", "not_")
EVIDENCE = ("evidence_claim_id", "evidence_date", "evidence_end_date", "evidence_kind")


def field_name(key: str) -> str:
    """The Python attribute of a YAML key (`with` -> `with_`, `in` -> `in_`)."""
    return f"{key}_" if keyword.iskeyword(key) or key == "not" else key


def _at_least_one(self: Any) -> Any:
    given = [k for k in (*(field_name(k) for k in CONDITIONS.kinds), *COMBINATORS) if getattr(self, k) is not None]
    if not given:
        keys = ", ".join([*CONDITIONS.kinds, "any_of", "all_of", "not"])
        msg = f"give at least one condition ({keys})"
        raise ValueError(msg)
    return self


def _fields() -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key, kind in CONDITIONS.kinds.items():
        name = field_name(key)
        fields[name] = (kind.model | None, Field(default=None, alias=key) if name != key else None)
    fields["any_of"] = ("list[Conditions] | None", None)
    fields["all_of"] = ("list[Conditions] | None", None)
    fields["not_"] = ("Conditions | None", Field(default=None, alias="not"))
    return fields


Conditions: Any = create_model(
    "Conditions", __base__=Model,
    # pydantic types __validators__ as plain functions, but wants what model_validator returns (a descriptor proxy)
    __validators__={"_at_least_one": model_validator(mode="after")(_at_least_one)},  # type: ignore[dict-item]
    __doc__="Conditions on events; every one listed must hold.", **_fields())
Conditions.model_rebuild(_types_namespace={"Conditions": Conditions})


def present(conds: Any) -> list[tuple[str, ConditionKind, Any]]:
    """(key, kind, value) of the leaf conditions given, cheapest first."""
    out = [(k, kind, getattr(conds, field_name(k))) for k, kind in CONDITIONS.kinds.items()
           if getattr(conds, field_name(k)) is not None]
    return sorted(out, key=lambda t: t[1].cost)


def children(conds: Any) -> list[Any]:
    return [*(conds.any_of or []), *(conds.all_of or []), *([conds.not_] if conds.not_ is not None else [])]


def walk(conds: Any) -> list[tuple[str, ConditionKind, Any]]:
    """Every leaf condition, nested ones included."""
    return [*present(conds), *(leaf for c in children(conds) for leaf in walk(c))]


def map_predicates(conds: Any, fn: Any) -> Any:
    """The conditions with every claim-line condition replaced by fn(condition)."""
    update: dict[str, Any] = {}
    for key, kind, value in present(conds):
        update[field_name(key)] = kind.map_predicates(value, fn)
    if conds.any_of is not None:
        update["any_of"] = [map_predicates(c, fn) for c in conds.any_of]
    if conds.all_of is not None:
        update["all_of"] = [map_predicates(c, fn) for c in conds.all_of]
    if conds.not_ is not None:
        update["not_"] = map_predicates(conds.not_, fn)
    return conds.model_copy(update=update)


def describe(conds: Any, year: int) -> list[str]:
    """One line per condition; nested ones indented."""
    lines = [kind.describe(value, year) for _, kind, value in present(conds)]
    for name, group in (("any of", conds.any_of), ("all of", conds.all_of)):
        if group is not None:
            lines.append(f"{name}:")
            for i, c in enumerate(group, start=1):
                sub = describe(c, year)
                lines.append(f"  {i}. {sub[0]}")
                lines.extend(f"     {x}" for x in sub[1:])
    if conds.not_ is not None:
        sub = describe(conds.not_, year)
        lines.append(f"not: {sub[0]}")
        lines.extend(f"     {x}" for x in sub[1:])
    return lines


def _earliest_evidence(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Events met by any route; a route that found no other event is met by the event itself (its own claim
    on its index date), so the earliest evidence of all routes is the one kept."""
    both = pl.concat(frames, how="diagonal_relaxed")
    if "evidence_date" not in both.columns:
        return both.unique(KEY, keep="first", maintain_order=True)
    own = pl.col("evidence_date").is_null()
    both = both.with_columns(
        pl.when(own).then(pl.col("claim_id")).otherwise(pl.col("evidence_claim_id")).alias("evidence_claim_id"),
        pl.when(own).then(pl.col("index_date")).otherwise(pl.col("evidence_date")).alias("evidence_date"),
        *[pl.when(own).then(default).otherwise(pl.col(c)).alias(c) for c, default in
          (("evidence_end_date", pl.col("index_date")), ("evidence_kind", pl.lit(None, dtype=pl.String))) if c in both.columns],
    )
    return both.sort("evidence_date", maintain_order=True).unique(KEY, keep="first", maintain_order=True)


def evaluate(conds: Any, events: pl.DataFrame, run: Any) -> Outcome:
    """The events meeting every condition listed, with the evidence they found; removals by membership."""
    kept = events
    removed: list[pl.DataFrame] = []
    for _, kind, value in present(conds):
        out = kind.evaluate(kept, value, run)
        kept = out.kept
        if out.removed is not None:
            removed.append(out.removed)
    for group, mode in ((conds.all_of, "all"), (conds.any_of, "any")):
        if group is None:
            continue
        if mode == "all":
            for c in group:
                kept = evaluate(c, kept, run).kept
        else:
            # each route finds its own evidence: a route met by the event itself must not show an earlier step's
            earlier = [c for c in EVIDENCE if c in kept.columns]
            routes = [evaluate(c, kept.drop(earlier), run).kept for c in group]
            kept = _earliest_evidence(routes) if routes else kept.clear()
    if conds.not_ is not None:
        met = evaluate(conds.not_, kept, run).kept
        kept = kept.join(met.select(KEY), on=KEY, how="anti")
    return Outcome(kept, pl.concat(removed) if removed else None)
