"""Properties of FUH, FUA and FUM over small generated populations (Hypothesis profiles: tests/conftest.py).

Populations are built as decks (plain dicts) and turned into all-string frames by deckutil, exactly as
the YAML decks are. Each example has at most 8 members with a few stays, ED visits, follow-up visits and
fills placed near each other so that windows, readmissions, exclusions and de-duplication all get hit.

Profiles (env BHM_HYPOTHESIS_PROFILE): "ci" (default, 40 examples), "dev" (10), "thorough" (300).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl
from deckutil import check_invariants, deck_frames
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import bhmeasures

MEASURES = ["FUH", "FUA", "FUM"]
YEAR = 2025
BASE = date(2024, 12, 1)  # day 0 of generated dates; the measurement year is days 31..395
WINDOW = {"FUH": (1, {"7": 7, "30": 30}), "FUA": (0, {"7": 7, "30": 30}), "FUM": (0, {"7": 7, "30": 30})}

_ACUTE = {"bill_type_code": "111", "revenue_center_code": "0100"}
STAYS: dict[str, dict[str, str]] = {
    "acute_mi": {**_ACUTE, "diagnosis_code_1": "F32.9"},
    "acute_selfharm": {**_ACUTE, "diagnosis_code_1": "S61.512A", "diagnosis_code_2": "X78.9XXA"},
    "acute_sud": {**_ACUTE, "diagnosis_code_1": "F10.20"},
    "acute_other": {**_ACUTE, "diagnosis_code_1": "I21.9"},
    "snf": {"bill_type_code": "211", "revenue_center_code": "0022", "diagnosis_code_1": "M62.81"},
    "psych_res": {"bill_type_code": "861", "revenue_center_code": "1001", "diagnosis_code_1": "F32.9"},
}
EDS: dict[str, dict[str, str]] = {
    "ed_sud": {"hcpcs_code": "99284", "place_of_service_code": "23", "diagnosis_code_1": "F10.20"},
    "ed_overdose": {"hcpcs_code": "99285", "place_of_service_code": "23", "diagnosis_code_1": "R41.82",
                    "diagnosis_code_2": "T40.1X1A"},
    "ed_mi": {"hcpcs_code": "99285", "place_of_service_code": "23", "diagnosis_code_1": "F32.9"},
    "ed_selfharm": {"hcpcs_code": "99283", "place_of_service_code": "23", "diagnosis_code_1": "S61.512A",
                    "diagnosis_code_2": "X78.9XXA"},
    "ed_other": {"hcpcs_code": "99283", "place_of_service_code": "23", "diagnosis_code_1": "I10"},
    "ed_facility": {"bill_type_code": "131", "revenue_center_code": "0450", "diagnosis_code_1": "F11.20"},
}
VISITS: dict[str, dict[str, str]] = {
    "op_mh": {"hcpcs_code": "99213", "place_of_service_code": "11", "diagnosis_code_1": "F32.9"},
    "op_sud": {"hcpcs_code": "99213", "place_of_service_code": "11", "diagnosis_code_1": "F10.20"},
    "op_plain": {"hcpcs_code": "99213", "place_of_service_code": "11", "diagnosis_code_1": "I10"},
    "op_mh_provider": {"hcpcs_code": "99214", "place_of_service_code": "11", "diagnosis_code_1": "Z00.00",
                       "rendering_taxonomy_code": "2084P0800X"},
    "iop": {"hcpcs_code": "90853", "place_of_service_code": "52", "diagnosis_code_1": "Z00.00"},
    "telehealth_mh": {"hcpcs_code": "90834", "place_of_service_code": "02", "diagnosis_code_1": "F33.1"},
    "peer_sud": {"hcpcs_code": "H0038", "diagnosis_code_1": "F11.20"},
    "lab": {"hcpcs_code": "80307", "place_of_service_code": "81", "diagnosis_code_1": "Z71.51"},
    "residential_55": {"hcpcs_code": "99310", "place_of_service_code": "55", "diagnosis_code_1": "F10.20"},
}
# the visits that are follow-up for most measures come up more often
FREQUENT_VISITS = sorted(VISITS) + ["op_mh", "op_sud", "op_sud", "peer_sud"]
HOSPICE = {"hcpcs_code": "Q5003", "diagnosis_code_1": "C34.90"}
NDCS = {"buprenorphine": "00054017613", "acamprosate": "00093535286", "amitriptyline": "00378261001"}
# a visit that is follow-up for all three measures: outpatient, substance-use (hence mental-health) diagnosis
QUALIFYING = VISITS["op_sud"]


def day(n: int) -> date:
    return BASE + timedelta(days=n)


# -- populations -------------------------------------------------------------------------------------
@st.composite
def members_and_claims(draw: st.DrawFn, member_id: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {"members": [], "medical_claim": [], "pharmacy_claim": [], "attribution": []}
    # ages near the 6 / 13 / 18 / 65 boundaries as well as ordinary adults
    birth_year = draw(st.sampled_from([2019, 2012, 2007, 1990, 1990, 1990, 1960, 1960]))
    member: dict[str, Any] = {"member_id": member_id,
                              "birth_date": date(birth_year, draw(st.integers(1, 12)), draw(st.integers(1, 28)))}
    coverage = draw(st.sampled_from(["full"] * 5 + ["gap", "ends", "no_mh"]))
    if coverage == "gap":
        at, length = draw(st.integers(30, 390)), draw(st.integers(1, 3))
        member["enrollment"] = [[day(0), day(at)], [day(at + length + 1), day(426)]]
    elif coverage == "ends":
        member["enrollment"] = [[day(0), day(draw(st.integers(40, 420)))]]
    elif coverage == "no_mh":
        member["mh_benefit"] = "false"
    if draw(st.integers(0, 7)) == 0:
        member["death_date"] = day(draw(st.integers(31, 420)))
    out["members"].append(member)
    if draw(st.integers(0, 7)) == 0:
        out["medical_claim"].append({"claim_id": f"{member_id}-HOS", "member_id": member_id,
                                     "claim_start_date": day(draw(st.integers(0, 420))), **HOSPICE})
    entity = draw(st.sampled_from([None, "E1", "E2"]))
    if entity:
        out["attribution"].append({"member_id": member_id, "entity_id": entity, "start_date": day(0), "end_date": day(426)})

    anchors: list[int] = []
    for i in range(draw(st.integers(1, 3))):
        start = draw(st.one_of(st.integers(31, 365), st.integers(20, 400)))  # mostly Jan 1 - Dec 1
        if draw(st.booleans()):
            kind = draw(st.sampled_from(sorted(STAYS)))
            end = start + draw(st.integers(0, 8))
            out["medical_claim"].append({"claim_id": f"{member_id}-S{i}", "member_id": member_id,
                                         "admission_date": day(start), "discharge_date": day(end), **STAYS[kind]})
            anchors.append(end)
        else:
            kind = draw(st.sampled_from(sorted(EDS)))
            out["medical_claim"].append({"claim_id": f"{member_id}-E{i}", "member_id": member_id,
                                         "claim_start_date": day(start), **EDS[kind]})
            anchors.append(start)
        # now and then a readmission, transfer or admission shortly after
        if draw(st.integers(0, 3)) == 0:
            gap = draw(st.integers(0, 33))
            kind = draw(st.sampled_from(sorted(STAYS)))
            out["medical_claim"].append({"claim_id": f"{member_id}-R{i}", "member_id": member_id,
                                         "admission_date": day(anchors[-1] + gap),
                                         "discharge_date": day(anchors[-1] + gap + draw(st.integers(0, 5))), **STAYS[kind]})
    for j in range(draw(st.integers(1, 4))):
        anchor = anchors[0] if j == 0 else draw(st.sampled_from(anchors))
        kind = draw(st.sampled_from(FREQUENT_VISITS))
        offset = draw(st.one_of(st.integers(-1, 9), st.integers(-1, 33)))  # often inside the 7-day window
        out["medical_claim"].append({"claim_id": f"{member_id}-V{j}", "member_id": member_id,
                                     "claim_start_date": day(anchor + offset), **VISITS[kind]})
    for k in range(draw(st.integers(0, 1))):
        anchor = draw(st.sampled_from(anchors))
        out["pharmacy_claim"].append({"claim_id": f"RX-{member_id}-{k}", "member_id": member_id,
                                      "dispensing_date": day(anchor + draw(st.one_of(st.integers(-1, 9), st.integers(-1, 33)))),
                                      "ndc_code": NDCS[draw(st.sampled_from(sorted(NDCS)))], "days_supply": "30"})
    return out


@st.composite
def populations(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 8))
    deck: dict[str, Any] = {"members": [], "medical_claim": [], "pharmacy_claim": [], "attribution": []}
    for i in range(n):
        part = draw(members_and_claims(f"M{i}"))
        for key, rows in part.items():
            deck[key].extend(rows)
    return deck


# -- running -----------------------------------------------------------------------------------------
def compute(deck: dict[str, Any]):  # noqa: ANN201 - ComputeResult
    return bhmeasures.compute_frames(deck_frames(deck), year=YEAR, measures=MEASURES)


def compute_frames(frames: dict[str, pl.DataFrame]):  # noqa: ANN201
    return bhmeasures.compute_frames(frames, year=YEAR, measures=MEASURES)


DETAIL_KEY = ["measure_id", "rate_id", "event_id"]
SUMMARY_KEY = ["measure_id", "rate_id", "stratifier", "stratum"]


def sorted_detail(df: pl.DataFrame) -> pl.DataFrame:
    return df.sort(DETAIL_KEY)


def sorted_summary(df: pl.DataFrame) -> pl.DataFrame:
    return df.sort(SUMMARY_KEY)


def member_subset(deck: dict[str, Any], keep: set[str]) -> dict[str, Any]:
    return {key: [r for r in rows if r["member_id"] in keep] for key, rows in deck.items()}


def shuffled(frames: dict[str, pl.DataFrame], seed: int) -> dict[str, pl.DataFrame]:
    return {t: df.sample(fraction=1.0, shuffle=True, seed=seed + i) for i, (t, df) in enumerate(frames.items())}


# -- properties --------------------------------------------------------------------------------------
@given(deck=populations(), seed=st.integers(0, 2**31 - 1))
def test_row_order_does_not_matter(deck: dict[str, Any], seed: int) -> None:
    frames = deck_frames(deck)
    base = compute_frames(frames)
    again = compute_frames(shuffled(frames, seed))
    assert again.computed == base.computed
    assert_frame_equal(sorted_detail(again.detail), sorted_detail(base.detail))
    assert_frame_equal(sorted_summary(again.summary), sorted_summary(base.summary))


@given(deck=populations(), data=st.data())
def test_partition_by_member_adds_up(deck: dict[str, Any], data: st.DataObject) -> None:
    ids = [m["member_id"] for m in deck["members"]]
    groups = data.draw(st.lists(st.integers(0, 2), min_size=len(ids), max_size=len(ids)), label="group per member")
    whole = compute(deck)
    parts = []
    for g in sorted(set(groups)):
        keep = {m for m, gg in zip(ids, groups, strict=True) if gg == g}
        parts.append(compute(member_subset(deck, keep)))
    detail = pl.concat([p.detail for p in parts])
    assert_frame_equal(sorted_detail(detail), sorted_detail(whole.detail))

    # the buckets' partial counts, merged and rated once, are exactly the single run's summary (what Spark relies on)
    merged = bhmeasures.finalize([p.partials for p in parts], YEAR, MEASURES)
    assert_frame_equal(merged, whole.summary)


def check_counts(result) -> None:  # noqa: ANN001 - ComputeResult
    """(c) numerator <= denominator on every summary row, and the summary agrees with the detail."""
    detail, summary = result.detail, result.summary
    over = summary.filter(pl.col("numerator") > pl.col("denominator"))
    assert over.is_empty(), f"numerator above denominator:\n{over}"
    totals = summary.filter(pl.col("stratifier") == "total").select("measure_id", "rate_id", "denominator", "numerator", "exclusions")
    from_detail = detail.group_by("measure_id", "rate_id").agg(
        pl.col("denominator").sum().cast(pl.Int64), pl.col("numerator").sum().cast(pl.Int64),
        pl.col("excluded").sum().cast(pl.Int64).alias("exclusions"))
    joined = totals.join(from_detail, on=["measure_id", "rate_id"], how="left", suffix="_d").fill_null(0)
    bad = joined.filter((pl.col("denominator") != pl.col("denominator_d")) | (pl.col("numerator") != pl.col("numerator_d"))
                        | (pl.col("exclusions") != pl.col("exclusions_d")))
    assert bad.is_empty(), f"total rows disagree with the detail:\n{bad}"
    # the age bands cover every eligible age, so they add up to the total
    bands = summary.filter(pl.col("stratifier") == "age_band").group_by("measure_id", "rate_id").agg(
        pl.col("denominator", "numerator", "exclusions").sum())
    joined = totals.join(bands, on=["measure_id", "rate_id"], how="left", suffix="_b").fill_null(0)
    bad = joined.filter((pl.col("denominator") != pl.col("denominator_b")) | (pl.col("numerator") != pl.col("numerator_b"))
                        | (pl.col("exclusions") != pl.col("exclusions_b")))
    assert bad.is_empty(), f"age bands do not add up to the total:\n{bad}"
    failures = check_invariants(detail)
    assert not failures, "\n".join(map(str, failures))


def check_seven_within_thirty(detail: pl.DataFrame) -> None:
    """(d) per event, the 7-day numerator implies the 30-day one, and both rates agree on the denominator."""
    detail = detail.with_columns(pl.col("rate_id").str.split("-").list.last().alias("days"))
    cols = ["measure_id", "event_id"]
    d7 = detail.filter(pl.col("days") == "7").select(*cols, "denominator", "excluded", "reason", "numerator")
    d30 = detail.filter(pl.col("days") == "30").select(*cols, "denominator", "excluded", "reason", "numerator")
    both = d7.join(d30, on=cols, how="full", coalesce=True, suffix="_30")
    missing = both.filter(pl.col("numerator").is_null() | pl.col("numerator_30").is_null())
    assert missing.is_empty(), f"event has a row for one rate but not the other:\n{missing}"
    bad = both.filter(pl.col("numerator") & ~pl.col("numerator_30"))
    assert bad.is_empty(), f"7-day numerator met but 30-day not:\n{bad}"
    bad = both.filter((pl.col("denominator") != pl.col("denominator_30")) | (pl.col("excluded") != pl.col("excluded_30"))
                      | pl.col("reason").ne_missing(pl.col("reason_30")))
    assert bad.is_empty(), f"the two rates disagree on the denominator of an event:\n{bad}"


def check_evidence_window(detail: pl.DataFrame) -> None:
    """Evidence of a met numerator lies inside that rate's window (FUH from day 1, FUA/FUM from day 0)."""
    met = detail.filter(pl.col("numerator"))
    for measure, (first, lasts) in WINDOW.items():
        for days, last in lasts.items():
            rows = met.filter((pl.col("measure_id") == measure) & (pl.col("rate_id") == f"{measure}-{days}"))
            offset = (pl.col("evidence_date") - pl.col("index_date")).dt.total_days()
            bad = rows.filter(~offset.is_between(first, last) | pl.col("evidence_date").is_null())
            assert bad.is_empty(), f"{measure}-{days}: evidence outside day {first}..{last}:\n{bad}"


