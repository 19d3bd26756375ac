"""A plan as a reader needs it: the populations and their roles, then each step (dependencies first) with
its kind, what it reads, its windows resolved for the year, its value sets and the reason it writes.

`explain_plan` returns plain data (the `--json` output, stable for golden tests); `render_text` prints it.
"""

from __future__ import annotations

from typing import Any

from bhmeasures.kinds.registry import STEP_KINDS
from bhmeasures.plan.model import MeasurePlan
from bhmeasures.spec.dates import parse_date_expr


def _strata(plan: MeasurePlan) -> list[dict[str, Any]]:
    s = plan.stratifiers
    out: list[dict[str, Any]] = [{"stratifier": "total", "strata": ["total"]}]
    if s.age_band is not None:
        at = parse_date_expr(s.age_band.at)
        on = at.resolve(plan.year).isoformat() if at.is_calendar else s.age_band.at
        out.append({"stratifier": "age_band", "age_on": on, "strata": [b.label for b in s.age_band.bands]})
    for name, defines in s.by_define.items():
        out.append({"stratifier": name, "strata": [f"{label}: {ref}" for label, ref in defines.items()]})
    for column in s.member_attributes:
        out.append({"stratifier": column, "strata": [f"each value of eligibility.{column} on the index date"]})
    out.append({"stratifier": "entity", "strata": ["each entity of the attribution table on the index date (when given)"]})
    return out


def _reason(plan: MeasurePlan, node: Any) -> str | None:
    """The sentence a step writes for the units it removes (or makes another step remove)."""
    from bhmeasures.kinds.conditions.logic import children, present

    pops = plan.populations
    kind = STEP_KINDS[node.kind]
    if node.kind == "filter" and node.step.reason is None and not children(node.step) \
            and {k for k, _, _ in present(node.step)} == {"not_in"}:
        return "the reason of the set the event is in"
    used = kind.narrows or node.produces == "members" or node.name in (*pops.denominator_exclusions, *pops.denominator_exceptions)
    return node.reason if used else None


def explain_plan(plan: MeasurePlan) -> dict[str, Any]:
    pops = plan.populations
    steps = []
    for i, node in enumerate(plan.nodes.values(), start=1):
        kind = STEP_KINDS[node.kind]
        steps.append({
            "step": i,
            "name": node.name,
            "kind": node.kind,
            "yields": node.produces,
            "reads": list(node.inputs),
            "roles": list(node.roles),
            "does": kind.describe(node, plan.year),
            "value_sets": [{"name": v, "version": plan.value_sets[v].version, "codes": plan.value_sets[v].codes}
                           for v in node.value_sets if v in plan.value_sets],
            "reason": _reason(plan, node),
        })
    return {
        "measure": plan.measure_id,
        "title": plan.title,
        "version": plan.version,
        "steward": plan.steward,
        "source_status": plan.source_status,
        "codes": plan.codes,
        "basis": plan.basis,
        "unit": plan.event_name,
        "measurement_period": [plan.period[0].isoformat(), plan.period[1].isoformat()],
        "populations": {
            "initial_population": pops.initial_population,
            "denominator": pops.denominator,
            "denominator_exclusions": list(pops.denominator_exclusions),
            "denominator_exceptions": list(pops.denominator_exceptions),
            "rates": [{"id": r.id, "numerator": r.numerator, "denominator": r.denominator or pops.denominator,
                       "path": list(plan.paths[r.id])} for r in pops.rates],
        },
        "strata": _strata(plan),
        "steps": steps,
        "value_sets": [{"name": v.name, "version": v.version, "codes": v.codes, "systems": list(v.systems)}
                       for v in plan.value_sets.values()],
        "notes": list(plan.notes),
    }


def render_text(doc: dict[str, Any]) -> str:
    """The explanation as plain text (what `bhm explain` prints)."""
    pops = doc["populations"]
    lines = [
        f"{doc['measure']}  {doc['title']}",
        f"  version {doc['version']}; {doc['steward']}; source {doc['source_status']}; codes {doc['codes']}",
        f"  unit: {doc['unit']} ({doc['basis']}-based); measurement period {doc['measurement_period'][0]} to "
        f"{doc['measurement_period'][1]}",
        "",
        "Populations",
        f"  initial population: {pops['initial_population']}",
        f"  denominator: {pops['denominator']}",
    ]
    if pops["denominator_exclusions"]:
        lines.append(f"  denominator exclusions: {', '.join(pops['denominator_exclusions'])}")
    if pops["denominator_exceptions"]:
        lines.append(f"  denominator exceptions: {', '.join(pops['denominator_exceptions'])}")
    for r in doc["rates"] if "rates" in doc else pops["rates"]:
        lines.append(f"  rate {r['id']}: numerator {r['numerator']} / denominator {r['denominator']}")
    lines += ["", "Strata"]
    for s in doc["strata"]:
        on = f" (age on {s['age_on']})" if "age_on" in s else ""
        lines.append(f"  {s['stratifier']}{on}: {'; '.join(s['strata'])}")
    lines += ["", "Steps (each after the steps it reads)"]
    for st in doc["steps"]:
        roles = f"  <- {', '.join(st['roles'])}" if st["roles"] else ""
        lines.append(f"  {st['step']:>2}. {st['name']}  [{st['kind']}, yields {st['yields']}]{roles}")
        lines.extend(f"      {d}" for d in st["does"])
        if st["value_sets"]:
            shown = ", ".join(f"{v['name']} ({v['version']}, {v['codes']} codes)" for v in st["value_sets"])
            lines.append(f"      value sets: {shown}")
        if st["reason"]:
            lines.append(f"      reason written: \"{st['reason']}\"")
    if doc["notes"]:
        lines += ["", "Notes"]
        lines.extend(f"  - {n}" for n in doc["notes"])
    return "\n".join(lines) + "\n"
