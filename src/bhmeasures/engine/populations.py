"""From a measure run to its detail rows and its additive partial counts; from merged partials to rates.

Partials are integer counts keyed by (measure, rate, stratifier, stratum). Summing the partials of member
buckets gives exactly the partials of one run over all members (no unit spans two members), and rates are
computed only after that merge (`finalize`), so a cluster of workers and a single machine agree.
"""

from __future__ import annotations

import polars as pl

from bhmeasures.engine.exprs import KEY, age_at, date_of
from bhmeasures.engine.run import MeasureRun
from bhmeasures.plan.model import MeasurePlan
from bhmeasures.spec.dates import parse_date_expr

DETAIL_SCHEMA = pl.Schema({
    "measure_id": pl.String, "rate_id": pl.String, "member_id": pl.String, "event_id": pl.String,
    "index_date": pl.Date, "denominator": pl.Boolean, "numerator": pl.Boolean, "excluded": pl.Boolean,
    "reason": pl.String, "evidence_claim_id": pl.String, "evidence_date": pl.Date, "entity_id": pl.String,
    "exception": pl.Boolean,
})
COUNTS = ("initial_population", "denominator", "numerator", "exclusions", "exceptions")
PARTIAL_SCHEMA = pl.Schema({"measure_id": pl.String, "rate_id": pl.String, "stratifier": pl.String, "stratum": pl.String,
                            **dict.fromkeys(COUNTS, pl.Int64)})
SUMMARY_SCHEMA = pl.Schema({
    "measure_id": pl.String, "rate_id": pl.String, "stratifier": pl.String, "stratum": pl.String,
    "denominator": pl.Int64, "numerator": pl.Int64, "exclusions": pl.Int64, "rate": pl.Float64,
    "initial_population": pl.Int64, "exceptions": pl.Int64, "scoring": pl.String,
})
# what a rate is: numerator / denominator times this (PMPM numerators are cents, rates dollars)
SCALE = {"proportion": 1.0, "per_1000_member_months": 1000.0, "per_member_per_month": 0.01}


def _set_keys(run: MeasureRun, name: str) -> list[str]:
    return list(KEY) if run.produces(name) == "events" else ["member_id"]


def rate_detail(run: MeasureRun, rate_id: str) -> pl.DataFrame:
    """One row per candidate unit of a rate: did it reach the denominator, the numerator, and why not."""
    plan = run.plan
    pops = plan.populations
    rate = next(r for r in pops.rates if r.id == rate_id)
    path = plan.paths[rate_id]
    frames = [run.events(n).select(*KEY, "claim_id", "index_date") for n in path]
    candidates = pl.concat(frames).unique(KEY, keep="first", maintain_order=True)
    ip = run.events(pops.initial_population).select(*KEY, pl.lit(True).alias("_in_ip"))
    reasons, removers = [], []
    for i, name in enumerate(path[1:]):
        dropped = run.get(name).dropped
        if dropped is None or dropped.is_empty():
            continue
        candidates = candidates.join(dropped.rename({"reason": f"_r{i}", "removed_by": f"_b{i}"}), on=KEY, how="left")
        reasons.append(f"_r{i}")
        removers.append(pl.when(pl.col(f"_r{i}").is_not_null()).then(pl.col(f"_b{i}").fill_null("")))
    den = run.events(rate.denominator or pops.denominator).select(*KEY, pl.lit(True).alias("_in_den"))
    numer = run.events(rate.numerator)
    evidence_cols = [c for c in ("evidence_claim_id", "evidence_date") if c in numer.columns]
    amount = pl.col("paid_cents") if "paid_cents" in numer.columns else pl.lit(None, dtype=pl.Int64)
    num = numer.select(*KEY, pl.lit(True).alias("_num"), *evidence_cols, amount.cast(pl.Int64).alias("_amount"))
    df = candidates.join(ip, on=KEY, how="left").join(den, on=KEY, how="left").join(num, on=KEY, how="left")
    for c in ("evidence_claim_id", "evidence_date"):
        if c not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=DETAIL_SCHEMA[c]).alias(c))
    in_den = pl.col("_in_den").fill_null(False)
    in_num = in_den & pl.col("_num").fill_null(False)
    # exceptions leave the denominator unless the unit meets the numerator
    exc_reason = pl.lit(None, dtype=pl.String)
    for name in reversed(pops.denominator_exceptions):
        keys = _set_keys(run, name)
        hit = run.get(name).frame.select(keys).unique().with_columns(pl.lit(True).alias(f"_x_{name}"))
        df = df.join(hit, on=keys, how="left")
        exc_reason = pl.when(pl.col(f"_x_{name}").fill_null(False)).then(pl.lit(run.reason_of(name))).otherwise(exc_reason)
    exception = in_den & ~in_num & exc_reason.is_not_null()
    first_reason = pl.coalesce(reasons) if reasons else pl.lit(None, dtype=pl.String)
    removed_by = pl.coalesce(removers) if removers else pl.lit(None, dtype=pl.String)
    exclusions = list(pops.denominator_exclusions)
    df = df.with_columns(
        pl.lit(plan.measure_id).alias("measure_id"), pl.lit(rate_id).alias("rate_id"),
        (in_den & ~exception).alias("denominator"),
        (in_num).alias("numerator"),
        pl.when(in_den).then(False).otherwise(removed_by.is_in(exclusions).fill_null(False)).alias("excluded"),
        pl.when(exception).then(exc_reason).when(in_den).then(None).otherwise(first_reason).alias("reason"),
        exception.alias("exception"),
        pl.col("_in_ip").fill_null(False).alias("_in_ip"),
    ).with_columns(
        # a numerator met without separate evidence (the unit itself qualifies) shows the unit's own claim
        pl.when(pl.col("numerator")).then(pl.coalesce("evidence_claim_id", "claim_id")).alias("evidence_claim_id"),
        pl.when(pl.col("numerator")).then(pl.coalesce("evidence_date", "index_date")).alias("evidence_date"),
    )
    return df


