"""bhm: behavioral-health quality measures from claims, compiled from YAML specs to Polars.

The library's functions load on first use (PEP 562), so `import bhmeasures.cli` stays light: `bhm compute`
starts hashing its inputs before Polars and the engine are imported."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from bhmeasures.errors import BhmError, ExitCode, InputError, SpecError

if TYPE_CHECKING:
    from bhmeasures.api import compute, compute_frames, explain, finalize, open_inputs, validate, value_sets
    from bhmeasures.engine.compute import ComputeResult

__version__ = "0.1.0"

__all__ = [
    "BhmError", "ComputeResult", "ExitCode", "InputError", "SpecError", "__version__",
    "compute", "compute_frames", "explain", "finalize", "open_inputs", "validate", "value_sets",
]

_LAZY = {"ComputeResult": "bhmeasures.engine.compute", "compute": "bhmeasures.api", "compute_frames": "bhmeasures.api",
         "explain": "bhmeasures.api", "finalize": "bhmeasures.api", "open_inputs": "bhmeasures.api",
         "validate": "bhmeasures.api", "value_sets": "bhmeasures.api"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'bhmeasures' has no attribute '{name}'")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
