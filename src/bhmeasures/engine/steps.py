"""Each kind of define as a Polars function over event frames.

An event frame has one row per event: member_id, event_id, claim_id, start_date, end_date, index_date,
and, after a `with` condition, evidence_claim_id and evidence_date.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import polars as pl

from bhmeasures.spec.models import Coverage, Enrollment, EventWindow, Predicate

# `source` (the table an event came from) keeps claim ids of medical and pharmacy claims apart
# `claims`: every claim the event is made of (the facility and professional claims of one visit); its
# claim-level conditions hold when any of them meets them, and none of them is its own follow-up
EVENT_COLUMNS = ("source", "member_id", "event_id", "claim_id", "claims", "start_date", "end_date", "index_date")
EVENT_SCHEMA = {
    "source": pl.String, "member_id": pl.String, "event_id": pl.String, "claim_id": pl.String,
    "claims": pl.List(pl.String), "start_date": pl.Date, "end_date": pl.Date, "index_date": pl.Date,
}
BENEFIT_COLUMNS = {
    "medical": "medical_benefit", "pharmacy": "pharmacy_benefit",
    "mental_health": "mh_benefit", "chemical_dependency": "cd_benefit",
}


def empty_events() -> pl.DataFrame:
    return pl.DataFrame(schema=EVENT_SCHEMA)


@dataclass
class Step:
    """A define's result: its events (or members), and why events of its input were dropped."""

    frame: pl.DataFrame
    dropped: pl.DataFrame | None = None  # event_id, reason


def encounters(lines: pl.DataFrame, key: str, one_per: str = "claim") -> pl.DataFrame:
    """One event per claim and service date of the matching lines, or with `one_per="day"` one per member and
    service date: the facility and professional claims of one ED visit are one visit.

    An event is named by its (first) claim, with the date appended when that claim has matching lines on
    several dates.
    """
    if lines.is_empty():
        return empty_events()
    df = lines.filter(pl.col(key)).group_by("member_id", "claim_id", "service_date").agg(
        pl.max_horizontal(pl.col("service_end_date").max(), pl.col("service_date").first()).alias("service_end_date"))
    multi = pl.col("service_date").n_unique().over("member_id", "claim_id") > 1
    df = df.with_columns(multi.alias("_multi"))
    if one_per == "day":
        df = df.sort("member_id", "service_date", "claim_id").group_by("member_id", "service_date", maintain_order=True).agg(
            pl.col("claim_id").first(), pl.col("claim_id").alias("claims"), pl.col("_multi").first(),
            pl.col("service_end_date").max())
    else:
        df = df.with_columns(pl.concat_list("claim_id").alias("claims"))
    return df.select(
        pl.lit("medical_claim").alias("source"),
        "member_id",
        pl.when("_multi").then(pl.col("claim_id") + ":" + pl.col("service_date").cast(pl.String))
        .otherwise(pl.col("claim_id")).alias("event_id"),
        "claim_id",
        "claims",
        pl.col("service_date").alias("start_date"),
        pl.col("service_end_date").alias("end_date"),
        pl.col("service_date").alias("index_date"),
    )


def _bill_type(code: pl.Expr) -> pl.Expr:
    """The 3-digit bill type ("0111" and "111" are one)."""
    return pl.when(code.str.len_chars() == 4).then(code.str.slice(1)).otherwise(code)


