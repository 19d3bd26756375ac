"""Docs cannot drift: every command has help and is named in the README; the README's commands exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from bhmeasures.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


@pytest.mark.parametrize("name", sorted(main.commands))
def test_command_has_help_and_is_documented(name: str) -> None:
    command = main.commands[name]
    assert command.help and len(command.help) > 20
    assert f"bhm {name}" in README, f"README does not mention `bhm {name}`"
    assert CliRunner().invoke(main, [name, "--help"]).exit_code == 0


def test_readme_set_up_commands_are_marked_for_ci() -> None:
    for marker in ("<!-- demo-command -->", "<!-- test-command -->"):
        after = README.split(marker, 1)[1]
        first = next(line for line in after.splitlines() if line.startswith("$ "))
        assert first.startswith("$ python3 -m venv .venv"), first
    assert "bash -c" in (ROOT / ".ci" / "run").read_text()


def test_exit_codes_in_readme_match_the_library() -> None:
    from bhmeasures.errors import ExitCode

    documented = {int(m) for m in re.findall(r"^\| (\d) \|", README, flags=re.MULTILINE)}
    assert documented == {int(c) for c in ExitCode}
