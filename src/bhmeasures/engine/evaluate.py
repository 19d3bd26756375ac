"""Evaluate one measure's defines over the shared line frames, then build its detail and summary."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from bhmeasures.engine import steps
from bhmeasures.engine.lines import LinePlan
from bhmeasures.spec import LoadedSpec
from bhmeasures.spec.models import MYDate
from bhmeasures.spec.validate import lineage

DETAIL_SCHEMA = {
    "measure_id": pl.String, "rate_id": pl.String, "member_id": pl.String, "event_id": pl.String,
    "index_date": pl.Date, "denominator": pl.Boolean, "numerator": pl.Boolean, "excluded": pl.Boolean,
    "reason": pl.String, "evidence_claim_id": pl.String, "evidence_date": pl.Date, "entity_id": pl.String,
}
SUMMARY_SCHEMA = {
    "measure_id": pl.String, "rate_id": pl.String, "stratifier": pl.String, "stratum": pl.String,
    "denominator": pl.Int64, "numerator": pl.Int64, "exclusions": pl.Int64, "rate": pl.Float64,
}


@dataclass
class Context:
    """Everything shared by the measures of one run."""

    year: int
    plan: LinePlan
    lines: pl.DataFrame
    rx: pl.DataFrame
    claim_flags: pl.DataFrame
    members: pl.DataFrame  # member_id, birth_date, death_date
    spans: pl.DataFrame  # eligibility spans with benefit flags
    attribution: pl.DataFrame | None
    source_keys: dict[tuple[str, str], str]


class MeasureEvaluator:
    """Evaluates the defines of one spec on demand, each once."""

    def __init__(self, loaded: LoadedSpec, ctx: Context) -> None:
        self.spec = loaded.spec
        self.ctx = ctx
        self._memo: dict[str, steps.Step] = {}

    def leaf_key(self, leaf) -> str:  # noqa: ANN001
        return self.ctx.plan.leaf_key(leaf)

    def _date(self, value: str):  # noqa: ANN202
        return MYDate(value).resolve(self.ctx.year)

    def get(self, name: str) -> steps.Step:
        if name not in self._memo:
            self._memo[name] = self._evaluate(name)
        return self._memo[name]

    def _evaluate(self, name: str) -> steps.Step:
        define = self.spec.defines[name]
        kind, s, ctx = define.kind, define.step, self.ctx
        if kind in ("stays", "encounters", "dispensings"):
            key = ctx.source_keys[(self.spec.id, name)]
            if kind == "encounters":
                return steps.Step(steps.encounters(ctx.lines, key, s.one_per))
            fn = {"stays": steps.stays, "dispensings": steps.dispensings}[kind]
            return steps.Step(fn(ctx.rx if kind == "dispensings" else ctx.lines, key))
        if kind == "union":
            frames = [self.get(n).frame.select(steps.EVENT_COLUMNS) for n in s]
            return steps.Step(pl.concat(frames).unique(["source", "event_id"], keep="first", maintain_order=True))
        if kind == "members_with":
            first, last = (self._date(d) for d in s.between)
            ev = self.get(s.events).frame
            # any time in the window: an event (a hospice claim, say) that overlaps it counts
            ev = ev.filter((pl.col("start_date") <= last) & (pl.col("end_date").fill_null(pl.col("start_date")) >= first))
            return steps.Step(ev.select("member_id").unique())
        if kind == "members_who_died":
            first, last = (self._date(d) for d in s.between)
            died = ctx.members.filter(pl.col("death_date").is_between(first, last))
            return steps.Step(died.select("member_id").unique())
        source = self.get(s.from_).frame

        def narrowed(out: pl.DataFrame, reason: str) -> steps.Step:
            dropped = source.join(out.select("event_id"), on="event_id", how="anti").select("event_id", pl.lit(reason).alias("reason"))
            return steps.Step(out, dropped)

        if kind == "filter":
            return narrowed(self._filter(source, s), s.reason or f"does not meet '{name}'")
        if kind == "one_per_period":
            return narrowed(steps.one_per_period(source, s.days),
                            s.reason or f"within {s.days - 1} days after an earlier counted {self.spec.event_name}")
        if kind == "first_per_member":
            return narrowed(steps.first_per_member(source), s.reason or f"not the member's first {self.spec.event_name}")
        if kind == "readmission_chain":
            readmits = steps.with_claim_flags(self.get(s.readmissions).frame, ctx.claim_flags).with_columns(
                steps.claim_condition(s.continue_when, self.leaf_key).alias("continues"))
            events, outcome = steps.readmission_chain(source, readmits, *s.admitted_within_days)
            dropped = outcome.select("event_id", pl.when(pl.col("outcome") == "dropped").then(pl.lit(s.reason_dropped))
                                     .otherwise(pl.lit(s.reason_superseded)).alias("reason"))
            return steps.Step(events, dropped)
        raise AssertionError(kind)

    def _filter(self, events: pl.DataFrame, s) -> pl.DataFrame:  # noqa: ANN001
        ctx = self.ctx
        if s.where is not None:
            flagged = steps.with_claim_flags(events, ctx.claim_flags)
            events = flagged.filter(steps.claim_condition(s.where, self.leaf_key)).select(events.columns)
        if s.index_date_between is not None:
            events = steps.in_window(events, *(self._date(d) for d in s.index_date_between))
        if s.age_on_index_date is not None:
            events = steps.age_filter(events, ctx.members, s.age_on_index_date.min, s.age_on_index_date.max)
        if s.continuously_enrolled is not None:
            events = steps.continuously_enrolled(events, ctx.spans, s.continuously_enrolled)
        if s.without is not None:
            events = steps.without_events(events, self.get(s.without.events).frame, s.without)
        if s.covered_days is not None:
            events = steps.covered(events, self.get(s.covered_days.events).frame, s.covered_days)
        if s.member_in is not None:
            events = events.join(self.get(s.member_in).frame, on="member_id", how="semi")
        if s.member_not_in is not None:
            events = events.join(self.get(s.member_not_in).frame, on="member_id", how="anti")
        if s.with_ is not None:
            events = steps.with_events(events, self.get(s.with_.events).frame, s.with_)
        return events

    # -- populations -----------------------------------------------------------------------------
    def detail(self) -> pl.DataFrame:
        pops = self.spec.populations
        out: list[pl.DataFrame] = []
        for rate in pops.rates:
            den_name = rate.denominator or pops.denominator
            path = lineage(self.spec, pops.initial_population, den_name)
            assert path is not None  # validated
            candidates = pl.concat([self.get(n).frame.select("member_id", "event_id", "index_date") for n in path]).unique(
                "event_id", keep="first", maintain_order=True)
            reason_cols, excluded_cols = [], []
            exclusion_steps = set(pops.denominator_exclusions)
            for i, n in enumerate(path[1:]):
                dropped = self.get(n).dropped
                if dropped is None or dropped.is_empty():
                    continue
                candidates = candidates.join(dropped.rename({"reason": f"_r{i}"}), on="event_id", how="left")
                reason_cols.append(f"_r{i}")
                if n in exclusion_steps:
                    excluded_cols.append(f"_r{i}")
            in_den = self.get(den_name).frame.select("event_id", pl.lit(True).alias("_in_den"))
            numer = self.get(rate.numerator).frame
            evidence = numer.select("event_id", pl.lit(True).alias("_num"),
                                    *[c for c in ("evidence_claim_id", "evidence_date") if c in numer.columns])
            df = candidates.join(in_den, on="event_id", how="left").join(evidence, on="event_id", how="left")
            first_reason = pl.coalesce(reason_cols) if reason_cols else pl.lit(None, dtype=pl.String)
            # the first step that dropped an event is the one it failed; it is an exclusion if that step is one
            excluded = pl.lit(False)
            if excluded_cols:
                excluded = pl.coalesce([pl.when(pl.col(c).is_not_null()).then(pl.lit(c in excluded_cols)) for c in reason_cols])
            in_den_expr = pl.col("_in_den").fill_null(False)
            df = df.with_columns(
                pl.lit(self.spec.id).alias("measure_id"), pl.lit(rate.id).alias("rate_id"),
                in_den_expr.alias("denominator"),
                (in_den_expr & pl.col("_num").fill_null(False)).alias("numerator"),
                pl.when(in_den_expr).then(False).otherwise(excluded.fill_null(False)).alias("excluded"),
                pl.when(in_den_expr).then(None).otherwise(first_reason).alias("reason"),
            )
            for c in ("evidence_claim_id", "evidence_date"):
                if c not in df.columns:
                    df = df.with_columns(pl.lit(None, dtype=DETAIL_SCHEMA[c]).alias(c))
            df = df.with_columns(
                pl.when(pl.col("numerator")).then(pl.col("evidence_claim_id")).alias("evidence_claim_id"),
                pl.when(pl.col("numerator")).then(pl.col("evidence_date")).alias("evidence_date"),
            )
            out.append(self._with_entity(df))
        detail = pl.concat([d.select(list(DETAIL_SCHEMA)) for d in out]) if out else pl.DataFrame(schema=DETAIL_SCHEMA)
        return detail.cast(DETAIL_SCHEMA).sort("rate_id", "member_id", "index_date", "event_id")

    def _with_entity(self, df: pl.DataFrame) -> pl.DataFrame:
        att = self.ctx.attribution
        if att is None:
            return df.with_columns(pl.lit(None, dtype=pl.String).alias("entity_id"))
        keys = df.select("event_id", "member_id", "index_date").unique("event_id")
        hit = keys.join(att, on="member_id").filter(pl.col("index_date").is_between(pl.col("start_date"), pl.col("end_date")))
        hit = hit.sort("event_id", "start_date", "entity_id", descending=[False, True, False]).group_by("event_id").first()
        return df.join(hit.select("event_id", "entity_id"), on="event_id", how="left")

    def summary(self, detail: pl.DataFrame) -> pl.DataFrame:
        with_age = detail.join(self.ctx.members.select("member_id", "birth_date"), on="member_id", how="left").with_columns(
            steps.age_at(pl.col("index_date"), pl.col("birth_date")).alias("_age"))
        counts = [
            pl.col("denominator").sum().cast(pl.Int64).alias("denominator"),
            pl.col("numerator").sum().cast(pl.Int64).alias("numerator"),
            pl.col("excluded").sum().cast(pl.Int64).alias("exclusions"),
        ]
        parts: list[pl.DataFrame] = []
        rates = [r.id for r in self.spec.populations.rates]
        base = pl.DataFrame({"rate_id": rates})
        total = base.join(with_age.group_by("rate_id").agg(counts), on="rate_id", how="left").with_columns(
            pl.lit("total").alias("stratifier"), pl.lit("total").alias("stratum"))
        parts.append(total)
        bands = self.spec.stratifiers.age_band
        if bands:
            band = pl.lit(None, dtype=pl.String)
            for b in reversed(bands):
                cond = pl.lit(True)
                if b.min is not None:
                    cond = cond & (pl.col("_age") >= b.min)
                if b.max is not None:
                    cond = cond & (pl.col("_age") <= b.max)
                band = pl.when(cond).then(pl.lit(b.label)).otherwise(band)
            grid = base.join(pl.DataFrame({"stratum": [b.label for b in bands]}), how="cross", maintain_order="left_right")
            by_band = with_age.with_columns(band.alias("stratum")).group_by("rate_id", "stratum").agg(counts)
            parts.append(grid.join(by_band, on=["rate_id", "stratum"], how="left").with_columns(pl.lit("age_band").alias("stratifier")))
        if self.ctx.attribution is not None:
            by_entity = with_age.filter(pl.col("entity_id").is_not_null()).group_by("rate_id", "entity_id").agg(counts)
            parts.append(by_entity.rename({"entity_id": "stratum"}).with_columns(pl.lit("entity").alias("stratifier")))
        cols = ["rate_id", "stratifier", "stratum", "denominator", "numerator", "exclusions"]
        out = pl.concat([p.select(cols) for p in parts]).with_columns(
            pl.col("denominator", "numerator", "exclusions").fill_null(0))
        order = {r: i for i, r in enumerate(rates)}
        strat_order = {"total": 0, "age_band": 1, "entity": 2}
        band_order = {b.label: i for i, b in enumerate(bands)}
        out = out.with_columns(
            pl.lit(self.spec.id).alias("measure_id"),
            pl.when(pl.col("denominator") > 0).then(pl.col("numerator") / pl.col("denominator")).alias("rate"),
            pl.col("rate_id").replace_strict(order, return_dtype=pl.Int32).alias("_o1"),
            pl.col("stratifier").replace_strict(strat_order, return_dtype=pl.Int32).alias("_o2"),
            pl.col("stratum").replace_strict(band_order, default=None, return_dtype=pl.Int32).alias("_o3"),
        ).sort("_o1", "_o2", "_o3", "stratum", nulls_last=True)
        return out.select(list(SUMMARY_SCHEMA)).cast(SUMMARY_SCHEMA)
