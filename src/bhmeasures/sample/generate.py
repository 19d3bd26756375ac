"""Synthetic Medicaid claims for demos, tests and benchmarks.

`generate_sample` writes the six input tables of the data contract (``eligibility``,
``medical_claim``, ``pharmacy_claim``, ``attribution``, ``provider``, ``observation``) as Parquet files;
the screening scenarios (observations, foster care, developmental screening) come from `screening.py`, the
SAA and AMM cohorts from `pharmacy.py`, new SUD treatment episodes (IET) and earlier SUD care from `sud.py`.

The data are made in chunks of `CHUNK_MEMBERS` members, each fully vectorised with numpy and
polars (Python loops run only over a handful of event *kinds*), so a million members with
about 40 claim lines each fit comfortably in a few GB. Every chunk draws from its own
``numpy.random.default_rng([seed, chunk_number])`` stream, so the output depends only on
``(members, seed, year)`` (and on the numpy version, whose generators may change between
releases) -- not on the machine, the thread count or the order in which chunks are written.

Besides background utilisation (office visits, labs, outpatient facility claims, ED visits
and medical stays), the sample plants behavioural-health scenarios at the rates given by the
module constants below: mental-health stays with readmissions and nonacute transfers, ED
visits for substance use and for mental illness, follow-up visits and pharmacotherapy inside
and just outside the 7- and 30-day windows, same-day visits, hospice, deaths and enrollment
gaps. Rates are "per member-year" unless named ``*_PER_1000``.

Claim tables are sorted by member, then claim start date; claim ids follow that order. That is the
``compact`` layout; ``layout="full"`` writes the same claims as real Tuva extracts carry them
(every input-layer column, mostly null, rows shuffled, large row groups; see `bhmeasures.sample.full`).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypedDict, Unpack

import numpy as np
import polars as pl

from bhmeasures.sample import pharmacy, sud

__all__ = ["LAYOUTS", "TABLE_NAMES", "generate_sample"]

TABLE_NAMES = ("eligibility", "medical_claim", "pharmacy_claim", "attribution", "provider", "observation")
LAYOUTS = ("compact", "full")

# ---------------------------------------------------------------------------------------------
# Rates and shares (documented; "roughly" realistic for an adult+child Medicaid population)
# ---------------------------------------------------------------------------------------------

CHUNK_MEMBERS = 50_000  # members generated per chunk; part of the determinism contract, do not vary
USE_IO_PLUGIN = True  # stream chunks into one Parquet file via polars' IO-source plugin (see _sink)

# Members
AGE_BAND_SHARES = (0.40, 0.55, 0.05)  # share of members aged 0-17, 18-64, 65+ on Jan 1
FEMALE_SHARE = 0.54  # Medicaid skews female (pregnancy and parent eligibility groups)
ENROLL_FULL_SHARE = 0.85  # one span covering the whole year and January of year+1
ENROLL_PARTIAL_SHARE = 0.10  # one span that starts or ends mid-year (month boundaries)
ENROLL_TWO_SPAN_SHARE = 0.05  # two spans with a 1-60 day gap between them (remainder of members)
DEATH_SHARE = 0.005  # members who die during the year (drawn from full-year members)
BENEFIT_MISSING_SHARE = {  # share of members lacking each benefit (flag false)
    "medical_benefit": 0.001,
    "pharmacy_benefit": 0.01,
    "mh_benefit": 0.003,
    "cd_benefit": 0.004,  # e.g. detox-only chemical-dependency benefit
}
PLAN_SHARES = {"medicaid_mco_a": 0.45, "medicaid_mco_b": 0.35, "medicaid_ffs": 0.20}  # plan names
ENTITY_SHARES = (0.20, 0.17, 0.15, 0.14, 0.13, 0.11, 0.10)  # attribution to RAE-1..RAE-7
ATTRIBUTION_SWITCH_SHARE = 0.03  # members whose attributed entity changes once mid-year

# Background medical utilisation, claims per member-year (before frailty and age factors)
UTILISATION_GAMMA_SHAPE = 1.2  # per-member frailty ~ Gamma(shape, 1/shape): mean 1, skewed
OFFICE_VISITS_PER_MY = 8.4  # professional E/M visits, POS 11, 1-3 lines
LAB_CLAIMS_PER_MY = 5.6  # independent lab claims, POS 81, 1-4 lines
OUTPATIENT_FACILITY_PER_MY = 3.4  # hospital outpatient claims, bill type 131, 1-4 lines
BACKGROUND_ED_PER_MY = 0.45  # ED visits for other reasons (facility claim + ED physician claim)
MEDICAL_STAY_PER_MY = 0.04  # acute medical inpatient stays, bill type 111
CHRONIC_BH_SHARES = {"dep": 0.060, "smi": 0.012, "sud": 0.010}  # members in ongoing BH care
CHRONIC_BH_VISITS_PER_MY = 4.0  # outpatient BH visits per member-year for those members

# Behavioural-health index events, per 1,000 member-years
MH_STAY_PER_1000 = 8.0  # acute MH stays (principal MI dx); MH readmissions and ED admissions add ~2 more
NONACUTE_STAY_PER_1000 = 1.5  # stand-alone nonacute (SNF) stays, bill type 211
ED_SUD_PER_1000 = 12.0  # ED visits for substance use (principal SUD dx or an overdose dx)
ED_MI_PER_1000 = 15.0  # ED visits for mental illness or intentional self-harm
HOSPICE_MEMBER_SHARE = 0.003  # members with hospice claims during the year

# Event details
MH_LOS_DAYS = (2, 15)  # length of stay range of mental-health stays (skewed short)
READMIT_30D_SHARE = 0.12  # MH discharges followed by an acute readmission within 30 days
READMIT_MH_SHARE = 0.60  # ... of which with a mental-health principal dx (rest medical, e.g. I50.9)
DIRECT_TRANSFER_SHARE = 0.15  # ... readmissions admitted on the discharge day or the next day
NONACUTE_AFTER_MH_SHARE = 0.06  # MH discharges followed by a nonacute stay within 30 days
ED_OVERDOSE_SHARE = 0.25  # SUD ED visits coded as an overdose (T40.x in 2nd position)
ED_SELF_HARM_SHARE = 0.12  # MI ED visits for self-harm (T14.91XA principal, or X78 in 2nd position)
ED_ADMIT_30D_SHARE = 0.10  # ED visits followed by an inpatient admission within 30 days
ED_ADMIT_SAME_DAY_SHARE = 0.40  # ... of which admitted on the ED date
ED_REPEAT_30D_SHARE = 0.08  # ED visits followed by another ED visit of the same kind within 30 days
DOTTED_DX_SHARE = 0.20  # BH diagnosis codes written with the dot ("F32.9"), per claim
TAXONOMY_MISSING_SHARE = 0.30  # claims without rendering_taxonomy_code (the provider table has it)

# Follow-up, cumulative shares of index events: (within 7 days, within 30 days)
FUH_FOLLOW_UP = (0.40, 0.60)  # after MH discharges: days 1-7 / 1-30 (discharge day excluded)
FUA_FOLLOW_UP = (0.25, 0.40)  # after SUD ED visits: days 0-7 / 0-30 (ED date included)
FUM_FOLLOW_UP = (0.35, 0.55)  # after MI ED visits: days 0-7 / 0-30
DISCHARGE_DAY_ONLY_SHARE = 0.08  # MH discharges without follow-up that get a visit on the discharge day
LATE_FOLLOW_UP_SHARE = 0.15  # index events without follow-up that get one on days 31-45
MORE_VISITS_SHARE = 0.50  # followed-up events that get 1-3 further visits in the next weeks

# Follow-up service mixes (kind name -> share); kinds are defined in _KINDS below
FUH_MIX = {
    "fu_mh_office": 0.42,  # 90834/90837/90791/99213 with a MH provider, POS 11
    "fu_mh_tele": 0.15,  # same, telehealth POS 02/10
    "fu_pcp_mh_dx": 0.08,  # PCP E/M (non-MH provider) with a MH diagnosis
    "fu_bh_ub": 0.10,  # UB claim, revenue 0900/0914, bill type 131
    "fu_php_iop": 0.08,  # H0035 / S9480, POS 52
    "fu_cmhc": 0.10,  # CMHC visit, POS 53
    "fu_tcm": 0.07,  # transitional care 99495/99496 with a MH diagnosis
}
FUM_MIX = FUH_MIX
FUA_MIX = {
    "fu_sud_office": 0.25,  # 99213/99214 with SUD dx, PCP or MH provider, POS 11
    "fu_sud_tele": 0.08,  # same, telehealth
    "fu_sud_h0004": 0.15,  # H0004 behavioural-health counselling, POS 57
    "fu_sud_h0005": 0.12,  # H0005 group counselling, POS 57
    "fu_sud_peer": 0.10,  # H0038 peer support with SUD dx (peer specialist, not a MH provider)
    "fu_sud_assess": 0.05,  # H0001 alcohol/drug assessment
    "rx_moud": 0.25,  # buprenorphine(/naloxone) or oral naltrexone dispensing
}

# Pharmacy
BACKGROUND_FILLS_PER_MY = 8.1  # non-BH prescriptions per member-year (before frailty)
ANTIDEPRESSANT_SHARE = {"dep": 0.60, "other": 0.03}  # members with an antidepressant course
ANTIPSYCHOTIC_SHARE = {"smi": 0.80, "other": 0.003}  # members with an oral antipsychotic course
MOUD_SHARE = {"sud": 0.45, "other": 0.0005}  # members on buprenorphine(/naloxone) or naltrexone
DAYS_SUPPLY = {30: 0.78, 90: 0.08, 14: 0.07, 7: 0.07}  # days_supply distribution
MOUD_DAYS_SUPPLY = {7: 0.30, 14: 0.30, 30: 0.40}  # days_supply of MOUD fills

# Provider pools: name -> (number of NPIs, {taxonomy: share})
PROVIDER_POOLS: dict[str, tuple[int, dict[str, float]]] = {
    "pcp": (3000, {"207Q00000X": 0.35, "208D00000X": 0.10, "207R00000X": 0.20, "208000000X": 0.20,
                   "363LF0000X": 0.10, "363A00000X": 0.05}),
    "ed_doc": (300, {"207P00000X": 1.0}),
    "lab": (80, {"291U00000X": 1.0}),
    "mh": (1500, {"2084P0800X": 0.20, "103TC0700X": 0.15, "1041C0700X": 0.25, "101YM0800X": 0.20,
                  "106H00000X": 0.08, "363LP0808X": 0.10, "2084P0804X": 0.02}),
    "sud": (300, {"101YA0400X": 0.60, "261QR0405X": 0.25, "1041C0700X": 0.15}),
    "peer": (150, {"175T00000X": 1.0}),
    "hospital": (150, {"282N00000X": 1.0}),
    "psych_hospital": (40, {"283Q00000X": 0.6, "273R00000X": 0.4}),
    "snf": (120, {"314000000X": 1.0}),
    "cmhc": (60, {"261QM0801X": 1.0}),
    "hospice": (40, {"251G00000X": 1.0}),
    "group": (400, {"193200000X": 1.0}),
}
GROUP_BILLING_SHARE = 0.40  # professional claims billed under a group NPI rather than the individual

# Real NDCs by drug class (from the public FDA NDC Directory, all in the bundled medication value sets).
# Embedded rather than read from a file, so a seed gives the same data on every machine.
BH_NDCS: dict[str, tuple[str, ...]] = {
    "sud_buprenorphine_naloxone": ("00054018813", "00054018913"),  # bup/naloxone SL tablets
    "sud_buprenorphine": ("00054017613", "00054017713"),  # buprenorphine SL tablets
    "sud_naltrexone_oral": ("00406117001", "00185003901"),  # naltrexone 50 mg tablets
    "antidepressant": ("00049490030", "00093080701", "00093585101"),  # sertraline, fluoxetine, escitalopram
    "antipsychotic_oral": ("00378350205", "00054022020", "00093756956"),  # risperidone, quetiapine, aripiprazole
    **pharmacy.NDCS,  # long-acting injectable antipsychotics (sample/pharmacy.py)
}
# Labelers for background NDCs (generic manufacturers); products and packages are random.
BACKGROUND_NDC_LABELERS = ("00093", "00378", "00904", "16714", "31722", "33342", "43547", "50090", "51079",
                           "60505", "62332", "65862", "67877", "68180", "68382", "69097", "70010", "00781")
BACKGROUND_NDC_COUNT = 600  # distinct background NDCs (fixed pool, Zipf-like popularity)

# ---------------------------------------------------------------------------------------------
# Code pools
# ---------------------------------------------------------------------------------------------

DX_OFFICE = ("I10", "E119", "J069", "Z0000", "Z00129", "E785", "M545", "J45909", "R05", "K219", "E669",
             "N390", "Z23", "H6590", "L309", "Z3480", "M25561", "R109", "J029", "B349")
DX_LAB = ("Z0000", "E119", "I10", "E785", "R7303", "D649", "Z3480", "N390", "E039", "R739")
DX_OUTPATIENT = ("R079", "M545", "Z1231", "Z1211", "K219", "R109", "M1711", "S8290XA", "J189", "I10")
DX_ED = ("R079", "R1030", "S0990XA", "J069", "N390", "R519", "S93401A", "K529", "R509", "J45901",
         "S6991XA", "R112")
DX_MEDICAL_STAY = ("I509", "J189", "A419", "N179", "J441", "I214", "K8590", "E1110")
DX_NONACUTE = ("I639", "S72001D", "M6281", "J189", "Z5189")
DX_HOSPICE = ("C349", "G309", "I509", "C189", "J449")
DX_MI = ("F329", "F331", "F332", "F209", "F250", "F319", "F312", "F411", "F4310", "F4312", "F603", "F39")
DX_MI_ED = ("F329", "F411", "F4310", "F209", "F419", "F331", "F319", "F4321")
DX_SELF_HARM = ("T1491XA", "X781XXA", "T391X2A", "T424X2A")
DX_SUD = ("F1020", "F1010", "F11220", "F1120", "F1110", "F1410", "F1420", "F1210", "F1520", "F10229")
DX_OVERDOSE = ("T401X1A", "T402X1A", "T405X1A", "T40411A")
DX_OVERDOSE_PRINCIPAL = ("R4182", "R55", "R0689", "R402")
DX_CHRONIC = {"dep": ("F329", "F331", "F411", "F419", "F4310", "F4322"), "smi": ("F209", "F250", "F319", "F312"),
              "sud": ("F1120", "F1020", "F1220", "F11220")}
BH_DX_PREFIXES = ("F", "T14", "T39", "T40", "T42", "X7", "X8")  # dx codes that may carry the dot

OFFICE_EM = {"99213": 0.42, "99214": 0.22, "99212": 0.08, "99203": 0.05, "99204": 0.04, "99392": 0.05,
             "99393": 0.04, "99395": 0.05, "99396": 0.05}
OFFICE_EXTRA = ("36415", "90471", "90686", "87880", "81002", "93000", "82962", "96160", "99173")
LAB_HCPCS = ("80053", "85025", "80061", "83036", "84443", "82306", "80048", "87086", "81001", "36415")
OUTPATIENT_LINES = (("0300", "80053"), ("0301", "85025"), ("0320", "71046"), ("0350", "70450"),
                    ("0610", "70553"), ("0250", None), ("0636", "J1885"), ("0730", "93005"),
                    ("0402", "76700"), ("0360", "45378"))
ED_EXTRA_LINES = (("0300", "80053"), ("0301", "85025"), ("0250", None), ("0320", "71046"), ("0350", "70450"),
                  ("0636", "J2405"), ("0730", "93005"))
STAY_EXTRA_LINES = (("0250", None), ("0300", None), ("0301", None), ("0320", None), ("0636", None))

MEDICAL_SCHEMA = pl.Schema({
    "claim_id": pl.String, "claim_line_number": pl.Int32, "claim_type": pl.String, "member_id": pl.String,
    "claim_start_date": pl.Date, "claim_end_date": pl.Date, "claim_line_start_date": pl.Date,
    "claim_line_end_date": pl.Date, "admission_date": pl.Date, "discharge_date": pl.Date,
    "bill_type_code": pl.String, "place_of_service_code": pl.String, "revenue_center_code": pl.String,
    "hcpcs_code": pl.String, "diagnosis_code_1": pl.String, "diagnosis_code_2": pl.String,
    "diagnosis_code_3": pl.String, "diagnosis_code_4": pl.String, "rendering_npi": pl.String,
    "billing_npi": pl.String, "rendering_taxonomy_code": pl.String, "paid_amount": pl.Float64,
})
PHARMACY_SCHEMA = pl.Schema({
    "claim_id": pl.String, "claim_line_number": pl.Int32, "member_id": pl.String, "dispensing_date": pl.Date,
    "ndc_code": pl.String, "days_supply": pl.Int32, "quantity": pl.Float64, "prescribing_provider_npi": pl.String,
    "paid_amount": pl.Float64,
})

EPOCH = np.datetime64("1970-01-01", "D")
NULL_DAY = np.iinfo(np.int32).min


# ---------------------------------------------------------------------------------------------
# Vocabulary: every code is an index into one string list (0 = null)
# ---------------------------------------------------------------------------------------------

_VOCAB: list[str | None] = [None]
_VIDX: dict[str, int] = {}


def _v(code: str | None) -> int:
    if code is None:
        return 0
    if code not in _VIDX:
        _VIDX[code] = len(_VOCAB)
        _VOCAB.append(code)
    return _VIDX[code]


def _vi(codes: Iterable[str | None]) -> np.ndarray:
    return np.array([_v(c) for c in codes], dtype=np.int32)


_Pool = tuple[str, ...] | dict[str, float]  # codes drawn uniformly, or {code: share}
_Line = tuple[str | None, str | None]  # (revenue code, HCPCS code) of one claim line
_LinePool = tuple[_Line, ...] | dict[_Line, float]


def _pool(spec: _Pool) -> tuple[np.ndarray, np.ndarray]:
    """A code pool as (vocab indices, probabilities): from a dict {code: share} or a uniform tuple."""
    if isinstance(spec, dict):
        codes, w = list(spec), np.array(list(spec.values()), dtype=np.float64)
    else:
        codes, w = list(spec), np.ones(len(spec))
    return _vi(codes), w / w.sum()


@dataclass(frozen=True)
class _Kind:
    """A claim template: setting, line layout, diagnoses, provider pool and price."""

    institutional: bool
    first_line: _LinePool  # ((revenue, hcpcs), ...) for line 1, or {(rev, hcpcs): share}
    extra_lines: tuple[_Line, ...] = ()  # pool for lines 2..n
    lines: tuple[int, int] = (1, 1)  # min, max lines per claim
    bill_type: str | None = None
    pos: _Pool = ()  # {pos: share} or tuple, professional claims only
    dx1: _Pool = ()  # pool of principal dx (unless given per claim)
    dx_extra: _Pool = ()  # pool for dx 2..4
    max_extra_dx: int = 2
    providers: _Pool = ("pcp",)  # provider pool names, tuple (uniform) or dict
    paid: tuple[float, float] = (80.0, 0.6)  # median paid per line, lognormal sigma


_KINDS: dict[str, _Kind] = {
    # --- background ---
    "office": _Kind(False, {(None, c): s for c, s in OFFICE_EM.items()}, tuple((None, c) for c in OFFICE_EXTRA),
                    (1, 3), pos={"11": 0.93, "02": 0.03, "10": 0.04}, dx1=DX_OFFICE, dx_extra=DX_OFFICE,
                    providers=("pcp",), paid=(75.0, 0.5)),
    "lab": _Kind(False, tuple((None, c) for c in LAB_HCPCS), tuple((None, c) for c in LAB_HCPCS), (1, 4),
                 pos=("81",), dx1=DX_LAB, dx_extra=DX_LAB, max_extra_dx=1, providers=("lab",), paid=(18.0, 0.7)),
    "outpatient": _Kind(True, OUTPATIENT_LINES, OUTPATIENT_LINES, (1, 4), bill_type="131", dx1=DX_OUTPATIENT,
                        dx_extra=DX_OFFICE, providers=("hospital",), paid=(140.0, 0.9)),
    "ed_facility": _Kind(True, {("0450", "99283"): 0.35, ("0450", "99284"): 0.45, ("0450", "99285"): 0.20},
                         ED_EXTRA_LINES, (2, 4), bill_type="131", dx1=DX_ED, dx_extra=DX_OFFICE,
                         providers=("hospital",), paid=(220.0, 0.7)),
    "ed_prof": _Kind(False, {(None, "99283"): 0.35, (None, "99284"): 0.45, (None, "99285"): 0.20}, (), (1, 1),
                     pos=("23",), dx1=DX_ED, dx_extra=DX_OFFICE, providers=("ed_doc",), paid=(110.0, 0.4)),
    "medical_stay": _Kind(True, {("0120", None): 0.6, ("0110", None): 0.2, ("0200", None): 0.2},
                          STAY_EXTRA_LINES, (3, 5), bill_type="111", dx1=DX_MEDICAL_STAY, dx_extra=DX_OFFICE,
                          max_extra_dx=3, providers=("hospital",), paid=(2500.0, 0.8)),
    "nonacute_stay": _Kind(True, {("0022", None): 0.5, ("0190", None): 0.5},
                           (("0250", None), ("0420", "97110"), ("0430", "97530")), (2, 3), bill_type="211",
                           dx1=DX_NONACUTE, dx_extra=DX_OFFICE, providers=("snf",), paid=(1800.0, 0.6)),
    "chronic_bh_pcp": _Kind(False, {(None, "99213"): 0.6, (None, "99214"): 0.4}, (), (1, 1), pos=("11",),
                            dx_extra=DX_OFFICE, max_extra_dx=1, providers=("pcp",), paid=(75.0, 0.4)),
    "chronic_bh_mh": _Kind(False, {(None, "90834"): 0.4, (None, "90837"): 0.3, (None, "99214"): 0.2,
                                   (None, "90832"): 0.1}, (), (1, 1), pos={"11": 0.8, "10": 0.2},
                           providers=("mh",), paid=(95.0, 0.3)),
    "hospice_inst": _Kind(True, {("0651", "Q5001"): 0.4, ("0651", "Q5002"): 0.15, ("0651", "Q5004"): 0.15,
                                 ("0651", "Q5010"): 0.1, ("0651", None): 0.2}, (("0250", None),), (1, 2),
                          bill_type="811", dx1=DX_HOSPICE, providers=("hospice",), paid=(3800.0, 0.3)),
    "hospice_prof": _Kind(False, {(None, "G9473"): 0.6, (None, "99347"): 0.4}, (), (1, 1), pos=("34",),
                          dx1=DX_HOSPICE, providers=("pcp",), paid=(60.0, 0.3)),
    # --- behavioural-health index events (dx usually given per claim) ---
    "mh_stay": _Kind(True, {("0114", None): 0.45, ("0124", None): 0.40, ("0100", None): 0.15},
                     (("0250", None), ("0300", None)), (3, 4), bill_type="111", dx1=DX_MI, dx_extra=DX_MI,
                     providers={"psych_hospital": 0.6, "hospital": 0.4}, paid=(3200.0, 0.6)),
    "sud_stay": _Kind(True, {("0116", None): 0.5, ("0126", None): 0.3, ("0120", None): 0.2},
                      (("0250", None), ("0300", None)), (3, 4), bill_type="111", dx1=DX_SUD, dx_extra=DX_MI,
                      providers={"psych_hospital": 0.3, "hospital": 0.7}, paid=(2800.0, 0.6)),
    # --- follow-up services ---
    "fu_mh_office": _Kind(False, {(None, "90834"): 0.35, (None, "90837"): 0.25, (None, "90791"): 0.20,
                                  (None, "99213"): 0.10, (None, "99214"): 0.10}, (), (1, 1), pos=("11",),
                          dx1=DX_MI, dx_extra=DX_MI, max_extra_dx=1, providers=("mh",), paid=(110.0, 0.3)),
    "fu_mh_tele": _Kind(False, {(None, "90834"): 0.4, (None, "90837"): 0.3, (None, "90791"): 0.3}, (), (1, 1),
                        pos={"02": 0.4, "10": 0.6}, dx1=DX_MI, max_extra_dx=0, providers=("mh",),
                        paid=(100.0, 0.3)),
    "fu_pcp_mh_dx": _Kind(False, {(None, "99213"): 0.6, (None, "99214"): 0.4}, (), (1, 1), pos=("11",),
                          dx1=DX_MI, dx_extra=DX_OFFICE, max_extra_dx=1, providers=("pcp",), paid=(75.0, 0.3)),
    "fu_bh_ub": _Kind(True, {("0900", None): 0.4, ("0914", None): 0.4, ("0914", "90834"): 0.2}, (), (1, 1),
                      bill_type="131", dx1=DX_MI, max_extra_dx=0, providers=("cmhc",), paid=(150.0, 0.3)),
    "fu_php_iop": _Kind(False, {(None, "H0035"): 0.6, (None, "S9480"): 0.4}, (), (1, 1), pos=("52",),
                        dx1=DX_MI, max_extra_dx=0, providers=("mh",), paid=(300.0, 0.3)),
    "fu_cmhc": _Kind(False, {(None, "90834"): 0.4, (None, "90832"): 0.2, (None, "H0036"): 0.2,
                             (None, "90791"): 0.2}, (), (1, 1), pos=("53",), dx1=DX_MI, max_extra_dx=0,
                     providers=("mh",), paid=(90.0, 0.3)),
    "fu_tcm": _Kind(False, {(None, "99495"): 0.5, (None, "99496"): 0.5}, (), (1, 1), pos=("11",),
                    dx1=DX_MI, dx_extra=DX_OFFICE, max_extra_dx=1, providers={"pcp": 0.7, "mh": 0.3},
                    paid=(180.0, 0.3)),
    "fu_sud_office": _Kind(False, {(None, "99213"): 0.6, (None, "99214"): 0.4}, (), (1, 1), pos=("11",),
                           dx1=DX_SUD, dx_extra=DX_MI, max_extra_dx=1, providers={"pcp": 0.6, "mh": 0.4},
                           paid=(80.0, 0.3)),
    "fu_sud_tele": _Kind(False, {(None, "99213"): 0.5, (None, "90834"): 0.5}, (), (1, 1),
                         pos={"02": 0.5, "10": 0.5}, dx1=DX_SUD, max_extra_dx=0, providers=("mh",),
                         paid=(80.0, 0.3)),
    "fu_sud_h0004": _Kind(False, {(None, "H0004"): 1.0}, (), (1, 1), pos={"57": 0.8, "11": 0.2}, dx1=DX_SUD,
                          max_extra_dx=0, providers=("sud",), paid=(60.0, 0.3)),
    "fu_sud_h0005": _Kind(False, {(None, "H0005"): 1.0}, (), (1, 1), pos=("57",), dx1=DX_SUD, max_extra_dx=0,
                          providers=("sud",), paid=(35.0, 0.3)),
    "fu_sud_peer": _Kind(False, {(None, "H0038"): 1.0}, (), (1, 1), pos={"11": 0.5, "57": 0.5}, dx1=DX_SUD,
                         max_extra_dx=0, providers=("peer",), paid=(30.0, 0.3)),
    "fu_sud_assess": _Kind(False, {(None, "H0001"): 1.0}, (), (1, 1), pos={"57": 0.7, "11": 0.3}, dx1=DX_SUD,
                           max_extra_dx=0, providers=("sud",), paid=(120.0, 0.3)),
}


@dataclass(frozen=True)
class _CompiledKind:
    inst: bool
    first_rev: np.ndarray
    first_hcpcs: np.ndarray
    first_p: np.ndarray
    extra_rev: np.ndarray
    extra_hcpcs: np.ndarray
    lines: tuple[int, int]
    bill: int
    pos: tuple[np.ndarray, np.ndarray]
    dx1: tuple[np.ndarray, np.ndarray]
    dx_extra: tuple[np.ndarray, np.ndarray]
    max_extra_dx: int
    providers: tuple[tuple[str, ...], np.ndarray]
    paid: tuple[float, float]


def _compile(k: _Kind) -> _CompiledKind:
    if isinstance(k.first_line, dict):
        pairs, w = list(k.first_line), np.array(list(k.first_line.values()))
    else:
        pairs, w = list(k.first_line), np.ones(len(k.first_line))
    extra = list(k.extra_lines) or pairs
    if isinstance(k.providers, dict):
        pnames, pw = tuple(k.providers), np.array(list(k.providers.values()))
    else:
        pnames, pw = tuple(k.providers), np.ones(len(k.providers))
    empty = (np.zeros(1, np.int32), np.ones(1))
    return _CompiledKind(
        inst=k.institutional,
        first_rev=_vi(p[0] for p in pairs), first_hcpcs=_vi(p[1] for p in pairs), first_p=w / w.sum(),
        extra_rev=_vi(p[0] for p in extra), extra_hcpcs=_vi(p[1] for p in extra),
        lines=k.lines, bill=_v(k.bill_type),
        pos=_pool(k.pos) if k.pos else empty,
        dx1=_pool(k.dx1) if k.dx1 else empty,
        dx_extra=_pool(k.dx_extra) if k.dx_extra else empty,
        max_extra_dx=k.max_extra_dx if k.dx_extra else 0,
        providers=(pnames, pw / pw.sum()), paid=k.paid,
    )


_KINDS.update({name: _Kind(**kw) for name, kw in pharmacy.KINDS.items()})  # SAA and AMM cohorts' claims
_KINDS.update({name: _Kind(**kw) for name, kw in sud.KINDS.items()})  # SUD treatment episodes (IET)
_CKINDS = {name: _compile(k) for name, k in _KINDS.items()}
_POOLS = {name: _pool(codes) for name, codes in {
    "office": DX_OFFICE, "mi": DX_MI, "mi_ed": DX_MI_ED, "self_harm": DX_SELF_HARM, "sud": DX_SUD,
    "overdose": DX_OVERDOSE, "overdose_principal": DX_OVERDOSE_PRINCIPAL, "medical_stay": DX_MEDICAL_STAY,
    "injury": ("S61512A", "S51812A", "S61412A"),
    **{f"chronic_{k}": v for k, v in DX_CHRONIC.items()},
    **{f"sud_{k}": v for k, v in sud.DX_COHORT.items()},
}.items()}
_TAXONOMY_POOLS = {name: _pool(tax) for name, (_, tax) in PROVIDER_POOLS.items()}


def _dotted(code: str) -> str:
    return code[:3] + "." + code[3:] if len(code) > 3 else code


# Index of the dotted variant of each BH dx code (identity for everything else).
_BH_DX = {c for pool in (DX_MI, DX_MI_ED, DX_SELF_HARM, DX_SUD, DX_OVERDOSE, *DX_CHRONIC.values(),
                         *sud.DX_COHORT.values()) for c in pool}
for _c in sorted(_BH_DX):
    _v(_dotted(_c))
_DOT = np.arange(len(_VOCAB), dtype=np.int32)
for _c in _BH_DX:
    if _c.startswith(BH_DX_PREFIXES):
        _DOT[_VIDX[_c]] = _VIDX[_dotted(_c)]
_VOCAB_SERIES = pl.Series("code", _VOCAB, dtype=pl.String)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _day(y: int, m: int = 1, d: int = 1) -> int:
    return int(np.datetime64(f"{y:04d}-{m:02d}-{d:02d}", "D").astype(np.int64))


def _month_start(year: int, month_offset: np.ndarray) -> np.ndarray:
    """First day (days since epoch) of the month `month_offset` months after January of `year`."""
    m = np.datetime64(f"{year:04d}-01", "M") + month_offset.astype(np.int64)
    return m.astype("datetime64[D]").astype(np.int64)


def _month_end_of(days: np.ndarray) -> np.ndarray:
    m = days.astype("datetime64[D]").astype("datetime64[M]") + 1
    return m.astype("datetime64[D]").astype(np.int64) - 1


def _choice(rng: np.random.Generator, pool: tuple[np.ndarray, np.ndarray], n: int) -> np.ndarray:
    codes, p = pool
    if len(codes) == 1:
        return np.full(n, codes[0], dtype=codes.dtype)
    return codes[rng.choice(len(codes), size=n, p=p)]


def _within(counts: np.ndarray) -> np.ndarray:
    """0-based position of each repeated element within its group (for np.repeat(x, counts))."""
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    return np.arange(total, dtype=np.int64) - np.repeat(starts, counts)


def _npis(rng: np.random.Generator, n: int) -> np.ndarray:
    """`n` distinct valid NPIs (Luhn check digit over the 80840 prefix) as int64."""
    cand = rng.integers(100_000_000, 300_000_000, size=2 * n + 100)
    _, first = np.unique(cand, return_index=True)
    base = cand[np.sort(first)][:n]
    digits = (base[:, None] // 10 ** np.arange(8, -1, -1)) % 10  # 9 digits, left to right
    dbl = digits[:, 0::2] * 2  # positions 1,3,5,7,9 from the left are doubled
    total = 24 + (dbl // 10 + dbl % 10).sum(axis=1) + digits[:, 1::2].sum(axis=1)
    check = (10 - total % 10) % 10
    return base * 10 + check


def _date_series(name: str, days: np.ndarray, valid: np.ndarray | None = None) -> pl.Series:
    s = pl.Series(name, days.astype(np.int32), dtype=pl.Int32).cast(pl.Date)
    if valid is not None and not valid.all():
        s = pl.select(pl.when(pl.Series(valid)).then(s)).to_series().alias(name)
    return s


def _codes(name: str, idx: np.ndarray) -> pl.Series:
    return _VOCAB_SERIES.gather(idx).alias(name)


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pl.Series:
    s = pl.Series(numbers.astype(np.int64) + 10**width).cast(pl.String).str.slice(1)  # zero-padded digits
    return pl.select(pl.format(prefix + "{}", s)).to_series()


def _load_bh_ndcs() -> dict[str, np.ndarray]:
    return {cls: np.array(v) for cls, v in BH_NDCS.items()}


def _background_ndcs() -> np.ndarray:
    rng = np.random.default_rng(20_251_122)  # fixed: the pool is the same for every seed
    lab = np.array(BACKGROUND_NDC_LABELERS)[rng.integers(0, len(BACKGROUND_NDC_LABELERS), 2 * BACKGROUND_NDC_COUNT)]
    prod = rng.integers(0, 10_000, 2 * BACKGROUND_NDC_COUNT)
    pack = rng.choice(np.array([1, 5, 10, 30, 90]), 2 * BACKGROUND_NDC_COUNT)
    codes = np.char.add(np.char.add(lab, np.char.zfill(prod.astype(str), 4)), np.char.zfill(pack.astype(str), 2))
    _, first = np.unique(codes, return_index=True)
    return codes[np.sort(first)][:BACKGROUND_NDC_COUNT]


# ---------------------------------------------------------------------------------------------
# Providers (shared by all chunks)
# ---------------------------------------------------------------------------------------------


@dataclass
class _Providers:
    npi: np.ndarray  # int64 NPIs
    taxonomy: np.ndarray  # vocab index of each provider's taxonomy
    ranges: dict[str, tuple[int, int]]  # pool name -> [start, stop) into npi

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame({
            "npi": pl.Series(self.npi).cast(pl.String),
            "taxonomy_code": _codes("taxonomy_code", self.taxonomy),
        })


def _make_providers(seed: int) -> _Providers:
    rng = np.random.default_rng([seed, 1_000_003])
    total = sum(n for n, _ in PROVIDER_POOLS.values())
    npi = _npis(rng, total)
    tax, ranges, start = [], {}, 0
    for name, (n, _) in PROVIDER_POOLS.items():
        tax.append(_choice(rng, _TAXONOMY_POOLS[name], n))
        ranges[name] = (start, start + n)
        start += n
    return _Providers(npi=npi, taxonomy=np.concatenate(tax), ranges=ranges)


# ---------------------------------------------------------------------------------------------
# One chunk of members
# ---------------------------------------------------------------------------------------------

_LINE_COLUMNS = ("member", "claim", "line", "inst", "cs", "ce", "adm", "rev", "hcpcs", "bill", "pos",
                 "dx1", "dx2", "dx3", "dx4", "rend", "billnpi", "tax", "paid")


class _Chunk:
    def __init__(self, rng: np.random.Generator, first_member: int, n: int, year: int,
                 providers: _Providers, ndc_ranges: dict[str, tuple[int, int]]) -> None:
        self.rng, self.first, self.n, self.year = rng, first_member, n, year
        self.prov = providers
        self.ndc_ranges = ndc_ranges
        self.y0, self.y1 = _day(year), _day(year, 12, 31)
        self.lines: dict[str, list[np.ndarray]] = {c: [] for c in _LINE_COLUMNS}
        self.n_claims = 0
        self.rx: dict[str, list[np.ndarray]] = {c: [] for c in ("member", "day", "ndc", "ds", "qty", "npi", "paid")}

    # ---- members and enrollment ----
    def members(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        rng, n, year = self.rng, self.n, self.year
        band = rng.choice(3, size=n, p=np.array(AGE_BAND_SHARES))
        age = np.where(band == 0, rng.integers(0, 18, n),
                       np.where(band == 1, rng.integers(18, 65, n),
                                np.minimum(65 + rng.exponential(9.0, n).astype(np.int64), 100)))
        birth_year = year - 1 - age
        ys = (birth_year - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
        ye = (birth_year - 1969).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
        birth = ys + (rng.random(n) * (ye - ys)).astype(np.int64)
        self.age = age
        self.birth = birth
        female = rng.random(n) < FEMALE_SHARE

        pattern = rng.choice(3, size=n, p=np.array([ENROLL_FULL_SHARE, ENROLL_PARTIAL_SHARE, ENROLL_TWO_SPAN_SHARE]))
        # span 1 start: the first of a month, up to 5 years before the year (40% on Jan 1)
        back = np.where(rng.random(n) < 0.4, 0, rng.integers(1, 61, n))
        back = np.minimum(back, age * 12)  # no enrollment before birth month (roughly)
        s1 = np.maximum(_month_start(year, -back), birth)
        # end: January of year+1 for most, later months for some
        e1 = _month_end_of(_month_start(year, 12 + np.where(rng.random(n) < 0.6, 0, rng.integers(1, 12, n))))
        # partial: starts or ends mid-year on month boundaries
        partial = pattern == 1
        starts_late = partial & (rng.random(n) < 0.5)
        ends_early = partial & ~starts_late
        s1 = np.where(starts_late, _month_start(year, rng.integers(1, 12, n)), s1)
        e1 = np.where(ends_early, _month_end_of(_month_start(year, rng.integers(0, 11, n))), e1)
        # two spans: span 1 ends mid-year, a 1-60 day gap, span 2 runs through January of year+1
        two = pattern == 2
        gap = rng.integers(1, 61, n)
        e1_two = self.y0 + rng.integers(30, 300, n)
        s2 = e1_two + gap + 1
        e2 = _month_end_of(_month_start(year, np.full(n, 12)))
        e1 = np.where(two, e1_two, e1)
        # deaths among full-year members; enrollment ends with the month of death
        dies = (pattern == 0) & (rng.random(n) < DEATH_SHARE / ENROLL_FULL_SHARE)
        death = self.y0 + rng.integers(0, 365, n)
        e1 = np.where(dies, np.minimum(e1, _month_end_of(death)), e1)

        # coverage inside the year, for placing events (span 2 empty unless two spans)
        self.cs1 = np.maximum(s1, self.y0)
        self.ce1 = np.minimum(np.minimum(e1, self.y1), np.where(dies, death, self.y1))
        self.len1 = np.maximum(self.ce1 - self.cs1 + 1, 0)
        self.cs2 = np.where(two, s2, self.y1 + 1)
        self.len2 = np.where(two, np.maximum(np.minimum(e2, self.y1) - s2 + 1, 0), 0)
        self.covfrac = (self.len1 + self.len2) / 365.0

        ids = _ids("M", self.first + np.arange(n) + 1, 9)
        self.member_ids = ids
        flags = {k: rng.random(n) >= v for k, v in BENEFIT_MISSING_SHARE.items()}
        plan = np.array(list(PLAN_SHARES))[rng.choice(len(PLAN_SHARES), size=n, p=np.array(list(PLAN_SHARES.values())))]
        row_member = np.concatenate([np.arange(n), np.flatnonzero(two)])
        order = np.argsort(row_member, kind="stable")
        row_member = row_member[order]
        start = np.concatenate([s1, s2[two]])[order]
        end = np.concatenate([e1, e2[two]])[order]
        ids_rows = ids.gather(row_member)
        elig = pl.DataFrame({
            "member_id": ids_rows,
            "birth_date": _date_series("birth_date", birth[row_member]),
            "gender": pl.Series(np.where(female, "female", "male")[row_member]),
            "enrollment_start_date": _date_series("enrollment_start_date", start),
            "enrollment_end_date": _date_series("enrollment_end_date", end),
            "death_date": _date_series("death_date", death[row_member], dies[row_member]),
            "payer_type": pl.Series(["medicaid"] * len(row_member), dtype=pl.String),
            "plan": pl.Series(plan[row_member]),
            **{k: pl.Series(v[row_member]) for k, v in flags.items()},
        })

        # attribution: one entity for the year; a few members switch once at a month boundary
        ent = rng.choice(len(ENTITY_SHARES), size=n, p=np.array(ENTITY_SHARES))
        switch = rng.random(n) < ATTRIBUTION_SWITCH_SHARE
        ent2 = (ent + rng.integers(1, len(ENTITY_SHARES), n)) % len(ENTITY_SHARES)
        sw_day = _month_start(year, rng.integers(1, 12, n))
        a_member = np.concatenate([np.arange(n), np.flatnonzero(switch)])
        a_order = np.argsort(a_member, kind="stable")
        a_member = a_member[a_order]
        a_ent = np.concatenate([ent, ent2[switch]])[a_order]
        a_start = np.concatenate([np.full(n, self.y0), sw_day[switch]])[a_order]
        a_end = np.concatenate([np.where(switch, sw_day - 1, self.y1), np.full(switch.sum(), self.y1)])[a_order]
        attr = pl.DataFrame({
            "member_id": ids.gather(a_member),
            "entity_id": pl.Series([f"RAE-{i + 1}" for i in range(len(ENTITY_SHARES))]).gather(a_ent),
            "start_date": _date_series("start_date", a_start),
            "end_date": _date_series("end_date", a_end),
        })
        return elig, attr

    # ---- event placement ----
    def ed_visits(self, per_1000: float, weights: tuple[float, ...], ages: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Members and days of ED visits at an age-weighted rate, some repeated within 30 days."""
        m = self.draw_members(per_1000 / 1000 * self.age_weight(weights, ages))
        day = self.place(m)
        rep = self.rng.random(len(m)) < ED_REPEAT_30D_SHARE
        return np.concatenate([m, m[rep]]), np.concatenate([day, day[rep] + self.rng.integers(1, 31, int(rep.sum()))])

    def place(self, m: np.ndarray) -> np.ndarray:
        """A uniformly random covered day in the year for each member index in `m`."""
        tot = self.len1[m] + self.len2[m]
        off = (self.rng.random(len(m)) * tot).astype(np.int64)
        return np.where(off < self.len1[m], self.cs1[m] + off, self.cs2[m] + off - self.len1[m])

    def draw_members(self, per_member: np.ndarray) -> np.ndarray:
        counts = self.rng.poisson(per_member)
        return np.repeat(np.arange(self.n), counts)

    def age_weight(self, w: tuple[float, ...], cuts: tuple[int, ...]) -> np.ndarray:
        """Relative event rate by age band (bands split at `cuts`), normalised to mean 1."""
        ww = np.array(w)[np.searchsorted(np.array(cuts), self.age, side="right")]
        return ww / ww.mean() if ww.mean() > 0 else ww

    # ---- claims ----
    def providers(self, ck: _CompiledKind, k: int) -> np.ndarray:
        names, p = ck.providers
        which = self.rng.choice(len(names), size=k, p=p) if len(names) > 1 else np.zeros(k, np.int64)
        out = np.empty(k, np.int64)
        for i, name in enumerate(names):
            sel = which == i
            lo, hi = self.prov.ranges[name]
            out[sel] = self.rng.integers(lo, hi, int(sel.sum()))
        return out

    def emit(self, kind: str, member: np.ndarray, start: np.ndarray, end: np.ndarray | None = None,
             dx1: np.ndarray | None = None, dx2: np.ndarray | None = None, rend: np.ndarray | None = None,
             inpatient: bool = False) -> None:
        k = len(member)
        if k == 0:
            return
        rng, ck = self.rng, _CKINDS[kind]
        end = start if end is None else end
        lo, hi = ck.lines
        nl = rng.integers(lo, hi + 1, k) if hi > lo else np.full(k, lo)
        # header fields
        if dx1 is None:
            dx1 = _choice(rng, ck.dx1, k)
        n_extra = rng.integers(0, ck.max_extra_dx + 1, k) if ck.max_extra_dx else np.zeros(k, np.int64)
        dxs = [dx1]
        for j in range(3):
            d = np.where(n_extra > j, _choice(rng, ck.dx_extra, k), 0) if ck.max_extra_dx > j else np.zeros(k, np.int32)
            if j == 0 and dx2 is not None:
                d = np.where(dx2 > 0, dx2, d)
            dxs.append(d)
        dotted = rng.random(k) < DOTTED_DX_SHARE
        dxs = [np.where(dotted, _DOT[d], d) for d in dxs]
        if rend is None:
            rend = self.providers(ck, k)
        if ck.inst:
            billnpi = rend
        else:
            group = rng.random(k) < GROUP_BILLING_SHARE
            glo, ghi = self.prov.ranges["group"]
            billnpi = np.where(group, rng.integers(glo, ghi, k), rend)
        tax = np.where(rng.random(k) < TAXONOMY_MISSING_SHARE, 0, self.prov.taxonomy[rend])
        pos = np.zeros(k, np.int32) if ck.inst else _choice(rng, ck.pos, k)
        claim = self.n_claims + np.arange(k)
        self.n_claims += k
        # lines
        h = np.repeat(np.arange(k), nl)
        line = _within(nl) + 1
        total = len(h)
        first = line == 1
        pick1 = rng.choice(len(ck.first_p), size=total, p=ck.first_p)
        # lines 2..n walk the extra-line pool from a random start, so a claim repeats no line
        pickx = (rng.integers(0, len(ck.extra_rev), k)[h] + line) % len(ck.extra_rev)
        rev = np.where(first, ck.first_rev[pick1], ck.extra_rev[pickx])
        hcpcs = np.where(first, ck.first_hcpcs[pick1], ck.extra_hcpcs[pickx])
        med, sigma = ck.paid
        paid = np.round(med * np.exp(sigma * rng.standard_normal(total)) * np.where(first, 1.0, 0.4), 2)
        cols = self.lines
        cols["member"].append(member[h].astype(np.int32))
        cols["claim"].append(claim[h])
        cols["line"].append(line.astype(np.int32))
        cols["inst"].append(np.full(total, ck.inst))
        cols["cs"].append(start[h].astype(np.int32))
        cols["ce"].append(end[h].astype(np.int32))
        cols["adm"].append(np.full(total, inpatient))
        cols["rev"].append(rev.astype(np.int32))
        cols["hcpcs"].append(hcpcs.astype(np.int32))
        cols["bill"].append(np.full(total, ck.bill, np.int32))
        cols["pos"].append(pos[h].astype(np.int32))
        for j in range(4):
            cols[f"dx{j + 1}"].append(dxs[j][h].astype(np.int32))
        cols["rend"].append(rend[h].astype(np.int32))
        cols["billnpi"].append(billnpi[h].astype(np.int32))
        cols["tax"].append(tax[h].astype(np.int32))
        cols["paid"].append(paid)

    def fills(self, member: np.ndarray, day: np.ndarray, cls: str, n_fills: np.ndarray,
              ds_pool: dict[int, float]) -> None:
        """Series of refills: `n_fills[i]` dispensings from `day[i]`, one days_supply per series."""
        rng = self.rng
        k = len(member)
        if k == 0:
            return
        ds_vals = np.array(list(ds_pool))
        ds = ds_vals[rng.choice(len(ds_vals), size=k, p=np.array(list(ds_pool.values())))]
        lo, hi = self.ndc_ranges[cls]
        ndc = rng.integers(lo, hi, k)  # one product per series
        h = np.repeat(np.arange(k), n_fills)
        j = _within(n_fills)
        total = len(h)
        step = ds[h] + rng.integers(-3, 9, total)  # refills a little early or late
        step[j == 0] = 0
        run = np.cumsum(step)
        days = day[h] + run - run[np.cumsum(n_fills) - n_fills][h]  # n_fills >= 1 for every series
        self.add_rx(member[h], days, ndc[h], ds[h])

    def add_rx(self, member: np.ndarray, day: np.ndarray, ndc: np.ndarray, ds: np.ndarray) -> None:
        rng, k = self.rng, len(member)
        plo, phi = self.prov.ranges["pcp"]
        mlo, mhi = self.prov.ranges["mh"]
        npi = np.where(rng.random(k) < 0.7, rng.integers(plo, phi, k), rng.integers(mlo, mhi, k))
        self.rx["member"].append(member.astype(np.int32))
        self.rx["day"].append(day.astype(np.int32))
        self.rx["ndc"].append(ndc.astype(np.int32))
        self.rx["ds"].append(ds.astype(np.int32))
        self.rx["qty"].append(ds * rng.choice(np.array([1.0, 1.0, 2.0, 0.5]), k))
        self.rx["npi"].append(npi.astype(np.int32))
        self.rx["paid"].append(np.round(np.exp(rng.normal(2.8, 1.1, k)) * ds / 30.0, 2))

    # ---- scenario generation ----
    def background(self) -> None:
        rng, n = self.rng, self.n
        frailty = rng.gamma(UTILISATION_GAMMA_SHAPE, 1.0 / UTILISATION_GAMMA_SHAPE, n) * self.covfrac
        agef = self.age_weight((0.8, 0.6, 1.1, 1.7), (6, 18, 65))
        self.pcp_of = rng.integers(*self.prov.ranges["pcp"], n)
        m = self.draw_members(OFFICE_VISITS_PER_MY * frailty * agef)
        own = rng.random(len(m)) < 0.7
        rend = np.where(own, self.pcp_of[m], self.providers(_CKINDS["office"], len(m)))
        self.emit("office", m, self.place(m), rend=rend)
        m = self.draw_members(LAB_CLAIMS_PER_MY * frailty * agef)
        self.emit("lab", m, self.place(m))
        m = self.draw_members(OUTPATIENT_FACILITY_PER_MY * frailty * agef)
        self.emit("outpatient", m, self.place(m))
        m = self.draw_members(BACKGROUND_ED_PER_MY * frailty)
        self.ed(m, self.place(m), None, None)
        m = self.draw_members(MEDICAL_STAY_PER_MY * frailty * agef)
        self.stay("medical_stay", m, self.place(m), rng.integers(2, 8, len(m)))
        # ongoing BH care (AMM/SAA/IET populations) and their medications
        u = rng.random(n)
        edges = np.cumsum(list(CHRONIC_BH_SHARES.values()))
        group = np.searchsorted(edges, u, side="right")  # 0 dep, 1 smi, 2 sud, 3 none
        group = np.where((self.age < 12) & (group < 3), 3, group)
        self.bh_group = group  # sample/sud.py gives the SUD group its earlier care
        for g, name in enumerate(CHRONIC_BH_SHARES):
            m = self.draw_members(np.where(group == g, CHRONIC_BH_VISITS_PER_MY * self.covfrac, 0.0))
            dx = _choice(rng, _POOLS[f"chronic_{name}"], len(m))
            mh = rng.random(len(m)) < 0.5
            self.emit("chronic_bh_mh", m[mh], self.place(m[mh]), dx1=dx[mh])
            self.emit("chronic_bh_pcp", m[~mh], self.place(m[~mh]), dx1=dx[~mh],
                      rend=self.pcp_of[m[~mh]])
        # pharmacy: background fills and BH medication courses
        m = self.draw_members(BACKGROUND_FILLS_PER_MY * frailty * self.age_weight((0.5, 0.7, 1.1, 2.2), (6, 18, 65)))
        ds_vals = np.array(list(DAYS_SUPPLY))
        ds = ds_vals[rng.choice(len(ds_vals), size=len(m), p=np.array(list(DAYS_SUPPLY.values())))]
        lo, hi = self.ndc_ranges["background"]
        zipf = np.minimum(rng.zipf(1.3, len(m)) - 1, hi - lo - 1)
        self.add_rx(m, self.place(m), lo + zipf, ds)
        adult = self.age >= 12
        for cls, shares, gi in (("antidepressant", ANTIDEPRESSANT_SHARE, 0),
                                ("antipsychotic_oral", ANTIPSYCHOTIC_SHARE, 1)):
            p = np.where(group == gi, shares[next(iter(shares))], shares["other"]) * adult
            m = np.flatnonzero(rng.random(n) < p)
            self.fills(m, self.place(m), cls, rng.integers(1, 13, len(m)), DAYS_SUPPLY)
        p = np.where(group == 2, MOUD_SHARE["sud"], MOUD_SHARE["other"]) * (self.age >= 16)
        m = np.flatnonzero(rng.random(n) < p)
        drug = rng.choice(3, size=len(m), p=np.array([0.6, 0.2, 0.2]))
        for i, c in enumerate(("sud_buprenorphine_naloxone", "sud_buprenorphine", "sud_naltrexone_oral")):
            mm = m[drug == i]
            self.fills(mm, self.place(mm), c, rng.integers(1, 20, len(mm)), MOUD_DAYS_SUPPLY)
        # hospice
        m = np.flatnonzero(rng.random(n) < HOSPICE_MEMBER_SHARE * self.age_weight((0.05, 0.05, 1.0, 12.0),
                                                                                  (6, 18, 65)))
        k = rng.integers(1, 4, len(m))
        mm = np.repeat(m, k)
        day = np.repeat(self.place(m), k) + 30 * _within(k)
        inst = rng.random(len(mm)) < 0.7
        self.emit("hospice_inst", mm[inst], day[inst], day[inst] + 29)
        self.emit("hospice_prof", mm[~inst], day[~inst])

    def stay(self, kind: str, m: np.ndarray, adm: np.ndarray, los: np.ndarray,
             dx1: np.ndarray | None = None) -> np.ndarray:
        dis = adm + los
        self.emit(kind, m, adm, dis, dx1=dx1, inpatient=True)
        return dis

    def ed(self, m: np.ndarray, day: np.ndarray, dx1: np.ndarray | None, dx2: np.ndarray | None) -> None:
        """An ED visit: the hospital's facility claim and the ED physician's claim, same diagnoses.

        The facility claim is billed by the hospital and names the ED physician of the professional claim as
        its rendering (attending) provider, as institutional claims do: the two claims are one visit with one
        clinician, so neither is the other's same-day follow-up with "another provider" (IET initiation).
        """
        if dx1 is None:
            dx1 = _choice(self.rng, _CKINDS["ed_facility"].dx1, len(m))
        rend = self.providers(_CKINDS["ed_facility"], len(m))
        self.emit("ed_facility", m, day, dx1=dx1, dx2=dx2, rend=rend)
        self.emit("ed_prof", m, day, dx1=dx1, dx2=dx2)
        if len(m):  # the facility claims' lines take the physician (and taxonomy) of the professional claim
            cols = self.lines
            claim = cols["claim"][-2]
            doc = cols["rend"][-1][claim - claim[0]]  # one professional line per visit, in the same order
            cols["rend"][-2] = doc
            cols["tax"][-2] = np.where(cols["tax"][-2] > 0, self.prov.taxonomy[doc], 0).astype(np.int32)

    def follow_up(self, m: np.ndarray, day: np.ndarray, rates: tuple[float, float], first_day: int,
                  mix: dict[str, float], dx_pool: str) -> None:
        rng, k = self.rng, len(m)
        p7, p30 = rates
        u = rng.random(k)
        off = np.full(k, -1, np.int64)
        in7, in30 = u < p7, (u >= p7) & (u < p30)
        off[in7] = rng.integers(first_day, 8, int(in7.sum()))
        off[in30] = rng.integers(8, 31, int(in30.sum()))
        r = rng.random(k)
        none = off < 0
        late = none & (r < LATE_FOLLOW_UP_SHARE)
        off[late] = rng.integers(31, 46, int(late.sum()))
        if first_day > 0:  # a visit on the discharge day does not count for FUH
            same = none & (r >= LATE_FOLLOW_UP_SHARE) & (r < LATE_FOLLOW_UP_SHARE + DISCHARGE_DAY_ONLY_SHARE)
            off[same] = 0
        has = off >= 0
        # further visits after a follow-up, 7-28 days apart
        more = has & (rng.random(k) < MORE_VISITS_SHARE)
        extra_n = np.where(more, rng.integers(1, 4, k), 0)
        em = np.repeat(m, extra_n)
        eday = np.repeat(day + off, extra_n) + 7 * (_within(extra_n) + 1) + rng.integers(0, 8, len(em))
        fm = np.concatenate([m[has], em])
        fday = np.concatenate([(day + off)[has], eday])
        names = list(mix)
        which = rng.choice(len(names), size=len(fm), p=np.array(list(mix.values())))
        pool = _POOLS[dx_pool]
        for i, name in enumerate(names):
            sel = which == i
            mm, dd = fm[sel], fday[sel]
            if name == "rx_moud":
                cls = rng.choice(3, size=len(mm), p=np.array([0.6, 0.15, 0.25]))
                for j, c in enumerate(("sud_buprenorphine_naloxone", "sud_buprenorphine", "sud_naltrexone_oral")):
                    s = cls == j
                    self.fills(mm[s], dd[s], c, np.ones(int(s.sum()), np.int64), MOUD_DAYS_SUPPLY)
            else:
                self.emit(name, mm, dd, dx1=_choice(rng, pool, len(mm)))

    def behavioural_health(self) -> None:
        rng = self.rng
        # --- mental-health acute stays, readmissions, nonacute transfers ---
        w = self.age_weight((0.0, 0.3, 1.2, 1.3, 0.5), (6, 13, 18, 65))
        m = self.draw_members(MH_STAY_PER_1000 / 1000 * w)
        los = MH_LOS_DAYS[0] + np.minimum(rng.geometric(0.15, len(m)) - 1, MH_LOS_DAYS[1] - MH_LOS_DAYS[0])
        adm = self.place(m)
        dis = self.stay("mh_stay", m, adm, los, _choice(rng, _POOLS["mi"], len(m)))
        stays_m, stays_dis = [m], [dis]
        re = rng.random(len(m)) < READMIT_30D_SHARE
        gap = np.where(rng.random(len(m)) < DIRECT_TRANSFER_SHARE, rng.integers(0, 2, len(m)),
                       rng.integers(2, 31, len(m)))
        re_mh = re & (rng.random(len(m)) < READMIT_MH_SHARE)
        re_med = re & ~re_mh
        rlos = rng.integers(2, 10, len(m))
        d2 = self.stay("mh_stay", m[re_mh], (dis + gap)[re_mh], rlos[re_mh], _choice(rng, _POOLS["mi"], int(re_mh.sum())))
        stays_m.append(m[re_mh])
        stays_dis.append(d2)
        self.stay("medical_stay", m[re_med], (dis + gap)[re_med], rlos[re_med])
        na = rng.random(len(m)) < NONACUTE_AFTER_MH_SHARE
        self.stay("nonacute_stay", m[na], (dis + rng.integers(1, 31, len(m)))[na], rng.integers(5, 41, int(na.sum())))
        w = self.age_weight((0.05, 1.0, 6.0), (18, 65))
        m = self.draw_members(NONACUTE_STAY_PER_1000 / 1000 * w)
        self.stay("nonacute_stay", m, self.place(m), rng.integers(5, 41, len(m)))

        # --- ED visits for SUD ---
        m, day = self.ed_visits(ED_SUD_PER_1000, (0.0, 0.02, 0.5, 1.6, 0.4), (10, 13, 18, 65))
        k = len(m)
        od = rng.random(k) < ED_OVERDOSE_SHARE
        dx1 = np.where(od, _choice(rng, _POOLS["overdose_principal"], k), _choice(rng, _POOLS["sud"], k))
        dx2 = np.where(od, _choice(rng, _POOLS["overdose"], k), 0)
        self.ed(m, day, dx1, dx2)
        adm = rng.random(k) < ED_ADMIT_30D_SHARE
        aday = day + np.where(rng.random(k) < ED_ADMIT_SAME_DAY_SHARE, 0, rng.integers(1, 31, k))
        self.stay("sud_stay", m[adm], aday[adm], rng.integers(2, 8, int(adm.sum())))
        self.follow_up(m, day, FUA_FOLLOW_UP, 0, FUA_MIX, "sud")

        # --- ED visits for mental illness / self-harm ---
        m, day = self.ed_visits(ED_MI_PER_1000, (0.0, 0.4, 1.5, 1.2, 0.4), (6, 13, 18, 65))
        k = len(m)
        r = rng.random(k)
        sh_principal = r < ED_SELF_HARM_SHARE * 0.6
        sh_second = (r >= ED_SELF_HARM_SHARE * 0.6) & (r < ED_SELF_HARM_SHARE)
        mi = _choice(rng, _POOLS["mi_ed"], k)
        dx1 = np.where(sh_principal, _v("T1491XA"), np.where(sh_second, _choice(rng, _POOLS["injury"], k), mi))
        dx2 = np.where(sh_second, _choice(rng, _POOLS["self_harm"], k), np.where(sh_principal, mi, 0))
        self.ed(m, day, dx1, dx2)
        adm = rng.random(k) < ED_ADMIT_30D_SHARE
        aday = day + np.where(rng.random(k) < ED_ADMIT_SAME_DAY_SHARE, 0, rng.integers(1, 31, k))
        los = rng.integers(2, 12, int(adm.sum()))
        sdis = self.stay("mh_stay", m[adm], aday[adm], los, mi[adm])
        stays_m.append(m[adm])
        stays_dis.append(sdis)
        self.follow_up(m, day, FUM_FOLLOW_UP, 0, FUM_MIX, "mi")

        # --- follow-up after every MH discharge ---
        self.follow_up(np.concatenate(stays_m), np.concatenate(stays_dis), FUH_FOLLOW_UP, 1, FUH_MIX, "mi")

    # ---- assemble ----
    def medical_frame(self, claim_offset: int) -> tuple[pl.DataFrame, int]:
        c = {k: np.concatenate(v) if v else np.zeros(0) for k, v in self.lines.items()}
        # order by member, claim start, claim, line; claim ids follow that order
        key = (c["member"].astype(np.int64) << 46) | ((c["cs"].astype(np.int64) - self.y0 + 20_000) << 30) \
            | (c["claim"].astype(np.int64) << 6) | c["line"].astype(np.int64)
        order = np.argsort(key, kind="stable")
        c = {k: v[order] for k, v in c.items()}
        claim_seq = np.cumsum(c["line"] == 1) - 1
        n_claims = int(claim_seq[-1]) + 1 if len(claim_seq) else 0
        claim_ids = _ids("MC", claim_offset + np.arange(n_claims) + 1, 10)
        inst = c["inst"]
        inpatient = c["adm"]
        npi_str = pl.Series(self.prov.npi).cast(pl.String)
        return pl.DataFrame([
            claim_ids.gather(claim_seq).alias("claim_id"),
            pl.Series("claim_line_number", c["line"], dtype=pl.Int32),
            pl.Series(["professional", "institutional"]).gather(inst.astype(np.uint32)).alias("claim_type"),
            self.member_ids.gather(c["member"]).alias("member_id"),
            _date_series("claim_start_date", c["cs"]),
            _date_series("claim_end_date", c["ce"]),
            _date_series("claim_line_start_date", c["cs"]),
            _date_series("claim_line_end_date", c["ce"]),
            _date_series("admission_date", c["cs"], inpatient),
            _date_series("discharge_date", c["ce"], inpatient),
            _codes("bill_type_code", c["bill"]),
            _codes("place_of_service_code", c["pos"]),
            _codes("revenue_center_code", c["rev"]),
            _codes("hcpcs_code", c["hcpcs"]),
            _codes("diagnosis_code_1", c["dx1"]),
            _codes("diagnosis_code_2", c["dx2"]),
            _codes("diagnosis_code_3", c["dx3"]),
            _codes("diagnosis_code_4", c["dx4"]),
            npi_str.gather(c["rend"]).alias("rendering_npi"),
            npi_str.gather(c["billnpi"]).alias("billing_npi"),
            _codes("rendering_taxonomy_code", c["tax"]),
            pl.Series("paid_amount", c["paid"], dtype=pl.Float64),
        ]), n_claims

    def pharmacy_frame(self, claim_offset: int, ndc_series: pl.Series) -> pl.DataFrame:
        c = {k: np.concatenate(v) for k, v in self.rx.items()}
        key = (c["member"].astype(np.int64) << 32) | (c["day"].astype(np.int64) - self.y0 + 20_000)
        order = np.argsort(key, kind="stable")
        c = {k: v[order] for k, v in c.items()}
        n = len(order)
        return pl.DataFrame([
            _ids("RX", claim_offset + np.arange(n) + 1, 10).alias("claim_id"),
            pl.Series("claim_line_number", np.ones(n, np.int32), dtype=pl.Int32),
            self.member_ids.gather(c["member"]).alias("member_id"),
            _date_series("dispensing_date", c["day"]),
            ndc_series.gather(c["ndc"]).alias("ndc_code"),
            pl.Series("days_supply", c["ds"], dtype=pl.Int32),
            pl.Series("quantity", c["qty"], dtype=pl.Float64),
            pl.Series(self.prov.npi).cast(pl.String).gather(c["npi"]).alias("prescribing_provider_npi"),
            pl.Series("paid_amount", c["paid"], dtype=pl.Float64),
        ])


