"""The README stays true: every command it shows exists, and every command's --help has an
example."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from newsanno.cli import app

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
runner = CliRunner()


def shell_lines() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    lines = []
    for block in blocks:
        lines += [line.split("#")[0].strip() for line in block.replace("\\\n", " ").splitlines()]
    return [line for line in lines if line]


def newsanno_commands() -> list[list[str]]:
    out = []
    for line in shell_lines():
        if line.startswith("newsanno "):
            words = shlex.split(line)[1:]
            out.append([w for w in words if not w.startswith("-")][:2])
    return out


def all_commands() -> list[tuple[str, ...]]:
    root = typer.main.get_command(app)
    found: list[tuple[str, ...]] = []

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        if hasattr(cmd, "commands"):  # a group
            for name, sub in cmd.commands.items():
                walk(sub, (*path, name))
        else:
            found.append(path)

    walk(root, ())
    return found


def test_readme_shows_the_two_commands() -> None:
    lines = shell_lines()
    assert "make demo" in " ".join(lines) and "make test" in " ".join(lines)
    makefile = (REPO / "Makefile").read_text()
    for line in lines:
        if line.startswith("make "):
            target = line.split()[1]
            assert re.search(rf"^{re.escape(target)}:", makefile, flags=re.M), target


@pytest.mark.parametrize("words", newsanno_commands(), ids=" ".join)
def test_every_readme_command_exists(words: list[str]) -> None:
    commands = all_commands()
    path = tuple(words[: 2 if tuple(words[:2]) in commands else 1])
    assert path in commands, f"README shows 'newsanno {' '.join(words)}', which does not exist"


@pytest.mark.parametrize("path", all_commands(), ids=" ".join)
def test_every_command_help_has_an_example(path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert re.search(rf"Example: newsanno {' '.join(path)}\b", result.output), result.output


def test_every_command_is_in_the_readme() -> None:
    shown = {tuple(words) for words in newsanno_commands()} | {
        tuple(words[:1]) for words in newsanno_commands()
    }
    missing = [" ".join(p) for p in all_commands() if p not in shown]
    assert not missing, f"commands the README does not show: {missing}"
