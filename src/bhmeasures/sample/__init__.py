"""Synthetic claims data in the bhm input layout (see :func:`generate_sample`)."""

from bhmeasures.sample.generate import TABLE_NAMES, generate_sample

__all__ = ["TABLE_NAMES", "generate_sample"]
