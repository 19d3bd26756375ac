"""The Polars engine: one scan of the claim lines, then each measure plan's nodes (engine/run.py)."""
