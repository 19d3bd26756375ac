"""Checks that need the whole spec (and the value sets): references, lineage, value sets present."""

from __future__ import annotations

import re
from pathlib import Path

from bhmeasures.errors import Issue, SpecError
from bhmeasures.spec.loader import LoadedSpec, load_spec_file
from bhmeasures.yamlio import did_you_mean
from bhmeasures.spec.models import PATH_KINDS, Define, MeasureSpec, Predicate
from bhmeasures.valuesets import ValueSetLibrary

KNOWN_TABLES = {"eligibility", "medical_claim", "pharmacy_claim", "attribution", "provider", "observation"}
_REQUIRE = re.compile(r"^[a-z_]+\.[a-z0-9_]+$")


def lineage(spec: MeasureSpec, start: str, end: str) -> list[str] | None:
    """The defines from `start` to `end` following `from` links backwards from `end`; None if not linked."""
    chain = [end]
    seen = {end}
    while chain[-1] != start:
        d = spec.defines.get(chain[-1])
        if d is None or d.kind not in PATH_KINDS:
            return None
        nxt = d.step.from_
        if nxt in seen:
            return None
        chain.append(nxt)
        seen.add(nxt)
    return list(reversed(chain))


def _can_match_with_nothing(p: Predicate) -> bool:
    """True when the condition holds on a line that matches no code at all (e.g. a bare `not`)."""
    if p.not_ is not None:
        return not _can_match_with_nothing(p.not_)
    if p.any_of is not None:
        return any(_can_match_with_nothing(c) for c in p.any_of)
    if p.all_of is not None:
        return all(_can_match_with_nothing(c) for c in p.all_of)
    return False


def check_spec(loaded: LoadedSpec, library: ValueSetLibrary | None) -> list[Issue]:
    spec, file = loaded.spec, str(loaded.path)
    issues: list[Issue] = []

    def add(loc: tuple, message: str, hint: str | None = None) -> None:
        issues.append(Issue(file, loaded.line(*loc), message, hint, spec.id))

    names = list(spec.defines)
    declared = {v.name: v for v in spec.value_sets}

    for i, ref in enumerate(spec.value_sets):
        if library is not None:
            if ref.name not in library:
                add(("value_sets", i), f"value set '{ref.name}' is not in the loaded value set files.",
                    did_you_mean(ref.name, library.names()) or "Add its CSV file or point --valuesets at it.")
            elif library[ref.name].version != ref.version:
                add(("value_sets", i, "version"),
                    f"value set '{ref.name}' is version {library[ref.name].version} in the files, not {ref.version}.",
                    "Update the version here or load the matching files.")

    used_value_sets: set[str] = set()
    for name, define in spec.defines.items():
        for vs in define.value_sets():
            used_value_sets.add(vs)
            if vs not in declared:
                add(("defines", name), f"unknown value set '{vs}' in define '{name}'.",
                    did_you_mean(vs, list(declared)) or "Declare it under value_sets with its version.")
        for ref in define.inputs():
            if ref not in spec.defines:
                add(("defines", name, define.kind), f"define '{name}' refers to unknown define '{ref}'.",
                    did_you_mean(ref, names) or f"Known defines: {', '.join(names)}.")
        _check_kinds(spec, name, define, add)
        if define.kind in ("stays", "encounters", "dispensings") and _can_match_with_nothing(define.step.where):
            add(("defines", name, define.kind, "where"),
                f"the condition of source '{name}' holds on lines that carry no listed code.",
                "Start it from a code it requires (a bare `not` selects almost every line).")

    for vs in declared:
        if vs not in used_value_sets:
            add(("value_sets",), f"value set '{vs}' is declared but no define uses it.", "Remove it or use it.")

    _check_cycles(spec, add)

    pops = spec.populations
    for key in ("initial_population", "denominator"):
        ref = getattr(pops, key)
        if ref not in spec.defines:
            add(("populations", key), f"{key} refers to unknown define '{ref}'.", did_you_mean(ref, names))
    chain = None
    if pops.initial_population in spec.defines and pops.denominator in spec.defines:
        chain = lineage(spec, pops.initial_population, pops.denominator)
        if chain is None:
            add(("populations", "denominator"),
                f"denominator '{pops.denominator}' does not descend from initial_population '{pops.initial_population}' through `from` links.",
                f"Each step between them must be one of {', '.join(PATH_KINDS)}, reading the previous one.")
    for i, ex in enumerate(pops.denominator_exclusions):
        if chain is not None and ex not in chain[1:]:
            add(("populations", "denominator_exclusions", i),
                f"exclusion step '{ex}' is not a step between the initial population and the denominator.",
                did_you_mean(ex, chain[1:]) or "List a filter on that path whose removals are exclusions.")
    rate_ids = [r.id for r in pops.rates]
    for i, rate in enumerate(pops.rates):
        if rate_ids.count(rate.id) > 1:
            add(("populations", "rates", i, "id"), f"rate id '{rate.id}' appears twice.", "Rate ids are unique.")
        for key in ("numerator", "denominator"):
            ref = getattr(rate, key)
            if ref is None:
                continue
            if ref not in spec.defines:
                add(("populations", "rates", i, key), f"rate {rate.id} {key} refers to unknown define '{ref}'.",
                    did_you_mean(ref, names))
        den = rate.denominator or pops.denominator
        if rate.numerator in spec.defines and den in spec.defines and lineage(spec, den, rate.numerator) is None:
            add(("populations", "rates", i, "numerator"),
                f"rate {rate.id} numerator '{rate.numerator}' is not a filter of its denominator '{den}'.",
                "A numerator narrows the denominator: write it as a filter `from` the denominator.")

    for i, band in enumerate(spec.stratifiers.age_band):
        if band.min is not None and band.max is not None and band.min > band.max:
            add(("stratifiers", "age_band", i), f"age band '{band.label}' has min above max.")
    for i, req in enumerate(spec.requires):
        for alt in (a.strip() for a in req.split("|")):
            if not _REQUIRE.match(alt) or alt.split(".")[0] not in KNOWN_TABLES:
                add(("requires", i), f"requirement '{alt}' is not table.column of a contract table.",
                    f"Tables: {', '.join(sorted(KNOWN_TABLES))}.")
    return issues