# ---------------------------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------------------------


def _chunks(members: int, seed: int, year: int, providers: _Providers, ndc_ranges: dict[str, tuple[int, int]],
            ndc_series: pl.Series) -> Iterator[tuple[pl.DataFrame, ...]]:
    """(eligibility, attribution, medical_claim, pharmacy_claim, observation) frames, one chunk of members at a time."""
    from bhmeasures.sample import screening

    claim_offset = rx_offset = 0
    for ci, first in enumerate(range(0, members, CHUNK_MEMBERS)):
        n = min(CHUNK_MEMBERS, members - first)
        chunk = _Chunk(np.random.default_rng([seed, ci]), first, n, year, providers, ndc_ranges)
        elig, attr = chunk.members()
        chunk.background()
        chunk.behavioural_health()
        elig, obs = screening.plant(chunk, elig)
        pharmacy.add_cohorts(chunk, elig)
        sud.plant(chunk, elig)
        med, n_claims = chunk.medical_frame(claim_offset)
        rx = chunk.pharmacy_frame(rx_offset, ndc_series)
        del chunk
        claim_offset += n_claims
        rx_offset += rx.height
        yield elig, attr, med, rx, obs


class SinkOptions(TypedDict, total=False):
    """Options for `sink_parquet` that `_sink` passes on."""

    compression: Literal["snappy", "zstd", "lz4"]
    statistics: bool
    row_group_size: int


