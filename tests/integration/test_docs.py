"""The documentation runs: the README quickstart and every example in docs/api.md are executed
against a live hookline, and every filter in docs/filters.md is a valid filter."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import sys
from pathlib import Path

import pytest

from hookline.filters import validate
from tests.support.harness import ADMIN_KEY, Running, free_port
from tests.support.receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
# Stop what the script left running in the background, keeping the script's exit status.
STOP_BACKGROUND_JOBS = "trap 'status=$?; kill $(jobs -p) 2>/dev/null || true; exit $status' EXIT\n"


def blocks(markdown: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", markdown, re.S)


async def run_bash(script: str, env: dict[str, str], timeout: float = 60) -> tuple[int, str]:
    """Run a pasted script; background jobs it starts are stopped when it ends."""
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        STOP_BACKGROUND_JOBS + "set -euo pipefail\n" + script,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, **env},
        start_new_session=True,  # so background jobs it starts can be stopped with it
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    return process.returncode or 0, output.decode()


@pytest.mark.skipif(shutil.which("curl") is None, reason="the examples use curl")
async def test_every_example_in_the_api_reference_runs(
    hookline: Running, receiver: Receiver
) -> None:
    script = "\n".join(blocks((ROOT / "docs/api.md").read_text(), "bash"))
    code, output = await run_bash(
        script,
        {
            "HOOKLINE_KEY": ADMIN_KEY,
            "API": f"{hookline.base_url}/api/v1",
            "RECEIVER": receiver.url("").rstrip("/"),
        },
    )
    assert code == 0, output[-3000:]
    assert '"duplicate":true' in output
    assert '"status":"success"' in output  # the test send reached the receiver
    assert receiver.at("/hooks")


@pytest.mark.skipif(shutil.which("curl") is None, reason="the quickstart uses curl")
async def test_the_readme_quickstart_works_when_pasted(hookline: Running) -> None:
    [quickstart] = [b for b in blocks((ROOT / "README.md").read_text(), "bash") if "hl_paste" in b]
    listen_port = str(free_port())
    script = (
        quickstart.replace("hl_paste_the_key_here", ADMIN_KEY)
        .replace("http://127.0.0.1:8000", hookline.base_url)
        .replace("9000", listen_port)
        .replace(".venv/bin/hookline", f"{sys.executable} -m hookline")
    )
    code, output = await run_bash(script, {})
    assert code == 0, output[-3000:]
    assert "✓ price.above evt_" in output
    assert "(signature verified)" in output
    assert '"status":"succeeded"' in output
    assert '"status_code":200' in output


def test_every_filter_in_the_filter_guide_is_valid() -> None:
    examples = blocks((ROOT / "docs/filters.md").read_text(), "json")
    filters = [json.loads(e) for e in examples if '"status"' not in e and '"id"' not in e]
    assert len(filters) >= 6
    for example in filters:
        validate(example)


async def test_the_readme_python_example_runs_on_a_new_database(tmp_path: Path) -> None:
    [example] = [b for b in blocks((ROOT / "README.md").read_text(), "python") if "main()" in b]
    script = tmp_path / "example.py"
    script.write_text(example)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, output.decode()[-3000:]
    assert re.search(r"evt_\w+ stored, 1 delivery queued", output.decode()), output.decode()
