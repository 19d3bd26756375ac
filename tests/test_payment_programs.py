"""Program files state shared terms once: named tier sets, and components that extend another."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from payment_helpers import pay, program

from bhmeasures.errors import SpecError
from bhmeasures.payment import find_program, parameters, validate_program
from bhmeasures.payment.loader import programs_dir


def _line_of(path: Path, needle: str, nth: int = 1) -> int:
    hits = [i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line]
    return hits[nth - 1]


def _copy(tmp_path: Path, name: str, *edits: tuple[str, str]) -> Path:
    text = (programs_dir() / name).read_text()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / name
    path.write_text(text)
    return path


def test_basic_levels_extend_level_a_and_differ_only_where_they_say() -> None:
    p = find_program("mssp", 2025).program
    a, b, c, d = (p.components[k] for k in ("basic_a", "basic_b", "basic_c", "basic_d"))
    assert b.model_dump(exclude={"title", "tracks"}) == a.model_dump(exclude={"title", "tracks"})
    assert (c.two_sided, c.sharing_rate.value, c.quality, c.savings_cap) == (True, Fraction(1, 2), a.quality, a.savings_cap)
    assert d.model_dump(exclude={"title", "tracks", "loss_cap"}) == c.model_dump(exclude={"title", "tracks", "loss_cap"})
    assert (d.loss_cap.pct_revenue.value, d.loss_cap.pct_benchmark.value) == (Fraction(4, 100), Fraction(2, 100))
    rows = {r.path: r for r in parameters(p)}
    assert rows["basic_b.sharing_rate"].value == "0.4" and rows["basic_b.sharing_rate"].provenance == "verified"


def test_set_changes_only_the_component_it_names_even_when_others_extend_it() -> None:
    lp = find_program("mssp", 2025, ["basic_a.sharing_rate=0.45", "basic_d.sharing_rate=0.55"])
    comps = lp.program.components
    assert comps["basic_a"].sharing_rate.value == Fraction(45, 100) and comps["basic_a"].sharing_rate.provenance == "override"
    assert comps["basic_b"].sharing_rate.value == Fraction(40, 100) and comps["basic_b"].sharing_rate.provenance == "verified"
    assert comps["basic_c"].sharing_rate.value == Fraction(50, 100)
    assert comps["basic_d"].sharing_rate.value == Fraction(55, 100)


def test_an_inherited_problem_is_reported_where_the_base_writes_it(tmp_path: Path) -> None:
    path = _copy(tmp_path, "mssp_2025.yaml", ("sharing_rate: {value: 0.40,", "sharing_rate: {value: 4,"))
    _, issues = validate_program(path)
    line = _line_of(path, "sharing_rate: {value: 4,")
    assert {(i.line, i.message.split(":")[0]) for i in issues} == {
        (line, "components.basic_a.sharing_rate"), (line, "components.basic_b.sharing_rate")}


def test_extends_an_unknown_component_or_itself_is_an_error(tmp_path: Path) -> None:
    path = _copy(tmp_path, "mssp_2025.yaml",
                 ("    extends: basic_a\n    title: BASIC level B", "    extends: basic_z\n    title: BASIC level B"))
    _, issues = validate_program(path)
    (issue,) = issues
    assert issue.line == _line_of(path, "extends: basic_z")
    assert issue.message == "component 'basic_b' extends unknown component 'basic_z'." and "did you mean" in issue.hint
    path = _copy(tmp_path, "mssp_2025.yaml",
                 ("  basic_a:\n    kind: shared_savings", "  basic_a:\n    extends: enhanced\n    kind: shared_savings"))
    _, issues = validate_program(path)
    assert any("extends itself through" in i.message for i in issues), [str(i) for i in issues]


def test_null_drops_an_inherited_key() -> None:
    """basic_b without the savings cap: 40% of $7.2M = $2.88M is no longer capped at 10% of a $20M benchmark ($2M)."""
    def edit(data: dict) -> None:
        data["components"]["basic_b"]["savings_cap"] = None

    prog = program("mssp", edit=edit)
    assert prog.program.components["basic_b"].savings_cap is None and prog.program.components["basic_a"].savings_cap is not None
    aco = {"members": 20000, "tcoc_benchmark": 20_000_000, "tcoc_actual": 12_800_000, "quality_score": 0.9}
    r = pay(prog, {"A": {**aco, "track": "basic_a"}, "B": {**aco, "track": "basic_b"}})
    assert r.items("A", "basic_a")[0].amount_cents == 200_000_000  # min(0.40 x 7.2M, 0.10 x 20M) = $2,000,000
    assert r.items("B", "basic_b")[0].amount_cents == 288_000_000  # 0.40 x 7.2M = $2,880,000


def test_tier_sets_are_named_once_and_shared(tmp_path: Path) -> None:
    p = find_program("colorado_acc", 2025, ["tier_sets.gap_closure.tier1.credit=0.25"]).program
    for pool in ("kpi", "bhi"):
        card = p.components[pool]
        assert card.tiers == "gap_closure"
        assert card.tiers_for(next(iter(card.measures)), p.tier_sets)["tier1"].credit.value == Fraction(1, 4)
    rows = {r.path: r for r in parameters(p)}
    assert rows["tier_sets.gap_closure.tier1.credit"].provenance == "override"
    with pytest.raises(SpecError, match=r"kpi.tiers names the tier set 'gap_closure'\. Set tier_sets.gap_closure.tier1.credit"):
        find_program("colorado_acc", 2025, ["kpi.tiers.tier1.credit=0.25"])
    path = _copy(tmp_path, "colorado_acc_2025.yaml", ("    tiers: gap_closure\n", "    tiers: gap_closur\n"))
    _, issues = validate_program(path)
    (issue,) = issues
    assert (issue.line, issue.message, issue.hint) == (
        _line_of(path, "tiers: gap_closur"), "unknown tier set 'gap_closur'.", "did you mean 'gap_closure'?")


def test_tier_set_credits_must_rise(tmp_path: Path) -> None:
    path = _copy(tmp_path, "colorado_acc_2025.yaml", ("      credit: {value: 1.0, provenance: illustrative, source: engine}",
                                                      "      credit: {value: 0.4, provenance: illustrative, source: engine}"))
    _, issues = validate_program(path)
    (issue,) = issues
    assert issue.line == _line_of(path, "  gap_closure:") and "tier credits must rise" in issue.message
