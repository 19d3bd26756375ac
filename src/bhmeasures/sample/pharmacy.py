"""Pharmacy cohorts of the synthetic sample: members with schizophrenia on antipsychotics (SAA) and adults
starting an antidepressant for major depression (AMM), with the fill patterns pharmacy teams see.

Schizophrenia cohort (`SCHIZOPHRENIA_SHARE` of adults): diagnosis visits in the year (office, CMHC,
telehealth; some an acute psychiatric stay; a few one visit only, so not identified), then one treatment
pattern each: steady oral refills (often a few days early, so same-drug overlaps are shifted), oral refills
with gaps, a switch to another antipsychotic, long-acting injections every 14, 28 or 30 days (J-codes on
medical claims, a share dispensed at a pharmacy by NDC, some with a claim days supply of 1), a single fill,
or none; a few have dementia.

Depression cohort (`DEPRESSION_START_SHARE` of adults): an antidepressant started in the intake period (May 1 of
the year before - April 30), a major depression visit on the start date (or within, or just outside, 60 days),
then adherent refills through the continuation phase, stopping after one to three fills, refills with gaps, a
switch after a washout, or 90-day fills; some had an antidepressant in the 105 days before (no negative
history). Their claims of the year before are in the files too.

Everything is vectorised per chunk with numpy (Python loops only over a handful of patterns), drawn from the
chunk's generator after every other scenario, so the rest of the sample is unchanged by this module.
`generate.py` registers `KINDS` and `NDCS` and calls `add_cohorts` once per chunk.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from bhmeasures.sample.draws import first_enrollment, pick

SCHIZOPHRENIA_SHARE = 0.012  # adults with schizophrenia or schizoaffective disorder
SCHIZOPHRENIA_PATTERNS = {  # treatment pattern -> share of the cohort
    "oral_steady": 0.38, "oral_gaps": 0.22, "switch": 0.10, "injection": 0.15, "single_fill": 0.07, "untreated": 0.08,
}
SCHIZOPHRENIA_STAY_SHARE = 0.12  # identified by an acute psychiatric stay (besides their visits)
SCHIZOPHRENIA_ONE_VISIT_SHARE = 0.06  # one visit and no stay: not identified
DEMENTIA_SHARE = 0.03  # of the cohort, a dementia diagnosis in the year
INJECTION_AT_PHARMACY_SHARE = 0.25  # long-acting injections dispensed by NDC rather than billed as J-codes
INJECTION_CLAIM_DAYS_ONE_SHARE = 0.30  # ... of which the pharmacy claim says days supply 1
# (HCPCS, days of its list, pharmacy NDC of the same product): see measure_specs/valuesets/README.md
INJECTIONS = (("J2426", 28, "50458056401"), ("J0401", 28, "59148004580"), ("J2794", 14, "50458030611"),
              ("J1944", 30, "65757040303"))
INJECTION_SHARES = (0.45, 0.20, 0.15, 0.20)
ORAL_DAYS_SUPPLY = {30: 0.80, 90: 0.10, 14: 0.10}

DEPRESSION_START_SHARE = 0.012  # adults starting an antidepressant in the intake period
DEPRESSION_PATTERNS = {"adherent": 0.45, "stops_early": 0.25, "gaps": 0.15, "switch": 0.10, "ninety_day": 0.05}
POSITIVE_HISTORY_SHARE = 0.10  # an antidepressant 20-104 days before the first intake-period fill
DIAGNOSIS_TIMING = {"on_start": 0.85, "within_60_days": 0.10, "outside_60_days": 0.05}

DX_SCHIZOPHRENIA = ("F200", "F201", "F203", "F205", "F2089", "F209", "F250", "F251", "F259")
DX_MAJOR_DEPRESSION = ("F320", "F321", "F322", "F329", "F330", "F331", "F332", "F339")
DX_DEMENTIA = ("F0390", "F0391", "G309", "G301")

# NDC classes the generator embeds (besides its own antidepressant and oral antipsychotic NDCs)
NDCS: dict[str, tuple[str, ...]] = {"antipsychotic_lai": tuple(ndc for *_, ndc in INJECTIONS)}

# claim templates, as keyword arguments of generate._Kind
KINDS: dict[str, dict[str, Any]] = {
    "scz_visit": {"institutional": False, "first_line": {(None, "90834"): 0.30, (None, "90837"): 0.15, (None, "99213"): 0.25,
                                                       (None, "99214"): 0.20, (None, "90792"): 0.10},
                      "pos": {"11": 0.60, "53": 0.25, "10": 0.10, "02": 0.05}, "dx1": DX_SCHIZOPHRENIA, "providers": ("mh",),
                      "paid": (110.0, 0.3)},
    "dep_visit": {"institutional": False, "first_line": {(None, "99213"): 0.35, (None, "99214"): 0.25, (None, "90834"): 0.20,
                                                       (None, "90791"): 0.20},
                      "pos": {"11": 0.85, "10": 0.10, "02": 0.05}, "dx1": DX_MAJOR_DEPRESSION, "providers": {"pcp": 0.6, "mh": 0.4},
                      "paid": (90.0, 0.3)},
    "dementia_visit": {"institutional": False, "first_line": {(None, "99214"): 1.0}, "pos": ("11",), "dx1": DX_DEMENTIA,
                           "providers": ("pcp",), "paid": (95.0, 0.3)},
    **{f"lai_{code.lower()}": {"institutional": False, "first_line": {(None, code): 1.0}, "pos": {"11": 0.7, "53": 0.3},
                                   "dx1": DX_SCHIZOPHRENIA, "providers": ("mh",), "paid": (1200.0, 0.3)}
       for code, _, _ in INJECTIONS},
}


def _within(counts: np.ndarray) -> np.ndarray:
    """0-based position of each repeated element within its group (for np.repeat(x, counts))."""
    starts = np.cumsum(counts) - counts
    return np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(starts, counts)


def _series(rng: np.random.Generator, first: np.ndarray, n: np.ndarray, step: np.ndarray,
            jitter: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Per series i, n[i] dates from first[i], each `step[i]` days plus a uniform jitter after the previous:
    (series index, date) of every event."""
    h = np.repeat(np.arange(len(first)), n)
    j = _within(n)
    gaps = step[h] + rng.integers(jitter[0], jitter[1] + 1, len(h))
    gaps[j == 0] = 0
    run = np.cumsum(gaps)
    return h, first[h] + run - run[(np.cumsum(n) - n)[h]]


