"""Where the specs, value sets and sample data shipped with bhm live (in the wheel or in a checkout)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def bundled(name: str) -> Path:
    """`measure_specs`, `payment_programs` or `sample_data`: inside the installed package, else at the top of a checkout."""
    packaged = Path(str(resources.files("bhmeasures"))) / "_bundled" / name
    if packaged.exists():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / name
    if checkout.exists():
        return checkout
    msg = f"bundled folder '{name}' not found; reinstall bhmeasures"
    raise FileNotFoundError(msg)


def specs_dir() -> Path:
    return bundled("measure_specs")


def valuesets_dir() -> Path:
    return bundled("measure_specs") / "valuesets"


def programs_dir() -> Path:
    """Payment program files, one per program and performance year."""
    return bundled("payment_programs")


def sample_dir() -> Path:
    return bundled("sample_data")