def _check_kinds(spec: MeasureSpec, name: str, define: Define, add) -> None:  # noqa: ANN001
    s = define.step
    member_refs = [getattr(s, a, None) for a in ("member_in", "member_not_in")]
    for ref in member_refs:
        if ref in spec.defines and not spec.defines[ref].produces_members:
            add(("defines", name), f"'{ref}' is a set of events, but member_in/member_not_in needs a set of members.",
                "Use members_with or members_who_died for it.")
    event_refs = [r for r in define.inputs() if r not in member_refs]
    for ref in event_refs:
        if ref in spec.defines and spec.defines[ref].produces_members:
            add(("defines", name), f"'{ref}' is a set of members where define '{name}' needs events.",
                "Use member_in / member_not_in for member sets.")


def _check_cycles(spec: MeasureSpec, add) -> None:  # noqa: ANN001
    state: dict[str, int] = {}

    def visit(n: str, path: list[str]) -> None:
        if state.get(n) == 2 or n not in spec.defines:
            return
        if state.get(n) == 1:
            add(("defines", n), f"defines refer to each other in a cycle: {' -> '.join([*path, n])}.", "Break the loop.")
            return
        state[n] = 1
        for ref in spec.defines[n].inputs():
            visit(ref, [*path, n])
        state[n] = 2

    for n in spec.defines:
        visit(n, [])


def spec_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(x for x in p.glob("*.y*ml") if x.suffix in (".yaml", ".yml")))
        else:
            files.append(p)
    return files


def validate_paths(paths: list[Path], library: ValueSetLibrary | None) -> tuple[list[LoadedSpec], list[Issue]]:
    """Load and check every spec; return all that loaded and every issue found in any of them."""
    loaded: list[LoadedSpec] = []
    issues: list[Issue] = []
    files = spec_files(paths)
    if not files:
        issues.append(Issue(", ".join(map(str, paths)), None, "no measure spec files (*.yaml) found.", "Pass a spec file or a folder of them."))
    seen_ids: dict[str, str] = {}
    for f in files:
        spec, found = load_spec_file(f)
        issues.extend(found)
        if spec is None:
            continue
        issues.extend(check_spec(spec, library))
        if spec.spec.id in seen_ids:
            issues.append(Issue(str(f), spec.line("id"), f"measure id '{spec.spec.id}' is also defined in {seen_ids[spec.spec.id]}.",
                                "Each measure id appears once."))
        seen_ids[spec.spec.id] = str(f)
        loaded.append(spec)
    return loaded, issues


def load_specs(paths: list[Path], library: ValueSetLibrary) -> list[LoadedSpec]:
    """Load specs for computing; raise SpecError listing every problem."""
    loaded, issues = validate_paths(paths, library)
    if issues:
        raise SpecError(issues)
    return loaded
