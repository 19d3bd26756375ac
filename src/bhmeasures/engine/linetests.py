"""Line conditions evaluated on a batch's value-set masks with numpy, in two steps.

A measure's conditions on one claim line are nested any_of / all_of / not over value-set tests, each a bit of
a family's mask (`engine/lines.py`). Most lines meet none of them, so each batch is first narrowed by an
anchor: for every condition, a test every line meeting it must pass (an `all_of` keeps only its most selective
part, a `not` holds anywhere), bits of one mask merged into one test. The exact conditions then run on the
lines the anchors kept. Subconditions are evaluated once per batch however often they occur.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bhmeasures.engine.codes import CodeIndex
from bhmeasures.spec.base import Predicate

Masks = dict[str, np.ndarray]  # mask column name -> uint64 per line; "claim_type" -> lower-case text per line


def _mask_name(family: str, leaf: Predicate) -> str:
    if family == "dx":
        return "_m_dxp" if leaf.principal_diagnosis_in else "_m_dxany"
    return f"_m_{family}"


@dataclass
class Node:
    """A condition compiled for numpy: a leaf's bit tests, or a combination of nodes."""

    op: str  # "bits", "claim_type", "any", "all", "not", "true", "false"
    bits: dict[str, int] = field(default_factory=dict)  # mask column -> bits, any of which holds
    children: list[Node] = field(default_factory=list)
    value: str = ""
    key: str = ""

    def evaluate(self, masks: Masks, memo: dict[str, np.ndarray], n: int) -> np.ndarray:
        if self.key in memo:
            return memo[self.key]
        if self.op == "bits":
            out = np.zeros(n, dtype=bool)
            for column, bits in self.bits.items():
                out |= (masks[column] & np.uint64(bits)) != 0
        elif self.op == "claim_type":
            types = masks.get("claim_type")
            out = np.zeros(n, dtype=bool) if types is None else types == self.value
        elif self.op in ("any", "all"):
            parts = [c.evaluate(masks, memo, n) for c in self.children]
            out = np.logical_or.reduce(parts) if self.op == "any" else np.logical_and.reduce(parts)
        elif self.op == "not":
            out = ~self.children[0].evaluate(masks, memo, n)
        else:
            out = np.full(n, self.op == "true")
        memo[self.key] = out
        return out


def compile_condition(p: Predicate, codes: CodeIndex, families: set[str]) -> Node:
    """The exact condition; `families` collects the code families it reads."""
    key = p.model_dump_json(by_alias=True, exclude_none=True)
    if p.any_of is not None:
        return Node("any", children=[compile_condition(c, codes, families) for c in p.any_of], key=key)
    if p.all_of is not None:
        return Node("all", children=[compile_condition(c, codes, families) for c in p.all_of], key=key)
    if p.not_ is not None:
        return Node("not", children=[compile_condition(p.not_, codes, families)], key=key)
    if p.claim_type is not None:
        return Node("claim_type", value=p.claim_type, key=key)
    name = p.code_in or p.diagnosis_in or p.principal_diagnosis_in
    assert name is not None
    fams = codes.families(name) if p.code_in else (["dx"] if "dx" in codes.families(name) else [])
    bits: dict[str, int] = {}
    for family in fams:
        families.add(family)
        chunk, bit = codes.bits[(family, name)]
        column = f"{_mask_name(family, p)}_{chunk}"
        bits[column] = bits.get(column, 0) | (1 << bit)
    return Node("bits", bits=bits, key=key) if bits else Node("false", key=key)


def _merge_any(children: list[Node]) -> Node:
    """One node for an any_of of anchors: bit tests of one mask column merged."""
    if any(c.op == "true" for c in children):
        return Node("true", key="anchor:true")
    bits: dict[str, int] = {}
    others = []
    for c in children:
        if c.op == "bits":
            for column, b in c.bits.items():
                bits[column] = bits.get(column, 0) | b
        elif c.op != "false":
            others.append(c)
    merged = [Node("bits", bits=bits, key="anchor:" + repr(sorted(bits.items())))] if bits else []
    parts = merged + others
    if not parts:
        return Node("false", key="anchor:false")
    if len(parts) == 1:
        return parts[0]
    return Node("any", children=parts, key="anchor:any" + "|".join(c.key for c in parts))


def anchor(node: Node, share: dict[str, float]) -> Node:
    """A test every line meeting `node` passes. `share` is the share of lines each exact node held on in a
    sample: an all_of keeps its child whose anchor is rarest."""
    if node.op in ("bits", "false", "true"):
        return node
    if node.op in ("not", "claim_type"):
        return Node("true", key="anchor:true")
    if node.op == "any":
        return _merge_any([anchor(c, share) for c in node.children])
    # all_of: the anchor of its rarest part that has one (a part under `not` has none)
    anchored = [(c, a) for c in node.children if (a := anchor(c, share)).op != "true"]
    if not anchored:
        return Node("true", key="anchor:true")
    return min(anchored, key=lambda ca: (share.get(ca[0].key, 1.0), ca[0].key))[1]


@dataclass
class LineTests:
    """The exact conditions of a scan (name -> node), what lines to keep, and the anchor that narrows a batch."""

    exact: dict[str, Node]
    keep: list[str]  # conditions a kept line meets at least one of
    anchor: Node | None = None
    passing: float | None = None  # the share of the first batch's lines that passed the anchor

    def _choose_anchor(self, masks: Masks, n: int) -> Node:
        # the share of lines each subcondition holds on, in this (first) batch, picks the anchors
        share: dict[str, float] = {}

        def visit(node: Node) -> None:
            if node.key not in share:
                share[node.key] = float(node.evaluate(masks, {}, n).mean()) if n else 0.0
                for c in node.children:
                    visit(c)

        for name in self.keep:
            visit(self.exact[name])
        anchors = [anchor(self.exact[name], share) for name in self.keep]
        return _merge_any(anchors)

    def run(self, masks: Masks, n: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(positions of the lines to keep, each condition's value on those lines)."""
        if self.anchor is None:
            self.anchor = self._choose_anchor(masks, n)
        candidates = np.flatnonzero(self.anchor.evaluate(masks, {}, n))
        if self.passing is None:
            self.passing = len(candidates) / n if n else 1.0
        return self.run_at({k: v[candidates] for k, v in masks.items()}, candidates)

    def run_at(self, masks: Masks, at: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """`run` on lines already narrowed to the positions `at` (`masks` holds their values only)."""
        memo: dict[str, np.ndarray] = {}
        m = len(at)
        values = {name: node.evaluate(masks, memo, m) for name, node in self.exact.items()}
        kept = np.logical_or.reduce([values[k] for k in self.keep]) if self.keep else np.zeros(m, dtype=bool)
        return at[kept], {name: v[kept] for name, v in values.items()}
