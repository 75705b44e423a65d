"""The docs are part of the product: these tests keep them true to the code."""

from __future__ import annotations

import re
from pathlib import Path

import click

from storyline.cli import main

REPO = Path(__file__).resolve().parents[1]
CLI_DOC = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")


def _sections() -> dict[str, str]:
    """docs/cli.md sections keyed by the command named in their '## `storyline NAME' heading."""
    parts = re.split(r"^## `storyline (\w+)", CLI_DOC, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def test_every_command_has_a_section_in_cli_md() -> None:
    assert set(main.commands) <= set(_sections()), "document every command in docs/cli.md"


def test_every_option_of_every_command_is_documented() -> None:
    sections = _sections()
    for name, command in main.commands.items():
        for param in command.params:
            if isinstance(param, click.Option):
                longest = max(param.opts, key=len)
                assert longest in sections[name], f"{longest} of `storyline {name}` is undocumented"


def test_readme_quick_start_is_the_two_commands() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "make run" in readme and "make test" in readme
