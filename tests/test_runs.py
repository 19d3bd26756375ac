"""The run helpers give what the Polars window they replace gives, on any frame sorted by its groups."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from bhmeasures.engine.exprs import latest_before_in_run, position_in_run, run_length, run_number, sum_in_run

rows = st.lists(st.tuples(st.sampled_from(["a", "b", "c", None]), st.sampled_from(["x", "y"]),
                          st.one_of(st.none(), st.dates(dt.date(1890, 1, 1), dt.date(2100, 12, 31))),
                          st.one_of(st.none(), st.integers(-5, 400))), max_size=60)


def _frame(data: list[tuple]) -> pl.DataFrame:
    df = pl.DataFrame(data, schema={"m": pl.String, "k": pl.String, "d": pl.Date, "n": pl.Int64}, orient="row")
    return df.sort("m", "k", nulls_last=True)


@settings(max_examples=200, deadline=None)
@given(rows)
def test_run_helpers_match_the_windows_they_replace(data: list[tuple]) -> None:
    df = _frame(data)
    for groups in (["m"], ["m", "k"]):
        got = df.select(
            position_in_run(groups).alias("pos"), run_length(groups).alias("len"),
            sum_in_run(pl.col("n"), groups).alias("sum"), latest_before_in_run(pl.col("d"), groups).alias("before"),
            run_number(groups).alias("run"))
        want = df.select(
            pl.int_range(pl.len(), dtype=pl.Int64).over(groups).alias("pos"), pl.len().over(groups).cast(pl.Int64).alias("len"),
            pl.col("n").fill_null(0).cum_sum().over(groups).alias("sum"),
            pl.col("d").cum_max().shift(1).over(groups).alias("before"))
        assert got.select("pos", "len", "sum", "before").equals(want), (groups, df, got, want)
        # runs are numbered 0.. in order, one per distinct group
        assert got["run"].to_list() == sorted(got["run"].to_list())
        assert got["run"].n_unique() == df.select(groups).n_unique()
