"""What `pip install hookline` (and the Dockerfile) gets: a wheel that holds the migrations and
the `hookline` command, and that runs from where it is installed, not from this checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_the_wheel_migrates_a_database_on_its_own(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", tmp_path, ROOT],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    [wheel] = tmp_path.glob("hookline-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "hookline = hookline.cli:main" in archive.read(entry_points).decode()
        archive.extractall(tmp_path / "site")
    assert "hookline/store/migrations/env.py" in names
    assert "hookline/py.typed" in names  # type checkers read hookline's annotations
    assert any(n.startswith("hookline/store/migrations/versions/") for n in names)
    # The dashboard's pages and files come with the package (no CDN, no build step).
    ui = Path(__file__).resolve().parents[2] / "src" / "hookline" / "ui"
    for shipped in [*ui.glob("templates/*.html"), *ui.glob("static/*")]:
        assert f"hookline/ui/{shipped.parent.name}/{shipped.name}" in names

    database = tmp_path / "fresh.db"
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(tmp_path / "site"),  # ahead of this checkout's editable install
        "HOOKLINE_DATABASE_URL": f"sqlite:///{database}",
    }
    ran = subprocess.run(
        [sys.executable, "-c", "import hookline.cli as c; print(c.__file__); c.main()", "migrate"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith(str(tmp_path / "site" / "hookline")), ran.stdout
    assert "schema is up to date" in ran.stdout
    assert database.stat().st_size > 0
