"""The docs cover every setting and every command, in the style of datasette's
``test_docs.py``: a new setting or command without documentation fails here, naming it.

- every field of :class:`~countersign.settings.Settings` has its ``COUNTERSIGN_*``
  variable in the settings table of ``docs/server.md`` (and the table names no
  variable that is not a setting);
- every command and subcommand of ``countersign`` (the click group, nested groups
  included) appears somewhere in ``docs/*.md`` as ``countersign GROUP COMMAND``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from countersign.cli import cli
from countersign.settings import Settings

DOCS = Path(__file__).resolve().parent.parent / "docs"
TABLE_HEADER = "| flag | variable | default |"
VARIABLE = re.compile(r"\bCOUNTERSIGN_[A-Z0-9_]+\b")


def settings_table() -> str:
    """The rows of docs/server.md's settings table (from its header to the first
    line that is not a row)."""
    lines = (DOCS / "server.md").read_text(encoding="utf-8").splitlines()
    assert TABLE_HEADER in lines, f"docs/server.md has no settings table ({TABLE_HEADER})"
    start = lines.index(TABLE_HEADER)
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return "\n".join(rows)


def documented_variables() -> set[str]:
    # The variable is the table's second column.
    return {
        name
        for row in settings_table().splitlines()
        for name in VARIABLE.findall(row.split("|")[2])
    }


def command_paths(group: click.Group, prefix: str = "countersign") -> Iterator[str]:
    """``countersign apps``, ``countersign apps create``, ...: every command, depth first."""
    for name, command in sorted(group.commands.items()):
        if command.hidden:
            continue
        path = f"{prefix} {name}"
        yield path
        if isinstance(command, click.Group):
            yield from command_paths(command, path)


def all_docs() -> str:
    """docs/*.md as one text, runs of white space as one space (commands wrap)."""
    text = "\n".join(page.read_text(encoding="utf-8") for page in sorted(DOCS.glob("*.md")))
    return re.sub(r"\s+", " ", text)


SETTING_VARIABLES = sorted(Settings.variables().values())
COMMANDS = list(command_paths(cli))


@pytest.mark.parametrize("variable", SETTING_VARIABLES)
def test_every_setting_is_in_the_settings_table(variable: str) -> None:
    assert variable in documented_variables(), (
        f"{variable} is not documented: add a row for it to the settings table in docs/server.md"
    )


def test_the_settings_table_names_only_settings() -> None:
    unknown = documented_variables() - set(SETTING_VARIABLES)
    assert not unknown, f"docs/server.md's settings table names no setting: {sorted(unknown)}"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_documented(command: str) -> None:
    pattern = re.escape(command) + r"(?![\w-])"
    assert re.search(pattern, all_docs()), f"`{command}` is not documented in docs/*.md"


def test_the_walk_finds_nested_commands() -> None:
    # A walk that stopped at the top level would pass every test above vacuously.
    assert "countersign serve" in COMMANDS
    assert "countersign apps create" in COMMANDS
    assert "countersign webhooks deliveries" in COMMANDS
    assert len(COMMANDS) > 30
