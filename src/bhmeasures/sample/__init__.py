"""Synthetic claims data in the bhm input layout (see :func:`generate_sample`)."""

from bhmeasures.sample.generate import LAYOUTS, TABLE_NAMES, generate_sample

__all__ = ["LAYOUTS", "TABLE_NAMES", "generate_sample"]