def _entity(run: MeasureRun, df: pl.DataFrame) -> pl.DataFrame:
    att = run.data.attribution
    if att is None:
        return df.with_columns(pl.lit(None, dtype=pl.String).alias("entity_id"))
    keys = df.select(*KEY, "index_date").unique(KEY)
    hit = keys.join(att, on="member_id").filter(pl.col("index_date").is_between(pl.col("start_date"), pl.col("end_date")))
    hit = hit.sort(*KEY, "start_date", "entity_id", descending=[False, False, True, False]).group_by(KEY).first()
    return df.join(hit.select(*KEY, "entity_id"), on=KEY, how="left")


def measure_detail(run: MeasureRun) -> pl.DataFrame:
    """Detail rows of every rate, with the internal columns strata need (dropped before writing)."""
    parts = [rate_detail(run, r.id) for r in run.plan.populations.rates]
    df = _entity(run, pl.concat(parts, how="diagonal_relaxed"))
    return df


def strata(run: MeasureRun, detail: pl.DataFrame) -> pl.DataFrame:
    """Rows (rate_id, KEY, the unit's flags, stratifier, stratum): the total, age band, define, member attribute
    and entity strata of every detail row."""
    plan = run.plan
    base = detail.select("rate_id", *KEY, "index_date", "entity_id", "denominator", "numerator", "excluded", "exception",
                         "_in_ip")
    flags = ["denominator", "numerator", "excluded", "exception", "_in_ip"]
    out = [base.select("rate_id", *KEY, *flags, pl.lit("total").alias("stratifier"), pl.lit("total").alias("stratum"))]
    bands = plan.stratifiers.age_band
    if bands is not None:
        on = parse_date_expr(bands.at)
        df = base.join(run.data.members.select("member_id", "birth_date"), on="member_id", how="left")
        if not on.is_calendar and on.base != "index_date":
            dates = pl.concat([run.events(n).select(*KEY, on.base) for n in plan.paths[plan.populations.rates[0].id]
                               if on.base in run.events(n).columns]).unique(KEY, keep="first")
            df = df.join(dates, on=KEY, how="left")
        age = age_at(date_of(on, plan.year), pl.col("birth_date"))
        band = pl.lit(None, dtype=pl.String)
        for b in reversed(bands.bands):
            cond = pl.lit(True)
            if b.min is not None:
                cond = cond & (age >= b.min)
            if b.max is not None:
                cond = cond & (age <= b.max)
            band = pl.when(cond).then(pl.lit(b.label)).otherwise(band)
        out.append(df.select("rate_id", *KEY, *flags, pl.lit("age_band").alias("stratifier"), band.alias("stratum"))
                   .filter(pl.col("stratum").is_not_null()))
    for strat, defines in plan.stratifiers.by_define.items():
        for label, ref in defines.items():
            members = run.events(ref).select(KEY).unique()
            out.append(base.join(members, on=KEY, how="semi").select(
                "rate_id", *KEY, *flags, pl.lit(strat).alias("stratifier"), pl.lit(label).alias("stratum")))
    spans = run.data.spans
    for column in plan.stratifiers.member_attributes:
        if column not in spans.columns:
            continue
        covering = base.select(*KEY, "index_date").unique(KEY).join(
            spans.select("member_id", "enrollment_start_date", "enrollment_end_date", column), on="member_id").filter(
            pl.col("index_date").is_between(pl.col("enrollment_start_date"), pl.col("enrollment_end_date"))).sort(
            *KEY, "enrollment_start_date", descending=[False, False, True]).group_by(KEY).first()
        out.append(base.join(covering.select(*KEY, column), on=KEY, how="inner").filter(pl.col(column).is_not_null()).select(
            "rate_id", *KEY, *flags, pl.lit(column).alias("stratifier"), pl.col(column).cast(pl.String).str.to_lowercase()
            .alias("stratum")))
    if run.data.attribution is not None:
        out.append(base.filter(pl.col("entity_id").is_not_null()).select(
            "rate_id", *KEY, *flags, pl.lit("entity").alias("stratifier"), pl.col("entity_id").alias("stratum")))
    return pl.concat(out)


