"""YAML documents with line numbers, and validation errors turned into issues at file:line.

One layer for every YAML file bhm reads (measure specs, payment programs, program inputs): a
duplicated key is an error everywhere (YAML would silently keep the last one), every key path knows
its line and column, and pydantic's errors become `Issue`s with a did-you-mean hint.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from bhmeasures.errors import Issue, did_you_mean

YamlPath = tuple[Any, ...]
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def line_for(lines: dict[YamlPath, int], loc: YamlPath) -> int | None:
    """The line of the deepest known prefix of `loc`."""
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())


class HasLines:
    """A loaded YAML file that can say on which line a key path sits."""

    lines: dict[YamlPath, int]

    def line(self, *loc: Any) -> int | None:
        return line_for(self.lines, loc)


@dataclass(frozen=True)
class YamlFile:
    data: Any
    lines: dict[YamlPath, int]
    columns: dict[YamlPath, int]
    text: str


_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


def _index(node: yaml.Node, path: YamlPath, lines: dict[YamlPath, int], columns: dict[YamlPath, int],
           duplicates: list[tuple[YamlPath, int, int]], numbers: list[tuple[YamlPath, yaml.Node]]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    columns.setdefault(path, node.start_mark.column + 1)
    if isinstance(node, yaml.ScalarNode) and node.tag in _NUMBER_TAGS and ("_" in node.value or ":" in node.value):
        numbers.append((path, node))
    if isinstance(node, yaml.MappingNode):
        first_line: dict[Any, int] = {}
        for key, value in node.value:
            child = (*path, key.value)
            if key.value in first_line:
                duplicates.append((child, key.start_mark.line + 1, first_line[key.value]))
                continue
            first_line[key.value] = key.start_mark.line + 1
            lines[child] = key.start_mark.line + 1
            columns[child] = key.start_mark.column + 1
            _index(value, child, lines, columns, duplicates, numbers)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, (*path, i), lines, columns, duplicates, numbers)


def read_yaml_file(path: Path, what: str) -> tuple[YamlFile | None, list[Issue]]:
    """Parse a YAML file: its data, the line of every key path and its text, or every problem (never raises).

    A key given twice in one mapping is an error: YAML keeps the last silently, which hides a
    duplicated entity, parameter or define.
    """
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        return None, [Issue(name, None, f"cannot read the {what} ({e.strerror}).")]
    except UnicodeDecodeError:
        return None, [Issue(name, None, f"the {what} is not UTF-8 text.", "Save it as UTF-8.")]
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is yaml's SafeLoader (its C build when there is one)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e)
        return None, [Issue(name, mark.line + 1 if mark else None, f"is not valid YAML: {problem}.",
                            "Fix the indentation or quoting there.", column=mark.column + 1 if mark else None)]
    lines: dict[YamlPath, int] = {}
    columns: dict[YamlPath, int] = {}
    duplicates: list[tuple[YamlPath, int, int]] = []
    numbers: list[tuple[YamlPath, yaml.Node]] = []
    if node is not None:
        _index(node, (), lines, columns, duplicates, numbers)
    issues = [
        Issue(name, line, f"key '{loc[-1]}' appears twice in {'.'.join(map(str, loc[:-1])) or 'the top level'} "
              f"(first on line {first}); YAML would silently keep the last one.", "Keep one of them.")
        for loc, line, first in duplicates
    ]
    # YAML 1.1 reads 1_5 as 15 and 1:30 as 90: a stray separator must not change a number silently
    issues += [
        Issue(name, n.start_mark.line + 1, f"{'.'.join(map(str, loc)) or 'value'}: '{n.value}' is read by YAML as "
              f"{yaml.load(n.value, Loader=_Loader)!r}, which is probably not what was meant.",  # noqa: S506 - a SafeLoader
              "Write the number without '_' or ':' (quote it if it is text).", column=n.start_mark.column + 1)
        for loc, n in numbers
    ]
    if issues:
        return None, issues
    return YamlFile(data, lines, columns, text), []


# ---------------------------------------------------------------- pydantic errors as issues


def _get(data: Any, loc: Sequence[Any]) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def yaml_loc(loc: tuple[Any, ...], data: Any, aliases: dict[str, str] | None = None) -> YamlPath:
    """Pydantic's error location as a path in the YAML.

    Field names become their aliases (`from_` -> `from`), and the tags pydantic inserts for union
    members (`components.kpi.IncentivePool.pool`) are dropped: an intermediate part the data does not hold
    at that point is such a tag.
    """
    out: list[Any] = []
    parts = [(aliases or {}).get(p, p) if isinstance(p, str) else p for p in loc]
    for i, part in enumerate(parts):
        node = _get(data, out)
        last = i == len(parts) - 1
        if isinstance(part, str) and not last and isinstance(node, dict) and part not in node:
            continue
        out.append(part)
    return tuple(out)


def _unwrap(tp: Any) -> list[Any]:
    """The concrete alternatives of an annotation (Optional, Annotated and unions removed)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [x for a in typing.get_args(tp) for x in _unwrap(a)]
    return [tp]


