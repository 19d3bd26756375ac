"""Input tables: discovery, contract checks and normalisation."""

from bhmeasures.inputs.reader import (
    Inputs,
    find_tables,
    inputs_from_frames,
    read_inputs,
)

__all__ = ["Inputs", "find_tables", "inputs_from_frames", "read_inputs"]