def member_months(run: MeasureRun) -> pl.DataFrame:
    """Per member set member and month of the year enrolled on its first day (medical benefit): the stratum keys
    (total, age band on that day, member attributes and entity of that day) of each member month."""
    plan = run.plan
    members = run.get(plan.populations.member_months or "").frame.select("member_id").unique()
    months = pl.DataFrame({"month": pl.date_range(plan.period[0], plan.period[1], "1mo", eager=True)})
    spans = run.data.spans.join(members, on="member_id", how="semi").filter(pl.col("medical_benefit").fill_null(True))
    covered = spans.join(months, how="cross").filter(
        pl.col("month").is_between(pl.col("enrollment_start_date"), pl.col("enrollment_end_date"))).sort(
        "member_id", "month", "enrollment_start_date", descending=[False, False, True]).unique(
        ["member_id", "month"], keep="first", maintain_order=True)
    out = [covered.select("member_id", pl.lit("total").alias("stratifier"), pl.lit("total").alias("stratum")).drop("member_id")]
    bands = plan.stratifiers.age_band
    if bands is not None:
        on = parse_date_expr(bands.at)
        at = date_of(on, plan.year) if on.is_calendar else pl.col("month")
        df = covered.join(run.data.members.select("member_id", "birth_date"), on="member_id", how="left")
        age = age_at(at, pl.col("birth_date"))
        band = pl.lit(None, dtype=pl.String)
        for b in reversed(bands.bands):
            cond = pl.lit(True)
            if b.min is not None:
                cond = cond & (age >= b.min)
            if b.max is not None:
                cond = cond & (age <= b.max)
            band = pl.when(cond).then(pl.lit(b.label)).otherwise(band)
        out.append(df.select(pl.lit("age_band").alias("stratifier"), band.alias("stratum")).drop_nulls())  # band is per row
    for column in plan.stratifiers.member_attributes:
        if column in covered.columns:
            out.append(covered.filter(pl.col(column).is_not_null()).select(
                pl.lit(column).alias("stratifier"), pl.col(column).cast(pl.String).str.to_lowercase().alias("stratum")))
    att = run.data.attribution
    if att is not None:
        hit = covered.select("member_id", "month").join(att, on="member_id").filter(
            pl.col("month").is_between(pl.col("start_date"), pl.col("end_date"))).sort(
            "member_id", "month", "start_date", descending=[False, False, True]).unique(["member_id", "month"], keep="first")
        out.append(hit.select(pl.lit("entity").alias("stratifier"), pl.col("entity_id").alias("stratum")))
    return pl.concat(out).group_by("stratifier", "stratum").agg(pl.len().cast(pl.Int64).alias("member_months"))


