"""Substance use disorder (SUD) treatment in the synthetic sample: new treatment episodes that start, continue
or drop out the way Medicaid claims show them (IET), and the history of members already in SUD care.

How IET sees the rest of the sample. An SUD ED visit (`generate.ED_SUD_PER_1000`) is an episode of its own, since
ED visits are no diagnosis history; its facility claim names the ED physician of its professional claim (see
`generate._Chunk.ed`), so the visit does not initiate itself, and only the FUA follow-up services after it
(`generate.FUA_FOLLOW_UP`, `FUA_MIX`) initiate or engage it -- those follow-up visits are new episodes too. An
ED visit admitted the same or the next day is an inpatient episode, initiated by the stay.

Ongoing care (`generate.CHRONIC_BH_SHARES["sud"]`). Members already in treatment are no new episodes: they were
seen in the year before too (`ONGOING_SUD_VISITS_PER_MY`, from January 1 of the prior year or their enrollment),
and `ONGOING_SUD_EXTRA_VISITS_PER_MY` brings their visits in the year to about monthly, as maintenance and
medication-management care is. Without the prior-year visits, every such member's first visit of the year looked
new (the sample had no earlier claims); with four random visits a year, one in eight visits came after a gap of
over 194 days. Those episodes were rarely initiated (the next visit months away) and never engaged.

New episodes (`NEW_EPISODES_PER_1000`, members 13 and older not in ongoing care, placed from November 15 of
the prior year). The index service is one of `EPISODE_SETTINGS`: an alcohol/drug assessment at an SUD program
(H0001), a primary-care or other office visit that records the SUD, a behavioral-health intake or therapy visit,
ambulatory withdrawal management (H0014), or a withdrawal-management inpatient stay (revenue 0116/0126, dated
by its discharge). The diagnosis gives the cohort (`COHORT_SHARES`, by age; `SECOND_COHORT_SHARE` carry a
second SUD diagnosis, e.g. alcohol and cannabis). Each episode is referred to one treatment course
(`COURSE_SHARES`, by cohort; see `COURSES`): counseling (H0004, H0005, psychotherapy), intensive outpatient
(H0015), counseling with oral naltrexone, office-based buprenorphine (fills plus prescriber visits, a share
billed as the monthly OUD bundles G2086/G2087), buprenorphine switched to the monthly injection (Q9992), an
opioid treatment program (weekly methadone bundles G2067, dated by their first day), or monthly naltrexone
injections (J2315). Whether the patient starts it within 14 days depends on the setting
(`START_WITHIN_14_DAYS`; medication courses start more often, the prescription being written at the index
visit: `MEDICATION_START_WITHIN_14_DAYS`), and some start on the index day with another clinician. Some who do
not start in time start later (`LATE_START_SHARE`). Once started, the patient stays in treatment an
exponentially distributed number of days (`COURSES`, mean by course: counseling clients often stop after a
session or two, methadone and buprenorphine patients stay for months), with services at the course's cadence
while they stay. Engagement is whatever this yields: two more services within 34 days of initiation, a monthly
injection or OUD bundle after it.

The shares and durations are set so that these mechanisms give IET rates near published Medicaid figures
(initiation about 40-45%, engagement 12-16%, the opioid cohort highest on both, alcohol and other drugs
lowest); tests/test_sample_sud.py checks the ranges. A 5,000-member sample has about 120 episodes, so its rates
move several points from seed to seed. Everything is vectorised per chunk with numpy (Python loops only over
settings and courses) and drawn from the chunk's generator after every other scenario, so the other scenarios
draw the same claims as without this module (measures that count any behavioral-health visit see the new
ones too). `generate.py` registers `KINDS` and calls `plant` once per chunk.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from bhmeasures.sample.draws import first_enrollment, pick

# --- ongoing care (members of generate.CHRONIC_BH_SHARES["sud"]) ---
ONGOING_SUD_VISITS_PER_MY = 10.0  # their visits in the year before (January 1 or enrollment through December 31)
ONGOING_SUD_EXTRA_VISITS_PER_MY = 6.0  # added to the background's CHRONIC_BH_VISITS_PER_MY (4) in the year

# --- new episodes ---
NEW_EPISODES_PER_1000 = 20.0  # new SUD treatment episodes outside the ED, per 1,000 member-years (all ages)
EPISODE_AGE_WEIGHTS = ((0.0, 0.45, 1.4, 1.5, 1.0, 0.25), (13, 18, 26, 45, 65))  # relative rate by age band
PRIOR_YEAR_DAYS = 47  # episodes are placed from November 15 of the prior year (the intake period's start)
EPISODE_SETTINGS = (  # index service of a new episode
    "assessment",  # H0001 alcohol/drug assessment at an SUD program, POS 57
    "office",  # 99213/99214/99204 with an SUD diagnosis, primary care or psychiatry, POS 11
    "bh_visit",  # 90791/90834 intake or therapy with an SUD diagnosis, office or telehealth
    "withdrawal",  # H0014 ambulatory withdrawal management, one day
    "inpatient",  # withdrawal-management stay (revenue 0116/0126/0120), 2-6 days; the discharge is the episode
)
SETTING_SHARES = {  # by the cohort of the index diagnosis: alcohol is found in primary care more often
    "alcohol": (0.24, 0.36, 0.15, 0.10, 0.15),
    "opioid": (0.35, 0.25, 0.10, 0.12, 0.18),
    "other": (0.32, 0.25, 0.25, 0.08, 0.10),
}
COHORT_SHARES = {  # (alcohol, opioid, other drug) share of the index diagnosis
    "13-17": (0.25, 0.05, 0.70),  # adolescents: mostly cannabis
    "18+": (0.38, 0.27, 0.35),
}
SECOND_COHORT_SHARE = 0.15  # episodes whose claims carry a second SUD diagnosis of another cohort

# --- the treatment course an episode leads to ---
# course -> (visit kinds {kind: share}, days between visits, medication, mean days in treatment once started)
COURSES: dict[str, tuple[dict[str, float], tuple[int, int], str | None, float]] = {
    "counseling": ({"fu_sud_h0004": 0.40, "fu_sud_h0005": 0.25, "sud_therapy": 0.25, "fu_sud_tele": 0.10}, (5, 10),
                   None, 9.0),
    "intensive_outpatient": ({"sud_iop": 1.0}, (1, 4), None, 10.0),  # H0015 per diem, about three days a week
    "counseling_naltrexone": ({"fu_sud_h0004": 0.50, "fu_sud_h0005": 0.25, "sud_therapy": 0.25}, (5, 10),
                              "naltrexone", 30.0),  # oral naltrexone, 30-day fills
    "buprenorphine": ({"sud_obot": 1.0}, (7, 21), "buprenorphine", 60.0),  # SL fills of 7-30 days
    "buprenorphine_injection": ({"sud_bup_injection": 1.0}, (28, 31), "buprenorphine_induction", 240.0),
    "methadone": ({"sud_otp": 1.0}, (7, 7), None, 260.0),  # weekly OTP bundles
    "naltrexone_injection": ({"sud_naltrexone_injection": 1.0}, (26, 31), None, 60.0),
}
COURSE_SHARES = {
    "alcohol": {"counseling": 0.74, "intensive_outpatient": 0.12, "counseling_naltrexone": 0.12,
                "naltrexone_injection": 0.02},
    "opioid": {"counseling": 0.35, "intensive_outpatient": 0.08, "buprenorphine": 0.33,
               "buprenorphine_injection": 0.04, "methadone": 0.15, "naltrexone_injection": 0.05},
    "other": {"counseling": 0.80, "intensive_outpatient": 0.20},
}
MEDICATION_COURSES = ("buprenorphine", "buprenorphine_injection", "methadone", "naltrexone_injection")
START_WITHIN_14_DAYS = {  # share of episodes whose counseling / IOP course starts on days 0-13 (after discharge: 1-13)
    "assessment": 0.45, "office": 0.18, "bh_visit": 0.33, "withdrawal": 0.38, "inpatient": 0.35,
}
MEDICATION_START_WITHIN_14_DAYS = 0.78  # medication courses: first fill / OTP dose / injection on days 0-13
ADOLESCENT_START_FACTOR = 0.75  # members 13-17 start less often
SAME_DAY_START_SHARE = 0.12  # starters whose first service is on the index day, with another clinician
MEDICATION_SAME_DAY_SHARE = 0.40  # medication starters filling the prescription on the index day
LATE_START_SHARE = 0.20  # episodes not started in 14 days whose course starts on days 14-45
MAX_SERVICES = 10  # services per course at most (about the first two to three months)

# Diagnoses by cohort (each also in generate's dotted-code set)
DX_COHORT = {
    "alcohol": ("F1020", "F1010", "F10229", "F10239"),
    "opioid": ("F1120", "F1110", "F11220", "F1123"),
    "other": ("F1210", "F1220", "F1420", "F1410", "F1520", "F1320", "F1920"),
}
COHORTS = tuple(DX_COHORT)
DX_CO_OCCURRING = ("F17210", "F411", "F4310", "K7010", "R7401", "G621")  # secondary dx of withdrawal stays

# claim templates, as keyword arguments of generate._Kind
KINDS: dict[str, dict[str, Any]] = {
    "sud_withdrawal_stay": {"institutional": True, "first_line": {("0116", None): 0.6, ("0126", None): 0.25,
                                                                  ("0120", None): 0.15},
                            "extra_lines": (("0250", None), ("0300", None), ("0301", None)), "lines": (2, 4),
                            "bill_type": "111", "dx_extra": DX_CO_OCCURRING, "providers": {"hospital": 0.8,
                                                                                            "psych_hospital": 0.2},
                            "paid": (2400.0, 0.5)},
    "sud_office": {"institutional": False, "first_line": {(None, "99213"): 0.55, (None, "99214"): 0.35,
                                                           (None, "99204"): 0.10},
                   "pos": ("11",), "providers": {"pcp": 0.8, "mh": 0.2}, "paid": (85.0, 0.3)},
    "sud_bh_intake": {"institutional": False, "first_line": {(None, "90791"): 0.6, (None, "90834"): 0.4},
                      "pos": {"11": 0.75, "02": 0.10, "10": 0.15}, "providers": ("mh",), "paid": (130.0, 0.3)},
    "sud_withdrawal": {"institutional": False, "first_line": {(None, "H0014"): 1.0}, "pos": {"57": 0.8, "11": 0.2},
                       "providers": ("sud",), "paid": (160.0, 0.3)},
    "sud_therapy": {"institutional": False, "first_line": {(None, "90834"): 0.5, (None, "90837"): 0.3,
                                                            (None, "90853"): 0.2},
                    "pos": {"11": 0.8, "10": 0.2}, "providers": ("mh",), "paid": (100.0, 0.3)},
    "sud_iop": {"institutional": False, "first_line": {(None, "H0015"): 1.0}, "pos": ("57",), "providers": ("sud",),
                "paid": (140.0, 0.3)},
    "sud_obot": {"institutional": False, "first_line": {(None, "99213"): 0.55, (None, "99214"): 0.45},
                 "pos": ("11",), "providers": {"pcp": 0.7, "mh": 0.3}, "paid": (90.0, 0.3)},
    "sud_obot_monthly": {"institutional": False, "first_line": {(None, "G2087"): 1.0}, "pos": ("11",),
                         "providers": {"pcp": 0.7, "mh": 0.3}, "paid": (180.0, 0.3)},
    "sud_obot_first_month": {"institutional": False, "first_line": {(None, "G2086"): 1.0}, "pos": ("11",),
                             "providers": {"pcp": 0.7, "mh": 0.3}, "paid": (250.0, 0.3)},
    "sud_otp": {"institutional": False, "first_line": {(None, "G2067"): 1.0}, "pos": ("58",), "providers": ("sud",),
                "paid": (210.0, 0.2)},
    "sud_naltrexone_injection": {"institutional": False, "first_line": {(None, "J2315"): 1.0},
                                 "extra_lines": ((None, "96372"),), "lines": (1, 2), "pos": {"11": 0.7, "57": 0.3},
                                 "providers": {"pcp": 0.6, "mh": 0.4}, "paid": (1300.0, 0.2)},
    "sud_bup_injection": {"institutional": False, "first_line": {(None, "Q9992"): 1.0},
                          "extra_lines": ((None, "96372"),), "lines": (1, 2), "pos": ("11",),
                          "providers": {"pcp": 0.7, "mh": 0.3}, "paid": (1700.0, 0.2)},
}
INDEX_KINDS = {"assessment": "fu_sud_assess", "office": "sud_office", "bh_visit": "sud_bh_intake",
               "withdrawal": "sud_withdrawal"}
OBOT_MONTHLY_SHARE = 0.25  # buprenorphine practices billing the monthly OUD bundles instead of office visits
MOUD_NDC_CLASSES = {"buprenorphine": ("sud_buprenorphine_naloxone", "sud_buprenorphine"),
                    "buprenorphine_induction": ("sud_buprenorphine_naloxone", "sud_buprenorphine"),
                    "naltrexone": ("sud_naltrexone_oral",)}
BUPRENORPHINE_DAYS_SUPPLY = {7: 0.35, 14: 0.35, 30: 0.30}


def _series(rng: np.random.Generator, first: np.ndarray, last: np.ndarray, gap_lo: int | np.ndarray,
            gap_hi: int | np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray]:
    """Services of each course i: the first on first[i], then one every gap_lo..gap_hi days (numbers, or one per
    course) up to last[i], the patient's last day in treatment, at most `cap`: (course index, day) of each."""
    k = len(first)
    lo, hi = np.broadcast_to(gap_lo, k)[:, None], np.broadcast_to(gap_hi, k)[:, None]
    steps = rng.integers(lo, hi + 1, (k, cap))
    steps[:, 0] = 0
    day = first[:, None] + np.cumsum(steps, axis=1)
    h, j = np.nonzero(day <= last[:, None])
    return h, day[h, j]


