"""The dashboard's SVG charts: well-formed, scaled to their data, broken where data is missing,
escaped, and described for screen readers."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from hookline.ui.charts import nice_ceiling, sparkline, timeline_chart

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup).replace("<svg ", f'<svg xmlns="{SVG[1:-1]}" ', 1))


def points(line: ET.Element) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in (p.split(",") for p in line.attrib["points"].split())]


@pytest.mark.parametrize(
    ("value", "ceiling"),
    [(0, 1), (1, 1), (1.5, 2), (2, 2), (3, 5), (7, 10), (10, 10), (11, 20), (420, 500)],
)
def test_the_scale_tops_at_1_2_or_5_times_a_power_of_ten(value: float, ceiling: float) -> None:
    assert nice_ceiling(value) == ceiling


def test_a_timeline_draws_each_series_to_scale() -> None:
    svg = parse(
        timeline_chart(
            [0, 5, 10], [2, 0, 0], title="Last hour", start_label="09:00", end_label="10:00"
        )
    )
    ok = svg.find(f"{SVG}polyline[@class='chart-ok']")
    bad = svg.find(f"{SVG}polyline[@class='chart-bad']")
    assert ok is not None
    assert bad is not None
    ok_points, bad_points = points(ok), points(bad)
    assert len(ok_points) == len(bad_points) == 3
    # 10 is the top of the scale, 0 its bottom, 5 half way; x runs left to right.
    tops = [y for _, y in ok_points]
    assert tops[0] > tops[1] > tops[2]
    assert tops[1] == pytest.approx((tops[0] + tops[2]) / 2, abs=0.1)
    assert bad_points[0][1] == pytest.approx(tops[0] - (tops[0] - tops[2]) * 0.2, abs=0.1)
    assert [x for x, _ in ok_points] == sorted(x for x, _ in ok_points)
    labels = [t.text for t in svg.iter(f"{SVG}text")]
    assert labels == ["10", "0", "09:00", "10:00"]
    title = svg.find(f"{SVG}title")
    assert title is not None
    assert title.text == "Last hour: 15 succeeded and 2 failed from 09:00 to 10:00"
    assert svg.attrib["role"] == "img"


def test_a_timeline_of_nothing_lies_on_its_axis() -> None:
    svg = parse(timeline_chart([0, 0], [0, 0], title="t", start_label="a", end_label="b"))
    ys = {y for line in svg.iter(f"{SVG}polyline") for _, y in points(line)}
    axis = svg.find(f"{SVG}line[@class='chart-axis']")
    assert axis is not None
    assert ys == {float(axis.attrib["y1"])}


def test_text_in_a_chart_is_escaped() -> None:
    markup = timeline_chart(
        [1], [0], title='<script>alert("x")</script>', start_label="<b>", end_label="&"
    )
    assert "<script>" not in markup
    assert "<b>" not in markup
    svg = parse(markup)
    title = svg.find(f"{SVG}title")
    assert title is not None
    assert title.text is not None
    assert title.text.startswith('<script>alert("x")</script>')


def test_a_sparkline_breaks_where_nothing_happened() -> None:
    svg = parse(sparkline([1.0, 0.5, None, None, 0.0, 1.0], label="success rate"))
    lines = list(svg.iter(f"{SVG}polyline"))
    assert [len(points(line)) for line in lines] == [2, 2]
    first, second = (points(line) for line in lines)
    assert first[0][1] < first[1][1]  # 100% is drawn above 50%
    assert second[0][1] > second[1][1]  # 0% below 100%
    assert svg.attrib["aria-label"] == "success rate"


def test_a_sparkline_keeps_rates_within_its_box() -> None:
    svg = parse(sparkline([2.0, -1.0], label="x", height=24))
    ys = [y for line in svg.iter(f"{SVG}polyline") for _, y in points(line)]
    assert min(ys) >= 0
    assert max(ys) <= 24


def test_charts_need_data() -> None:
    with pytest.raises(ValueError, match="at least one"):
        sparkline([], label="x")
    with pytest.raises(ValueError, match="same number"):
        timeline_chart([1, 2], [1], title="t", start_label="a", end_label="b")
