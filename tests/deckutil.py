"""Test decks: small YAML scenarios turned into all-string input frames, and checks of the engine's output.

A deck is read with YAML's *base* loader, so every scalar stays a string: codes keep their leading
zeros (``"0111"``, ``"02"``) and dates stay ``YYYY-MM-DD`` exactly as written. The same builder takes
plain Python dicts (with str, int, bool or date values), which is how the property tests use it.

Shorthand filled in by the builder:

- ``members``: one eligibility span per member (``2024-12-01..2026-01-31`` unless ``enrollment`` lists
  ``[start, end]`` pairs, or ``{start, end, ...}`` mappings whose other keys are columns of that span
  only, such as ``foster_care``), gender ``female``; other keys (``death_date``, ``mh_benefit``,
  ``foster_care``...) are copied onto every span. Raw ``eligibility`` rows may be given as well.
- ``medical_claim``: ``claim_line_number`` (1.. per claim, in order), ``claim_type`` (institutional when
  ``bill_type_code`` or ``revenue_center_code`` is set, else professional), ``claim_start_date``
  (``admission_date`` when not given), ``claim_end_date`` (``discharge_date``, else ``claim_start_date``).
- ``pharmacy_claim``: ``days_supply`` 30 when not given.
- ``observation``: ``code_type`` ``loinc`` when not given. The table is part of the deck's inputs whenever
  the key is present (``observation: []`` gives an empty table); without the key the inputs have none.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import yaml

DECKS_DIR = Path(__file__).parent / "decks"
DEFAULT_YEAR = 2025
DEFAULT_COVERAGE = ("2024-12-01", "2026-01-31")
DEFAULT_GENDER = "female"

REQUIRED = {
    "eligibility": ["member_id", "birth_date", "gender", "enrollment_start_date", "enrollment_end_date"],
    "medical_claim": ["claim_id", "claim_line_number", "claim_type", "member_id", "claim_start_date",
                      "claim_end_date", "diagnosis_code_1"],
    "pharmacy_claim": ["claim_id", "member_id", "dispensing_date", "ndc_code", "days_supply"],
    "attribution": ["member_id", "entity_id", "start_date", "end_date"],
    "provider": ["npi", "taxonomy_code"],
    "observation": ["member_id", "observation_date", "code_type", "code", "result"],
}
DECK_KEYS = {"description", "measure", "year", "members", "eligibility", "medical_claim", "pharmacy_claim",
             "attribution", "provider", "observation", "expect", "expect_summary", "xfail"}
DETAIL_FIELDS = {"denominator", "numerator", "excluded", "reason", "reason_contains", "evidence_claim_id",
                 "evidence_date", "index_date", "member_id", "entity_id"}
DETAIL_BOOL = {"denominator", "numerator", "excluded"}
SUMMARY_FIELDS = {"denominator", "numerator", "exclusions", "rate"}
_NULLS = {"", "null", "~", "None"}


class DeckError(ValueError):
    """The deck itself is malformed (a test-writing mistake, never an engine failure)."""


# -- values ------------------------------------------------------------------------------------------
def text(value: Any) -> str | None:
    """A cell as the string a CSV file would hold (None for empty)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    s = str(value)
    return None if s in _NULLS else s


def as_bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    s = str(value).strip().lower()
    if s in ("true", "yes"):
        return True
    if s in ("false", "no"):
        return False
    raise DeckError(f"{where}: expected true/false, got {value!r}")


def as_int(value: Any, where: str) -> int:
    try:
        return int(str(value))
    except ValueError as e:
        raise DeckError(f"{where}: expected a whole number, got {value!r}") from e


# -- decks -------------------------------------------------------------------------------------------
def deck_paths(root: Path = DECKS_DIR) -> list[Path]:
    return sorted(root.glob("*/*.yaml"))