def _sink(batches: Iterator[pl.DataFrame], schema: pl.Schema, target: Path, parts: Path, **options: Unpack[SinkOptions]) -> None:
    """Write a stream of same-schema frames to one Parquet file, holding one batch at a time.

    Uses a polars IO-source plugin so batches are encoded once, while the next one is being
    generated; falls back to lz4 part files plus one streaming re-encode if the plugin API is
    unavailable (it is marked unstable) or `USE_IO_PLUGIN` is false. `options` go to
    `sink_parquet` (compression, row group size); none for the compact layout.
    """
    tmp = parts / target.name
    plugin: pl.LazyFrame | None = None
    if USE_IO_PLUGIN:
        try:
            from polars.io.plugins import register_io_source
        except ImportError:  # pragma: no cover - older or newer polars without the plugin API
            pass
        else:
            def source(with_columns: list[str] | None, *_: object) -> Iterator[pl.DataFrame]:
                # the plugin also passes a predicate, a row limit and a batch size; only with_columns is used
                for df in batches:
                    yield df if with_columns is None else df.select(with_columns)

            plugin = register_io_source(source, schema=schema)
    if plugin is not None:
        plugin.sink_parquet(tmp, **options)
    else:
        files: list[Path] = []
        for i, df in enumerate(batches):
            files.append(parts / f"{target.stem}-{i:05d}.parquet")
            df.write_parquet(files[-1], compression="lz4", statistics=False)
        if files:
            pl.scan_parquet(files, glob=False).sink_parquet(tmp, **options)
        else:  # pragma: no cover - members >= 1 always yields a batch
            pl.DataFrame(schema=schema).write_parquet(tmp, **options)
        for f in files:
            f.unlink()
    tmp.replace(target)