def plant(chunk: Any, elig: pl.DataFrame) -> None:
    """Add ongoing SUD care history and new SUD episodes with their treatment to a chunk (`generate._Chunk`)."""
    from bhmeasures.sample import generate as g

    enrolled_from = first_enrollment(elig)
    _ongoing_care(chunk, g, enrolled_from)
    _new_episodes(chunk, g, enrolled_from)


def _ongoing_care(chunk: Any, g: Any, enrolled_from: np.ndarray) -> None:
    rng = chunk.rng
    members = np.flatnonzero(chunk.bh_group == list(g.CHRONIC_BH_SHARES).index("sud"))
    py0, py1 = g._day(chunk.year - 1), chunk.y0 - 1
    start = np.maximum(enrolled_from[members], py0)
    span = np.maximum(py1 - start + 1, 0)
    n = rng.poisson(ONGOING_SUD_VISITS_PER_MY * span / 365.0)
    h = np.repeat(np.arange(len(members)), n)
    prior_m = members[h]
    prior_day = start[h] + (rng.random(len(h)) * span[h]).astype(np.int64)
    extra = rng.poisson(ONGOING_SUD_EXTRA_VISITS_PER_MY * chunk.covfrac[members])
    year_m = np.repeat(members, extra)
    m = np.concatenate([prior_m, year_m])
    day = np.concatenate([prior_day, chunk.place(year_m)])
    dx = g._choice(rng, g._POOLS["chronic_sud"], len(m))
    mh = rng.random(len(m)) < 0.5  # like the background's ongoing care: half with a MH clinician, half the PCP
    chunk.emit("chronic_bh_mh", m[mh], day[mh], dx1=dx[mh])
    chunk.emit("chronic_bh_pcp", m[~mh], day[~mh], dx1=dx[~mh], rend=chunk.pcp_of[m[~mh]])