def partials(run: MeasureRun, detail: pl.DataFrame) -> pl.DataFrame:
    """Additive integer counts per (measure, rate, stratifier, stratum)."""
    rows = strata(run, detail)
    pops = run.plan.populations
    numerator = pl.col("numerator").sum()
    if pops.scoring == "per_member_per_month":
        # the numerator is the paid amount of the numerator's events, in cents
        rows = rows.join(detail.select("rate_id", *KEY, "_amount").unique(["rate_id", *KEY]), on=["rate_id", *KEY], how="left")
        numerator = pl.col("_amount").filter(pl.col("numerator")).sum()
    counts = rows.group_by("rate_id", "stratifier", "stratum").agg(
        pl.col("_in_ip").sum().alias("initial_population"), pl.col("denominator").sum(), numerator.alias("numerator"),
        pl.col("excluded").sum().alias("exclusions"), pl.col("exception").sum().alias("exceptions"))
    if pops.scoring != "proportion":
        # the denominator is member months, not units
        mm = member_months(run)
        grid = pl.DataFrame({"rate_id": [r.id for r in pops.rates]}).join(mm, how="cross")
        counts = grid.join(counts.drop("denominator"), on=["rate_id", "stratifier", "stratum"], how="full", coalesce=True)\
            .rename({"member_months": "denominator"}).with_columns(pl.col(list(COUNTS)).fill_null(0))
    # every rate has its total row, zero or not, so merged partials know every measure that was computed
    totals = pl.DataFrame({"rate_id": [r.id for r in run.plan.populations.rates]}).with_columns(
        pl.lit("total").alias("stratifier"), pl.lit("total").alias("stratum"))
    counts = totals.join(counts, on=["rate_id", "stratifier", "stratum"], how="full", coalesce=True).with_columns(
        pl.col(list(COUNTS)).fill_null(0))
    return counts.with_columns(pl.lit(run.plan.measure_id).alias("measure_id")).select(list(PARTIAL_SCHEMA)).cast(PARTIAL_SCHEMA)


def merge_partials(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """Partials of member buckets summed: the partials of all members."""
    if not parts:
        return pl.DataFrame(schema=PARTIAL_SCHEMA)
    both = pl.concat(parts)
    return both.group_by("measure_id", "rate_id", "stratifier", "stratum").agg(pl.col(c).sum() for c in COUNTS).cast(PARTIAL_SCHEMA)


def finalize(partials: pl.DataFrame, plans: list[MeasurePlan]) -> pl.DataFrame:
    """The summary: every plan's total and fixed strata (zeros where no unit fell), the observed others, and
    each rate computed once from the merged counts. Sorted so the bytes are reproducible."""
    out = []
    for plan in plans:
        rates = [r.id for r in plan.populations.rates]
        fixed: list[tuple[str, str]] = [("total", "total")]
        if plan.stratifiers.age_band is not None:
            fixed += [("age_band", b.label) for b in plan.stratifiers.age_band.bands]
        for strat, defines in plan.stratifiers.by_define.items():
            fixed += [(strat, label) for label in defines]
        grid = pl.DataFrame({"rate_id": rates}).join(
            pl.DataFrame({"stratifier": [f[0] for f in fixed], "stratum": [f[1] for f in fixed],
                          "_o2": list(range(len(fixed)))}), how="cross", maintain_order="left_right")
        mine = partials.filter(pl.col("measure_id") == plan.measure_id)
        # strata seen in the data (entities, payer types...) after the fixed ones, grouped by stratifier
        strat_order = {s: len(fixed) + i for i, s in enumerate([*plan.stratifiers.member_attributes, "entity"])}
        observed = mine.filter(~pl.col("stratifier").is_in(list({f[0] for f in fixed}))).select(
            "rate_id", "stratifier", "stratum",
            pl.col("stratifier").replace_strict(strat_order, default=len(fixed) + len(strat_order), return_dtype=pl.Int64)
            .alias("_o2"))
        keys = pl.concat([grid.cast({"_o2": pl.Int64}), observed])
        df = keys.join(mine.drop("measure_id"), on=["rate_id", "stratifier", "stratum"], how="left").with_columns(
            pl.col(list(COUNTS)).fill_null(0))
        order = {r: i for i, r in enumerate(rates)}
        scoring = plan.populations.scoring
        df = df.with_columns(
            pl.lit(plan.measure_id).alias("measure_id"), pl.lit(scoring).alias("scoring"),
            pl.when(pl.col("denominator") > 0).then(pl.col("numerator") * SCALE[scoring] / pl.col("denominator")).alias("rate"),
            pl.col("rate_id").replace_strict(order, return_dtype=pl.Int64).alias("_o1"),
        ).sort("_o1", "_o2", "stratum")
        out.append(df.select(list(SUMMARY_SCHEMA)).cast(SUMMARY_SCHEMA))
    return pl.concat(out) if out else pl.DataFrame(schema=SUMMARY_SCHEMA)


def public_detail(detail: pl.DataFrame) -> pl.DataFrame:
    return detail.select(list(DETAIL_SCHEMA)).cast(DETAIL_SCHEMA).sort("rate_id", "member_id", "index_date", "event_id")
