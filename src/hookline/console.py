"""What the operator's commands print: aligned tables for people, JSON lines for scripts
(`--json`), and a progress bar on long work. Every CLI command that shows records uses `show`."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from rich.console import Console
from rich.progress import Progress
from rich.table import Table


def show(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    as_json: bool,
    title: str | None = None,
) -> None:
    """`rows` as an aligned table of `columns`, or (`as_json`) as one JSON document: a list
    of the rows, every field included."""
    if as_json:
        print_json(list(rows))
        return
    table = Table(title=title, show_edge=False, pad_edge=False, box=None, header_style="bold")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_cell(row.get(column)) for column in columns))
    # Never cut a cell short (ids are copied from here): wider than the terminal if need be.
    width = max(120, Console().width)
    width = max(width, Console(width=10_000).measure(table).maximum)
    Console(width=width).print(table)


def print_json(value: Any) -> None:
    """`value` as one line of JSON on standard output (instants in ISO 8601)."""
    sys.stdout.write(orjson.dumps(value, default=_plain).decode() + "\n")


def progress(items: Iterable[Any], *, total: int, label: str) -> Iterable[Any]:
    """`items`, with a progress bar on stderr while they are worked through (none off a
    terminal)."""
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        for item in items:
            yield item
            bar.advance(task)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
