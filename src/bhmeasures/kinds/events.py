"""The columns every event frame has.

An event is identified by (member_id, event_id). `claims` lists every claim the event is made of (the
facility and professional claims of one visit); a claim-level condition holds when any of them meets it,
and none of them is the event's own follow-up. `provider` is the rendering (else billing) NPI of a
medical claim, null for fills and observations; `units` the units of service (1 when not billed in units).
Steps may add columns: named dates, attributes from value sets, evidence of `with` conditions, and
`own_claims` when an event stands for several (one per day): its claim-level conditions see `claims`,
but only `own_claims` are never its own follow-up.
"""

from __future__ import annotations

import polars as pl

EVENT_SCHEMA = pl.Schema([
    ("source", pl.String), ("member_id", pl.String), ("event_id", pl.String), ("claim_id", pl.String),
    ("claims", pl.List(pl.String)), ("start_date", pl.Date), ("end_date", pl.Date), ("index_date", pl.Date),
    ("provider", pl.String), ("units", pl.Int64),
])
EVENT_COLUMNS = tuple(EVENT_SCHEMA)
EVIDENCE_SCHEMA = {"evidence_claim_id": pl.String, "evidence_date": pl.Date}
MEMBER_SCHEMA = {"member_id": pl.String}


def empty_events() -> pl.DataFrame:
    return pl.DataFrame(schema=EVENT_SCHEMA)


def empty_members() -> pl.DataFrame:
    return pl.DataFrame(schema=MEMBER_SCHEMA)