def generate_sample(members: int, seed: int, out: Path, year: int = 2025, layout: str = "compact") -> dict[str, int]:
    """Write a synthetic Medicaid claims sample as one Parquet file per input table.

    Parameters
    ----------
    members
        Number of members (``M000000001`` ...).
    seed
        Random seed; the same ``(members, seed, year, layout)`` always gives the same files.
    out
        Directory to write ``eligibility.parquet``, ``medical_claim.parquet``,
        ``pharmacy_claim.parquet``, ``attribution.parquet`` and ``provider.parquet`` into
        (created if missing; those files are overwritten).
    year
        Measurement year. Most members are enrolled all year and through January of ``year + 1``.
    layout
        ``"compact"``: the columns bhm uses, diagnosis positions 1-4, claims sorted by member.
        ``"full"``: the same claims in the layout of real Tuva extracts -- every input-layer column
        of ``medical_claim`` and ``pharmacy_claim`` (25 diagnosis and procedure positions, modifiers,
        amounts, ...), mostly null, rows shuffled, 1,000,000-row row groups, snappy; see
        `bhmeasures.sample.full`. Eligibility, attribution and provider tables are the same in both.

    Returns
    -------
    dict[str, int]
        Row count of each table written.

    Examples
    --------
    >>> import tempfile
    >>> counts = generate_sample(200, seed=7, out=Path(tempfile.mkdtemp()))
    >>> counts["eligibility"] >= 200
    True
    """
    if members < 1:
        msg = f"members must be at least 1, got {members}"
        raise ValueError(msg)
    if layout not in LAYOUTS:
        msg = f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}"
        raise ValueError(msg)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    providers = _make_providers(seed)
    bh = _load_bh_ndcs()
    ndc_parts = [_background_ndcs(), *bh.values()]
    ndc_ranges, start = {}, 0
    for name, arr in zip(("background", *bh), ndc_parts, strict=True):
        ndc_ranges[name] = (start, start + len(arr))
        start += len(arr)
    ndc_series = pl.Series("ndc_code", np.concatenate(ndc_parts).astype(str), dtype=pl.String)

    counts = dict.fromkeys(TABLE_NAMES, 0)
    small: dict[str, list[pl.DataFrame]] = {"eligibility": [], "attribution": [], "observation": []}
    parts = Path(tempfile.mkdtemp(prefix=".bhm_sample_", dir=out))
    try:
        def claim_chunks() -> Iterator[tuple[int, pl.DataFrame, pl.DataFrame]]:
            for ci, (elig, attr, med, rx, obs) in enumerate(_chunks(members, seed, year, providers, ndc_ranges,
                                                                    ndc_series)):
                small["eligibility"].append(elig)
                small["attribution"].append(attr)
                small["observation"].append(obs)
                counts["medical_claim"] += med.height
                counts["pharmacy_claim"] += rx.height
                yield ci, med, rx

        if layout == "compact":
            _write_compact_claims(claim_chunks(), out, parts)
        else:
            _write_full_claims(claim_chunks(), members, seed, year, small["eligibility"], out, parts)
        for name, frames in small.items():
            df = pl.concat(frames, rechunk=True)
            counts[name] = df.height
            df.write_parquet(out / f"{name}.parquet")
        prov = providers.frame()
        counts["provider"] = prov.height
        prov.write_parquet(out / "provider.parquet")
        for name in ("medical_claim", "pharmacy_claim"):
            written = pl.scan_parquet(out / f"{name}.parquet", glob=False).select(pl.len()).collect().item()
            if written != counts[name]:  # pragma: no cover - guards the streaming sink
                msg = f"{name}.parquet has {written} rows, expected {counts[name]}"
                raise RuntimeError(msg)
    finally:
        shutil.rmtree(parts, ignore_errors=True)
    return counts


