"""Read measure spec YAML, keeping the line of every key so issues can point at file:line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from bhmeasures.errors import Issue
from bhmeasures.spec.models import MeasureSpec
from bhmeasures.yamlio import HasLines, YamlPath, pydantic_issues, read_yaml_file


@dataclass(frozen=True)
class LoadedSpec(HasLines):
    spec: MeasureSpec
    path: Path
    text: str
    lines: dict[YamlPath, int]


_PYDANTIC_ALIASES = {"from_": "from", "with_": "with", "not_": "not"}


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
        return None, pydantic_issues(e, name, lines, data, MeasureSpec, _PYDANTIC_ALIASES)
    return LoadedSpec(spec, path, text, lines), []