def _new_episodes(chunk: Any, g: Any, enrolled_from: np.ndarray) -> None:
    rng = chunk.rng
    ongoing = chunk.bh_group == list(g.CHRONIC_BH_SHARES).index("sud")
    rate = NEW_EPISODES_PER_1000 / 1000 * chunk.age_weight(*EPISODE_AGE_WEIGHTS) * ~ongoing
    m = chunk.draw_members(rate * (365 + PRIOR_YEAR_DAYS) / 365)
    # the index day: a covered day of the year, or (for their share) November 15 - December 31 of the prior year
    prior = rng.random(len(m)) < PRIOR_YEAR_DAYS / (365 + PRIOR_YEAR_DAYS)
    prior_day = chunk.y0 - PRIOR_YEAR_DAYS + rng.integers(0, PRIOR_YEAR_DAYS, len(m))
    day = np.where(prior, prior_day, chunk.place(m))
    keep = ~prior | (enrolled_from[m] <= prior_day)
    m, day = m[keep], day[keep]
    k = len(m)
    if k == 0:
        return
    adolescent = chunk.age[m] < 18
    cohort = np.where(adolescent, pick(rng, COHORT_SHARES["13-17"], k), pick(rng, COHORT_SHARES["18+"], k))
    pools = [g._POOLS[f"sud_{c}"][0] for c in COHORTS]  # uniform pools
    dx1 = np.zeros(k, np.int32)
    dx2 = np.zeros(k, np.int32)
    second = (cohort + rng.integers(1, len(COHORTS), k)) % len(COHORTS)
    has_second = rng.random(k) < SECOND_COHORT_SHARE
    for c, pool in enumerate(pools):
        dx1 = np.where(cohort == c, pool[rng.integers(0, len(pool), k)], dx1)
        dx2 = np.where(has_second & (second == c), pool[rng.integers(0, len(pool), k)], dx2)

    # the index service; `anchor` is the episode date (the discharge for stays)
    setting = np.zeros(k, np.int64)
    for c, name in enumerate(COHORTS):
        setting = np.where(cohort == c, pick(rng, SETTING_SHARES[name], k), setting)
    names = list(EPISODE_SETTINGS)
    anchor = day.copy()
    for s, name in enumerate(names):
        sel = setting == s
        if name == "inpatient":
            los = rng.integers(2, 7, int(sel.sum()))
            anchor[sel] = chunk.stay("sud_withdrawal_stay", m[sel], day[sel], los, dx1[sel])
        else:
            chunk.emit(INDEX_KINDS[name], m[sel], day[sel], dx1=dx1[sel], dx2=dx2[sel])

    # the course it leads to and when (whether) it starts
    course = np.zeros(k, np.int64)
    course_names = list(COURSES)
    for c, name in enumerate(COHORTS):
        shares = COURSE_SHARES[name]
        picked = np.array([course_names.index(x) for x in shares])[pick(rng, shares, k)]
        course = np.where(cohort == c, picked, course)
    medication = np.isin(course, [course_names.index(x) for x in MEDICATION_COURSES])
    p_start = np.where(medication, MEDICATION_START_WITHIN_14_DAYS,
                       np.array([START_WITHIN_14_DAYS[x] for x in names])[setting])
    p_start = p_start * np.where(adolescent, ADOLESCENT_START_FACTOR, 1.0)
    u = rng.random(k)
    starts = u < p_start
    late = ~starts & (u < p_start + (1 - p_start) * LATE_START_SHARE)
    inpatient = setting == names.index("inpatient")
    same_day = ~inpatient & (rng.random(k) < np.where(medication, MEDICATION_SAME_DAY_SHARE, SAME_DAY_START_SHARE))
    soon = 1 + (rng.geometric(0.15, k) - 1) % 13  # days 1-13, the first week most often
    offset = np.where(late, rng.integers(14, 46, k), np.where(same_day, 0, soon))
    go = starts | late
    first = anchor + offset
    for c, name in enumerate(course_names):
        sel = go & (course == c)
        if sel.any():
            _course(chunk, g, name, m[sel], first[sel], same_day[sel] & starts[sel], dx1[sel], dx2[sel])


