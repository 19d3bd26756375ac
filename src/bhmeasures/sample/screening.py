"""Screening scenarios for the synthetic sample: depression screening (observations and G-codes), follow-up
after positive screens, foster-care children and their assessments, developmental screening, and
behavioral-health services in primary care.

`plant(chunk, eligibility)` runs after a chunk's claims are drawn (`generate._Chunk`); it adds claims and
fills through the chunk and returns the eligibility rows (with the `foster_care` column) and the chunk's
`observation` rows. Everything is vectorised over the chunk's members and drawn from the chunk's own random
stream, so the output still depends only on (members, seed, year). Rates are per member-year.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from bhmeasures.sample import generate as gen

# Depression screening: who is screened, with what, and how it comes out
SCREENED_SHARE = {"12-17": 0.35, "18-64": 0.30, "65+": 0.40}  # members 12+ with at least one screening
REPEAT_SCREEN_SHARE = 0.25  # screened members screened again later in the year
# instruments: (LOINC, positive threshold or None for a coded result, share, population)
INSTRUMENTS = (
    ("44261-6", 10, 0.42, "both"),       # PHQ-9
    ("55758-7", 3, 0.22, "both"),        # PHQ-2 (brief)
    ("89204-2", 10, 0.06, "adolescent"),  # PHQ-9M
    ("89208-3", 8, 0.04, "both"),        # BDI-FS (brief)
    ("48545-8", 5, 0.06, "adult"),       # GDS short form (older adults)
    ("99046-5", 10, 0.04, "both"),       # EPDS
    ("73832-8", None, 0.10, "adult"),    # CMS2 adult screening assessment (SNOMED finding)
    ("73831-0", None, 0.06, "adolescent"),  # CMS2 adolescent screening assessment
)
POSITIVE_SHARE = 0.14  # screenings that come out positive
BRIEF_THEN_FULL_SHARE = 0.60  # positive brief screens followed the same day by a PHQ-9
FULL_NEGATIVE_SHARE = 0.55  # ... which is negative
SNOMED_POSITIVE, SNOMED_NEGATIVE = "428181000124104", "428171000124102"
SCREEN_VISIT_SHARE = 0.85  # screenings at an office visit the same day (a CDF qualifying encounter)
G_CODE_SHARE = 0.30  # screening visits that also bill the MIPS G-code of the result
NOT_SCREENED_REASON_SHARE = 0.01  # members 12+ with an office visit billing G8433 (and no screening)
# follow-up of positive screens, cumulative: (same day, within 30 days); others may get a late one
FOLLOW_UP_SHARES = (0.30, 0.60)
LATE_FOLLOW_UP_SHARE = 0.15  # positives without follow-up that get one 31-45 days later
ANTIDEPRESSANT_FOLLOW_UP_SHARE = 0.25  # follow-ups that are an antidepressant fill rather than a visit

# Foster care (children aged 1-17 on January 1)
FOSTER_SHARE = 0.02  # children in foster care during the year
FOSTER_NEW_SHARE = 0.60  # ... who enter foster care during the year (the rest were in care before)
FOSTER_ASSESSED = (0.65, 0.12)  # new foster children assessed within 30 days / 31-60 days

# Developmental screening (children turning 1, 2 or 3)
DEV_SCREENED_SHARE = {1: 0.60, 2: 0.50, 3: 0.40}
DEV_ON_BIRTHDAY_SHARE = 0.10  # screenings on the birthday itself (the window's last day)

# Behavioral-health services in primary care (Colorado short-term behavioral health)
STBH_PER_MY = 0.04

# Other clinical observations (vitals, labs, history) that the measures do not use: (LOINC, low, high, text)
OTHER_OBSERVATIONS = (
    ("8480-6", 95, 175, None),    # systolic blood pressure
    ("8462-4", 55, 105, None),    # diastolic blood pressure
    ("39156-5", 16, 45, None),    # BMI
    ("4548-4", 4, 12, None),      # HbA1c
    ("72166-2", 0, 0, ("never smoker", "former smoker", "current every day smoker")),  # smoking status
)
OTHER_OBSERVATIONS_PER_MY = 3.0

OBSERVATION_SCHEMA = pl.Schema({"member_id": pl.String, "observation_date": pl.Date, "code_type": pl.String,
                                "code": pl.String, "result": pl.String})

_KINDS = {
    "screen_visit": gen._Kind(False, {(None, "99213"): 0.45, (None, "99214"): 0.25, (None, "99395"): 0.15,
                                      (None, "99394"): 0.10, (None, "99441"): 0.05}, (), (1, 1),
                              pos={"11": 0.95, "02": 0.05}, dx1=("Z0000", "Z1331", "Z00129", "I10"),
                              providers=("pcp",), paid=(80.0, 0.4)),
    "g8510": gen._Kind(False, {(None, "G8510"): 1.0}, (), (1, 1), pos=("11",), dx1=("Z1331",), providers=("pcp",),
                       paid=(0.01, 0.0)),
    "g8431": gen._Kind(False, {(None, "G8431"): 1.0}, (), (1, 1), pos=("11",), dx1=("Z1331",), providers=("pcp",),
                       paid=(0.01, 0.0)),
    "g8511": gen._Kind(False, {(None, "G8511"): 1.0}, (), (1, 1), pos=("11",), dx1=("Z1331",), providers=("pcp",),
                       paid=(0.01, 0.0)),
    "g8433": gen._Kind(False, {(None, "G8433"): 1.0}, (), (1, 1), pos=("11",), dx1=("Z0000",), providers=("pcp",),
                       paid=(0.01, 0.0)),
    "depression_fu": gen._Kind(False, {(None, "90834"): 0.35, (None, "90832"): 0.25, (None, "90791"): 0.25,
                                       (None, "99492"): 0.05, (None, "H0004"): 0.10}, (), (1, 1),
                               pos={"11": 0.8, "02": 0.1, "53": 0.1}, dx1=("F329", "F321", "F331", "F341"),
                               providers=("mh",), paid=(100.0, 0.3)),
    "foster_assessment": gen._Kind(False, {(None, "96127"): 0.35, (None, "90791"): 0.30, (None, "H0031"): 0.25,
                                           (None, "H0002"): 0.10}, (), (1, 1), pos={"11": 0.7, "53": 0.3},
                                   dx1=("Z6221", "Z0000", "F432"), providers={"mh": 0.6, "pcp": 0.4},
                                   paid=(90.0, 0.3)),
    "developmental_screen": gen._Kind(False, {(None, "96110"): 1.0}, (), (1, 1), pos=("11",), dx1=("Z00129",),
                                      providers=("pcp",), paid=(10.0, 0.2)),
    "stbh": gen._Kind(False, {(None, "90832"): 0.4, (None, "90834"): 0.3, (None, "90791"): 0.2, (None, "90846"): 0.1},
                      (), (1, 1), pos=("11",), dx1=("Z631", "Z600", "Z733", "R45851"), providers=("pcp",),
                      paid=(70.0, 0.3)),
}


def _register() -> None:
    """Add this module's claim templates to the generator (and their codes to its vocabulary)."""
    if "screen_visit" in gen._CKINDS:
        return
    for name, kind in _KINDS.items():
        gen._CKINDS[name] = gen._compile(kind)
    grown = len(gen._VOCAB) - len(gen._DOT)
    if grown:  # new diagnosis codes are written without a dot
        gen._DOT = np.concatenate([gen._DOT, np.arange(len(gen._DOT), len(gen._VOCAB), dtype=np.int32)])
    gen._VOCAB_SERIES = pl.Series("code", gen._VOCAB, dtype=pl.String)


