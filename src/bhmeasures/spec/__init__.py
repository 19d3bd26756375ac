"""Measure specs: YAML -> validated pydantic models, with every problem reported at once."""

from bhmeasures.spec.loader import LoadedSpec, load_spec_file
from bhmeasures.spec.models import MeasureSpec
from bhmeasures.spec.validate import load_specs, validate_paths

__all__ = ["LoadedSpec", "MeasureSpec", "load_spec_file", "load_specs", "validate_paths"]