def add_cohorts(chunk: Any, elig: pl.DataFrame) -> None:
    """Add both cohorts' claims and fills to a generator chunk (`generate._Chunk`)."""
    from bhmeasures.sample import generate as g

    _schizophrenia(chunk, g)
    _depression(chunk, g, first_enrollment(elig))


def _dx(g: Any, rng: np.random.Generator, codes: tuple[str, ...], k: int) -> np.ndarray:
    return g._vi(codes)[rng.integers(0, len(codes), k)]


def _schizophrenia(chunk: Any, g: Any) -> None:
    rng, y0, y1 = chunk.rng, chunk.y0, chunk.y1
    m = np.flatnonzero((chunk.age >= 18) & (rng.random(chunk.n) < SCHIZOPHRENIA_SHARE))
    k = len(m)
    if k == 0:
        return
    # diagnosis: 2-6 visits on different days, one visit only for a few; some an acute psychiatric stay
    one = rng.random(k) < SCHIZOPHRENIA_ONE_VISIT_SHARE
    visits = np.where(one, 1, rng.integers(2, 7, k))
    vm = np.repeat(m, visits)
    chunk.emit("scz_visit", vm, y0 + rng.integers(0, 365, len(vm)), dx1=_dx(g, rng, DX_SCHIZOPHRENIA, len(vm)))
    stay = ~one & (rng.random(k) < SCHIZOPHRENIA_STAY_SHARE)
    chunk.stay("mh_stay", m[stay], y0 + rng.integers(0, 340, int(stay.sum())), rng.integers(4, 15, int(stay.sum())),
               _dx(g, rng, DX_SCHIZOPHRENIA, int(stay.sum())))
    dem = rng.random(k) < DEMENTIA_SHARE
    chunk.emit("dementia_visit", m[dem], y0 + rng.integers(0, 365, int(dem.sum())), dx1=_dx(g, rng, DX_DEMENTIA, int(dem.sum())))

    pattern = pick(rng, SCHIZOPHRENIA_PATTERNS, k)
    names = list(SCHIZOPHRENIA_PATTERNS)
    start = y0 + rng.integers(0, 300, k)
    lo, hi = chunk.ndc_ranges["antipsychotic_oral"]
    drug = rng.integers(lo, hi, k)
    ds_vals = np.array(list(ORAL_DAYS_SUPPLY))
    ds = ds_vals[pick(rng, ORAL_DAYS_SUPPLY, k)]
    to_end = (y1 - start) // ds + 2  # enough refills to reach December 31 (the rest are dropped)

    def oral(sel: np.ndarray, n: np.ndarray, jitter: tuple[int, int], first: np.ndarray, ndc: np.ndarray,
             supply: np.ndarray) -> None:
        h, days = _series(rng, first, n, supply, jitter)
        keep = days <= y1
        chunk.add_rx(m[sel][h][keep], days[keep], ndc[h][keep], supply[h][keep])

    for i, name in enumerate(names):
        sel = pattern == i
        if not sel.any() or name == "untreated":
            continue
        if name == "oral_steady":  # refilled a few days early or late
            oral(sel, to_end[sel], (-5, 3), start[sel], drug[sel], ds[sel])
        elif name == "oral_gaps":  # late refills and missed months
            oral(sel, to_end[sel], (4, 35), start[sel], drug[sel], ds[sel])
        elif name == "single_fill":
            oral(sel, np.ones(int(sel.sum()), np.int64), (0, 0), start[sel], drug[sel], ds[sel])
        elif name == "switch":  # 2-4 fills of one drug, then another, started up to 10 days before the first runs out
            n1 = rng.integers(2, 5, int(sel.sum()))
            oral(sel, n1, (-3, 5), start[sel], drug[sel], ds[sel])
            other = lo + (drug[sel] - lo + rng.integers(1, hi - lo, int(sel.sum()))) % (hi - lo)
            switch_day = start[sel] + n1 * ds[sel] + rng.integers(-10, 6, int(sel.sum()))
            oral(sel, np.maximum((y1 - switch_day) // 30 + 1, 1), (-3, 8), switch_day, other, np.full(int(sel.sum()), 30))
        else:  # long-acting injections, a few of them late
            s = int(sel.sum())
            which = pick(rng, INJECTION_SHARES, s)
            days = np.array([d for _, d, _ in INJECTIONS])[which]
            h, when = _series(rng, start[sel], (y1 - start[sel]) // days + 2, days, (-2, 6))
            late = rng.random(len(h)) < 0.08
            when = when + np.where(late, rng.integers(10, 31, len(h)), 0)
            keep = when <= y1
            h, when = h[keep], when[keep]
            member = m[sel][h]
            at_pharmacy = (rng.random(s) < INJECTION_AT_PHARMACY_SHARE)[h]
            for c, (code, _, _) in enumerate(INJECTIONS):
                billed = ~at_pharmacy & (which[h] == c)
                chunk.emit(f"lai_{code.lower()}", member[billed], when[billed],
                           dx1=_dx(g, rng, DX_SCHIZOPHRENIA, int(billed.sum())))
            plo, _ = chunk.ndc_ranges["antipsychotic_lai"]
            claim_days = np.where(rng.random(len(h)) < INJECTION_CLAIM_DAYS_ONE_SHARE, 1, days[h])
            chunk.add_rx(member[at_pharmacy], when[at_pharmacy], (plo + which[h])[at_pharmacy], claim_days[at_pharmacy])


def _depression(chunk: Any, g: Any, enrolled_from: np.ndarray) -> None:
    rng = chunk.rng
    m = np.flatnonzero((chunk.age >= 18) & (rng.random(chunk.n) < DEPRESSION_START_SHARE))
    k = len(m)
    if k == 0:
        return
    # the start: in the intake period, mostly late enough to look back 105 days within the member's enrollment
    intake0, intake1 = g._day(chunk.year - 1, 5, 1), g._day(chunk.year, 4, 30)
    earliest = np.clip(enrolled_from[m] + 90, intake0, intake1)
    start = earliest + (rng.random(k) * (intake1 - earliest + 1)).astype(np.int64)
    lo, hi = chunk.ndc_ranges["antidepressant"]
    drug = rng.integers(lo, hi, k)
    # a major depression visit on the start date, within 60 days of it, or just outside
    timing = pick(rng, DIAGNOSIS_TIMING, k)
    offset = np.select([timing == 0, timing == 1], [0, rng.integers(-60, 61, k)], rng.integers(61, 91, k))
    chunk.emit("dep_visit", m, start + offset, dx1=_dx(g, rng, DX_MAJOR_DEPRESSION, k))
    # an earlier antidepressant within 105 days: no negative medication history
    prior = rng.random(k) < POSITIVE_HISTORY_SHARE
    chunk.add_rx(m[prior], (start - rng.integers(20, 105, k))[prior], drug[prior], np.full(int(prior.sum()), 30))

    pattern = pick(rng, DEPRESSION_PATTERNS, k)
    for i, name in enumerate(DEPRESSION_PATTERNS):
        sel = pattern == i
        s = int(sel.sum())
        if s == 0:
            continue
        thirty = np.full(s, 30)
        if name == "adherent":
            h, days = _series(rng, start[sel], rng.integers(7, 10, s), thirty, (-4, 4))
            chunk.add_rx(m[sel][h], days, drug[sel][h], thirty[h])
        elif name == "stops_early":
            h, days = _series(rng, start[sel], rng.integers(1, 4, s), thirty, (-2, 6))
            chunk.add_rx(m[sel][h], days, drug[sel][h], thirty[h])
        elif name == "gaps":
            h, days = _series(rng, start[sel], rng.integers(5, 9, s), thirty, (5, 22))
            chunk.add_rx(m[sel][h], days, drug[sel][h], thirty[h])
        elif name == "switch":  # 1-2 fills, a washout of up to 10 days (or an overlap), then another drug
            n1 = rng.integers(1, 3, s)
            h, days = _series(rng, start[sel], n1, thirty, (-2, 4))
            chunk.add_rx(m[sel][h], days, drug[sel][h], thirty[h])
            other = lo + (drug[sel] - lo + rng.integers(1, hi - lo, s)) % (hi - lo)
            second = start[sel] + n1 * 30 + rng.integers(-5, 11, s)
            h, days = _series(rng, second, rng.integers(4, 8, s), thirty, (-3, 6))
            chunk.add_rx(m[sel][h], days, other[h], thirty[h])
        else:
            ninety = np.full(s, 90)
            h, days = _series(rng, start[sel], np.full(s, 3), ninety, (-7, 5))
            chunk.add_rx(m[sel][h], days, drug[sel][h], ninety[h])
