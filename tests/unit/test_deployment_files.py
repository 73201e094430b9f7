"""The deployment guide and the files it ships (Dockerfile, compose.yaml, systemd units, the
example environment) name only commands, options and settings that exist. No Docker engine or
systemd runs here, so this is what keeps them from drifting from the code."""

from __future__ import annotations

import configparser
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from hookline.cli import app
from hookline.config import Settings

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
SETTINGS = {f"HOOKLINE_{name.upper()}" for name in Settings.model_fields}


def parse_command_line(args: list[str]) -> Any:
    """What `hookline <args>` would run, parsed (options and arguments checked), not run."""
    command: Any = typer.main.get_command(app)
    name, parent = "hookline", None
    while hasattr(command, "get_command"):  # a group: the next word names its command
        assert args, f"{name} needs a command"
        context = command.make_context(name, list(args), parent=parent)
        sub = command.get_command(context, args[0])
        assert sub is not None, f"{name} has no command {args[0]!r}"
        command, name, parent, args = sub, f"{name} {args[0]}", context, args[1:]
    return command.make_context(name, list(args), parent=parent)


SHELL_OPERATORS = {">", "<", "|", "&", "&&", ";", "||"}


def guide_command_lines() -> list[list[str]]:
    """Every `hookline <command> ...` in the guide's shell blocks (after sudo, paths, env)."""
    guide = (ROOT / "docs" / "deployment.md").read_text()
    found = []
    for block in re.findall(r"```bash\n(.*?)```", guide, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            for i, word in enumerate(words[:-1]):
                prelude = all(w == "sudo" or re.fullmatch(r"[A-Z_]+=.*", w) for w in words[:i])
                if word.endswith("/bin/hookline") or (word == "hookline" and prelude):
                    rest = words[i + 1 :]
                    ends = [n for n, w in enumerate(rest) if w in SHELL_OPERATORS]
                    found.append(rest[: ends[0]] if ends else rest)
                    break
    return found


def test_the_guide_names_real_commands() -> None:
    lines = guide_command_lines()
    assert {"serve", "api", "worker", "migrate", "export", "import"} <= {w[0] for w in lines}
    for line in lines:
        parse_command_line(line)


class CaseKeeping(configparser.ConfigParser):
    """systemd keys are case-sensitive: keep them as written."""

    def optionxform(self, optionstr: str) -> str:
        return optionstr


@pytest.mark.parametrize("unit", UNITS, ids=lambda path: path.name)
def test_systemd_units_run_real_commands(unit: Path) -> None:
    parser = CaseKeeping(strict=False, interpolation=None)
    parser.read(unit)
    exec_start = shlex.split(parser["Service"]["ExecStart"].replace("%i", "8001"))
    assert exec_start[0] == "/opt/hookline/bin/hookline"
    parse_command_line(exec_start[1:])
    assert parser["Service"]["EnvironmentFile"] == "/etc/hookline/hookline.env"
    assert parser["Service"]["KillSignal"] == "SIGTERM"


def test_the_dockerfile_runs_serve_by_default() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    entrypoint_line = re.search(r"^ENTRYPOINT (.*)$", dockerfile, re.M)
    cmd_line = re.search(r"^CMD (.*)$", dockerfile, re.M)
    assert entrypoint_line is not None
    assert cmd_line is not None
    entrypoint = json.loads(entrypoint_line[1])
    cmd = json.loads(cmd_line[1])
    assert entrypoint == ["hookline"]
    assert parse_command_line(cmd).info_name == "hookline serve"
    for name in re.findall(r"\b(HOOKLINE_[A-Z_]+)=", dockerfile):
        assert name in SETTINGS, f"the Dockerfile sets {name}, which is no setting"


def test_compose_runs_migrate_then_api_and_workers_on_postgresql() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    for name in ("migrate", "api", "worker"):
        service = services[name]
        parse_command_line(service["command"])
        assert service["command"][0] == name
        environment = service["environment"]
        assert set(environment) <= SETTINGS
        assert environment["HOOKLINE_DATABASE_URL"].startswith("postgresql://")
        assert environment["HOOKLINE_SECRET_KEY"], "every process needs the same secret key"
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    assert "ports" not in services["worker"]
    assert services["worker"]["deploy"]["replicas"] >= 2


def test_the_example_environment_holds_only_settings() -> None:
    example = (ROOT / "deploy" / "hookline.env.example").read_text()
    names = re.findall(r"^#? ?(HOOKLINE_[A-Z_]+)=", example, re.M)
    assert "HOOKLINE_SECRET_KEY" in names
    assert set(names) <= SETTINGS


def test_the_guide_names_only_real_settings() -> None:
    guide = (ROOT / "docs" / "deployment.md").read_text()
    named = set(re.findall(r"\b(HOOKLINE_[A-Z_]+)\b", guide))
    assert {"HOOKLINE_DATABASE_URL", "HOOKLINE_SECRET_KEY", "HOOKLINE_DATABASE_POOL_SIZE"} <= named
    assert named <= SETTINGS, named - SETTINGS