def stays(lines: pl.DataFrame, key: str) -> pl.DataFrame:
    """Inpatient stays, from admission to discharge, indexed on the discharge date.

    Claims are parts of one stay (interim bills) only when they come from the same facility (facility
    NPI, else billing NPI), share the bill-type family (the first two digits: 011x hospital inpatient and
    021x skilled nursing are different stays), are contiguous in their statement dates, and either carry
    the same admission date or continue each other by their frequency codes (2 first, 3 continuing, 4 last
    interim bill). So an acute stay and a skilled-nursing stay admitted the same day stay apart, and so do
    overlapping claims at two facilities (a transfer). The stay ends at its last discharge and is named by
    the claim that carries it, whose lines its claim-level conditions are tested on.
    """
    if lines.is_empty():
        return empty_events()
    tob = _bill_type(pl.col("bill_type_code").drop_nulls().first())
    claims = lines.filter(pl.col(key)).group_by("member_id", "claim_id").agg(
        pl.col("admission_date").min().alias("start_date"), pl.col("discharge_date").max().alias("end_date"),
        pl.col("claim_start_date").min().alias("_from"), pl.col("claim_end_date").max().alias("_thru"),
        pl.coalesce(pl.col("facility_npi").drop_nulls().first(), pl.col("billing_npi").drop_nulls().first()).fill_null("")
        .alias("_facility"),
        tob.str.slice(0, 2).fill_null("").alias("_family"), tob.str.slice(2, 1).alias("_frequency"),
    )
    group = ("member_id", "_facility", "_family")
    claims = claims.sort(*group, "_from", "_thru", "claim_id")
    prev = lambda c: pl.col(c).shift(1).over(group)  # noqa: E731
    contiguous = pl.col("_from") <= pl.col("_thru").cum_max().shift(1).over(group) + pl.duration(days=1)
    continues = (pl.col("start_date") == prev("start_date")) | (
        prev("_frequency").is_in(["2", "3"]) & pl.col("_frequency").is_in(["3", "4"]))
    new_stay = ~(contiguous & continues).fill_null(False)
    claims = claims.with_columns(new_stay.cast(pl.Int64).cum_sum().over(group).alias("_stay"))
    df = claims.sort("end_date", "claim_id").group_by(*group, "_stay").agg(
        pl.col("start_date").min(), pl.col("end_date").last(), pl.col("claim_id").last())
    return df.select(pl.lit("medical_claim").alias("source"), "member_id", pl.col("claim_id").alias("event_id"), "claim_id",
                     pl.concat_list("claim_id").alias("claims"), "start_date", "end_date", pl.col("end_date").alias("index_date"))


def dispensings(rx: pl.DataFrame, key: str) -> pl.DataFrame:
    if rx.is_empty():
        return empty_events()
    df = rx.filter(pl.col(key))
    end = pl.col("dispensing_date") + pl.duration(days=pl.max_horizontal(pl.col("days_supply").fill_null(1), 1) - 1)
    return df.select(
        pl.lit("pharmacy_claim").alias("source"),
        "member_id",
        (pl.col("claim_id") + pl.int_range(pl.len()).over("claim_id").pipe(
            lambda n: pl.when(n > 0).then(":" + n.cast(pl.String)).otherwise(pl.lit("")))).alias("event_id"),
        "claim_id",
        pl.concat_list("claim_id").alias("claims"),
        pl.col("dispensing_date").alias("start_date"),
        end.alias("end_date"),
        pl.col("dispensing_date").alias("index_date"),
    )


def claim_condition(p: Predicate, leaf_key) -> pl.Expr:  # noqa: ANN001 - leaf_key: Predicate -> column name
    """A condition on the event's claim: each leaf holds when any line of the claim meets it."""
    if p.any_of is not None:
        return pl.any_horizontal([claim_condition(c, leaf_key) for c in p.any_of])
    if p.all_of is not None:
        return pl.all_horizontal([claim_condition(c, leaf_key) for c in p.all_of])
    if p.not_ is not None:
        return ~claim_condition(p.not_, leaf_key)
    return pl.col(leaf_key(p)).fill_null(False)


def with_claim_flags(events: pl.DataFrame, claim_flags: pl.DataFrame) -> pl.DataFrame:
    """The events with each claim-level flag true when any claim of the event has it."""
    flags = [c for c in claim_flags.columns if c not in ("source", "claim_id", "member_id")]
    per_event = (events.select("source", "member_id", "event_id", "claims").explode("claims")
                 .join(claim_flags, left_on=["source", "member_id", "claims"], right_on=["source", "member_id", "claim_id"],
                       how="left")
                 .group_by("source", "member_id", "event_id").agg(pl.col(flags).any()))
    return events.join(per_event, on=["source", "member_id", "event_id"], how="left")


