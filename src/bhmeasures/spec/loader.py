"""Read measure spec YAML, keeping the line of every key so issues can point at file:line."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bhmeasures.errors import Issue
from bhmeasures.spec.models import MeasureSpec

Path_ = tuple[Any, ...]
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class HasLines:
    """A loaded YAML file that can say on which line a key path sits."""

    lines: dict[Path_, int]

    def line(self, *loc: Any) -> int | None:
        return line_for(self.lines, loc)


@dataclass(frozen=True)
class LoadedSpec(HasLines):
    spec: MeasureSpec
    path: Path
    text: str
    lines: dict[Path_, int]


def _index_lines(node: yaml.Node, path: Path_, out: dict[Path_, int]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, key.value)
            out[child] = key.start_mark.line + 1
            _index_lines(value, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, (*path, i), out)


def line_for(lines: dict[Path_, int], loc: Path_) -> int | None:
    """The line of the deepest known prefix of `loc`."""
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())


def did_you_mean(name: str, known: list[str]) -> str | None:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if not close:
        # a shared word is a better hint than nothing ("MH Diagnosis" -> "Mental Health Diagnosis")
        words = set(name.lower().split())
        close = [k for k in known if words & set(k.lower().split()) - {"of", "and", "the", "in"}][:1]
    return f"did you mean '{close[0]}'?" if close else None


_PYDANTIC_ALIASES = {"from_": "from", "with_": "with", "not_": "not"}


def _loc_to_yaml(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    # pydantic adds union/tagged names to locs only for unions; our models have none, so map aliases only
    return tuple(_PYDANTIC_ALIASES.get(p, p) if isinstance(p, str) else p for p in loc)


@dataclass(frozen=True)
class YamlFile:
    data: Any
    lines: dict[Path_, int]
    text: str


def read_yaml_file(path: Path, what: str) -> tuple[YamlFile | None, list[Issue]]:
    """Parse a YAML file: its data, the line of every key path and its text, or the problems (never raises)."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        return None, [Issue(name, None, f"cannot read the {what} ({e.strerror}).")]
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader (C-accelerated when available)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e)
        return None, [Issue(name, mark.line + 1 if mark else None, f"is not valid YAML: {problem}.",
                            "Fix the indentation or quoting there.")]
    lines: dict[Path_, int] = {}
    if node is not None:
        _index_lines(node, (), lines)
    return YamlFile(data, lines, text), []


def read_yaml(path: Path, what: str) -> tuple[Any, dict[Path_, int], list[Issue]]:
    """Like read_yaml_file, as (data, lines, problems)."""
    parsed, problems = read_yaml_file(path, what)
    return (parsed.data, parsed.lines, []) if parsed else (None, {}, problems)


def load_spec_file(path: Path) -> tuple[LoadedSpec | None, list[Issue]]:
    """Parse and validate the structure of one spec file; return every issue found."""
    name = str(path)
    parsed, problems = read_yaml_file(path, "spec file")
    if parsed is None:
        return None, problems
    data, lines, text = parsed.data, parsed.lines, parsed.text
    if not isinstance(data, dict):
        return None, [Issue(name, 1, "a measure spec must be a YAML mapping with id, title, defines, populations.")]
    try:
        spec = MeasureSpec.model_validate(data)
    except ValidationError as e:
        issues = []
        for err in e.errors():
            loc = _loc_to_yaml(err["loc"])
            where = ".".join(str(p) for p in loc) or "(top level)"
            if err["type"] == "extra_forbidden":
                known = _known_keys(loc[:-1], data)
                hint = did_you_mean(str(loc[-1]), known) if known else None
                issues.append(Issue(name, line_for(lines, loc), f"unknown key '{loc[-1]}' at {where}.", hint or "Remove it."))
            elif err["type"] == "missing":
                issues.append(Issue(name, line_for(lines, loc[:-1]), f"'{where}' is required.", "Add it."))
            else:
                msg = err["msg"].removeprefix("Value error, ")
                issues.append(Issue(name, line_for(lines, loc), f"{where}: {msg}."))
        return None, issues
    return LoadedSpec(spec, path, text, lines), []


def _known_keys(parent: tuple[Any, ...], data: dict[str, Any]) -> list[str]:
    """Field names valid at `parent`, for 'did you mean' hints on unknown keys."""
    from bhmeasures.spec import models as m

    model: Any = m.MeasureSpec
    for part in parent:
        if isinstance(part, int):
            continue
        if model is m.MeasureSpec and part == "defines":
            model = dict
            continue
        if model is dict:
            model = m.Define
            continue
        field = _field_by_alias(model, part)
        if field is None:
            return []
        model = _inner_model(field.annotation)
        if model is None:
            return []
    if model is dict:
        return []
    return [f.alias or n for n, f in model.model_fields.items()]


def _field_by_alias(model: Any, key: str) -> Any:
    for n, f in model.model_fields.items():
        if (f.alias or n) == key:
            return f
    return None


def _inner_model(annotation: Any) -> Any:
    from typing import get_args

    from pydantic import BaseModel

    stack = [annotation]
    while stack:
        a = stack.pop()
        if isinstance(a, type) and issubclass(a, BaseModel):
            return a
        stack.extend(get_args(a))
    return None
