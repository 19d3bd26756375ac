"""Draws the sample's cohort modules share (sample/pharmacy.py, sample/sud.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl


def pick(rng: np.random.Generator, shares: dict[Any, float] | tuple[float, ...], k: int) -> np.ndarray:
    """k draws of an index into `shares` (a mapping's values or a tuple), weighted by the shares."""
    p = np.array(list(shares.values()) if isinstance(shares, dict) else shares, dtype=np.float64)
    return rng.choice(len(p), size=k, p=p / p.sum())


def first_enrollment(elig: pl.DataFrame) -> np.ndarray:
    """Days since 1970 of each member's earliest enrollment start, in the chunk's member order."""
    first = elig.group_by("member_id", maintain_order=True).agg(pl.col("enrollment_start_date").min())
    return first["enrollment_start_date"].cast(pl.Int32).to_numpy().astype(np.int64)
