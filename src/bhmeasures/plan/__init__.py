"""The measure plan: a deterministic, engine-neutral tree of typed nodes with resolved measurement-year
dates, compiled from a validated spec (compile.py) and shown by `bhm explain` (explain.py)."""