def deck_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def load_deck(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        deck = yaml.load(fh, Loader=yaml.BaseLoader)  # noqa: S506 - BaseLoader builds only str/list/dict
    if not isinstance(deck, dict):
        raise DeckError(f"{path}: a deck is a mapping")
    unknown = set(deck) - DECK_KEYS
    if unknown:
        raise DeckError(f"{path}: unknown deck key(s) {sorted(unknown)}")
    for key in ("description", "measure", "expect"):
        if not deck.get(key):
            raise DeckError(f"{path}: deck needs '{key}'")
    if deck["measure"] != path.parent.name:
        raise DeckError(f"{path}: measure {deck['measure']!r} does not match its folder {path.parent.name!r}")
    return deck


def _frame(rows: list[dict[str, str | None]], required: list[str]) -> pl.DataFrame:
    columns = list(required)
    for row in rows:
        columns.extend(c for c in row if c not in columns)
    data = {c: [row.get(c) for row in rows] for c in columns}
    return pl.DataFrame(data, schema=dict.fromkeys(columns, pl.String))


def _rows(deck: Mapping[str, Any], key: str) -> list[dict[str, str | None]]:
    raw = deck.get(key) or []
    if not isinstance(raw, list) or not all(isinstance(r, Mapping) for r in raw):
        raise DeckError(f"'{key}' must be a list of rows")
    return [{str(k): text(v) for k, v in r.items()} for r in raw]


def eligibility_rows(deck: Mapping[str, Any]) -> list[dict[str, str | None]]:
    out = []
    for m in deck.get("members") or []:
        m = dict(m)
        if "member_id" not in m or "birth_date" not in m:
            raise DeckError(f"member {m!r} needs member_id and birth_date")
        spans = m.pop("enrollment", None) or [list(DEFAULT_COVERAGE)]
        base = {str(k): text(v) for k, v in m.items()}
        base.setdefault("gender", DEFAULT_GENDER)
        for span in spans:
            extra: dict[str, str | None] = {}
            if isinstance(span, Mapping):
                span = dict(span)
                if "start" not in span or "end" not in span:
                    raise DeckError(f"member {m['member_id']}: an enrollment mapping needs start and end")
                extra = {str(k): text(v) for k, v in span.items() if k not in ("start", "end")}
                span = [span["start"], span["end"]]
            if len(span) != 2:
                raise DeckError(f"member {m['member_id']}: enrollment spans are [start, end] pairs")
            out.append({**base, **extra, "enrollment_start_date": text(span[0]), "enrollment_end_date": text(span[1])})
    return out + _rows(deck, "eligibility")


def medical_rows(deck: Mapping[str, Any]) -> list[dict[str, str | None]]:
    rows = _rows(deck, "medical_claim")
    line_no: dict[str, int] = {}
    for row in rows:
        claim = row.get("claim_id")
        if not claim or not row.get("member_id"):
            raise DeckError(f"medical_claim row {row!r} needs claim_id and member_id")
        line_no[claim] = line_no.get(claim, 0) + 1
        row.setdefault("claim_line_number", str(line_no[claim]))
        if not row.get("claim_type"):
            inst = row.get("bill_type_code") or row.get("revenue_center_code")
            row["claim_type"] = "institutional" if inst else "professional"
        if not row.get("claim_start_date"):
            row["claim_start_date"] = row.get("admission_date")
        if not row.get("claim_start_date"):
            raise DeckError(f"medical_claim {claim}: give claim_start_date or admission_date")
        if not row.get("claim_end_date"):
            row["claim_end_date"] = row.get("discharge_date") or row["claim_start_date"]
    return rows


def pharmacy_rows(deck: Mapping[str, Any]) -> list[dict[str, str | None]]:
    rows = _rows(deck, "pharmacy_claim")
    for row in rows:
        row.setdefault("days_supply", "30")
    return rows


def observation_rows(deck: Mapping[str, Any]) -> list[dict[str, str | None]]:
    rows = _rows(deck, "observation")
    for row in rows:
        if not row.get("member_id"):
            raise DeckError(f"observation row {row!r} needs member_id")
        row.setdefault("code_type", "loinc")
    return rows


def deck_frames(deck: Mapping[str, Any]) -> dict[str, pl.DataFrame]:
    """The input tables of a deck, every column a string, as a data directory of CSV files would give."""
    frames = {
        "eligibility": _frame(eligibility_rows(deck), REQUIRED["eligibility"]),
        "medical_claim": _frame(medical_rows(deck), REQUIRED["medical_claim"]),
        "pharmacy_claim": _frame(pharmacy_rows(deck), REQUIRED["pharmacy_claim"]),
    }
    for table in ("attribution", "provider"):
        rows = _rows(deck, table)
        if rows:
            frames[table] = _frame(rows, REQUIRED[table])
    if "observation" in deck:
        frames["observation"] = _frame(observation_rows(deck), REQUIRED["observation"])
    return frames


def deck_year(deck: Mapping[str, Any]) -> int:
    return as_int(deck.get("year", DEFAULT_YEAR), "year")


def run_deck(deck: Mapping[str, Any], measures: Iterable[str] | None = None):  # noqa: ANN201 - ComputeResult
    import bhmeasures

    return bhmeasures.compute_frames(deck_frames(deck), year=deck_year(deck),
                                     measures=list(measures) if measures else [deck["measure"]])


# -- checks ------------------------------------------------------------------------------------------
def _show(df: pl.DataFrame) -> str:
    if df.is_empty():
        return "    (no rows)"
    return "\n".join(f"    {r}" for r in df.iter_rows(named=True))


def _same(actual: Any, expected: str | None) -> bool:
    return text(actual) == expected


@dataclass
class Failure:
    what: str
    rows: pl.DataFrame

    def __str__(self) -> str:
        return f"{self.what}\n  actual rows:\n{_show(self.rows)}"


def check_detail(detail: pl.DataFrame, expect: list[Mapping[str, Any]]) -> list[Failure]:
    failures: list[Failure] = []
    for i, exp in enumerate(expect):
        where = f"expect[{i}]"
        exp = {str(k): v for k, v in exp.items()}
        rate, event = exp.pop("rate_id", None), exp.pop("event_id", None)
        if not rate or not event:
            raise DeckError(f"{where}: needs rate_id and event_id")
        rows = detail.filter((pl.col("rate_id") == rate) & (pl.col("event_id") == event))
        label = f"{where} ({rate}, {event})"
        if "absent" in exp:
            if as_bool(exp.pop("absent"), where) and exp:
                raise DeckError(f"{where}: 'absent: true' takes no other fields")
            if rows.height:
                failures.append(Failure(f"{label}: expected no detail row", rows))
            continue
        if "not_counted" in exp:
            as_bool(exp.pop("not_counted"), where)
            if rows.filter(pl.col("denominator")).height:
                failures.append(Failure(f"{label}: expected no row or a row outside the denominator", rows))
            if not exp:
                continue
        unknown = set(exp) - DETAIL_FIELDS
        if unknown:
            raise DeckError(f"{where}: unknown field(s) {sorted(unknown)}")
        if not exp:
            raise DeckError(f"{where}: asserts nothing")
        if rows.height != 1:
            failures.append(Failure(f"{label}: expected exactly one detail row, found {rows.height}", rows))
            continue
        row = rows.row(0, named=True)
        for field, want in exp.items():
            if field in DETAIL_BOOL:
                if row[field] is not as_bool(want, f"{where}.{field}"):
                    failures.append(Failure(f"{label}: {field} is {row[field]!r}, expected {want}", rows))
            elif field == "reason_contains":
                got = row["reason"] or ""
                if str(want).lower() not in got.lower():
                    failures.append(Failure(f"{label}: reason {row['reason']!r} does not contain {want!r}", rows))
            elif not _same(row[field], text(want)):
                failures.append(Failure(f"{label}: {field} is {text(row[field])!r}, expected {text(want)!r}", rows))
    return failures


def check_summary(summary: pl.DataFrame, measure: str, expect: list[Mapping[str, Any]]) -> list[Failure]:
    failures: list[Failure] = []
    for i, exp in enumerate(expect):
        where = f"expect_summary[{i}]"
        exp = {str(k): v for k, v in exp.items()}
        rate = exp.pop("rate_id", None)
        if not rate:
            raise DeckError(f"{where}: needs rate_id")
        stratifier, stratum = exp.pop("stratifier", "total"), exp.pop("stratum", "total")
        rows = summary.filter((pl.col("measure_id") == measure) & (pl.col("rate_id") == rate)
                              & (pl.col("stratifier") == stratifier) & (pl.col("stratum") == stratum))
        label = f"{where} ({rate}, {stratifier}={stratum})"
        if "absent" in exp:
            as_bool(exp.pop("absent"), where)
            if rows.height:
                failures.append(Failure(f"{label}: expected no summary row", rows))
            continue
        unknown = set(exp) - SUMMARY_FIELDS
        if unknown:
            raise DeckError(f"{where}: unknown field(s) {sorted(unknown)}")
        if not exp:
            raise DeckError(f"{where}: asserts nothing")
        if rows.height != 1:
            failures.append(Failure(f"{label}: expected exactly one summary row, found {rows.height}",
                                    summary.filter(pl.col("rate_id") == rate)))
            continue
        row = rows.row(0, named=True)
        for field, want in exp.items():
            if field == "rate":
                w = None if text(want) is None else float(str(want))
                got = row["rate"]
                ok = (w is None and got is None) or (w is not None and got is not None and math.isclose(got, w, abs_tol=1e-9))
            else:
                ok = row[field] == as_int(want, f"{where}.{field}")
            if not ok:
                failures.append(Failure(f"{label}: {field} is {row[field]!r}, expected {want}", rows))
    return failures


def check_invariants(detail: pl.DataFrame) -> list[Failure]:
    """Rules every detail table obeys, whatever the deck."""
    failures = []
    dup = detail.filter(pl.len().over("measure_id", "rate_id", "event_id") > 1)
    if dup.height:
        failures.append(Failure("detail has more than one row for a (rate_id, event_id)", dup))
    bad = detail.filter(pl.col("numerator") & ~pl.col("denominator"))
    if bad.height:
        failures.append(Failure("numerator without denominator", bad))
    bad = detail.filter(pl.col("excluded") & pl.col("denominator"))
    if bad.height:
        failures.append(Failure("excluded event counted in the denominator", bad))
    bad = detail.filter(pl.col("denominator") == pl.col("reason").is_null().not_())
    if bad.height:
        failures.append(Failure("reason must be null exactly when the event is in the denominator", bad))
    bad = detail.filter(pl.col("numerator") != pl.col("evidence_claim_id").is_not_null())
    if bad.height:
        failures.append(Failure("evidence_claim_id must be given exactly when the numerator is met", bad))
    return failures


def check_deck(deck: Mapping[str, Any], result) -> list[Failure]:  # noqa: ANN001 - ComputeResult
    measure = deck["measure"]
    failures = []
    if measure not in result.computed:
        failures.append(Failure(f"{measure} was not computed: skipped={result.skipped}", result.detail.clear()))
        return failures
    detail = result.detail.filter(pl.col("measure_id") == measure)
    failures += check_invariants(detail)
    failures += check_detail(detail, deck.get("expect") or [])
    failures += check_summary(result.summary, measure, deck.get("expect_summary") or [])
    return failures
