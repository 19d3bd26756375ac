"""The Polars engine: a spec's defines become Polars queries over the input tables."""

from bhmeasures.engine.compute import ComputeResult, compute, readiness

__all__ = ["ComputeResult", "compute", "readiness"]
