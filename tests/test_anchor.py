"""The anchor's row test agrees with the masks it stands for. After the first batch the scan finds the lines that
can pass by true/false tables per distinct code, before any mask is built: for the rendering provider's taxonomy
(the line's, else the provider table's by rendering, then billing NPI) a row must pass exactly when the taxonomy
masks built for every row hold the anchor's bits."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

import bhmeasures
from bhmeasures.engine.codes import CodeIndex
from bhmeasures.engine.lines import _batch_masks, _DictionaryMasks, _taxonomy_hot
from bhmeasures.inputs.batches import Batch, _code_column, _Dictionaries

MH, OTHER = "103TC0700X", "207Q00000X"  # a psychologist (Mental Health Provider), a family physician
PROVIDERS = {"1111111111": MH, "2222222222": OTHER}  # the provider table; 3333333333 is not in it
TAXONOMY = st.sampled_from([None, MH, OTHER, "101YM0800X"])
NPI = st.sampled_from([None, "1111111111", "2222222222", "3333333333"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(TAXONOMY, NPI, NPI), min_size=1, max_size=40), st.integers(0, 5))
def test_the_taxonomy_anchor_passes_exactly_the_rows_whose_masks_hold_its_bits(rows: list[tuple], skip: int) -> None:
    codes = CodeIndex(bhmeasures.value_sets())
    codes.register("Mental Health Provider")
    chunk, bit = codes.bits[("taxonomy", "Mental Health Provider")]
    luts = _DictionaryMasks(codes, PROVIDERS)
    dictionaries = _Dictionaries({})
    n = len(rows) - min(skip, len(rows) - 1)
    columns = {c: _code_column(pa.array([r[i] for r in rows], type=pa.string()).slice(len(rows) - n), c, dictionaries)
               for i, c in enumerate(("rendering_taxonomy_code", "rendering_npi", "billing_npi"))}
    batch = Batch(n, pa.RecordBatch.from_pylist([]), columns)
    bits = tuple((1 << bit) if i == chunk else 0 for i in range(codes.chunks("taxonomy")))
    luts.start_batch()
    hot = _taxonomy_hot(batch, bits, luts)
    masks = _batch_masks(batch, {"taxonomy"}, codes, luts)
    expected = (masks[f"_m_taxonomy_{chunk}"] & np.uint64(1 << bit)) != 0
    assert hot.tolist() == expected.tolist()
    # and what that means: the line's taxonomy, else the first NPI the provider table knows
    for (taxonomy, rendering, billing), got in zip(rows[len(rows) - n:], hot, strict=True):
        decided = taxonomy or PROVIDERS.get(rendering or "") or PROVIDERS.get(billing or "")
        assert got == (decided in (MH, "101YM0800X")), (taxonomy, rendering, billing)