def _month_day(d: pl.Expr) -> pl.Expr:
    # Polars gives month and day as Int8: widen before arithmetic (month * 100 overflows Int8 from May on)
    return d.dt.month().cast(pl.Int32) * 100 + d.dt.day().cast(pl.Int32)


def age_at(index: pl.Expr, birth: pl.Expr) -> pl.Expr:
    """Whole years from `birth` to `index`; one born on February 29 turns a year older on March 1 of a common year."""
    before_birthday = _month_day(index) < _month_day(birth)
    return index.dt.year().cast(pl.Int32) - birth.dt.year().cast(pl.Int32) - before_birthday.cast(pl.Int32)


def age_filter(events: pl.DataFrame, members: pl.DataFrame, lo: int | None, hi: int | None) -> pl.DataFrame:
    df = events.join(members.select("member_id", "birth_date"), on="member_id", how="left")
    age = age_at(pl.col("index_date"), pl.col("birth_date"))
    cond = pl.col("birth_date").is_not_null()
    if lo is not None:
        cond = cond & (age >= lo)
    if hi is not None:
        cond = cond & (age <= hi)
    return df.filter(cond).drop("birth_date")


def continuously_enrolled(events: pl.DataFrame, spans: pl.DataFrame, rule: Enrollment) -> pl.DataFrame:
    """Events whose member is covered over [index+from_day, index+to_day] with at most the allowed gaps."""
    if events.is_empty():
        return events
    benefit = pl.all_horizontal([pl.col(BENEFIT_COLUMNS[b]).fill_null(True) for b in rule.benefits])
    covered = spans.filter(benefit).select("member_id", "enrollment_start_date", "enrollment_end_date")
    w = events.select(
        "event_id", "member_id",
        (pl.col("index_date") + pl.duration(days=rule.from_day)).alias("w_start"),
        (pl.col("index_date") + pl.duration(days=rule.to_day)).alias("w_end"),
    )
    pieces = (
        w.join(covered, on="member_id", how="inner")
        .with_columns(
            pl.max_horizontal("enrollment_start_date", "w_start").alias("s"),
            pl.min_horizontal("enrollment_end_date", "w_end").alias("e"),
        )
        .filter(pl.col("s") <= pl.col("e"))
        .sort("event_id", "s", "e")
        .with_columns(pl.col("e").cum_max().shift(1).over("event_id").alias("prev_end"))
        .with_columns(
            pl.when(pl.col("prev_end").is_null())
            .then((pl.col("s") - pl.col("w_start")).dt.total_days())
            .otherwise((pl.col("s") - pl.col("prev_end")).dt.total_days() - 1)
            .clip(lower_bound=0)
            .alias("gap_before")
        )
    )
    per_event = pieces.group_by("event_id").agg(
        pl.col("gap_before").filter(pl.col("gap_before") > 0).alias("gaps"),
        (pl.col("w_end").first() - pl.col("e").max()).dt.total_days().alias("gap_after"),
    ).with_columns(
        pl.concat_list("gaps", pl.when(pl.col("gap_after") > 0).then(pl.col("gap_after")).cast(pl.Int64))
        .list.drop_nulls().alias("gaps")
    )
    ok = per_event.filter(
        (pl.col("gaps").list.len() <= rule.allowable_gaps)
        & (pl.col("gaps").list.max().fill_null(0) <= (rule.max_gap_days if rule.allowable_gaps else 0))
    )
    return events.join(ok.select("event_id"), on="event_id", how="semi")


