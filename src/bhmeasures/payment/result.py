"""What a payment run produces: line items that explain each dollar, entity totals that are their sums, what-ifs."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from fractions import Fraction
from typing import Any

import polars as pl

from bhmeasures.payment.money import ROUNDING_RULE, decimal

# Every line item goes to one account; an entity's total for an account is the sum of its line items.
ACCOUNTS = ("earned", "owed", "forfeited", "kept_by_payer", "moved", "pass_through", "memo")
ACCOUNT_MEANING = {
    "earned": "paid to the entity",
    "owed": "paid by the entity (shared losses; negative)",
    "forfeited": "the entity could have earned it and did not (pool dollars not earned, savings or PBP lost on quality, "
                 "amounts above a ceiling); the payer keeps it",
    "kept_by_payer": "the payer's own share of savings, never the entity's to earn",
    "moved": "not earned here, moved to another component of the same entity to be earned again there (Colorado's "
             "unearned KPI dollars to the Performance Pool); counted once, where it ends",
    "pass_through": "part of the earned dollars the entity must pass to partners (already inside earned)",
    "memo": "explains a result that moves no money by itself (quality scoring, a corridor, a gate); always 0.00",
}
# what the terminal shows, so that the meaning survives without colour
ACCOUNT_LABEL = {"earned": "paid", "owed": "owed", "forfeited": "forfeited", "kept_by_payer": "kept by payer",
                 "moved": "moved", "pass_through": "passed through", "memo": "memo"}


@dataclass
class LineItem:
    entity_id: str
    component: str
    item: str
    account: str
    amount_cents: int
    explanation: str  # the whole computation in words
    brief: str = ""  # the gist, for a terminal table
    measure_id: str | None = None
    unit: str | None = None
    direction: str | None = None
    rate: Fraction | None = None
    rate_source: str | None = None
    numerator: Fraction | None = None
    denominator: Fraction | None = None
    baseline: Fraction | None = None
    benchmark: Fraction | None = None
    targets: str | None = None
    tier: str | None = None
    credit: Fraction | None = None
    weight: Fraction | None = None
    pool_cents: int | None = None
    allotment_cents: int | None = None
    tcoc_benchmark_cents: int | None = None
    tcoc_actual_cents: int | None = None
    savings_cents: int | None = None
    threshold_test: str | None = None
    share_rate: Fraction | None = None
    quality_score: Fraction | None = None
    cap_cents: int | None = None
    cap_applied: bool | None = None


@dataclass
class EntityTotal:
    entity_id: str
    track: str | None
    member_months: Fraction | None
    earned_cents: int
    owed_cents: int
    forfeited_cents: int
    kept_by_payer_cents: int
    moved_cents: int
    pass_through_cents: int

    @property
    def net_cents(self) -> int:
        """Paid to the entity minus paid by it."""
        return self.earned_cents + self.owed_cents

    def cents(self) -> dict[str, int]:
        """The totals as the files give them: every account but memo, and net after owed."""
        return {"earned": self.earned_cents, "owed": self.owed_cents, "net": self.net_cents, "forfeited": self.forfeited_cents,
                "kept_by_payer": self.kept_by_payer_cents, "moved": self.moved_cents, "pass_through": self.pass_through_cents}


@dataclass
class WhatIf:
    entity_id: str
    component: str
    measure_id: str
    unit: str
    direction: str
    rate: Fraction | None
    numerator: Fraction | None
    denominator: Fraction | None
    tier: str | None
    next_tier: str | None
    next_target: Fraction | None
    events_needed: int | None  # whole change of the numerator: + more, - fewer (lower-is-better); None without counts
    new_rate: Fraction | None
    worth_cents: int | None  # change in the entity's net payment at the new rate
    note: str


def net_cents(items: list[LineItem]) -> int:
    """Paid to the entity minus paid by it."""
    return sum(i.amount_cents for i in items if i.account in ("earned", "owed"))


def totals_of(items: list[LineItem], entity: str, track: str | None, member_months: Fraction | None) -> EntityTotal:
    def s(account: str) -> int:
        return sum(i.amount_cents for i in items if i.account == account)

    return EntityTotal(entity, track, member_months, s("earned"), s("owed"), s("forfeited"), s("kept_by_payer"), s("moved"),
                       s("pass_through"))


_MONEY = pl.Decimal(38, 2)
TOTAL_COLUMNS = ("earned", "owed", "net", "forfeited", "kept_by_payer", "moved", "pass_through")


def _cell(v: Any, money: bool) -> Any:
    if v is None:
        return None
    if money:
        return decimal(v)
    if isinstance(v, Fraction):
        return float(v)
    return v


def _frame(rows: list[Any], cls: type, money_cols: set[str], prefix: dict[str, Any]) -> pl.DataFrame:
    names = [f.name for f in fields(cls)]
    cols: dict[str, list[Any]] = {k: [v] * len(rows) for k, v in prefix.items()}
    schema: dict[str, Any] = {}
    for n in names:
        out = n.removesuffix("_cents")
        cols[out] = [_cell(getattr(r, n), n in money_cols) for r in rows]
        if n in money_cols:
            schema[out] = _MONEY
    return pl.DataFrame(cols, schema_overrides=schema, strict=False)


@dataclass
class PaymentResult:
    program_id: str
    performance_year: int
    line_items: list[LineItem]
    totals: list[EntityTotal]
    what_if: list[WhatIf] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rounding: str = ROUNDING_RULE

    def line_items_frame(self) -> pl.DataFrame:
        money = {f.name for f in fields(LineItem) if f.name.endswith("_cents")}
        prefix = {"program": self.program_id, "performance_year": self.performance_year}
        return _frame(self.line_items, LineItem, money, prefix)

    def totals_frame(self) -> pl.DataFrame:
        rows = [{"program": self.program_id, "performance_year": self.performance_year, "entity_id": t.entity_id,
                 "track": t.track, "member_months": None if t.member_months is None else float(t.member_months),
                 **{k: decimal(v) for k, v in t.cents().items()}} for t in self.totals]
        schema: dict[str, Any] = {"program": pl.String, "performance_year": pl.Int64, "entity_id": pl.String, "track": pl.String,
                                  "member_months": pl.Float64, **dict.fromkeys(TOTAL_COLUMNS, _MONEY)}
        return pl.DataFrame(rows, schema=schema)

    def what_if_frame(self) -> pl.DataFrame:
        prefix = {"program": self.program_id, "performance_year": self.performance_year}
        return _frame(self.what_if, WhatIf, {"worth_cents"}, prefix)

    def frames(self) -> dict[str, pl.DataFrame]:
        return {"line_items": self.line_items_frame(), "totals": self.totals_frame(), "what_if": self.what_if_frame()}

    def total(self, entity: str) -> EntityTotal:
        return next(t for t in self.totals if t.entity_id == entity)

    def items(self, entity: str, component: str | None = None) -> list[LineItem]:
        return [i for i in self.line_items if i.entity_id == entity and (component is None or i.component == component)]
