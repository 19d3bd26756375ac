"""Read program YAML keeping every key's line, validate it, apply `--set` overrides, list parameters."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from bhmeasures.bundled import programs_dir
from bhmeasures.errors import Issue, SpecError
from bhmeasures.payment.params import TAGS
from bhmeasures.payment.program import Program
from bhmeasures.yamlio import (
    HasLines,
    YamlPath,
    did_you_mean,
    line_for,
    pydantic_issues,
    read_yaml_file,
)


@dataclass(frozen=True)
class LoadedProgram(HasLines):
    program: Program
    path: Path
    text: str
    lines: dict[YamlPath, int]
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParamRow:
    """One parameter of a program as `bhm programs` lists it."""

    path: str
    value: str
    provenance: str
    tag: str
    source: str | None
    source_text: str | None = None


# ---------------------------------------------------------------- overrides


def apply_overrides(data: dict, sets: list[str] | tuple[str, ...]) -> list[Issue]:
    """Apply `key=value` overrides in place. A parameter keeps its place; its provenance becomes 'override'."""
    issues: list[Issue] = []
    for s in sets:
        key, sep, raw = s.partition("=")
        key = key.strip()
        if not sep or not key:
            issues.append(Issue("--set", None, f"'{s}' is not KEY=VALUE.", "For example --set kpi.pmpm_max=3.50."))
            continue
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            value = raw
        parts = key.split(".")
        comps = data.get("components")
        base = comps if isinstance(comps, dict) and parts[0] in comps else data
        node: Any = base
        for i, part in enumerate(parts[:-1]):
            if not isinstance(node, dict) or part not in node:
                issues.append(_unknown_part(key, parts[: i + 1], node, base is data, data))
                node = None
                break
            node = node[part]
        if node is None:
            continue
        last = parts[-1]
        if not isinstance(node, dict) or last not in node:
            issues.append(_unknown_part(key, parts, node, base is data, data))
            continue
        target = node[last]
        if value is None:  # key=null removes an optional parameter (validation says if it was required)
            del node[last]
        elif _is_param(target):
            target.update(value=value, provenance="override", source=f"--set {key}")
        elif last == "value" and _is_param(node):
            node.update(value=value, provenance="override", source=f"--set {key}")
        elif isinstance(target, dict):
            issues.append(Issue("--set", None, f"'{key}' is a section, not a parameter.",
                                f"Set one of its keys: {', '.join(f'{key}.{k}' for k in target)}."))
        else:
            node[last] = value
    return issues


def _is_param(node: Any) -> bool:
    return isinstance(node, dict) and "value" in node and "provenance" in node


def _unknown_part(key: str, parts: list[str], node: Any, top: bool, data: dict) -> Issue:
    if isinstance(node, str) and len(parts) >= 2 and parts[-2] == "tiers":  # tiers: <name of a tier set>
        rest = ".".join(parts[-1:] + key.split(".")[len(parts):])
        return Issue("--set", None, f"'{key}': {'.'.join(parts[:-1])} names the tier set '{node}'.",
                     f"Set tier_sets.{node}.{rest} (it changes every use of the set).")
    known = list(node) if isinstance(node, dict) else []
    if len(parts) == 1 and top:
        known = [*(data.get("components") or {}), *[k for k in data if k != "components"]]
    hint = did_you_mean(parts[-1], [str(k) for k in known])
    where = ".".join(parts)
    return Issue("--set", None, f"'{key}': no parameter '{where}' in this program.",
                 hint or "Run `bhm programs NAME` to list the parameters.")


# ---------------------------------------------------------------- checks beyond the schema


def check_program(loaded: LoadedProgram) -> list[Issue]:
    p, file = loaded.program, str(loaded.path)
    issues: list[Issue] = []

    def add(loc: YamlPath, message: str, hint: str | None = None) -> None:
        issues.append(Issue(file, loaded.line(*loc), message, hint))

    for loc, param in _walk_params(p):
        src = getattr(param, "source", None)
        if param.provenance != "override" and src is not None and src not in p.sources:
            add((*loc, "source"), f"source '{src}' is not listed under sources.", did_you_mean(src, list(p.sources)))
        if param.provenance != "override" and src is None:
            add(loc, "a parameter needs a source (a key of `sources`).", "Add source: <key>.")
    p.check(add)
    return issues


def _walk_params(obj: Any, loc: YamlPath = ()) -> list[tuple[YamlPath, Any]]:
    """Every parameter-like object (Param, Flag, MsrTable, Election and the like) with its YAML path."""
    found: list[tuple[YamlPath, Any]] = []
    if isinstance(obj, BaseModel) and "provenance" in type(obj).model_fields:  # a value, table or election with provenance
        found.append((loc, obj))  # and below, any part with its own provenance (a table's interpolation flag)
    if isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            found.extend(_walk_params(getattr(obj, name), (*loc, name)))
    elif isinstance(obj, dict):
        for k, v in obj.items():
            found.extend(_walk_params(v, (*loc, k)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            found.extend(_walk_params(v, (*loc, i)))
    return found


def parameters(program: Program, lines: dict[YamlPath, int] | None = None) -> list[ParamRow]:
    """Every parameter with its dotted path as `--set` takes it, its value and provenance (in file order given lines)."""
    rows = []
    found = _walk_params(program)
    if lines:
        # a component's parameters stay together, inherited ones (on the base's lines) included
        found.sort(key=lambda x: (line_for(lines, x[0][:2]) or 0, line_for(lines, x[0]) or 0))
    for loc, p in found:
        path = ".".join(str(x) for x in (loc[1:] if loc and loc[0] == "components" else loc))
        value = p.shown() if hasattr(p, "shown") else "-"
        src = getattr(p, "source", None)
        rows.append(ParamRow(path, value, p.provenance, TAGS[p.provenance], src, program.sources.get(src) if src else None))
    return rows


# ---------------------------------------------------------------- loading


def resolve_extends(data: dict[str, Any], name: str, lines: dict[YamlPath, int]) -> list[Issue]:
    """Replace each component's `extends: BASE` by BASE's keys, overridden key by key by its own, in place.

    A key the component gives replaces the base's key whole (a mapping is not merged into the base's);
    `key: null` drops an inherited key. Inherited keys keep the line where the base writes them.
    """
    comps = data.get("components")
    if not isinstance(comps, dict):
        return []
    issues: list[Issue] = []
    done: dict[str, Any] = {}

    def resolve(cname: str, chain: tuple[str, ...]) -> Any:
        if cname in done:
            return done[cname]
        c = comps[cname]
        if not isinstance(c, dict) or "extends" not in c:
            done[cname] = c
            return c
        base, where = c["extends"], line_for(lines, ("components", cname, "extends"))
        own = {k: v for k, v in c.items() if k != "extends"}
        if not isinstance(base, str) or base not in comps:
            issues.append(Issue(name, where, f"component '{cname}' extends unknown component '{base}'.",
                                did_you_mean(str(base), [str(k) for k in comps if k != cname])))
            merged = own
        elif base in (*chain, cname):
            issues.append(Issue(name, where, f"component '{cname}' extends itself through {' -> '.join((*chain, cname, base))}.",
                                "Break the cycle."))
            merged = own
        else:
            inherited = copy.deepcopy(resolve(base, (*chain, cname)))
            merged = {k: v for k, v in {**(inherited if isinstance(inherited, dict) else {}), **own}.items() if v is not None}
            for loc, line in list(lines.items()):
                if loc[:2] == ("components", base) and len(loc) > 2 and loc[2] not in own:
                    lines.setdefault(("components", cname, *loc[2:]), line)
        done[cname] = merged
        return merged

    for cname in list(comps):
        comps[cname] = resolve(cname, ())
    return issues


def program_from_data(data: Any, path: Path, text: str = "", lines: dict[YamlPath, int] | None = None,
                      overrides: list[str] | tuple[str, ...] = ()) -> tuple[LoadedProgram | None, list[Issue]]:
    """Validate parsed program data (a file's, or one built in a test): `extends` resolved, then `--set` overrides
    applied (to the data given, in place), every issue reported."""
    lines = dict(lines or {})
    name = str(path)
    if not isinstance(data, dict):
        return None, [Issue(name, 1, "a program file must be a YAML mapping with id, title, performance_year, components.")]
    issues = resolve_extends(data, name, lines)
    if issues:
        return None, issues
    issues = apply_overrides(data, overrides)
    if issues:
        return None, issues
    try:
        program = Program.model_validate(data)
    except ValidationError as e:
        return None, pydantic_issues(e, name, lines, data, Program)
    loaded = LoadedProgram(program, path, text, lines, tuple(overrides))
    issues = check_program(loaded)
    return (None if issues else loaded), issues


def validate_program(path: Path, overrides: list[str] | tuple[str, ...] = ()) -> tuple[LoadedProgram | None, list[Issue]]:
    """Load one program file, resolve `extends`, apply overrides, and check it; return it (or None) and every issue."""
    parsed, issues = read_yaml_file(path, "program file")
    if parsed is None:
        return None, issues
    return program_from_data(parsed.data, path, parsed.text, parsed.lines, overrides)


def program_files(paths: list[Path] | None = None) -> list[Path]:
    files: list[Path] = []
    for p in paths or [programs_dir()]:
        if p.is_dir():
            files.extend(sorted(x for x in p.glob("*.y*ml") if x.suffix in (".yaml", ".yml")))
        else:
            files.append(p)
    return files


def validate_programs(paths: list[Path] | None = None) -> tuple[list[LoadedProgram], list[Issue]]:
    loaded: list[LoadedProgram] = []
    issues: list[Issue] = []
    seen: dict[tuple[str, int], str] = {}
    for f in program_files(paths):
        lp, found = validate_program(f)
        issues.extend(found)
        if lp is None:
            continue
        key = (lp.program.id, lp.program.performance_year)
        if key in seen:
            issues.append(Issue(str(f), lp.line("id"), f"program {key[0]} {key[1]} is also defined in {seen[key]}.",
                                "Keep one file per program and performance year."))
        seen[key] = str(f)
        loaded.append(lp)
    return sorted(loaded, key=lambda x: (x.program.id, x.program.performance_year)), issues


def load_programs(paths: list[Path] | None = None) -> list[LoadedProgram]:
    """Every program file (default: the shipped ones), validated; raise SpecError listing every problem."""
    loaded, issues = validate_programs(paths)
    if issues:
        raise SpecError(issues)
    return loaded


def find_program(name: str, year: int | None = None, overrides: list[str] | tuple[str, ...] = ()) -> LoadedProgram:
    """A shipped program by id (and performance year), or a program file by path; overrides applied."""
    as_path = Path(name)
    if as_path.suffix in (".yaml", ".yml") or as_path.is_file():
        if not as_path.is_file():
            raise SpecError([Issue(name, None, "program file does not exist.")])
        lp, issues = validate_program(as_path, overrides)
    else:
        candidates = [f for f in program_files() if _id_of(f) == name]
        if not candidates:
            ids = sorted({_id_of(f) for f in program_files()})
            raise SpecError([Issue("--program", None, f"unknown program '{name}'.",
                                   did_you_mean(name, ids) or f"Shipped programs: {', '.join(ids)}.")])
        by_year = {_year_of(f): f for f in candidates}
        if year is not None and year not in by_year:
            raise SpecError([Issue("--program", None, f"program '{name}' has no rules for performance year {year}.",
                                   f"Years available: {', '.join(map(str, sorted(by_year)))}.")])
        chosen = by_year[year] if year is not None else by_year[max(by_year)]
        lp, issues = validate_program(chosen, overrides)
    if issues or lp is None:
        raise SpecError(issues)
    if year is not None and lp.program.performance_year != year:
        raise SpecError([Issue(str(lp.path), lp.line("performance_year"),
                               f"program is for performance year {lp.program.performance_year}, not {year}.")])
    return lp


def _id_of(path: Path) -> str:
    """Shipped files are named <id>_<year>.yaml."""
    stem, _, year = path.stem.rpartition("_")
    return stem if year.isdigit() else path.stem


def _year_of(path: Path) -> int:
    return int(path.stem.rpartition("_")[2]) if path.stem.rpartition("_")[2].isdigit() else 0


def program_ids() -> list[str]:
    return sorted({_id_of(f) for f in program_files()})


@dataclass
class ProgramListing:
    loaded: LoadedProgram
    params: list[ParamRow] = field(default_factory=list)


def describe_programs(name: str | None = None, year: int | None = None, overrides: tuple[str, ...] = ()) -> list[ProgramListing]:
    """What `bhm programs` shows: each shipped program (or the one named) with its parameters and provenance."""
    if name is not None:
        lps = [find_program(name, year, overrides)]
    else:
        lps = [lp for lp in load_programs() if year is None or lp.program.performance_year == year]
    return [ProgramListing(lp, parameters(lp.program, lp.lines)) for lp in lps]


__all__ = [
    "LoadedProgram", "ParamRow", "apply_overrides", "describe_programs", "find_program", "load_programs", "parameters",
    "program_from_data", "program_ids", "programs_dir", "validate_program", "validate_programs",
]
