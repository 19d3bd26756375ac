"""`episodes`: treatment episodes built from visits and inpatient stays (IET's SUD episodes).

Stays chain into one episode when each is admitted within `transfer_within_days` after the previous
discharge (direct transfers): the episode is dated on the last discharge and looks back for history from
the first admission. A chain is an episode when one of its stays is in `stays` (its claims, whose
diagnoses decide cohorts, are then the first such stay's), or when a visit leads to it or falls in it. A
visit of `leading_visits` on an admission date or up to `visit_leads_to_stay_within_days` before it
leads to that stay: the chain's discharge becomes the episode, with the visit's claims (the stay needs
no qualifying diagnosis), and history is looked back from the visit. A visit dated during a stay
(withdrawal management billed on the inpatient claim) is part of that stay's episode too. Other visits
are episodes on their own date.

Each episode carries `admission_date` (first admission; null for a visit), `history_date` (the date the
look-back starts from) and `from_stay` (true when dated by a discharge).
"""

from __future__ import annotations

from typing import Any

import polars as pl
from pydantic import Field

from bhmeasures.kinds.base import StepKind, StepResult, register
from bhmeasures.kinds.events import EVENT_SCHEMA
from bhmeasures.kinds.transfer_chains import stay_chains
from bhmeasures.spec.base import StepModel

EPISODE_SCHEMA = {**EVENT_SCHEMA, "admission_date": pl.Date, "history_date": pl.Date, "from_stay": pl.Boolean}


class Episodes(StepModel):
    visits: str
    stays: str
    all_stays: str
    leading_visits: str | None = None
    visit_leads_to_stay_within_days: int = Field(default=1, ge=0)
    transfer_within_days: int = Field(default=1, ge=0)


@register
class EpisodesKind(StepKind):
    key = "episodes"
    model = Episodes
    summary = "episodes from visits and inpatient stays"

    def inputs(self, step: Episodes) -> list[str]:
        return [step.visits, step.stays, step.all_stays, *([step.leading_visits] if step.leading_visits else [])]

    def dates(self, step: Any, input_dates: Any) -> set[str]:
        return {"index_date", "start_date", "end_date", "admission_date", "history_date"}

    def describe(self, node: Any, year: int) -> list[str]:
        s: Episodes = node.step
        out = [f"stays of '{s.all_stays}' admitted within {s.transfer_within_days} day(s) after a discharge are one "
               "chain (direct transfers), dated on the last discharge; history from the first admission",
               f"chains with a stay in '{s.stays}' are episodes, with that (first such) stay's claims"]
        if s.leading_visits:
            out.append(f"a visit of '{s.leading_visits}' on an admission date or up to {s.visit_leads_to_stay_within_days} "
                       "day(s) before it makes that chain its episode, with the visit's claims; history from the visit")
        out.append(f"other visits of '{s.visits}' are episodes on their own date")
        return out

    def evaluate(self, node: Any, run: Any) -> StepResult:
        s: Episodes = node.step
        chains = stay_chains(run.events(s.all_stays), s.transfer_within_days)
        # a chain is an episode when one of its stays is in `stays`; its claims are the first such stay's
        qualifying = run.events(s.stays).select("member_id", pl.col("event_id").alias("stay_id"), pl.lit(True).alias("_q"))
        per_stay = chains.select("member_id", "chain", "stay_ids", "stay_claims", "admission_date").explode(
            "stay_ids", "stay_claims").rename({"stay_ids": "stay_id", "stay_claims": "claims"})
        stay_episodes = per_stay.join(qualifying, on=["member_id", "stay_id"], how="inner", maintain_order="left").group_by(
            "member_id", "chain", maintain_order=True).agg(pl.col("claims").first(), pl.col("admission_date").first()
                                                           .alias("history_date"))

        visits = run.events(s.visits)
        led = pl.DataFrame(schema={"member_id": pl.String, "chain": pl.Int64, "claims": pl.List(pl.String),
                                   "history_date": pl.Date, "v_id": pl.String})
        if s.leading_visits:
            leading = run.events(s.leading_visits).join(visits.select("member_id", "event_id"), on=["member_id", "event_id"],
                                                        how="semi")
            led = leading.select("member_id", pl.col("event_id").alias("v_id"), pl.col("claims"),
                                 pl.col("index_date").alias("v_date")).join(
                chains.select("member_id", "chain", "admission_date"), on="member_id").filter(
                (pl.col("admission_date") - pl.col("v_date")).dt.total_days().is_between(0, s.visit_leads_to_stay_within_days)
            ).sort("member_id", "v_date", "v_id", "admission_date").unique(["member_id", "v_id"], keep="first",
                                                                         maintain_order=True).select(
                "member_id", "chain", "claims", pl.col("v_date").alias("history_date"), "v_id")
        # visits dated during a stay of a chain belong to its episode
        inside = visits.select("member_id", pl.col("event_id").alias("v_id"), "claims", pl.col("index_date").alias("v_date")).join(
            chains.select("member_id", "chain", "admission_date", "discharge_date"), on="member_id").filter(
            pl.col("v_date").is_between(pl.col("admission_date"), pl.col("discharge_date"))).select(
            "member_id", "chain", "claims", pl.col("admission_date").alias("history_date"), "v_id")
        led = pl.concat([led, inside.join(led.select("member_id", "v_id"), on=["member_id", "v_id"], how="anti")],
                        how="vertical_relaxed")
        # a chain reached by visits or qualifying itself: claims of all, history from the earliest
        from_chains = pl.concat([stay_episodes, led.drop("v_id")], how="vertical_relaxed").group_by("member_id", "chain").agg(
            pl.col("claims").explode().unique(maintain_order=True), pl.col("history_date").min())
        chain_events = from_chains.join(chains, on=["member_id", "chain"]).select(
            pl.lit("medical_claim").alias("source"), "member_id", pl.col("last_id").alias("event_id"),
            pl.col("last_claim").alias("claim_id"), "claims", pl.col("admission_date").alias("start_date"),
            pl.col("discharge_date").alias("end_date"), pl.col("discharge_date").alias("index_date"), "provider",
            pl.lit(1, dtype=pl.Int64).alias("units"), "admission_date", "history_date", pl.lit(True).alias("from_stay"))
        visit_events = visits.join(led.select("member_id", pl.col("v_id").alias("event_id")), on=["member_id", "event_id"],
                                   how="anti").select(
            *EVENT_SCHEMA, pl.lit(None, dtype=pl.Date).alias("admission_date"), pl.col("index_date").alias("history_date"),
            pl.lit(False).alias("from_stay"))
        out = pl.concat([chain_events.cast(EPISODE_SCHEMA), visit_events.cast(EPISODE_SCHEMA)])
        return StepResult(out.sort("member_id", "index_date", "event_id"))