@given(deck=populations())
def test_numerators_are_bounded_and_consistent(deck: dict[str, Any]) -> None:
    result = compute(deck)
    assert result.computed, f"nothing computed: {result.skipped}"
    check_counts(result)
    check_seven_within_thirty(result.detail)
    check_evidence_window(result.detail)


@given(deck=populations(), data=st.data())
def test_adding_a_follow_up_never_lowers_a_numerator(deck: dict[str, Any], data: st.DataObject) -> None:
    ids = [m["member_id"] for m in deck["members"]]
    member = data.draw(st.sampled_from(ids), label="member")
    when = day(data.draw(st.integers(20, 420), label="visit day"))
    as_fill = data.draw(st.booleans(), label="as buprenorphine fill")
    more = {k: list(v) for k, v in deck.items()}
    if as_fill:  # pharmacotherapy: follow-up for FUA only
        more["pharmacy_claim"].append({"claim_id": "RX-ADDED", "member_id": member, "dispensing_date": when,
                                       "ndc_code": NDCS["buprenorphine"], "days_supply": "30"})
    else:
        more["medical_claim"].append({"claim_id": "ADDED", "member_id": member, "claim_start_date": when, **QUALIFYING})
    before, after = compute(deck), compute(more)
    key = ["measure_id", "rate_id", "event_id"]
    both = before.detail.join(after.detail, on=key, how="full", coalesce=True, suffix="_after")
    changed = both.filter(pl.col("denominator").ne_missing(pl.col("denominator_after"))
                          | pl.col("excluded").ne_missing(pl.col("excluded_after")))
    assert changed.is_empty(), f"a follow-up visit changed who is in the denominator:\n{changed}"
    lowered = both.filter(pl.col("numerator") & ~pl.col("numerator_after"))
    assert lowered.is_empty(), f"adding a follow-up lowered a numerator:\n{lowered}"
    s = before.summary.join(after.summary, on=SUMMARY_KEY, how="full", coalesce=True, suffix="_after")
    lowered = s.filter(pl.col("numerator_after").fill_null(0) < pl.col("numerator").fill_null(0))
    assert lowered.is_empty(), f"adding a follow-up lowered a summary numerator:\n{lowered}"


def test_generated_populations_reach_every_outcome() -> None:
    """Guard against a generator that never produces the interesting cases (which would make the properties vacuous):
    within a bounded search, every rate must see events in and out of the denominator, excluded and compliant."""
    outcomes = ("denominator", "numerator", "excluded", "dropped")
    rates = [f"{m}-{d}" for m in MEASURES for d in ("7", "30")]
    seen = {r: dict.fromkeys(outcomes, 0) for r in rates}

    def done() -> bool:
        return all(all(v.values()) for v in seen.values())

    @settings(max_examples=150, database=None, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(deck=populations())
    def collect(deck: dict[str, Any]) -> None:
        if done():
            return
        detail = compute(deck).detail
        for r in rates:
            d = detail.filter(pl.col("rate_id") == r)
            seen[r]["denominator"] += d["denominator"].sum()
            seen[r]["numerator"] += d["numerator"].sum()
            seen[r]["excluded"] += d["excluded"].sum()
            seen[r]["dropped"] += (~d["denominator"] & ~d["excluded"]).sum()

    collect()
    never = {r: [o for o in outcomes if not seen[r][o]] for r in rates}
    assert done(), f"generated populations never produced these outcomes: {never} (counts {seen})"
