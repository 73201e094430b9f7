"""The README's "The command line" section lists every command of the real `hookline` app with
every option and argument it takes, and nothing else, so the two cannot drift apart.

A synopsis line is `hookline <command words> <parameters>`: `--flag`, `--option VALUE`, `ARG`,
each in [brackets] when optional (`[--port P]`, `--secret S`, `[FILE]`, `FILE`). Indented lines
under it describe it and are not checked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from hookline.cli import app

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, order=True)
class Parameter:
    name: str  # "--port" for an option; "ARG 1", "ARG 2"... for arguments, in order
    takes_value: bool
    required: bool


def app_commands() -> dict[str, set[Parameter]]:
    """Every command of the Typer app, by its words ("" for `hookline` itself)."""
    found: dict[str, set[Parameter]] = {}

    def walk(command: Any, words: tuple[str, ...]) -> None:
        params: set[Parameter] = set()
        arguments = 0
        for param in command.params:
            if param.param_type_name == "argument":
                arguments += 1
                params.add(Parameter(f"ARG {arguments}", True, bool(param.required)))
            else:
                for opt in param.opts:
                    if opt != "--help":
                        params.add(Parameter(opt, not param.is_flag, bool(param.required)))
        subcommands = getattr(command, "commands", {})
        if params or not subcommands:
            found[" ".join(words)] = params
        for name, sub in subcommands.items():
            walk(sub, (*words, name))

    walk(typer.main.get_command(app), ())
    return found


def readme_commands() -> dict[str, set[Parameter]]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## The command line", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"```\n(.*?)```", section, re.S)
    found: dict[str, set[Parameter]] = {}
    for line in block.splitlines():
        if not line.startswith("hookline"):
            continue
        tokens = re.findall(r"\[[^\]]*\]|\S+", line)[1:]
        words = []
        while tokens and re.fullmatch(r"[a-z][a-z-]*", tokens[0]):
            words.append(tokens.pop(0))
        params: set[Parameter] = set()
        arguments = 0
        while tokens:
            token = tokens.pop(0)
            optional = token.startswith("[")
            name, *value = token.strip("[]").split()
            if not optional and name.startswith("--") and tokens and tokens[0].isupper():
                value = [tokens.pop(0)]  # a required option: `--secret S`
            if name.startswith("--"):
                if name != "--help":
                    params.add(Parameter(name, bool(value), not optional))
            else:
                arguments += 1
                params.add(Parameter(f"ARG {arguments}", True, not optional))
        key = " ".join(words)
        assert key not in found, f"the README lists `hookline {key}` twice"
        found[key] = params
    return found


def test_the_readme_lists_every_command_with_its_options() -> None:
    documented, real = readme_commands(), app_commands()
    assert sorted(documented) == sorted(real), "commands in the README vs the app"
    for command, params in real.items():
        assert sorted(documented[command]) == sorted(params), f"hookline {command}".strip()


def test_the_check_sees_a_missing_option() -> None:
    """The comparison is not vacuous: the app's commands do take options."""
    real = app_commands()
    assert Parameter("--log-level", True, False) in real["serve"]
    assert Parameter("--secret", True, True) in real["listen"]
    assert Parameter("ARG 1", True, True) in real["import"]
    assert Parameter("--version", False, False) in real[""]
    assert real["secrets rotate"] == set()