def _window_matches(
    events: pl.DataFrame, others: pl.DataFrame, window: EventWindow, *, skip_own_claim: bool, at_least: int = 1,
) -> pl.DataFrame:
    """(event_id, evidence_claim_id, evidence_date): the event of `others` in the window that completes the
    required count (the first, or the one on the `at_least`-th distinct date)."""
    if events.is_empty() or others.is_empty():
        return pl.DataFrame(schema={"event_id": pl.String, "evidence_claim_id": pl.String, "evidence_date": pl.Date})
    pairs = events.select("event_id", "member_id", "index_date", pl.col("source").alias("_own_source"),
                          pl.col("claims").alias("_own_claims")).join(
        others.select("member_id", "source", pl.col("claim_id").alias("evidence_claim_id"), pl.col("start_date").alias("evidence_date"),
                      pl.col("event_id").alias("_other_id")),
        on="member_id", how="inner",
    )
    offset = (pl.col("evidence_date") - pl.col("index_date")).dt.total_days()
    hits = pairs.filter(offset.is_between(window.from_day, window.to_day))
    if skip_own_claim:
        # an event is never its own follow-up (FUM: the ED visit itself does not count); it can be its own
        # exclusion (an inpatient claim carrying the ED revenue line is an ED visit followed by admission)
        hits = hits.filter(~pl.col("evidence_claim_id").is_in(pl.col("_own_claims")) | (pl.col("source") != pl.col("_own_source")))
    hits = hits.sort("event_id", "evidence_date", "evidence_claim_id")
    if at_least > 1:
        nth = pl.col("evidence_date").rank("dense").over("event_id")
        hits = hits.filter(nth == at_least)
    return hits.group_by("event_id", maintain_order=True).first().select("event_id", "evidence_claim_id", "evidence_date")


def with_events(events: pl.DataFrame, others: pl.DataFrame, window: EventWindow) -> pl.DataFrame:
    hits = _window_matches(events, others, window, skip_own_claim=not window.counts_own_claim, at_least=window.at_least)
    base = events.drop("evidence_claim_id", "evidence_date", strict=False)
    return base.join(hits, on="event_id", how="inner")


def without_events(events: pl.DataFrame, others: pl.DataFrame, window: EventWindow) -> pl.DataFrame:
    hits = _window_matches(events, others, window, skip_own_claim=False)
    return events.join(hits.select("event_id"), on="event_id", how="anti")


def covered(events: pl.DataFrame, others: pl.DataFrame, rule: Coverage) -> pl.DataFrame:
    """Events whose window [index + from_day, index + to_day] has enough days covered by `others`' ranges."""
    if events.is_empty():
        return events
    span = rule.to_day - rule.from_day + 1
    need = rule.min_days if rule.min_days is not None else math.ceil(rule.min_share * span - 1e-9)
    w = events.select("event_id", "member_id", (pl.col("index_date") + pl.duration(days=rule.from_day)).alias("w_start"),
                      (pl.col("index_date") + pl.duration(days=rule.to_day)).alias("w_end"))
    pieces = (
        w.join(others.select("member_id", "start_date", "end_date"), on="member_id")
        .with_columns(pl.max_horizontal("start_date", "w_start").alias("s"), pl.min_horizontal("end_date", "w_end").alias("e"))
        .filter(pl.col("s") <= pl.col("e"))
        .sort("event_id", "s", "e")
        # union of intervals: days past the furthest end seen so far are new coverage
        .with_columns(pl.col("e").cum_max().shift(1).over("event_id").alias("prev_end"))
        .with_columns(
            pl.when(pl.col("prev_end").is_null()).then(pl.col("s"))
            .otherwise(pl.max_horizontal("s", pl.col("prev_end") + pl.duration(days=1))).alias("new_s"))
        .with_columns(((pl.col("e") - pl.col("new_s")).dt.total_days() + 1).clip(lower_bound=0).alias("days"))
    )
    ok = pieces.group_by("event_id").agg(pl.col("days").sum()).filter(pl.col("days") >= need)
    return events.join(ok.select("event_id"), on="event_id", how="semi")


def first_per_member(events: pl.DataFrame) -> pl.DataFrame:
    """The member's unit keeps the id of the event that starts it, so detail rows stay traceable to a claim."""
    return events.sort("member_id", "index_date", "event_id").group_by("member_id", maintain_order=True).first()


