"""The continuous-enrollment rule against a day-by-day reference, and the same answer whether it is computed
for every member at once (shared across measures) or for some events' members only."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from bhmeasures.kinds.conditions.enrolled import Enrollment, enrolled_events, enrolled_members

YEAR = 2025
START, END = date(YEAR, 1, 1), date(YEAR, 12, 31)
span = st.tuples(st.integers(-40, 400), st.integers(0, 200), st.sampled_from([True, False, None]))
members = st.lists(st.lists(span, max_size=4), min_size=1, max_size=8)
rules = st.builds(lambda gaps, days, pharmacy: Enrollment(
    over=["MY-01-01", "MY-12-31"], allowable_gaps=gaps, max_gap_days=days,
    benefits=["medical", "pharmacy"] if pharmacy else ["medical"]),
    st.integers(0, 2), st.integers(0, 60), st.booleans())


def reference(spans: list[tuple[int, int, bool | None]], rule: Enrollment) -> bool:
    covered = set()
    for offset, length, pharmacy in spans:
        if pharmacy is False and "pharmacy" in rule.benefits:
            continue
        first = date(YEAR, 1, 1) + timedelta(days=offset)
        covered |= {first + timedelta(days=d) for d in range(length + 1)}
    gaps, run = [], 0
    day = START
    while day <= END:
        if day in covered:
            if run:
                gaps.append(run)
            run = 0
        else:
            run += 1
        day += timedelta(days=1)
    if run:
        gaps.append(run)
    return len(gaps) <= rule.allowable_gaps and max(gaps, default=0) <= (rule.max_gap_days if rule.allowable_gaps else 0)


def frame(data: list[list[tuple[int, int, bool | None]]]) -> pl.DataFrame:
    rows = [{"member_id": f"M{i}", "enrollment_start_date": date(YEAR, 1, 1) + timedelta(days=o),
             "enrollment_end_date": date(YEAR, 1, 1) + timedelta(days=o + n), "medical_benefit": True,
             "pharmacy_benefit": p} for i, spans in enumerate(data) for o, n, p in spans]
    return pl.DataFrame(rows, schema={"member_id": pl.String, "enrollment_start_date": pl.Date,
                                      "enrollment_end_date": pl.Date, "medical_benefit": pl.Boolean,
                                      "pharmacy_benefit": pl.Boolean})


@settings(max_examples=150, deadline=None)
@given(members, rules, st.data())
def test_enrolled_members_match_a_day_by_day_reference_and_the_per_event_path(data, rule, draw) -> None:  # noqa: ANN001
    spans = frame(data)
    expected = {f"M{i}" for i, s in enumerate(data) if reference(s, rule)}
    assert set(enrolled_members(spans, rule, YEAR)["member_id"]) == expected & set(spans["member_id"])
    some = draw.draw(st.sets(st.sampled_from([f"M{i}" for i in range(len(data))])))
    events = pl.DataFrame({"member_id": sorted(some), "event_id": [f"E{m}" for m in sorted(some)]},
                          schema={"member_id": pl.String, "event_id": pl.String})
    assert set(enrolled_events(events, spans, rule, YEAR)["member_id"]) == expected & some
