"""The full-width layout of ``bhm sample --layout full``: the compact sample's claims as real extracts carry them.

Real Tuva input-layer extracts have every ``medical_claim`` column of the input layer -- 25
diagnosis and 25 procedure positions with present-on-admission flags and procedure dates, five
HCPCS modifiers, amounts, file lineage -- mostly null; Spark and DuckDB write them in large row
groups, and rows are not sorted by member. This module turns the compact generator's claims into
that layout without changing any of them: every compact column keeps its value (same members,
claim ids, dates, codes in diagnosis positions 1-4), and every added code comes from a pool that
is in no bundled value set, so each measure gives the same rates on both layouts.

Two passes keep memory bounded. Pass 1 (`Shuffle.add`) splits each compact chunk into shuffle
buckets by a random key per claim (per fill for pharmacy) and writes small lz4 part files. Pass 2
(`medical_batches`, `pharmacy_batches`) reads one bucket at a time, sorts it by key -- a claim's
lines stay together, in line order -- adds the extra columns and yields the rows to the Parquet
sink, which cuts them into `ROW_GROUP_ROWS`-row groups. The keys and extra values come from their
own random streams (tagged `FULL_STREAM`), so the compact output is untouched and the full output
depends only on ``(members, seed, year)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from bhmeasures.sample.generate import _VOCAB, SinkOptions, _choice, _date_series, _pool, _vi

ROW_GROUP_ROWS = 1_000_000  # rows per Parquet row group, as large extracts come
WRITE_OPTIONS: SinkOptions = {"compression": "snappy", "statistics": True, "row_group_size": ROW_GROUP_ROWS}  # Spark/DuckDB
BUCKET_ROWS = 250_000  # target rows per shuffle bucket: bounds pass-2 memory; part of the determinism contract
EXPECTED_ROWS_PER_MEMBER = {"medical_claim": 40, "pharmacy_claim": 8}  # sizes the bucket count only
FULL_STREAM = 7_000_001  # tags the random streams of this layout, apart from the compact draws

# Extra diagnoses (positions 5-25), per claim class: (share of claims with a 5th code, chance of each
# further one). Lines: ~40% reach position 5, ~4% position 12, ~0.2% position 25 (institutional most).
EXTRA_DX = {"professional": (0.33, 0.62), "institutional": (0.55, 0.75), "inpatient": (0.90, 0.88)}
PROCEDURES = (0.55, 0.55)  # acute inpatient claims with an ICD-10-PCS code; chance of each further one
POA = {"Y": 0.86, "N": 0.07, "U": 0.02, "W": 0.01, "1": 0.04}  # present on admission, acute inpatient only
MODIFIERS = (0.22, 0.15)  # HCPCS lines with a first modifier; chance of each further one (up to 5)
TELEHEALTH_MODIFIER_SHARE = 0.6  # telehealth lines (POS 02/10) whose first modifier is 95 or GT
DISPOSITION_INPATIENT = {"01": 0.78, "06": 0.07, "03": 0.05, "02": 0.03, "07": 0.03, "62": 0.02, "65": 0.02}
ADMIT_TYPE = {"1": 0.60, "2": 0.25, "3": 0.15}
ADMIT_SOURCE = {"1": 0.50, "7": 0.35, "2": 0.10, "4": 0.05}
ALLOWED_ABOVE_PAID_SHARE = 0.15  # lines with a member or third-party share (allowed > paid)
COPAY_SHARE = 0.08  # professional claims with a nominal Medicaid copay on line 1
OUT_OF_NETWORK_SHARE = 0.03
PHARMACY_NPIS = 900  # dispensing pharmacies

# Common secondary diagnoses (comorbidities, history and status codes, external causes), undotted.
# None is behavioural, none is in a bundled value set (exact or prefix), none is in the compact pools.
DX_SECONDARY = (
    "Z79899", "E1165", "I119", "E782", "Z87891", "Z7982", "Z794", "E1122", "I2510", "N183", "Z7901", "G4733",
    "K5900", "E559", "Z6841", "D509", "I4891", "M1990", "Z9181", "Z86718", "J301", "R110", "Z7984", "N400",
    "E1140", "R5383", "G8929", "Z8673", "I5032", "M170", "E871", "H5213", "Z880", "K449", "R42", "Z6830",
    "E876", "D696", "I739", "M47812", "Z955", "Z951", "N189", "Z992", "K5730", "E1142", "R0602", "Z96651",
    "M810", "G629", "R2681", "E538", "Z853", "E860", "Z8546", "I252", "M5416", "J309", "L03115", "Z5900",
    "R609", "I480", "B9620", "K760", "Z881", "M797", "G43909", "Z9049", "R3915", "E1151", "N401", "Z7409",
    "W19XXXA", "Y92009", "Y929", "Y939", "Y999", "X58XXXA", "T7840XA", "V8900XA", "W010XXA", "Z3A20", "O99891",
    "D6959", "E063", "G4700", "I5022", "J4520", "K2270", "K5790", "M25511", "M25562", "M5450", "N3281",
    "R000", "R001", "R232", "R5381", "R634", "Z6827", "Z720", "Z8249", "Z833", "Z8042", "Z993", "L989",
)
# Common inpatient ICD-10-PCS codes; none from the mental-health (G) or substance-abuse (H) sections.
PCS_INPATIENT = (
    "30233N1", "3E0234Z", "5A1955Z", "0BH17EZ", "02HV33Z", "B548ZZA", "0DJ08ZZ", "5A1945Z", "4A023N7",
    "0T9B70Z", "027034Z", "B2111ZZ", "0FT44ZZ", "0DTJ4ZZ", "10E0XZZ", "10D00Z1", "0SRC0J9", "0SR9019",
    "0W9G3ZZ", "05HY33Z", "0DB68ZX", "3E0436Z", "XW033E5", "4A00X4Z", "02583ZZ", "027135Z", "BW28ZZZ",
    "0JH60XZ", "3E033VJ", "5A1935Z", "0UT90ZZ", "0D9670Z", "BR39ZZZ", "3E0G76Z", "0HQ9XZZ", "8E0ZXY6",
)
MODIFIER_CODES = ("25", "59", "26", "TC", "GP", "RT", "LT", "76", "91", "XU", "QW", "51", "50", "GC", "KX", "33")
DRG = {  # MS-DRG by principal diagnosis group
    "sud": ("894", "895", "896", "897"),
    "mh": ("885", "881", "882", "883", "884", "886", "887"),
    "medical": ("291", "292", "193", "194", "871", "872", "190", "392", "690", "683", "603", "641", "065"),
}

# Column order and types of the Tuva input layer (plus the contract's rendering_taxonomy_code, last).
DX = tuple(f"diagnosis_code_{i}" for i in range(1, 26))
POA_COLS = tuple(f"diagnosis_poa_{i}" for i in range(1, 26))
PCS = tuple(f"procedure_code_{i}" for i in range(1, 26))
PCS_DATES = tuple(f"procedure_date_{i}" for i in range(1, 26))
MODS = tuple(f"hcpcs_modifier_{i}" for i in range(1, 6))
_Dtype = pl.DataType | type[pl.DataType]
_S: _Dtype = pl.String
_D: _Dtype = pl.Date
_F: _Dtype = pl.Float64
_I: _Dtype = pl.Int32
MEDICAL_SCHEMA = pl.Schema({
    "claim_id": _S, "claim_line_number": _I, "claim_type": _S, "person_id": _S, "member_id": _S, "payer": _S,
    "plan": _S, "claim_start_date": _D, "claim_end_date": _D, "claim_line_start_date": _D, "claim_line_end_date": _D,
    "admission_date": _D, "discharge_date": _D, "admit_source_code": _S, "admit_type_code": _S,
    "discharge_disposition_code": _S, "place_of_service_code": _S, "bill_type_code": _S, "drg_code_type": _S,
    "drg_code": _S, "revenue_center_code": _S, "service_unit_quantity": _F, "hcpcs_code": _S,
    **dict.fromkeys(MODS, _S), "rendering_npi": _S, "rendering_tin": _S, "billing_npi": _S, "billing_tin": _S,
    "facility_npi": _S, "paid_date": _D, "paid_amount": _F, "allowed_amount": _F, "charge_amount": _F,
    "coinsurance_amount": _F, "copayment_amount": _F, "deductible_amount": _F, "total_cost_amount": _F,
    "diagnosis_code_type": _S, **dict.fromkeys(DX, _S), **dict.fromkeys(POA_COLS, _S), "procedure_code_type": _S,
    **dict.fromkeys(PCS, _S), **dict.fromkeys(PCS_DATES, _D), "in_network_flag": _I, "data_source": _S,
    "file_name": _S, "file_date": _D, "ingest_datetime": pl.Datetime("us"), "rendering_taxonomy_code": _S,
})
PHARMACY_SCHEMA = pl.Schema({
    "claim_id": _S, "claim_line_number": _I, "person_id": _S, "member_id": _S, "payer": _S, "plan": _S,
    "prescribing_provider_npi": _S, "dispensing_provider_npi": _S, "dispensing_date": _D, "ndc_code": _S,
    "quantity": _F, "days_supply": _I, "refills": _I, "paid_date": _D, "paid_amount": _F, "allowed_amount": _F,
    "charge_amount": _F, "coinsurance_amount": _F, "copayment_amount": _F, "deductible_amount": _F,
    "in_network_flag": _I, "data_source": _S, "file_name": _S, "file_date": _D, "ingest_datetime": pl.Datetime("us"),
})
DATA_SOURCE = "bhm sample"


# ---------------------------------------------------------------------------------------------
# Pass 1: shuffle buckets
# ---------------------------------------------------------------------------------------------


_TABLE_NO = {"medical_claim": 0, "pharmacy_claim": 1}  # tags each table's random streams


class Shuffle:
    """Rows split into buckets on disk by a random key, read back one bucket at a time in key order."""

    def __init__(self, table: str, members: int, seed: int, parts: Path) -> None:
        self.table, self.seed = table, seed
        self.buckets = max(1, math.ceil(members * EXPECTED_ROWS_PER_MEMBER[table] / BUCKET_ROWS))
        self.dir = parts / table
        self.dir.mkdir(parents=True)

    def add(self, chunk: int, df: pl.DataFrame) -> None:
        rng = np.random.default_rng([self.seed, FULL_STREAM, 10 + _TABLE_NO[self.table], chunk])
        if self.table == "medical_claim":  # one key per claim: its lines stay together
            seq = np.cumsum(df["claim_line_number"].to_numpy() == 1) - 1
            key = rng.random(int(seq[-1]) + 1 if len(seq) else 0)[seq]
        else:
            key = rng.random(df.height)
        bucket = (key * self.buckets).astype(np.int64)
        df = df.with_columns(pl.Series("_key", key), pl.Series("_bucket", bucket))
        for (b,), part in df.partition_by("_bucket", as_dict=True, include_key=False).items():
            d = self.dir / f"b{b:05d}"
            d.mkdir(exist_ok=True)
            part.write_parquet(d / f"c{chunk:05d}.parquet", compression="lz4", statistics=False)

    def read(self) -> Iterator[tuple[int, pl.DataFrame]]:
        order = ["_key", "claim_id", "claim_line_number"]
        for b in range(self.buckets):
            files = sorted((self.dir / f"b{b:05d}").glob("*.parquet"))
            if files:
                yield b, pl.read_parquet(files, glob=False).sort(order).drop("_key")
                for f in files:
                    f.unlink()



# ---------------------------------------------------------------------------------------------
# Pass 2: the extra columns
# ---------------------------------------------------------------------------------------------


def _ranked(codes: tuple[str, ...], zipf: float) -> dict[str, float]:
    """Shares for codes listed most common first (Zipf-like popularity)."""
    return dict(zip(codes, 1.0 / np.arange(1, len(codes) + 1) ** zipf, strict=True))


# Codes join the compact generator's vocabulary (appended, so compact indices do not move).
_DX_POOL = _pool(_ranked(DX_SECONDARY, 0.8))
_PCS_POOL = _pool(_ranked(PCS_INPATIENT, 0.6))
_MOD_POOL = _pool(_ranked(MODIFIER_CODES, 0.9))
_POA_POOL = _pool(POA)
_DISPOSITION = _pool(DISPOSITION_INPATIENT)
_ADMIT_TYPE = _pool(ADMIT_TYPE)
_ADMIT_SOURCE = _pool(ADMIT_SOURCE)
_DRG = {k: _pool(v) for k, v in DRG.items()}
_TELE_MODS = _vi(("95", "GT"))
_ROUTINE_DISCHARGE = _vi(("01",))[0]
_VOCAB_SERIES = pl.Series("code", _VOCAB, dtype=pl.String)


def _distinct(rng: np.random.Generator, pool: tuple[np.ndarray, np.ndarray], counts: np.ndarray,
              width: int) -> list[np.ndarray]:
    """`counts[i]` distinct codes for row i, as `width` arrays (0 = null from position counts[i] on).

    The first code is drawn by popularity; later ones step through the pool by a stride coprime with
    its size, so no row repeats a code without a per-row loop.
    """
    codes, p = pool
    size = len(codes)
    strides = np.array([s for s in range(1, size) if math.gcd(s, size) == 1])
    start = rng.choice(size, size=len(counts), p=p)
    stride = strides[rng.integers(0, len(strides), len(counts))]
    return [np.where(counts > j, codes[(start + j * stride) % size], 0) for j in range(width)]


def _run_lengths(rng: np.random.Generator, start: np.ndarray, more: np.ndarray, cap: int) -> np.ndarray:
    """How many positions each row fills: none unless `start`, then 1 + a geometric run (chance `more`)."""
    n = len(start)
    return np.where(start, np.minimum(rng.geometric(1.0 - more, n), cap), 0)


def _spread(k: int, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A length-`k` array holding `values` at `rows`, 0 elsewhere."""
    out = np.zeros(k, values.dtype)
    out[rows] = values
    return out