_register()


def _date(days: np.ndarray) -> pl.Series:
    return pl.Series(days.astype(np.int32), dtype=pl.Int32).cast(pl.Date)


def _birthday(birth: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Days since the epoch of the day a member born on `birth` turns `age` (February 29 -> March 1)."""
    b = birth.astype("datetime64[D]")
    y = b.astype("datetime64[Y]").astype(np.int64) + 1970
    md = b - b.astype("datetime64[Y]").astype("datetime64[D]")  # day of the year, 0-based

    def is_leap(yy: np.ndarray) -> np.ndarray:
        return ((yy % 4 == 0) & (yy % 100 != 0)) | (yy % 400 == 0)

    target = y + age
    start = (target - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    # the same day of the year, shifted by one after February in a leap birth year turned common, or back
    shift = np.where(is_leap(y) & ~is_leap(target) & (md.astype(np.int64) >= 59), -1, 0)
    shift = np.where(~is_leap(y) & is_leap(target) & (md.astype(np.int64) >= 59), 1, shift)
    out = start + md.astype(np.int64) + shift
    feb29 = is_leap(y) & (md.astype(np.int64) == 59)  # born February 29
    return np.where(feb29 & ~is_leap(target), start + 59, out)  # March 1 of a common year


def ids_of(chunk: Any, members: np.ndarray) -> pl.Series:
    return chunk.member_ids.gather(members)


def plant(chunk: Any, eligibility: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Screening scenarios for one chunk: returns (eligibility with foster_care, observation rows)."""
    rng, n, age = chunk.rng, chunk.n, chunk.age
    obs_m: list[np.ndarray] = []
    obs_day: list[np.ndarray] = []
    obs_code: list[np.ndarray] = []
    obs_result: list[np.ndarray] = []

    def observe(m: np.ndarray, day: np.ndarray, code: np.ndarray, result: np.ndarray) -> None:
        obs_m.append(m)
        obs_day.append(day)
        obs_code.append(np.asarray(code, dtype=str))
        obs_result.append(np.asarray(result, dtype=str))

    # -- depression screening -----------------------------------------------------------------------------
    share = np.where(age >= 65, SCREENED_SHARE["65+"], np.where(age >= 18, SCREENED_SHARE["18-64"], SCREENED_SHARE["12-17"]))
    screened = np.flatnonzero((age >= 12) & (rng.random(n) < share) & ((chunk.len1 + chunk.len2) > 0))
    again = screened[rng.random(len(screened)) < REPEAT_SCREEN_SHARE]
    m = np.concatenate([screened, again])
    day = np.minimum(chunk.place(m), chunk.y1 - 20)
    codes = np.array([i[0] for i in INSTRUMENTS])
    thresholds = np.array([i[1] if i[1] is not None else -1 for i in INSTRUMENTS])
    pops = np.array([i[3] for i in INSTRUMENTS])
    weights = np.array([i[2] for i in INSTRUMENTS])
    adult = age[m] >= 18
    # an instrument that suits the member's age (weights renormalised per age group)
    w_adult = weights * (pops != "adolescent")
    w_teen = weights * (pops != "adult")
    pick = np.where(adult, rng.choice(len(codes), len(m), p=w_adult / w_adult.sum()),
                    rng.choice(len(codes), len(m), p=w_teen / w_teen.sum()))
    positive = rng.random(len(m)) < POSITIVE_SHARE
    thr = thresholds[pick]
    scored = thr >= 0
    score = np.where(positive, thr + rng.integers(0, 8, len(m)), np.maximum(thr - 1 - rng.integers(0, 9, len(m)), 0))
    result = np.where(scored, score.astype(str), np.where(positive, SNOMED_POSITIVE, SNOMED_NEGATIVE))
    observe(m, day, codes[pick], result)
    # a positive brief screen followed the same day by a full-length PHQ-9
    brief = positive & np.isin(codes[pick], ["55758-7", "89208-3"])
    full = brief & (rng.random(len(m)) < BRIEF_THEN_FULL_SHARE)
    neg = rng.random(int(full.sum())) < FULL_NEGATIVE_SHARE
    phq9 = np.where(neg, rng.integers(0, 10, len(neg)), rng.integers(10, 24, len(neg)))
    observe(m[full], day[full], np.full(int(full.sum()), "44261-6"), phq9.astype(str))
    positive = positive & ~(full & np.isin(np.arange(len(m)), np.flatnonzero(full)[neg]))
    # the office visit of the screening (a CDF qualifying encounter) and, for some, the G-code of the result
    visit = rng.random(len(m)) < SCREEN_VISIT_SHARE
    chunk.emit("screen_visit", m[visit], day[visit])
    g = visit & (rng.random(len(m)) < G_CODE_SHARE)
    followed_same_day = rng.random(len(m)) < FOLLOW_UP_SHARES[0]
    chunk.emit("g8510", m[g & ~positive], day[g & ~positive])
    chunk.emit("g8431", m[g & positive & followed_same_day], day[g & positive & followed_same_day])
    chunk.emit("g8511", m[g & positive & ~followed_same_day], day[g & positive & ~followed_same_day])
    # follow-up of positive screens: same day, within 30 days, late or none
    pm, pday, same = m[positive], day[positive], followed_same_day[positive]
    u = rng.random(len(pm))
    off = np.full(len(pm), -1, np.int64)
    off[same] = 0
    within = ~same & (u < (FOLLOW_UP_SHARES[1] - FOLLOW_UP_SHARES[0]) / (1 - FOLLOW_UP_SHARES[0]))
    off[within] = rng.integers(1, 31, int(within.sum()))
    late = (off < 0) & (rng.random(len(pm)) < LATE_FOLLOW_UP_SHARE)
    off[late] = rng.integers(31, 46, int(late.sum()))
    has = off >= 0
    rx = has & (rng.random(len(pm)) < ANTIDEPRESSANT_FOLLOW_UP_SHARE)
    chunk.emit("depression_fu", pm[has & ~rx], (pday + off)[has & ~rx])
    chunk.fills(pm[rx], (pday + off)[rx], "antidepressant", np.ones(int(rx.sum()), np.int64), gen.DAYS_SUPPLY)
    # not screened for a documented reason
    reason = np.flatnonzero((age >= 12) & (rng.random(n) < NOT_SCREENED_REASON_SHARE) & ((chunk.len1 + chunk.len2) > 0))
    reason = np.setdiff1d(reason, m)
    rday = chunk.place(reason)
    chunk.emit("screen_visit", reason, rday)
    chunk.emit("g8433", reason, rday)

    # -- developmental screening of children turning 1, 2 or 3 ---------------------------------------------
    turning = age + 1
    for a, p in DEV_SCREENED_SHARE.items():
        kids = np.flatnonzero((turning == a) & (rng.random(n) < p))
        bday = _birthday(chunk.birth[kids], np.full(len(kids), a))
        on_bday = rng.random(len(kids)) < DEV_ON_BIRTHDAY_SHARE
        sday = np.where(on_bday, bday, bday - rng.integers(1, 340, len(kids)))
        chunk.emit("developmental_screen", kids, sday)

    # -- behavioral-health services in primary care ----------------------------------------------------------
    m = chunk.draw_members(STBH_PER_MY * chunk.covfrac)
    chunk.emit("stbh", m, chunk.place(m))

    # -- newborns are enrolled from birth (Medicaid deemed-newborn eligibility) -------------------------------
    newborns = ids_of(chunk, np.flatnonzero(age == 0))
    first_span = pl.int_range(pl.len()).over("member_id") == 0
    eligibility = eligibility.with_columns(
        pl.when(first_span & pl.col("member_id").is_in(newborns.implode()))
        .then(pl.min_horizontal("enrollment_start_date", "birth_date")).otherwise(pl.col("enrollment_start_date"))
        .alias("enrollment_start_date"))

    # -- foster care -------------------------------------------------------------------------------------------
    single = eligibility.group_by("member_id", maintain_order=True).len().filter(pl.col("len") == 1)["member_id"]
    ids = chunk.member_ids
    is_single = ids.is_in(single.implode()).to_numpy()
    foster = np.flatnonzero((age >= 1) & (age <= 17) & is_single & (chunk.len1 >= 200) & (rng.random(n) < FOSTER_SHARE))
    new = foster[rng.random(len(foster)) < FOSTER_NEW_SHARE]
    start = chunk.cs1[new] + rng.integers(0, np.maximum(np.minimum(chunk.len1[new] - 60, 330), 1), len(new))
    start = np.maximum(start, chunk.cs1[new] + 1)
    assessed = rng.random(len(new))
    off = np.where(assessed < FOSTER_ASSESSED[0], rng.integers(0, 31, len(new)), rng.integers(31, 61, len(new)))
    got = assessed < FOSTER_ASSESSED[0] + FOSTER_ASSESSED[1]
    chunk.emit("foster_assessment", new[got], (start + off)[got])
    elig = eligibility.with_columns(pl.col("member_id").is_in(ids.gather(foster).implode()).alias("foster_care"))
    if len(new):
        starts = pl.DataFrame({"member_id": ids.gather(new), "_start": _date(start)})
        split = elig.join(starts, on="member_id", how="inner")
        before = split.with_columns(pl.lit(False).alias("foster_care"),
                                    (pl.col("_start") - pl.duration(days=1)).alias("enrollment_end_date"))
        after = split.with_columns(pl.col("_start").alias("enrollment_start_date"))
        elig = pl.concat([elig.join(starts, on="member_id", how="anti"),
                          before.drop("_start"), after.drop("_start")]).sort("member_id", "enrollment_start_date",
                                                                              maintain_order=True)

    # -- other clinical observations -----------------------------------------------------------------------------
    m = chunk.draw_members(OTHER_OBSERVATIONS_PER_MY * chunk.covfrac)
    which = rng.integers(0, len(OTHER_OBSERVATIONS), len(m))
    lo = np.array([o[1] for o in OTHER_OBSERVATIONS])[which]
    hi = np.array([o[2] for o in OTHER_OBSERVATIONS])[which]
    value = (lo + rng.random(len(m)) * (hi - lo)).round(0).astype(np.int64).astype(str).astype("<U32")
    text = rng.choice(np.array(OTHER_OBSERVATIONS[-1][3]), len(m))
    value = np.where(np.array([o[3] is not None for o in OTHER_OBSERVATIONS])[which], text, value)
    observe(m, chunk.place(m), np.array([o[0] for o in OTHER_OBSERVATIONS])[which], value)

    allm = np.concatenate(obs_m)
    obs = pl.DataFrame({
        "member_id": ids.gather(allm),
        "observation_date": _date(np.concatenate(obs_day)),
        "code_type": pl.repeat("loinc", len(allm), dtype=pl.String, eager=True),
        "code": pl.Series(np.concatenate(obs_code), dtype=pl.String),
        "result": pl.Series(np.concatenate(obs_result), dtype=pl.String),
    }).sort("member_id", "observation_date", "code", maintain_order=True)
    return elig, obs
