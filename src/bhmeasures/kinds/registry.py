"""Every step kind, registered by importing its module; the one place that lists them."""

from __future__ import annotations

from bhmeasures.kinds import (  # noqa: F401 - each module registers its kind
    birthdays,
    dispensings,
    encounters,
    enrolled_members,
    enrollment_starts,
    episodes,
    filter,
    first_per_member,
    member_sets,
    member_units,
    members_who_died,
    members_with,
    observations,
    one_per_period,
    readmission_chain,
    stays,
    transfer_chains,
    union,
)
from bhmeasures.kinds.base import STEP_KINDS, StepKind

__all__ = ["STEP_KINDS", "StepKind"]
