"""Which members a run keeps: only those the scan kept a claim line, fill or observation of, unless some measure's
units come from eligibility (birthdays, every enrolled member) or its denominator is member months. A step that
only reads eligibility about members (who died, who was enrolled) narrows events, and needs no other member."""

from __future__ import annotations

import polars as pl

import bhmeasures
from bhmeasures import api
from bhmeasures.bundled import sample_dir
from bhmeasures.engine.compute import prepare

CLAIM_BASED = ["FUH", "FUA", "FUM", "IET"]  # each has a "Members Who Died" exclusion read from eligibility


def _members_kept(measures: list[str]) -> tuple[int, int, int]:
    inputs = bhmeasures.open_inputs(sample_dir())
    loaded, library = api.prepare_specs(None, None, measures)
    data = prepare(inputs, api.plans(loaded, library, 2025), library, 2025, lambda _m: None, {})
    enrolled = inputs.frames["eligibility"].select(pl.col("member_id").n_unique()).collect().item()
    scanned = pl.concat([data.lines.select("member_id"), data.rx.select("member_id")]).n_unique()
    return data.members.height, scanned, enrolled


def test_claim_based_measures_keep_the_members_the_scan_kept_something_of() -> None:
    kept, scanned, enrolled = _members_kept(CLAIM_BASED)
    assert kept <= scanned < enrolled
    kept, _, enrolled = _members_kept([*CLAIM_BASED, "DEV"])  # DEV's units are birthdays of enrolled members
    assert kept == enrolled


def test_results_do_not_depend_on_which_members_a_run_keeps() -> None:
    inputs = bhmeasures.open_inputs(sample_dir())
    alone = bhmeasures.compute(inputs, year=2025, measures=CLAIM_BASED)
    with_every_member = bhmeasures.compute(inputs, year=2025, measures=[*CLAIM_BASED, "DEV"])
    keys = ["measure_id", "rate_id", "member_id", "event_id"]
    theirs = with_every_member.detail.filter(pl.col("measure_id").is_in(CLAIM_BASED))
    assert alone.detail.height and alone.detail.sort(keys).equals(theirs.sort(keys))
    strata = ["measure_id", "rate_id", "stratifier", "stratum"]
    assert alone.summary.sort(strata).equals(with_every_member.summary.filter(pl.col("measure_id").is_in(CLAIM_BASED)).sort(strata))
