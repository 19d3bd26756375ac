"""`with` and `without`: other events of the member dated in (or overlapping) a window around the event.

`with` keeps events that have at least `at_least` such events, counted as distinct `distinct` keys
(dates by default; `[date, provider]` counts two services on one day with different providers as two;
adding `kind` counts events of different listed defines on one day as two, such as a visit and a
medication; `unit` counts units of service billed as events of their own). The event that completes the count
(the earliest, or with `evidence: latest` the latest) is the evidence; `as: NAME` also keeps it as named columns
(`NAME_date`, `NAME_end_date`, `NAME_claim_id`, `NAME_kind`, `NAME_provider` and every attribute the matched event carries, prefixed
with `NAME_`), which later windows and conditions can use. An event's own claims never count for it
(FUM: the ED visit is not its own follow-up) unless `counts_own_claim: true`. `same_day: other_provider`
lets a claim on the index date count only when both providers are known and differ (fills and observations,
which have no provider, always count). An event that combines several same-day events (`one_per_period:
{days: 1}`) skips only its own claims (`own_claims`), so another visit of that day can still count.

`without` keeps events that have no such event; there the event's own claims do count (an ED line on an
inpatient claim is an ED visit followed by admission).
"""

from __future__ import annotations

from typing import Any, Literal

import polars as pl
from pydantic import Field, field_validator, model_validator

from bhmeasures.engine.exprs import KEY, position_in_run, run_length, window_bounds
from bhmeasures.kinds.conditions.base import ConditionKind, Outcome, register_condition
from bhmeasures.kinds.events import EVENT_COLUMNS
from bhmeasures.spec.base import Model, WindowField

Key = Literal["date", "provider", "kind", "unit", "event"]
EVIDENCE_COLUMNS = ("evidence_claim_id", "evidence_date", "evidence_end_date", "evidence_kind")
STANDARD = set(EVENT_COLUMNS) | {"kind", "unit", *EVIDENCE_COLUMNS}


class EventMatch(Model):
    events: str | list[str]
    dated: WindowField | None = None
    overlapping: WindowField | None = None
    at_least: int = Field(default=1, ge=1)
    distinct: list[Key] = ["date"]
    evidence: Literal["earliest", "latest"] = "earliest"
    as_: str | None = Field(default=None, alias="as", pattern=r"^[a-z][a-z0-9_]*$")
    counts_own_claim: bool = False
    same_day: Literal["any_provider", "other_provider"] = "any_provider"

    @field_validator("distinct")
    @classmethod
    def _has_keys(cls, v: list[Key]) -> list[Key]:
        if not v:
            msg = "distinct needs at least one key (date, provider, kind, unit or event)"
            raise ValueError(msg)
        return v

    @model_validator(mode="after")
    def _one_window(self) -> EventMatch:
        if (self.dated is None) == (self.overlapping is None):
            msg = "give exactly one of dated (the other event starts in the window) or overlapping (its dates overlap it)"
            raise ValueError(msg)
        return self

    @property
    def window(self) -> Any:
        return self.dated if self.dated is not None else self.overlapping

    def names(self) -> list[str]:
        return [self.events] if isinstance(self.events, str) else list(self.events)


def _others(run: Any, m: EventMatch) -> pl.DataFrame:
    """The events to look for. `kind` is the listed define an event came from when several are listed (a visit
    and a medication), else the define of a union it came through, else the define's name."""
    frames = []
    names = m.names()
    for name in names:
        f = run.events(name)
        kind = pl.col("kind") if ("kind" in f.columns and len(names) == 1) else pl.lit(name)
        unit = pl.col("unit").fill_null(1) if "unit" in f.columns else pl.lit(1, dtype=pl.Int64)
        frames.append(f.with_columns(kind.alias("kind"), unit.cast(pl.Int64).alias("unit")))
    return pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]


