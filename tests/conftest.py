"""Hypothesis profiles for every property test (env BHM_HYPOTHESIS_PROFILE): "ci" (default, 40 examples),
"dev" (10), "thorough" (300). Engine runs take tens of milliseconds, so there is no deadline."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {"deadline": None, "database": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
settings.register_profile("ci", max_examples=40, **_COMMON)
settings.register_profile("dev", max_examples=10, **_COMMON)
settings.register_profile("thorough", max_examples=300, **_COMMON)
settings.load_profile(os.environ.get("BHM_HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser: object) -> None:
    parser.addoption("--update-goldens", action="store_true", default=False,  # type: ignore[attr-defined]
                     help="Rewrite the golden files of tests/golden from the current output.")
