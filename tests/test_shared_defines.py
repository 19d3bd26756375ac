"""A define two measures of a run have alike (same name, kind, step, reason, roles, year and inputs alike, as a
variant's defines are its base measure's) is computed once, and every measure's results are what it gets alone."""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest

import bhmeasures
from bhmeasures import api
from bhmeasures.bundled import sample_dir
from bhmeasures.kinds.stays import StaysKind
from bhmeasures.plan.model import node_keys

TOGETHER = ["FUH", "FUM", "CO-FUH", "FUA", "CO-FUA", "IET"]


def test_measures_computed_together_give_what_each_gives_alone() -> None:
    inputs = bhmeasures.open_inputs(sample_dir())
    together = bhmeasures.compute(inputs, year=2025, measures=TOGETHER)
    keys = ["rate_id", "member_id", "event_id"]
    strata = ["rate_id", "stratifier", "stratum"]
    for measure in TOGETHER:
        alone = bhmeasures.compute(inputs, year=2025, measures=[measure])
        mine = pl.col("measure_id") == measure
        assert alone.detail.height
        assert alone.detail.sort(keys).equals(together.detail.filter(mine).sort(keys)), measure
        assert alone.summary.sort(strata).equals(together.summary.filter(mine).sort(strata)), measure


def test_a_define_several_measures_share_is_computed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = StaysKind.evaluate

    def counted(self: StaysKind, node: object, run: object) -> object:
        calls.append(node.name)  # type: ignore[attr-defined]
        return real(self, node, run)  # type: ignore[arg-type]

    monkeypatch.setattr(StaysKind, "evaluate", counted)
    bhmeasures.compute(bhmeasures.open_inputs(sample_dir()), year=2025, measures=["FUH", "FUM", "CO-FUH"])
    assert calls.count("Inpatient Stays") == 1


def test_a_define_differs_when_anything_it_depends_on_differs() -> None:
    loaded, library = api.prepare_specs(None, None, ["FUH", "FUM"])
    fuh, fum = api.plans(loaded, library, 2025)
    assert node_keys(fuh)["Inpatient Stays"] == node_keys(fum)["Inpatient Stays"]
    # same name and step, another year
    assert node_keys(api.plans(loaded, library, 2024)[0])["Inpatient Stays"] != node_keys(fuh)["Inpatient Stays"]
    # a define reading a define that differs differs too, even with its own step unchanged
    nodes = dict(fuh.nodes)
    stays = nodes["Inpatient Stays"]
    nodes["Inpatient Stays"] = dataclasses.replace(stays, reason=stays.reason + " (edited)")
    edited = dataclasses.replace(fuh, nodes=nodes)
    assert node_keys(edited)["Acute Inpatient Stays"] != node_keys(fuh)["Acute Inpatient Stays"]
    assert node_keys(edited)["Members Who Died"] == node_keys(fuh)["Members Who Died"]
