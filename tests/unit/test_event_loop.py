"""serve, api and worker run on uvloop where it is installed, as `uvicorn.run` would: the
standard loop costs about a quarter of the sends a second (docs/benchmarks.md)."""

from __future__ import annotations

import asyncio

import pytest

from hookline import cli


def test_the_commands_run_on_uvloop_when_it_is_installed() -> None:
    uvloop = pytest.importorskip("uvloop")
    factory = cli._loop_factory()
    assert factory is uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        assert isinstance(runner.get_loop(), uvloop.Loop)
