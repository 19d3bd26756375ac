"""Read measure specs, shared libraries and variants, keeping every key's line; resolve `include:`,
`extends:` and named conditions into one MeasureSpec per measure."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bhmeasures.errors import Issue, did_you_mean
from bhmeasures.kinds.registry import STEP_KINDS
from bhmeasures.spec.base import Predicate
from bhmeasures.spec.models import Library, MeasureSpec, ValueSetRef, Variant, define_kind, define_step
from bhmeasures.yamlio import HasLines, YamlPath, line_for, pydantic_issues, read_yaml_file

_PYDANTIC_ALIASES = {"from_": "from", "with_": "with", "not_": "not", "in_": "in", "as_": "as"}


@dataclass(frozen=True)
class SpecFile:
    """One parsed and validated YAML file: a measure, a library or a variant."""

    model: MeasureSpec | Library | Variant
    path: Path
    text: str
    lines: dict[YamlPath, int]


@dataclass(frozen=True)
class LoadedSpec(HasLines):
    """A measure ready to plan: its own file, and where inherited or included parts were written."""

    spec: MeasureSpec
    path: Path
    text: str
    lines: dict[YamlPath, int]
    # ("defines" | "conditions", name) -> the file that wrote it, when not this one
    origins: dict[tuple[str, str], SpecFile] = field(default_factory=dict)
    files: tuple[Path, ...] = ()

    def locate(self, *loc: Any) -> tuple[str, int | None]:
        """(file, line) of a key path, in whichever file wrote that part."""
        if len(loc) >= 2 and (loc[0], loc[1]) in self.origins:
            origin = self.origins[(loc[0], loc[1])]
            return str(origin.path), line_for(origin.lines, loc)
        return str(self.path), self.line(*loc)


def _kind_of(data: dict[str, Any]) -> type[MeasureSpec] | type[Library] | type[Variant]:
    if "library" in data:
        return Library
    if "extends" in data:
        return Variant
    return MeasureSpec


def load_spec_file(path: Path) -> tuple[SpecFile | None, list[Issue]]:
    """Parse and validate the structure of one spec, library or variant file; return every issue found."""
    name = str(path)
    parsed, problems = read_yaml_file(path, "spec file")
    if parsed is None:
        return None, problems
    data, lines, text = parsed.data, parsed.lines, parsed.text
    if not isinstance(data, dict):
        return None, [Issue(name, 1, "a measure spec must be a YAML mapping with id, title, defines, populations "
                                     "(or `library:` for a shared library, `extends:` for a variant).")]
    model_type = _kind_of(data)
    try:
        model = model_type.model_validate(data)
    except ValidationError as e:
        return None, pydantic_issues(e, name, lines, data, model_type, _PYDANTIC_ALIASES)
    return SpecFile(model, path, text, lines), []


def _map_define(define: Any, fn: Any) -> Any:
    kind = define_kind(define)
    return define.model_copy(update={kind: STEP_KINDS[kind].map_predicates(define_step(define), fn)})


def _merge_value_sets(*lists: list[ValueSetRef]) -> list[ValueSetRef]:
    out: dict[str, ValueSetRef] = {}
    for refs in lists:
        for r in refs:
            out[r.name] = r  # a later list's version wins
    return list(out.values())


@dataclass
class _Resolver:
    measures: dict[str, SpecFile]
    variants: dict[str, SpecFile]
    libraries: dict[str, SpecFile]
    issues: list[Issue]
    done: dict[str, LoadedSpec | None] = field(default_factory=dict)

    def _issue(self, f: SpecFile, loc: YamlPath, message: str, hint: str | None = None) -> None:
        self.issues.append(Issue(str(f.path), line_for(f.lines, loc), message, hint, getattr(f.model, "id", None)))

    def _include(self, f: SpecFile, names: list[str], origins: dict[tuple[str, str], SpecFile],
                 defines: dict[str, Any], conditions: dict[str, Predicate], value_sets: list[ValueSetRef]) -> list[ValueSetRef]:
        for i, lib_name in enumerate(names):
            lib = self.libraries.get(lib_name)
            if lib is None:
                self._issue(f, ("include", i), f"unknown library '{lib_name}'.",
                            did_you_mean(lib_name, list(self.libraries)) or "Libraries live in a libraries/ folder beside the specs.")
                continue
            model: Library = lib.model  # type: ignore[assignment]
            for kind, items, target in (("defines", model.defines, defines), ("conditions", model.conditions, conditions)):
                for n, item in items.items():
                    if n in target:
                        self._issue(f, (kind, n) if (kind, n) in f.lines else ("include", i),
                                    f"{kind[:-1]} '{n}' is also in library '{lib_name}'.", "Rename one of them.")
                        continue
                    target[n] = item
                    origins[(kind, n)] = lib
            own = {r.name for r in value_sets}
            for r in model.value_sets:
                if r.name not in own:  # the spec's own declaration (and its position, for file:line) wins
                    origins.setdefault(("value_sets", r.name), lib)
                    value_sets.append(r)
        return value_sets

    def _finish(self, f: SpecFile, spec: MeasureSpec, origins: dict[tuple[str, str], SpecFile], files: list[Path]) -> LoadedSpec | None:
        unknown = [(n, where) for where, d in spec.defines.items()
                   for p in STEP_KINDS[define_kind(d)].predicates(define_step(d)) for n in p.named_conditions()
                   if n not in spec.conditions]
        unknown += [(n, where) for where, c in spec.conditions.items() for n in c.named_conditions() if n not in spec.conditions]
        for n, where in unknown:
            owner = origins.get(("defines", where), f)
            self._issue(owner, ("defines", where), f"unknown named condition '{n}' in '{where}'.",
                        did_you_mean(n, list(spec.conditions)) or "Declare it under conditions:.")
        if unknown:
            return None
        cycle = _condition_cycle(spec.conditions)
        if cycle:
            self._issue(f, ("conditions", cycle[0]), f"named conditions refer to each other in a cycle: {' -> '.join(cycle)}.",
                        "Break the loop.")
            return None
        named = spec.conditions
        defines = {n: _map_define(d, lambda p: p.substitute(named)) for n, d in spec.defines.items()}
        spec = spec.model_copy(update={"defines": defines})
        return LoadedSpec(spec, f.path, f.text, f.lines, origins, tuple(dict.fromkeys(files)))

    def measure(self, f: SpecFile) -> LoadedSpec | None:
        model: MeasureSpec = f.model  # type: ignore[assignment]
        origins: dict[tuple[str, str], SpecFile] = {}
        defines, conditions = dict(model.defines), dict(model.conditions)
        value_sets = self._include(f, model.include, origins, defines, conditions, list(model.value_sets))
        spec = model.model_copy(update={"defines": defines, "conditions": conditions, "value_sets": value_sets})
        files = [f.path, *(self.libraries[n].path for n in model.include if n in self.libraries)]
        return self._finish(f, spec, origins, files)

    def variant(self, f: SpecFile, seen: tuple[str, ...] = ()) -> LoadedSpec | None:
        v: Variant = f.model  # type: ignore[assignment]
        if v.extends in seen:
            self._issue(f, ("extends",), f"variants extend each other in a cycle: {' -> '.join([*seen, v.extends])}.")
            return None
        parent = self.resolve(v.extends, (*seen, v.id))
        if parent is None:
            if v.extends not in self.measures and v.extends not in self.variants:
                self._issue(f, ("extends",), f"extends unknown measure '{v.extends}'.",
                            did_you_mean(v.extends, [*self.measures, *self.variants]) or "Load the parent's spec too.")
            return None
        base = parent.spec
        origins = {k: o for k, o in parent.origins.items()}
        for kind in ("defines", "conditions"):
            for n in getattr(base, kind):
                origins.setdefault((kind, n), SpecFile(base, parent.path, parent.text, parent.lines))
        defines, conditions = dict(base.defines), dict(base.conditions)
        value_sets = self._include(f, v.include, origins, defines, conditions, list(base.value_sets))
        for kind, items, target in (("defines", v.defines, defines), ("conditions", v.conditions, conditions)):
            for n, item in items.items():
                target[n] = item  # the variant's own replace the parent's
                origins.pop((kind, n), None)
        for old in v.bind_value_sets:
            if old not in {r.name for r in value_sets}:
                self._issue(f, ("bind_value_sets", old), f"'{old}' is not a value set of '{v.extends}'.",
                            did_you_mean(old, [r.name for r in value_sets]))
        if v.bind_value_sets:
            bind = v.bind_value_sets
            defines = {n: _map_define(d, lambda p: p.rebind(bind)) for n, d in defines.items()}
            conditions = {n: c.rebind(bind) for n, c in conditions.items()}
            value_sets = [r for r in value_sets if r.name not in bind]
        value_sets = _merge_value_sets(value_sets, v.value_sets)
        header = v.model_dump(include={"id", "title", "version", "steward", "source_status"})
        spec = MeasureSpec.model_construct(**{
            **base.__dict__, **header,
            "requires": v.requires or base.requires, "notes": [*base.notes, *v.notes],
            "event_name": v.event_name or base.event_name, "codes": v.codes or base.codes,
            "include": [*base.include, *v.include], "value_sets": value_sets, "conditions": conditions,
            "defines": defines, "populations": v.populations or base.populations,
            "stratifiers": v.stratifiers or base.stratifiers,
        })
        files = [f.path, *parent.files, *(self.libraries[n].path for n in v.include if n in self.libraries)]
        return self._finish(f, spec, origins, files)

    def resolve(self, measure_id: str, seen: tuple[str, ...] = ()) -> LoadedSpec | None:
        if measure_id in self.done:  # resolved once, failed or not: a parent's problem is reported once
            return self.done[measure_id]
        out = None
        if measure_id in self.measures:
            out = self.measure(self.measures[measure_id])
        elif measure_id in self.variants:
            out = self.variant(self.variants[measure_id], seen)
        if measure_id in self.measures or measure_id in self.variants:
            self.done[measure_id] = out
        return out


def _condition_cycle(conditions: dict[str, Predicate]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(n: str, path: list[str]) -> list[str] | None:
        if state.get(n) == 1:
            return [*path, n]
        if state.get(n) == 2 or n not in conditions:
            return None
        state[n] = 1
        for ref in conditions[n].named_conditions():
            found = visit(ref, [*path, n])
            if found:
                return found
        state[n] = 2
        return None

    for n in conditions:
        found = visit(n, [])
        if found:
            return found
    return None


def resolve_specs(files: list[SpecFile], issues: list[Issue]) -> list[LoadedSpec]:
    """Every measure and variant resolved (includes, parents, named conditions), in file order."""
    measures: dict[str, SpecFile] = {}
    variants: dict[str, SpecFile] = {}
    libraries: dict[str, SpecFile] = {}
    order: list[str] = []
    for f in files:
        m = f.model
        if isinstance(m, Library):
            if m.library in libraries:
                issues.append(Issue(str(f.path), line_for(f.lines, ("library",)),
                                    f"library '{m.library}' is also defined in {libraries[m.library].path}.",
                                    "Each library name appears once."))
            libraries[m.library] = f
            continue
        target = variants if isinstance(m, Variant) else measures
        if m.id in measures or m.id in variants:
            other = (measures.get(m.id) or variants[m.id]).path
            issues.append(Issue(str(f.path), line_for(f.lines, ("id",)), f"measure id '{m.id}' is also defined in {other}.",
                                "Each measure id appears once."))
            continue
        target[m.id] = f
        order.append(m.id)
    resolver = _Resolver(measures, variants, libraries, issues)
    return [s for mid in order if (s := resolver.resolve(mid)) is not None]
