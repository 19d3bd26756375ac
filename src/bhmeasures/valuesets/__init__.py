"""Value sets are data: CSV files of (value_set, version, code_system, code, ...)."""

from bhmeasures.valuesets.store import CODE_SYSTEMS, ValueSet, ValueSetLibrary, load_value_sets

__all__ = ["CODE_SYSTEMS", "ValueSet", "ValueSetLibrary", "load_value_sets"]
