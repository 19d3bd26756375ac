"""Docs cannot drift: every command and option has help, the README's option tables list exactly each
command's options, and the README's commands and exit codes exist."""

from __future__ import annotations

import re
from pathlib import Path

import click
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

    documented = {int(m) for m in re.findall(r"^\| (\d+) \|", README, flags=re.MULTILINE)}
    assert documented == {int(c) for c in ExitCode}


# Commands whose README section has an options table; the others' owners add theirs (then list them here).
TABLED = ("compute", "validate", "explain", "sample", "pay", "programs", "valuesets import")


def leaf_commands() -> dict[str, click.Command]:
    """Every command a user runs, by the name after `bhm` (a group's subcommands as "valuesets import")."""
    found: dict[str, click.Command] = {}
    for name, command in main.commands.items():
        if isinstance(command, click.Group):
            found |= {f"{name} {sub}": c for sub, c in command.commands.items()}
        else:
            found[name] = command
    return found


def readme_options(command: str) -> set[str] | None:
    """The options and arguments the README's table for `command` lists (first backticked word of each
    name in its first column), or None when it has no table (a `<!-- options: NAME -->` marker)."""
    marker = f"<!-- options: {command} -->"
    if marker not in README:
        return None
    lines = README.split(marker, 1)[1].strip().splitlines()
    assert lines[0].startswith("| option |"), f"the table after {marker} must follow it directly"
    table = lines[: next((i for i, line in enumerate(lines) if not line.startswith("|")), len(lines))]
    names = set()
    for row in table[2:]:
        first_cell = row.split(" | ")[0]
        names |= {m.split()[0] for m in re.findall(r"`([^`]+)`", first_cell)}
    return names


def cli_options(command: click.Command) -> set[str]:
    names = set()
    for param in command.params:
        if isinstance(param, click.Argument):
            name = re.sub(r"[\[\].]", "", param.metavar or param.name.upper())
            names.add(name + ("..." if param.nargs == -1 else ""))
        elif "--help" not in param.opts:
            names.add(max(param.opts, key=len))
    return names


@pytest.mark.parametrize("name", sorted(leaf_commands()))
def test_readme_option_table_lists_exactly_the_options(name: str) -> None:
    documented = readme_options(name)
    if documented is None:
        assert name not in TABLED, f"README lost the options table of bhm {name}"
        pytest.skip(f"README has no options table for bhm {name} yet")
    actual = cli_options(leaf_commands()[name])
    assert documented == actual, (f"bhm {name}: README lists {sorted(documented - actual)} that --help lacks, "
                                  f"--help has {sorted(actual - documented)} that the README lacks")


def test_readme_option_table_parser_sees_the_compute_table() -> None:
    assert {"--data", "--table", "--quiet", "--json", "--format"} <= (readme_options("compute") or set())


@pytest.mark.parametrize("name", sorted(main.commands))
def test_every_option_has_help_text(name: str) -> None:
    command = main.commands[name]
    missing = [p.name for p in command.params if isinstance(p, click.Option) and not (p.help or "").strip()]
    assert not missing, f"bhm {name}: options without help text: {missing}"
    help_text = CliRunner().invoke(main, [name, "--help"]).output
    for param in command.params:
        if isinstance(param, click.Option):
            assert max(param.opts, key=len) in help_text