def _codes(name: str, idx: np.ndarray) -> pl.Series:
    return _VOCAB_SERIES.gather(idx).alias(name)


def _days(s: pl.Series) -> np.ndarray:
    return s.cast(pl.Int32).to_numpy()


def _const(name: str, value: str | datetime | None, n: int, dtype: _Dtype) -> pl.Series:
    return pl.repeat(value, n, dtype=dtype, eager=True).alias(name)


def _lineage(n: int, file_name: str, file_day: np.ndarray, year: int) -> list[pl.Series]:
    """Where the rows came from, as Tuva's loaders record it: monthly files, ingested once."""
    return [
        _const("data_source", DATA_SOURCE, n, pl.String),
        _const("file_name", file_name, n, pl.String),
        _date_series("file_date", file_day),
        _const("ingest_datetime", datetime(year + 1, 3, 2, 6, 15), n, pl.Datetime("us")),
    ]


def _first_of_month(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _plan_of(member_id: pl.Series, plans: pl.Series) -> pl.Series:
    """Each member's plan; member ids are M + their 1-based number."""
    return plans.gather(member_id.str.slice(1).cast(pl.Int64) - 1).alias("plan")


def _tin(npi: pl.Series, name: str) -> pl.Series:
    """A 9-digit taxpayer id per billing NPI (deterministic, so a provider always bills under one)."""
    n = npi.cast(pl.Int64)
    return pl.select(((n * 7_919 + 13) % 900_000_000 + 100_000_000).cast(pl.String)).to_series().alias(name)


def widen_medical(df: pl.DataFrame, rng: np.random.Generator, plans: pl.Series, year: int) -> pl.DataFrame:
    """The full-width medical_claim rows for compact rows `df` (claims contiguous, lines in order)."""
    n = df.height
    first = df["claim_line_number"].to_numpy() == 1
    seq = np.cumsum(first) - 1  # claim of each line
    hdr = np.flatnonzero(first)
    k = len(hdr)
    inst = (df["claim_type"] == "institutional").to_numpy()[hdr]
    bill = df["bill_type_code"].fill_null("")
    inpatient = bill.str.starts_with("11").to_numpy()[hdr]  # acute inpatient
    admitted = df["admission_date"].is_not_null().to_numpy()[hdr]
    cs, ce = _days(df["claim_start_date"])[hdr], _days(df["claim_end_date"])[hdr]
    dx_present = np.column_stack([df[c].is_not_null().to_numpy()[hdr] for c in DX[:4]])

    # diagnoses 5-25 and present-on-admission flags
    cls = np.where(inpatient, 2, np.where(inst, 1, 0))
    start_p = np.array([EXTRA_DX[c][0] for c in ("professional", "institutional", "inpatient")])[cls]
    more_p = np.array([EXTRA_DX[c][1] for c in ("professional", "institutional", "inpatient")])[cls]
    n_dx = _run_lengths(rng, rng.random(k) < start_p, more_p, 21)
    extra_dx = _distinct(rng, _DX_POOL, n_dx, 21)
    # present-on-admission flags and procedures (dated within the stay): acute inpatient claims only
    ip = np.flatnonzero(inpatient)
    has_dx = np.column_stack([dx_present[ip], n_dx[ip, None] > np.arange(21)])
    poa = [_spread(k, ip, np.where(has_dx[:, j], _choice(rng, _POA_POOL, len(ip)), 0)) for j in range(25)]
    n_pcs_ip = _run_lengths(rng, rng.random(len(ip)) < PROCEDURES[0], np.full(len(ip), PROCEDURES[1]), 25)
    pcs = [_spread(k, ip, c) for c in _distinct(rng, _PCS_POOL, n_pcs_ip, 25)]
    n_pcs = _spread(k, ip, n_pcs_ip)
    los = ce - cs
    pcs_days = [_spread(k, ip, cs[ip] + (rng.random(len(ip)) * (los[ip] + 1)).astype(np.int64)) for _ in range(25)]
    # header codes
    disposition = np.where(inpatient, _choice(rng, _DISPOSITION, k), np.where(inst, _ROUTINE_DISCHARGE, 0))
    admit_type = np.where(admitted, _choice(rng, _ADMIT_TYPE, k), 0)
    admit_source = np.where(admitted, _choice(rng, _ADMIT_SOURCE, k), 0)
    dx1 = df["diagnosis_code_1"].gather(hdr)
    group = pl.select(pl.when(dx1.str.starts_with("F1")).then(0).when(dx1.str.starts_with("F")).then(1)
                      .otherwise(2)).to_series().to_numpy()
    drg = np.zeros(k, np.int32)
    for i, pool in enumerate(_DRG.values()):
        sel = inpatient & (group == i)
        drg[sel] = _choice(rng, pool, int(sel.sum()))
    paid_day = ce + rng.integers(14, 61, k)
    in_network = (rng.random(k) >= OUT_OF_NETWORK_SHARE).astype(np.int32)
    copay = np.where(~inst & (rng.random(k) < COPAY_SHARE), rng.choice(np.array([1.0, 2.0, 3.0, 4.0]), k), 0.0)

    # line fields: modifiers, units, amounts
    hcpcs = df["hcpcs_code"].is_not_null().to_numpy()
    pos = df["place_of_service_code"].fill_null("")
    tele = (pos.is_in(["02", "10"])).to_numpy()
    n_mod = _run_lengths(rng, hcpcs & (rng.random(n) < MODIFIERS[0]), np.full(n, MODIFIERS[1]), 5)
    tele_first = tele & hcpcs & (rng.random(n) < TELEHEALTH_MODIFIER_SHARE)
    n_mod = np.where(tele_first, np.maximum(n_mod, 1), n_mod)
    mods = _distinct(rng, _MOD_POOL, n_mod, 5)
    mods[0] = np.where(tele_first, _TELE_MODS[rng.integers(0, 2, n)], mods[0])
    room = df["revenue_center_code"].fill_null("").str.contains(r"^01[0-9]{2}$").to_numpy()
    # room-and-board lines bill a unit a day; other lines one unit, so unit-counting measures (IET's partial
    # hospitalization and intensive outpatient units) read the same visits as on the compact layout
    units = np.where(room, np.maximum(los[seq], 1), 1).astype(np.float64)
    paid = df["paid_amount"].to_numpy()
    allowed = np.where(rng.random(n) < ALLOWED_ABOVE_PAID_SHARE, np.round(paid / rng.uniform(0.8, 0.98, n), 2), paid)
    charge = np.round(allowed * rng.uniform(1.4, 3.2, n), 2)
    line_copay = np.where(first, copay[seq], 0.0)

    g = seq  # claim -> line
    billing = df["billing_npi"]
    cols = {
        "person_id": df["member_id"].alias("person_id"),
        "payer": _const("payer", "medicaid", n, pl.String),
        "plan": _plan_of(df["member_id"], plans),
        "admit_source_code": _codes("admit_source_code", admit_source[g]),
        "admit_type_code": _codes("admit_type_code", admit_type[g]),
        "discharge_disposition_code": _codes("discharge_disposition_code", disposition[g]),
        "drg_code_type": pl.Series(["ms-drg", None], dtype=pl.String).gather(np.where(inpatient, 0, 1)[g])
        .alias("drg_code_type"),
        "drg_code": _codes("drg_code", drg[g]),
        "service_unit_quantity": pl.Series("service_unit_quantity", units, dtype=pl.Float64),
        **{c: _codes(c, mods[j]) for j, c in enumerate(MODS)},
        "rendering_tin": _const("rendering_tin", None, n, pl.String),
        "billing_tin": _tin(billing, "billing_tin"),
        "facility_npi": pl.select(pl.when(pl.Series(inst[g])).then(billing)).to_series().alias("facility_npi"),
        "paid_date": _date_series("paid_date", paid_day[g]),
        "allowed_amount": pl.Series("allowed_amount", allowed, dtype=pl.Float64),
        "charge_amount": pl.Series("charge_amount", charge, dtype=pl.Float64),
        "coinsurance_amount": pl.Series("coinsurance_amount", np.zeros(n), dtype=pl.Float64),
        "copayment_amount": pl.Series("copayment_amount", line_copay, dtype=pl.Float64),
        "deductible_amount": pl.Series("deductible_amount", np.zeros(n), dtype=pl.Float64),
        "total_cost_amount": pl.Series("total_cost_amount", np.round(paid + line_copay, 2), dtype=pl.Float64),
        "diagnosis_code_type": _const("diagnosis_code_type", "icd-10-cm", n, pl.String),
        **{c: _codes(c, extra_dx[j][g]) for j, c in enumerate(DX[4:])},
        **{c: _codes(c, poa[j][g]) for j, c in enumerate(POA_COLS)},
        "procedure_code_type": pl.Series(["icd-10-pcs", None], dtype=pl.String)
        .gather(np.where(n_pcs > 0, 0, 1)[g]).alias("procedure_code_type"),
        **{c: _codes(c, pcs[j][g]) for j, c in enumerate(PCS)},
        **{c: _date_series(c, pcs_days[j][g], (n_pcs > j)[g]) for j, c in enumerate(PCS_DATES)},
        "in_network_flag": pl.Series("in_network_flag", in_network[g], dtype=pl.Int32),
    }
    for s in _lineage(n, "medical_claim.csv", _first_of_month(paid_day)[g], year):
        cols[s.name] = s
    return pl.DataFrame([cols[c] if c in cols else df[c] for c in MEDICAL_SCHEMA.names()])


def widen_pharmacy(df: pl.DataFrame, rng: np.random.Generator, plans: pl.Series, pharmacies: pl.Series,
                   year: int) -> pl.DataFrame:
    n = df.height
    day = _days(df["dispensing_date"]).astype(np.int64)
    paid = df["paid_amount"].to_numpy()
    allowed = np.where(rng.random(n) < ALLOWED_ABOVE_PAID_SHARE, np.round(paid / rng.uniform(0.8, 0.98, n), 2), paid)
    copay = np.where(rng.random(n) < COPAY_SHARE, rng.choice(np.array([1.0, 2.0, 3.0, 4.0]), n), 0.0)
    paid_day = day + rng.integers(1, 21, n)
    cols = {
        "person_id": df["member_id"].alias("person_id"),
        "payer": _const("payer", "medicaid", n, pl.String),
        "plan": _plan_of(df["member_id"], plans),
        "dispensing_provider_npi": pharmacies.gather(rng.integers(0, len(pharmacies), n))
        .alias("dispensing_provider_npi"),
        "refills": pl.Series("refills", rng.integers(0, 6, n), dtype=pl.Int32),
        "paid_date": _date_series("paid_date", paid_day),
        "allowed_amount": pl.Series("allowed_amount", allowed, dtype=pl.Float64),
        "charge_amount": pl.Series("charge_amount", np.round(allowed * rng.uniform(1.1, 2.5, n), 2), dtype=pl.Float64),
        "coinsurance_amount": pl.Series("coinsurance_amount", np.zeros(n), dtype=pl.Float64),
        "copayment_amount": pl.Series("copayment_amount", copay, dtype=pl.Float64),
        "deductible_amount": pl.Series("deductible_amount", np.zeros(n), dtype=pl.Float64),
        "in_network_flag": pl.Series("in_network_flag", (rng.random(n) >= OUT_OF_NETWORK_SHARE).astype(np.int32),
                                     dtype=pl.Int32),
    }
    for s in _lineage(n, "pharmacy_claim.csv", _first_of_month(paid_day), year):
        cols[s.name] = s
    return pl.DataFrame([cols[c] if c in cols else df[c] for c in PHARMACY_SCHEMA.names()])


def medical_batches(shuffle: Shuffle, plans: pl.Series, year: int) -> Iterator[pl.DataFrame]:
    for b, df in shuffle.read():
        yield widen_medical(df, np.random.default_rng([shuffle.seed, FULL_STREAM, 20, b]), plans, year)


def pharmacy_batches(shuffle: Shuffle, plans: pl.Series, pharmacies: pl.Series, year: int) -> Iterator[pl.DataFrame]:
    for b, df in shuffle.read():
        yield widen_pharmacy(df, np.random.default_rng([shuffle.seed, FULL_STREAM, 21, b]), plans, pharmacies, year)