def _field(model: type[BaseModel], key: str) -> Any:
    for n, f in model.model_fields.items():
        if (f.alias or n) == key:
            return f
    return None


def _matches_tag(model: type[BaseModel], node: dict) -> bool:
    """True when the node's value of some Literal field of `model` is one the model allows (a union's tag)."""
    for n, f in model.model_fields.items():
        if typing.get_origin(f.annotation) is typing.Literal and (f.alias or n) in node:
            return node[f.alias or n] in typing.get_args(f.annotation)
    return False


def known_keys(root: type[BaseModel], parent: YamlPath, data: Any) -> list[str]:
    """Keys valid at `parent` (aliases as written in YAML), for 'did you mean' hints."""
    options: list[Any] = [root]
    for depth, part in enumerate(parent):
        node = _get(data, parent[: depth + 1])
        nxt: list[Any] = []
        for tp in options:
            origin = typing.get_origin(tp)
            if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(part, str):
                f = _field(tp, part)
                if f is not None:
                    nxt.extend(_unwrap(f.annotation))
            elif origin is dict:
                nxt.extend(_unwrap(typing.get_args(tp)[1]))
            elif origin is list and isinstance(part, int):
                nxt.extend(_unwrap(typing.get_args(tp)[0]))
        models = [t for t in nxt if isinstance(t, type) and issubclass(t, BaseModel)]
        if len(models) > 1 and isinstance(node, dict):
            tagged = [m for m in models if _matches_tag(m, node)]
            nxt = tagged or nxt
        options = nxt
    models = [t for t in options if isinstance(t, type) and issubclass(t, BaseModel)]
    if len(models) != 1:
        return []
    return [f.alias or n for n, f in models[0].model_fields.items()]


def pydantic_issues(
    e: ValidationError, file: str, lines: dict[YamlPath, int], data: Any, root: type[BaseModel],
    aliases: dict[str, str] | None = None,
) -> list[Issue]:
    """Every validation error as an Issue at its file:line; unknown keys get a did-you-mean hint."""
    issues = []
    for err in e.errors():
        loc = yaml_loc(err["loc"], data, aliases)
        where = ".".join(str(p) for p in loc) or "(top level)"
        if err["type"] == "extra_forbidden":
            known = known_keys(root, loc[:-1], data)
            hint = did_you_mean(str(loc[-1]), known) if known else None
            issues.append(Issue(file, line_for(lines, loc), f"unknown key '{loc[-1]}' at {where}.",
                                hint or (f"Known keys here: {', '.join(known)}." if known else "Remove it.")))
        elif err["type"] == "missing":
            issues.append(Issue(file, line_for(lines, loc[:-1]), f"'{where}' is required.", "Add it."))
        elif err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            # a discriminated union: say which tags exist ('kind' must be one of ...)
            ctx = err.get("ctx") or {}
            tag = str(ctx.get("discriminator", "kind")).strip("'")
            expected = [t.strip().strip("'") for t in str(ctx.get("expected_tags", "")).split(",") if t.strip()]
            given = _get(data, (*loc, tag))
            issues.append(Issue(file, line_for(lines, (*loc, tag)), f"{where}: '{tag}' must be one of {', '.join(expected)}.",
                                did_you_mean(str(given or ""), expected)))
        else:
            msg = err["msg"].removeprefix("Value error, ")
            issues.append(Issue(file, line_for(lines, loc), f"{where}: {msg}."))
    return issues