def in_window(events: pl.DataFrame, first: date, last: date, column: str = "index_date") -> pl.DataFrame:
    return events.filter(pl.col(column).is_between(first, last))


def one_per_period(events: pl.DataFrame, days: int) -> pl.DataFrame:
    """Per member: keep the first event, drop those within `days - 1` days after it, repeat from the next."""
    remaining = events.sort("member_id", "index_date", "event_id")
    kept: list[pl.DataFrame] = []
    while remaining.height:
        first = remaining.group_by("member_id", maintain_order=True).first()
        kept.append(first)
        remaining = remaining.join(first.select("member_id", pl.col("index_date").alias("_kept")), on="member_id").filter(
            pl.col("index_date") >= pl.col("_kept") + pl.duration(days=days)).drop("_kept")
    return pl.concat(kept) if kept else events.clear()


def _lexically_after(left: tuple[str, ...], right: tuple[str, ...]) -> pl.Expr:
    """(left...) > (right...) compared column by column, as a tuple."""
    out = pl.lit(False)
    for lc, rc in reversed(list(zip(left, right, strict=True))):
        out = (pl.col(lc) > pl.col(rc)) | ((pl.col(lc) == pl.col(rc)) & out)
    return out


def readmission_chain(
    candidates: pl.DataFrame, readmissions: pl.DataFrame, first_day: int, last_day: int,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Resolve chains of readmissions.

    `readmissions` carries a boolean `continues`: whether that readmission keeps the chain alive.
    Returns (events: the last discharge of each surviving chain, dropped: event_id, outcome) where outcome
    is 'superseded' or 'dropped'.
    """
    cols = list(EVENT_COLUMNS)
    nodes = pl.concat([candidates.select(cols), readmissions.select(cols)]).unique(["source", "event_id"], keep="first")
    order = ["start_date", "end_date", "event_id"]
    r = readmissions.select("member_id", *[pl.col(c).alias(f"r_{c}") for c in order], pl.col("continues").alias("r_continues"))
    links = nodes.select("member_id", *order).join(r, on="member_id").filter(
        (pl.col("r_start_date") - pl.col("end_date")).dt.total_days().is_between(first_day, last_day)
        & _lexically_after(("r_start_date", "r_end_date", "r_event_id"), ("start_date", "end_date", "event_id"))
    ).sort("event_id", "r_start_date", "r_end_date", "r_event_id").group_by("event_id", maintain_order=True).first().select(
        "event_id", pl.col("r_event_id").alias("next_id"), pl.col("r_continues").alias("next_continues"))
    pending = nodes.select("event_id").join(links, on="event_id", how="left")
    resolved = pending.filter(pl.col("next_id").is_null()).select("event_id", pl.col("event_id").alias("last_id"), pl.lit(False).alias("broken"))
    pending = pending.filter(pl.col("next_id").is_not_null())
    while pending.height:
        step = pending.join(resolved.rename({"event_id": "next_id", "last_id": "n_last", "broken": "n_broken"}), on="next_id", how="inner")
        if step.is_empty():  # cannot happen: links only point forward in time, so every chain ends
            raise RuntimeError("readmission chain did not resolve")
        resolved = pl.concat([resolved, step.select(
            "event_id", pl.col("n_last").alias("last_id"), (~pl.col("next_continues") | pl.col("n_broken")).alias("broken"))])
        pending = pending.join(step.select("event_id"), on="event_id", how="anti")
    outcome = candidates.select("event_id").join(resolved, on="event_id", how="left")
    kept_ids = outcome.filter(~pl.col("broken")).select(pl.col("last_id").alias("event_id")).unique()
    events = nodes.join(kept_ids, on="event_id", how="semi").with_columns(pl.col("end_date").alias("index_date"))
    dropped = outcome.filter(pl.col("broken") | (pl.col("last_id") != pl.col("event_id"))).select(
        "event_id", pl.when(pl.col("broken")).then(pl.lit("dropped")).otherwise(pl.lit("superseded")).alias("outcome"))
    return events, dropped
