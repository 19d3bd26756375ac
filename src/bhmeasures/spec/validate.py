"""Checks that need the whole spec (and the value sets): references, kinds of inputs, lineage, dates,
value sets present. Every problem is reported at once, at the file and line that wrote it."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from bhmeasures.engine.codes import TABLE_SYSTEMS
from bhmeasures.errors import Issue, SpecError, did_you_mean
from bhmeasures.kinds.base import SpecView
from bhmeasures.kinds.registry import STEP_KINDS
from bhmeasures.spec.base import Predicate
from bhmeasures.spec.dates import parse_date_expr
from bhmeasures.spec.loader import LoadedSpec, SpecFile, load_spec_file, resolve_specs
from bhmeasures.spec.models import Library, MeasureSpec, define_kind, define_step
from bhmeasures.valuesets import ValueSetLibrary

KNOWN_TABLES = {"eligibility", "medical_claim", "pharmacy_claim", "attribution", "provider", "observation"}
_REQUIRE = re.compile(r"^[a-z_]+\.[a-z0-9_]+$")
# the value sets each kind of code leaf may name: `code_in` any, `diagnosis_in` ICD-10-CM only
_DX_SYSTEMS = {"ICD10CM"}


def inputs_of(define: Any) -> list[str]:
    return STEP_KINDS[define_kind(define)].inputs(define_step(define))


def lineage(spec: MeasureSpec, start: str, end: str) -> list[str] | None:
    """The defines from `start` to `end` following `from` links backwards from `end`; None if not linked."""
    chain = [end]
    seen = {end}
    while chain[-1] != start:
        d = spec.defines.get(chain[-1])
        if d is None or not STEP_KINDS[define_kind(d)].narrows:
            return None
        nxt = define_step(d).from_  # type: ignore[attr-defined]
        if nxt in seen:
            return None
        chain.append(nxt)
        seen.add(nxt)
    return list(reversed(chain))


def produces(spec: MeasureSpec, name: str) -> str | None:
    d = spec.defines.get(name)
    return None if d is None else STEP_KINDS[define_kind(d)].produces


def event_dates(spec: MeasureSpec) -> Any:
    """name -> the date names the events of that define carry."""

    @cache
    def dates(name: str) -> frozenset[str]:
        d = spec.defines.get(name)
        if d is None or STEP_KINDS[define_kind(d)].produces != "events":
            return frozenset()
        return frozenset(STEP_KINDS[define_kind(d)].dates(define_step(d), lambda n: set(dates(n))))

    return lambda name: set(dates(name))


def _can_match_with_nothing(p: Predicate) -> bool:
    """True when the condition holds on a line that matches no code at all (e.g. a bare `not`)."""
    if p.not_ is not None:
        return not _can_match_with_nothing(p.not_)
    if p.any_of is not None:
        return any(_can_match_with_nothing(c) for c in p.any_of)
    if p.all_of is not None:
        return all(_can_match_with_nothing(c) for c in p.all_of)
    return False


def _cycle(spec: MeasureSpec) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(n: str, path: list[str]) -> list[str] | None:
        if state.get(n) == 1:
            return [*path, n]
        if state.get(n) == 2 or n not in spec.defines:
            return None
        state[n] = 1
        for ref in inputs_of(spec.defines[n]):
            found = visit(ref, [*path, n])
            if found:
                return found
        state[n] = 2
        return None

    for n in spec.defines:
        found = visit(n, [])
        if found:
            return found
    return None


def check_spec(loaded: LoadedSpec, library: ValueSetLibrary | None) -> list[Issue]:
    spec = loaded.spec
    issues: list[Issue] = []

    def add(loc: tuple, message: str, hint: str | None = None) -> None:
        file, line = loaded.locate(*loc)
        issues.append(Issue(file, line, message, hint, spec.id))

    names = list(spec.defines)
    declared = {v.name: v for v in spec.value_sets}
    view = SpecView(dict(spec.defines), lambda n: produces(spec, n), event_dates(spec))

    def add_value_set(i: int, name: str, suffix: tuple, message: str, hint: str | None) -> None:
        origin = loaded.origins.get(("value_sets", name))
        if origin is None:
            add(("value_sets", i, *suffix), message, hint)
            return
        j = next(k for k, r in enumerate(origin.model.value_sets) if r.name == name)
        issues.append(Issue(str(origin.path), origin.lines.get(("value_sets", j)), message, hint, spec.id))

    for i, vs_ref in enumerate(spec.value_sets):
        if library is not None:
            if vs_ref.name not in library:
                add_value_set(i, vs_ref.name, (), f"value set '{vs_ref.name}' is not in the loaded value set files.",
                              did_you_mean(vs_ref.name, library.names()) or "Add its CSV file or point --valuesets at it.")
            elif library[vs_ref.name].version != vs_ref.version:
                add_value_set(i, vs_ref.name, ("version",),
                    f"value set '{vs_ref.name}' is version {library[vs_ref.name].version} in the files, not {vs_ref.version}.",
                    "Update the version here or load the matching files.")

    used_value_sets: set[str] = set()
    for name, define in spec.defines.items():
        kind_name = define_kind(define)
        kind, step = STEP_KINDS[kind_name], define_step(define)
        for p in kind.predicates(step):
            for leaf in p.leaves():
                vs = leaf.code_in or leaf.diagnosis_in or leaf.principal_diagnosis_in
                if vs is None:
                    continue
                used_value_sets.add(vs)
                if vs not in declared:
                    add(("defines", name), f"unknown value set '{vs}' in define '{name}'.",
                        did_you_mean(vs, list(declared)) or "Declare it under value_sets with its version.")
                elif library is not None and vs in library and (leaf.diagnosis_in or leaf.principal_diagnosis_in) \
                        and not (library[vs].systems & _DX_SYSTEMS):
                    add(("defines", name), f"'{vs}' holds no ICD-10-CM codes, so diagnosis_in cannot match it.",
                        "Use code_in for procedure, revenue or place-of-service sets.")
                elif library is not None and vs in library and kind.table in TABLE_SYSTEMS \
                        and not (library[vs].systems & TABLE_SYSTEMS[kind.table]):
                    carried = ", ".join(sorted(TABLE_SYSTEMS[kind.table]))
                    add(("defines", name),
                        f"'{vs}' holds only {', '.join(sorted(library[vs].systems))} codes, which {kind.table} "
                        f"does not carry, so '{name}' could never match a row.",
                        f"{kind.table} carries {carried}; read the codes from the table that holds them "
                        "(observations for LOINC, dispensings for NDC).")
        for vs in kind.attribute_sets(step):
            used_value_sets.add(vs)
            if vs not in declared:
                add(("defines", name), f"unknown value set '{vs}' in the attributes of '{name}'.",
                    did_you_mean(vs, list(declared)) or "Declare it under value_sets with its version.")
        for ref, in_days in kind.attribute_refs(step):
            vs_name, _, attribute = ref.rpartition(".")
            if library is None or vs_name.strip() not in library:
                continue
            values = library[vs_name.strip()].attributes.get(attribute.strip())
            if not values:
                known = ", ".join(sorted(library[vs_name.strip()].attributes)) or "none"
                add(("defines", name), f"value set '{vs_name.strip()}' has no attribute '{attribute.strip()}' (read by '{name}').",
                    f"Its attributes: {known}. Add an attributes column (name=value) to its file.")
            elif in_days and (bad := sorted(c for c, v in values.items() if not v.isdigit() or int(v) < 1)):
                add(("defines", name), f"value set '{vs_name.strip()}': '{attribute.strip()}' must be a whole number of days "
                    f"(1 or more) on every code that has it; not on {', '.join(bad[:5])}.", None)
        refs = kind.inputs(step)
        for ref in refs:
            if ref not in spec.defines:
                add(("defines", name, kind_name), f"define '{name}' refers to unknown define '{ref}'.",
                    did_you_mean(ref, names) or f"Known defines: {', '.join(names)}.")
        member_refs = set(kind.member_inputs(step))
        either = set(kind.either_inputs(step))
        for ref in refs:
            got = produces(spec, ref)
            if got is None:
                continue
            if ref in member_refs and got != "members":
                add(("defines", name), f"'{ref}' is a set of events, but '{name}' needs a set of members there.",
                    "Use members_with, enrolled_members or members for it.")
            elif ref not in member_refs and ref not in either and got == "members":
                add(("defines", name), f"'{ref}' is a set of members where define '{name}' needs events.",
                    "Use in / not_in for member sets.")
        if kind.table and _can_match_with_nothing_all(kind.line_conditions(step)):
            add(("defines", name, kind_name, "where"),
                f"the condition of source '{name}' holds on lines that carry no listed code.",
                "Start it from a code it requires (a bare `not` selects almost every line).")
        if all(r in spec.defines for r in refs):
            for loc, message, hint in kind.check(step, view):
                add(("defines", name, kind_name, *loc), f"{name}: {message}", hint)

    for vs in declared:
        # a library declares what its conditions need; a measure may use only some of them
        if vs not in used_value_sets and ("value_sets", vs) not in loaded.origins:
            add(("value_sets",), f"value set '{vs}' is declared but no define uses it.", "Remove it or use it.")

    cycle = _cycle(spec)
    if cycle:
        add(("defines", cycle[0]), f"defines refer to each other in a cycle: {' -> '.join(cycle)}.", "Break the loop.")
        return issues
    _check_populations(spec, add, names)
    _check_stratifiers(spec, add, names)
    for i, req in enumerate(spec.requires):
        for alt in (a.strip() for a in req.split("|")):
            if not _REQUIRE.match(alt) or alt.split(".")[0] not in KNOWN_TABLES:
                add(("requires", i), f"requirement '{alt}' is not table.column of a contract table.",
                    f"Tables: {', '.join(sorted(KNOWN_TABLES))}.")
    return issues


def _can_match_with_nothing_all(conditions: list[Predicate]) -> bool:
    return any(_can_match_with_nothing(p) for p in conditions)


def _not_in_refs(spec: MeasureSpec, path: list[str]) -> set[str]:
    """Sets removed by `not_in` conditions of the filters on a path (top level of each filter)."""
    from bhmeasures.kinds.conditions.logic import present

    out: set[str] = set()
    for n in path:
        d = spec.defines[n]
        if define_kind(d) == "filter":
            for key, _, value in present(define_step(d)):
                if key == "not_in":
                    out.update(value)
    return out


def _check_populations(spec: MeasureSpec, add: Any, names: list[str]) -> None:
    pops = spec.populations
    for key in ("initial_population", "denominator"):
        ref = getattr(pops, key)
        if ref not in spec.defines:
            add(("populations", key), f"{key} refers to unknown define '{ref}'.", did_you_mean(ref, names))
        elif produces(spec, ref) != "events":
            add(("populations", key), f"{key} '{ref}' is a set of members; populations are units (events).",
                "Use member_units to make one unit per member.")
    chain = None
    if pops.initial_population in spec.defines and pops.denominator in spec.defines:
        chain = lineage(spec, pops.initial_population, pops.denominator)
        if chain is None:
            narrowing = ", ".join(k for k, kind in STEP_KINDS.kinds.items() if kind.narrows)
            add(("populations", "denominator"),
                f"denominator '{pops.denominator}' does not descend from initial_population '{pops.initial_population}' "
                "through `from` links.", f"Each step between them must be one of {narrowing}, reading the previous one.")
    removed = _not_in_refs(spec, chain or [])
    for i, ex in enumerate(pops.denominator_exclusions):
        if ex not in spec.defines:
            add(("populations", "denominator_exclusions", i), f"exclusion '{ex}' is not a define.", did_you_mean(ex, names))
        elif chain is not None and ex not in removed:
            add(("populations", "denominator_exclusions", i),
                f"exclusion '{ex}' is not removed by a `not_in` on the way from the initial population to the denominator.",
                "Name the excluded events or members in a define and remove them with `not_in: [...]` on that path.")
    if pops.member_months is not None:
        if pops.member_months not in spec.defines:
            add(("populations", "member_months"), f"member_months refers to unknown define '{pops.member_months}'.",
                did_you_mean(pops.member_months, names))
        elif produces(spec, pops.member_months) != "members":
            add(("populations", "member_months"), f"member_months '{pops.member_months}' is not a set of members.",
                "Use enrolled_members or members_with for it.")
    for i, ex in enumerate(pops.denominator_exceptions):
        if ex not in spec.defines:
            add(("populations", "denominator_exceptions", i), f"exception '{ex}' is not a define.", did_you_mean(ex, names))
    rate_ids = [r.id for r in pops.rates]
    for i, rate in enumerate(pops.rates):
        if rate_ids.count(rate.id) > 1:
            add(("populations", "rates", i, "id"), f"rate id '{rate.id}' appears twice.", "Rate ids are unique.")
        for key in ("numerator", "denominator"):
            ref = getattr(rate, key)
            if ref is not None and ref not in spec.defines:
                add(("populations", "rates", i, key), f"rate {rate.id} {key} refers to unknown define '{ref}'.",
                    did_you_mean(ref, names))
        den = rate.denominator or pops.denominator
        if rate.denominator and pops.initial_population in spec.defines and den in spec.defines \
                and lineage(spec, pops.initial_population, den) is None:
            add(("populations", "rates", i, "denominator"),
                f"rate {rate.id} denominator '{den}' does not descend from the initial population through `from` links.")
        if rate.numerator in spec.defines and den in spec.defines and lineage(spec, den, rate.numerator) is None:
            add(("populations", "rates", i, "numerator"),
                f"rate {rate.id} numerator '{rate.numerator}' is not a filter of its denominator '{den}'.",
                "A numerator narrows the denominator: write it as a filter `from` the denominator.")


def _check_stratifiers(spec: MeasureSpec, add: Any, names: list[str]) -> None:
    bands = spec.stratifiers.age_band
    if bands is not None:
        for i, band in enumerate(bands.bands):
            if band.min is not None and band.max is not None and band.min > band.max:
                add(("stratifiers", "age_band", i), f"age band '{band.label}' has min above max.")
        e = parse_date_expr(bands.at)
        if not e.is_calendar and e.base not in event_dates(spec)(spec.populations.denominator):
            add(("stratifiers", "age_band", "at"), f"age bands on '{bands.at}': the units do not carry that date.")
    for strat, strata in spec.stratifiers.by_define.items():
        for label, ref in strata.items():
            if ref not in spec.defines:
                add(("stratifiers", "by_define", strat, label), f"stratum '{label}' refers to unknown define '{ref}'.",
                    did_you_mean(ref, names))
            elif produces(spec, ref) != "events":
                add(("stratifiers", "by_define", strat, label), f"stratum '{label}': '{ref}' is not a set of events.")


def spec_files(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """(measure and variant files, library files): top-level YAML files of each folder, and its libraries/."""
    files: list[Path] = []
    libraries: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(x for x in p.glob("*.y*ml") if x.suffix in (".yaml", ".yml")))
            if (p / "libraries").is_dir():
                libraries.extend(sorted(x for x in (p / "libraries").glob("*.y*ml") if x.suffix in (".yaml", ".yml")))
        else:
            files.append(p)
    return files, libraries


def validate_paths(paths: list[Path], library: ValueSetLibrary | None,
                   extra_libraries: list[Path] | None = None) -> tuple[list[LoadedSpec], list[Issue]]:
    """Load, resolve and check every spec; return all that loaded and every issue found in any of them."""
    issues: list[Issue] = []
    files, libraries = spec_files(paths)
    if not files:
        issues.append(Issue(", ".join(map(str, paths)), None, "no measure spec files (*.yaml) found.",
                            "Pass a spec file or a folder of them."))
    own = {p.resolve() for p in libraries}
    parsed: list[SpecFile] = []
    for f in [*libraries, *files]:
        loaded_file, found = load_spec_file(f)
        issues.extend(found)
        if loaded_file is not None:
            parsed.append(loaded_file)
    # the bundled libraries stay includable; a library of the same name beside the user's specs (a copy of the
    # bundled folder being edited) takes their place
    own_names = {f.model.library for f in parsed if isinstance(f.model, Library)}
    bundled: list[SpecFile] = []
    for f in dict.fromkeys(extra_libraries or []):
        if f.resolve() in own:
            continue
        loaded_file, found = load_spec_file(f)
        if loaded_file is None:
            issues.extend(found)
        elif not (isinstance(loaded_file.model, Library) and loaded_file.model.library in own_names):
            issues.extend(found)
            bundled.append(loaded_file)
    parsed = [*bundled, *parsed]
    loaded = resolve_specs(parsed, issues)
    for spec in loaded:
        issues.extend(check_spec(spec, library))
    return loaded, issues


def load_specs(paths: list[Path], library: ValueSetLibrary, extra_libraries: list[Path] | None = None) -> list[LoadedSpec]:
    """Load specs for computing; raise SpecError listing every problem."""
    loaded, issues = validate_paths(paths, library, extra_libraries)
    if issues:
        raise SpecError(issues)
    return loaded