def matches(events: pl.DataFrame, m: EventMatch, run: Any, *, skip_own: bool) -> pl.DataFrame:
    """Per event that meets the match: KEY plus evidence columns."""
    others = _others(run, m)
    extras = [c for c in others.columns if c not in STANDARD]
    if events.is_empty() or others.is_empty():
        schema = {"member_id": pl.String, "event_id": pl.String, "evidence_claim_id": pl.String, "evidence_date": pl.Date,
                  "evidence_end_date": pl.Date, "evidence_kind": pl.String}
        if m.as_:
            schema.update({f"{m.as_}_claim_id": pl.String, f"{m.as_}_date": pl.Date, f"{m.as_}_end_date": pl.Date,
                           f"{m.as_}_kind": pl.String, f"{m.as_}_provider": pl.String})
        return pl.DataFrame(schema=schema)
    first, last = window_bounds(m.window, run.year)
    own = pl.col("own_claims") if "own_claims" in events.columns else pl.col("claims")
    ev = events.select(*KEY, first.alias("_w0"), last.alias("_w1"), own.alias("_own"),
                       pl.col("source").alias("_own_source"), pl.col("index_date").alias("_idx"),
                       pl.col("provider").alias("_prov"))
    ot = others.select(
        "member_id", pl.col("event_id").alias("_o_event"), pl.col("source").alias("_o_source"),
        pl.col("claim_id").alias("evidence_claim_id"), pl.col("start_date").alias("evidence_date"),
        pl.coalesce("end_date", "start_date").alias("_o_end"), pl.col("provider").alias("_o_provider"),
        pl.col("kind").alias("_o_kind"), pl.col("unit").alias("_o_unit"), *[pl.col(c).alias(f"_x_{c}") for c in extras],
    )
    pairs = ev.join(ot, on="member_id", how="inner")
    if m.dated is not None:
        cond = pl.col("evidence_date").is_between(pl.col("_w0"), pl.col("_w1"))
    else:
        cond = (pl.col("evidence_date") <= pl.col("_w1")) & (pl.col("_o_end") >= pl.col("_w0"))
    if skip_own:
        # an event is never its own follow-up; it can be its own exclusion (see `without`)
        cond = cond & ~((pl.col("_o_source") == pl.col("_own_source")) & pl.col("evidence_claim_id").is_in(pl.col("_own")))
    if m.same_day == "other_provider":
        # fills and observations have no provider and always count; a claim counts only when both providers
        # are known and differ (an unknown provider cannot be told from the event's own)
        same_day = pl.col("evidence_date") == pl.col("_idx")
        known_other = pl.col("_prov").is_not_null() & pl.col("_o_provider").is_not_null() & (pl.col("_o_provider") != pl.col("_prov"))
        other = (pl.col("_o_source") != "medical_claim") | known_other
        cond = cond & (~same_day | other)
    hits = pairs.filter(cond.fill_null(False))
    key_cols = {"date": "evidence_date", "provider": "_o_provider", "kind": "_o_kind", "unit": "_o_unit", "event": "_o_event"}
    distinct = [key_cols[k] for k in m.distinct]
    descending = m.evidence == "latest"
    hits = hits.sort([*KEY, "evidence_date", "evidence_claim_id", "_o_event"],
                     descending=[False, False, descending, descending, descending], nulls_last=True)
    if m.at_least > 1 or m.distinct != ["date"]:
        hits = hits.unique([*KEY, *distinct], keep="first", maintain_order=True)
        hits = hits.filter(position_in_run(KEY) == m.at_least - 1) if not descending else \
            hits.filter(run_length(KEY) >= m.at_least)
    best = hits.group_by(KEY, maintain_order=True).first()
    out = [*KEY, "evidence_claim_id", "evidence_date", pl.col("_o_end").alias("evidence_end_date"),
           pl.col("_o_kind").alias("evidence_kind")]
    if m.as_:
        n = m.as_
        out += [pl.col("evidence_claim_id").alias(f"{n}_claim_id"), pl.col("evidence_date").alias(f"{n}_date"),
                pl.col("_o_end").alias(f"{n}_end_date"), pl.col("_o_kind").alias(f"{n}_kind"),
                pl.col("_o_provider").alias(f"{n}_provider"), *[pl.col(f"_x_{c}").alias(f"{n}_{c}") for c in extras]]
    return best.select(out)


def _describe(m: EventMatch, year: int, verb: str) -> str:
    names = " or ".join(f"'{n}'" for n in m.names())
    where = f"dated in {m.window.describe(year)}" if m.dated is not None else f"overlapping {m.window.describe(year)}"
    count = "" if m.at_least == 1 else f"at least {m.at_least} (distinct {', '.join(m.distinct)}) "
    text = f"{verb} {count}{names} {where}"
    if m.same_day == "other_provider":
        text += "; on the index date only with another provider"
    if m.as_:
        text += f"; evidence kept as {m.as_}_date, {m.as_}_end_date, {m.as_}_claim_id"
    if m.evidence == "latest":
        text += " (the latest is the evidence)"
    return text


@register_condition
class WithCondition(ConditionKind):
    key = "with"
    model = EventMatch
    gives_evidence = True
    cost = 3

    def inputs(self, value: EventMatch) -> list[str]:
        return value.names()

    def dates_used(self, value: EventMatch) -> set[str]:
        return value.window.bases()

    def dates_added(self, value: EventMatch) -> set[str]:
        return {f"{value.as_}_date", f"{value.as_}_end_date"} if value.as_ else set()

    def describe(self, value: EventMatch, year: int) -> str:
        return _describe(value, year, "has")

    def evaluate(self, events: pl.DataFrame, value: EventMatch, run: Any) -> Outcome:
        hits = matches(events, value, run, skip_own=not value.counts_own_claim)
        base = events.drop([c for c in hits.columns if c not in KEY and c in events.columns])
        return Outcome(base.join(hits, on=KEY, how="inner"))


class NoEvents(EventMatch):
    counts_own_claim: bool = True


@register_condition
class WithoutCondition(ConditionKind):
    key = "without"
    model = NoEvents
    cost = 3

    def inputs(self, value: EventMatch) -> list[str]:
        return value.names()

    def dates_used(self, value: EventMatch) -> set[str]:
        return value.window.bases()

    def describe(self, value: EventMatch, year: int) -> str:
        return _describe(value, year, "has no")

    def evaluate(self, events: pl.DataFrame, value: EventMatch, run: Any) -> Outcome:
        hits = matches(events, value, run, skip_own=not value.counts_own_claim)
        return Outcome(events.join(hits.select(KEY), on=KEY, how="anti"))
