"""Measure specs: YAML -> validated pydantic models (models.py), resolved includes, variants and named
conditions (loader.py), whole-spec checks with every problem reported at once (validate.py)."""
