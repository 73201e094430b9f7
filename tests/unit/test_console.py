from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from hookline import console

ROWS = [
    {"id": "wh_1", "url": "https://a.example/h", "rate": 0.5, "types": ["a", "b"], "seen": None},
    {"id": "wh_22", "url": "mailto:x@example.com", "rate": 1.0, "types": [], "seen": None},
]


def test_a_table_has_a_column_per_field_aligned(capsys: pytest.CaptureFixture[str]) -> None:
    console.show(ROWS, ["id", "url", "rate", "types"], as_json=False)
    header, first, second = capsys.readouterr().out.splitlines()
    assert header.split() == ["id", "url", "rate", "types"]
    assert first.split() == ["wh_1", "https://a.example/h", "0.5", "a,", "b"]
    assert second.split() == ["wh_22", "mailto:x@example.com", "1", "-"]
    assert header.index("url") == first.index("https") == second.index("mailto")


def test_json_has_every_field_of_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    at = datetime(2026, 12, 2, 10, 30, tzinfo=UTC)
    console.show([{**ROWS[0], "seen": at}], ["id"], as_json=True)
    [row] = json.loads(capsys.readouterr().out)
    assert row == {**ROWS[0], "seen": "2026-12-02T10:30:00+00:00"}


def test_progress_yields_every_item() -> None:
    assert list(console.progress(iter(range(5)), total=5, label="purging")) == [0, 1, 2, 3, 4]
