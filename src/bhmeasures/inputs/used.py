"""Contract checks that only the scan can make: values a measure needs on the lines and fills it kept.

A line no measure uses may lack a date or an id (extracts carry many such lines); a used one may not, since a
missing date would silently drop the event."""

from __future__ import annotations

import polars as pl

from bhmeasures.errors import InputError, shown_value
from bhmeasures.inputs.reader import Inputs

# table -> (column of the scanned frame, the input column it comes from)
REQUIRED_ON_USED = {
    "medical_claim": (("member_id", "member_id"), ("claim_id", "claim_id"), ("service_date", "claim_start_date")),
    "pharmacy_claim": (("member_id", "member_id"), ("claim_id", "claim_id"), ("dispensing_date", "dispensing_date")),
}


def check_used_rows(inputs: Inputs, used: dict[str, pl.DataFrame]) -> None:
    """Raise an InputError naming file, column and claims when a required value is empty on a used line."""
    problems = []
    for table, frame in used.items():
        for column, source in REQUIRED_ON_USED[table]:
            if not frame.width or column not in frame.columns or not (n := frame[column].null_count()):
                continue
            ids = frame.filter(pl.col(column).is_null())["claim_id"].drop_nulls().unique(maintain_order=True).head(3)
            shown = ", ".join(shown_value(i) for i in ids) or "lines without a claim_id"
            problems.append(f"{inputs.files[table].path}: column {source} is empty on {n:,} line(s) the measures use, "
                            f"e.g. claims {shown}.")
    if problems:
        raise InputError("\n".join(problems))