def _course(chunk: Any, g: Any, name: str, m: np.ndarray, first: np.ndarray, same_day: np.ndarray,
            dx1: np.ndarray, dx2: np.ndarray) -> None:
    """One treatment course for each member m[i], started on day first[i] (`same_day`: on the index day):
    its visits and fills up to the patient's last day in treatment."""
    rng = chunk.rng
    kinds, gap, medication, mean_days = COURSES[name]
    k = len(m)
    last = first + rng.exponential(mean_days, k).astype(np.int64)
    visit_first = first
    if medication is not None:
        classes = MOUD_NDC_CLASSES[medication]
        lo, hi = np.array([chunk.ndc_ranges[c] for c in classes]).T
        which = rng.integers(0, len(classes), k)
        ndc = lo[which] + (rng.random(k) * (hi - lo)[which]).astype(np.int64)  # one product per course
        last_fill = last
        if medication == "naltrexone":  # monthly fills alongside counseling
            ds = np.full(k, 30)
        elif medication == "buprenorphine":
            ds = np.array(list(BUPRENORPHINE_DAYS_SUPPLY))[pick(rng, BUPRENORPHINE_DAYS_SUPPLY, k)]
            # an induction visit on the first fill, unless the index visit was it; then follow-up visits
            visit_first = first + np.where(same_day, rng.integers(gap[0], gap[1] + 1, k), 0)
        else:  # one week of tablets, then the monthly injection
            ds = np.full(k, 7)
            last_fill = first
            visit_first = first + rng.integers(7, 11, k)
        # refilled as the supply runs out, a few days early or late
        h, days = _series(rng, first, last_fill, ds - 3, ds + 3, MAX_SERVICES)
        chunk.add_rx(m[h], days, ndc[h], ds[h])
    kind = pick(rng, kinds, k)
    if name == "buprenorphine":  # some practices bill the monthly bundles instead: G2086, then G2087 monthly
        monthly = rng.random(k) < OBOT_MONTHLY_SHARE
        kind[monthly] = -1
        chunk.emit("sud_obot_first_month", m[monthly], first[monthly], dx1=dx1[monthly], dx2=dx2[monthly])
        h, days = _series(rng, first[monthly] + 30, last[monthly], 28, 33, MAX_SERVICES // 3)
        chunk.emit("sud_obot_monthly", m[monthly][h], days, dx1=dx1[monthly][h], dx2=dx2[monthly][h])
    for i, kname in enumerate(kinds):
        sel = kind == i
        if not sel.any():
            continue
        rend = chunk.providers(g._CKINDS[kname], int(sel.sum()))  # one clinician or program per course
        h, days = _series(rng, visit_first[sel], last[sel], gap[0], gap[1], MAX_SERVICES)
        end = days + 6 if kname == "sud_otp" else None  # a weekly bundle is billed with its week as the dates
        chunk.emit(kname, m[sel][h], days, end, dx1=dx1[sel][h], dx2=dx2[sel][h], rend=rend[h])