def _write_compact_claims(chunks: Iterator[tuple[int, pl.DataFrame, pl.DataFrame]], out: Path, parts: Path) -> None:
    """Medical claims streamed straight into their file; pharmacy fills via lz4 part files."""
    rx_files: list[Path] = []

    def medical_batches() -> Iterator[pl.DataFrame]:
        for ci, med, rx in chunks:
            rx_files.append(parts / f"rx-{ci:05d}.parquet")
            rx.write_parquet(rx_files[-1], compression="lz4", statistics=False)
            yield med

    _sink(medical_batches(), MEDICAL_SCHEMA, out / "medical_claim.parquet", parts)
    _sink((pl.read_parquet(f, glob=False) for f in rx_files), PHARMACY_SCHEMA, out / "pharmacy_claim.parquet", parts)


def _write_full_claims(chunks: Iterator[tuple[int, pl.DataFrame, pl.DataFrame]], members: int, seed: int, year: int,
                       eligibility: list[pl.DataFrame], out: Path, parts: Path) -> None:
    """Both claim tables in the full-width layout: shuffled into buckets, then widened bucket by bucket."""
    from bhmeasures.sample import full

    med = full.Shuffle("medical_claim", members, seed, parts)
    rx = full.Shuffle("pharmacy_claim", members, seed, parts)
    for ci, m, r in chunks:
        med.add(ci, m)
        rx.add(ci, r)
    # member ids are M + their number and eligibility rows come in member order: the first plan of each
    plans = pl.concat([e.select("member_id", "plan") for e in eligibility]).unique(
        "member_id", keep="first", maintain_order=True)["plan"]
    pharmacies = pl.Series(_npis(np.random.default_rng([seed, full.FULL_STREAM, 1]), full.PHARMACY_NPIS)).cast(
        pl.String)
    _sink(full.medical_batches(med, plans, year), full.MEDICAL_SCHEMA, out / "medical_claim.parquet", parts,
          **full.WRITE_OPTIONS)
    _sink(full.pharmacy_batches(rx, plans, pharmacies, year), full.PHARMACY_SCHEMA, out / "pharmacy_claim.parquet",
          parts, **full.WRITE_OPTIONS)
