"""bhm: behavioral-health quality measures from claims, compiled from YAML specs to Polars."""

from bhmeasures.api import compute, compute_frames, explain, finalize, open_inputs, validate, value_sets
from bhmeasures.engine.compute import ComputeResult
from bhmeasures.errors import BhmError, ExitCode, InputError, SpecError

__version__ = "0.1.0"

__all__ = [
    "BhmError", "ComputeResult", "ExitCode", "InputError", "SpecError", "__version__",
    "compute", "compute_frames", "explain", "finalize", "open_inputs", "validate", "value_sets",
]
