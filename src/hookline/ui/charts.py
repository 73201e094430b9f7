"""Charts drawn on the server as SVG: no script, no library, readable without colour.

Each function is pure: numbers in, markup out (`Markup`, safe to put in a template as is).
Colours come from CSS classes (`chart-ok`, `chart-bad`, `chart-line`), so the page's light and
dark themes apply; every chart carries a text alternative (`role="img"` and `<title>`).
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape


def _scale(values: Sequence[float | None], top: float, height: float) -> list[float | None]:
    """Each value's y (0 at the top) in a box of `height`, where `top` reaches the top."""
    if top <= 0:
        return [None if v is None else height for v in values]
    return [None if v is None else height - (v / top) * height for v in values]


def _segments(xs: Sequence[float], ys: Sequence[float | None]) -> list[str]:
    """Polyline point lists, broken where a value is missing."""
    runs: list[list[str]] = [[]]
    for x, y in zip(xs, ys, strict=True):
        if y is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append(f"{x:.1f},{y:.1f}")
    return [" ".join(run) for run in runs if run]


def _xs(count: int, width: float) -> list[float]:
    if count == 1:
        return [width / 2]
    return [i * width / (count - 1) for i in range(count)]


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten at or above `value` (1 for nothing)."""
    if value <= 1:
        return 1.0
    power = 1.0
    while True:
        for step in (1, 2, 5):
            if step * power >= value:
                return step * power
        power *= 10


def timeline_chart(
    succeeded: Sequence[int],
    failed: Sequence[int],
    *,
    title: str,
    start_label: str,
    end_label: str,
    width: int = 600,
    height: int = 160,
) -> Markup:
    """Two lines over time, deliveries succeeded and failed per bucket, with the scale's top
    and the time range written on the chart. `title` says what it shows, for screen readers
    and as the tooltip."""
    if len(succeeded) != len(failed) or not succeeded:
        raise ValueError("a timeline chart needs the same number (at least one) of each")
    top = nice_ceiling(max(max(succeeded), max(failed)))
    pad_top, pad_bottom, pad_left = 14.0, 18.0, 34.0
    plot_w, plot_h = width - pad_left, height - pad_top - pad_bottom
    xs = [pad_left + x for x in _xs(len(succeeded), plot_w)]
    lines = []
    for css, values in (("chart-ok", succeeded), ("chart-bad", failed)):
        ys = [None if y is None else pad_top + y for y in _scale(values, top, plot_h)]
        for points in _segments(xs, ys):
            lines.append(f'<polyline class="{css}" fill="none" points="{points}"/>')
    summary = (
        f"{title}: {sum(succeeded)} succeeded and {sum(failed)} failed "
        f"from {start_label} to {end_label}"
    )
    base = pad_top + plot_h
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(summary)}" preserveAspectRatio="none">'
        f"<title>{escape(summary)}</title>"
        f'<line class="chart-axis" x1="{pad_left}" y1="{base}" x2="{width}" y2="{base}"/>'
        f'<line class="chart-grid" x1="{pad_left}" y1="{pad_top}" x2="{width}" y2="{pad_top}"/>'
        f'<text class="chart-label" x="0" y="{pad_top + 4}">{top:g}</text>'
        f'<text class="chart-label" x="0" y="{base}">0</text>'
        f'<text class="chart-label" x="{pad_left}" y="{height - 2}">{escape(start_label)}</text>'
        f'<text class="chart-label" x="{width}" y="{height - 2}" text-anchor="end">'
        f"{escape(end_label)}</text>"
        f"{''.join(lines)}</svg>"
    )


def sparkline(
    values: Sequence[float | None], *, label: str, width: int = 120, height: int = 24
) -> Markup:
    """A small line of values between 0 and 1 (success rates), broken where a value is None
    (nothing happened then). `label` says what it shows."""
    if not values:
        raise ValueError("a sparkline needs at least one value")
    xs = _xs(len(values), width - 2)
    ys = _scale([None if v is None else min(max(v, 0.0), 1.0) for v in values], 1.0, height - 2)
    lines = "".join(
        f'<polyline class="chart-line" fill="none" points="{points}"/>'
        for points in _segments([x + 1 for x in xs], [None if y is None else y + 1 for y in ys])
    )
    return Markup(
        f'<svg class="sparkline" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>{lines}</svg>"
    )
