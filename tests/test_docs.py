"""The README and the CLI agree: every command is in the README's CLI reference with an
example, and every command's --help ends in an Example block that uses that command."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from monitor.cli import cli

README = Path(__file__).resolve().parents[1] / "README.md"


def command_paths(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command that does something (groups are only their subcommands' namespace)."""
    paths = []
    for name, command in sorted(group.commands.items()):
        if command.hidden:
            continue
        path = (*prefix, name)
        if isinstance(command, click.Group):
            paths.extend(command_paths(command, path))
        else:
            paths.append(path)
    return paths


def readme_rows() -> dict[str, str]:
    """``monitor <command>`` -> its row in the CLI reference table."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## CLI reference", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        found = re.match(r"^\| `(monitor [a-z][a-z -]*?)` \|", line)
        if found:
            rows[found.group(1)] = line
    return rows


COMMANDS = command_paths()


def test_the_cli_has_the_service_commands() -> None:
    assert {("run",), ("backfill",), ("config",)} <= set(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_command_is_in_the_readme_with_an_example(path: tuple[str, ...]) -> None:
    name = "monitor " + " ".join(path)
    rows = readme_rows()
    assert name in rows, f"{name} has no row in the README's CLI reference"
    cells = [cell.strip() for cell in rows[name].strip().strip("|").split(" | ")]
    assert len(cells) >= 3, f"the README row for {name} has no example column"
    assert name in cells[2], f"the README example for {name} does not use it"


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_command_help_has_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], obj={})
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output
    example = result.output.split("Example:", 1)[1]
    assert "monitor " + " ".join(path) in example


def test_readme_rows_name_real_commands() -> None:
    known = {"monitor " + " ".join(path) for path in COMMANDS}
    assert set(readme_rows()) <= known
