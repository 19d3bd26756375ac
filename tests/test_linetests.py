"""Narrowing a batch by anchors never changes which lines meet a condition: the two-step evaluation of
engine/linetests.py equals evaluating every condition on every line, for any conditions and masks."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bhmeasures.engine.linetests import LineTests, Node

COLUMNS = ["_m_dxp_0", "_m_hcpcs_0", "_m_pos_0"]


def _leaf(column: int, bit: int) -> Node:
    return Node("bits", bits={COLUMNS[column]: 1 << bit}, key=f"leaf{column}.{bit}")


leaves = st.one_of(st.builds(_leaf, st.integers(0, 2), st.integers(0, 3)),
                   st.sampled_from(["professional", "institutional"]).map(lambda v: Node("claim_type", value=v, key=f"type:{v}")))


def _combine(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    many = st.lists(children, min_size=1, max_size=3)
    return st.one_of(
        many.map(lambda cs: Node("any", children=cs, key="any(" + ",".join(c.key for c in cs) + ")")),
        many.map(lambda cs: Node("all", children=cs, key="all(" + ",".join(c.key for c in cs) + ")")),
        children.map(lambda c: Node("not", children=[c], key=f"not({c.key})")),
    )


conditions = st.recursive(leaves, _combine, max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(st.lists(conditions, min_size=1, max_size=4), st.integers(0, 2**32 - 1), st.integers(1, 200), st.data())
def test_anchored_evaluation_equals_evaluating_every_line(nodes: list[Node], seed: int, n: int, data: st.DataObject) -> None:
    rng = np.random.default_rng(seed)
    density = data.draw(st.sampled_from([0.02, 0.3, 0.9]))
    masks = {c: np.where(rng.random(n) < density, rng.integers(0, 16, n), 0).astype(np.uint64) for c in COLUMNS}
    masks["claim_type"] = rng.choice(np.array(["professional", "institutional", None], dtype=object), n)
    exact = {f"c{i}": node for i, node in enumerate(nodes)}
    keep = data.draw(st.lists(st.sampled_from(list(exact)), min_size=1, unique=True))
    tests = LineTests(exact, keep)
    # the anchor is chosen on a first batch; later batches may be different
    first = {c: np.roll(v, 7) for c, v in masks.items()}
    tests.run(first, n)
    rows, values = tests.run(masks, n)
    full = {name: node.evaluate(masks, {}, n) for name, node in exact.items()}
    want = np.flatnonzero(np.logical_or.reduce([full[k] for k in keep]))
    assert rows.tolist() == want.tolist()
    for name in exact:
        assert values[name].tolist() == full[name][want].tolist()
