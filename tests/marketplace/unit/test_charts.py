"""The server-drawn SVG chart: integer geometry, nice axes, escaping, and its accessible parts."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from core.charts import (
    HEIGHT,
    MARGIN_BOTTOM,
    MARGIN_TOP,
    Chart,
    Series,
    compact_number,
    nice_step,
    value_axis,
)

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # noqa: S314 - the chart's own output, not untrusted input


def chart(**overrides) -> Chart:
    options = {
        "chart_id": "c",
        "title": "Sales",
        "description": "Daily sales.",
        "labels": ["Mon", "Tue", "Wed", "Thu"],
        "series": [
            Series(name="Gross", values=[0, 500, 1_000, 250], kind="bar"),
            Series(name="Net", values=[0, 400, 800, 200], kind="line"),
        ],
    }
    return Chart(**(options | overrides))


@pytest.mark.parametrize(
    ("span", "step"),
    [
        (0, 1),
        (1, 1),
        (4, 1),
        (5, 2),
        (9, 5),
        (10, 5),
        (21, 10),
        (1_000, 250 * 2),
        (999, 250 * 2),
        (40_001, 20_000),
    ],
)
def test_nice_step_is_1_2_5_times_a_power_of_ten(span, step):
    assert nice_step(span) == step
    assert nice_step(span) * 4 >= span


def test_value_axis_includes_zero_and_negatives():
    axis = value_axis([-300, 1_000])
    assert axis.low <= -300
    assert axis.high >= 1_000
    assert 0 in axis.ticks
    assert all(tick % axis.step == 0 for tick in axis.ticks)
    assert value_axis([0, 0]).ticks == [0, 1]
    assert value_axis([]).ticks == [0, 1]


def test_axis_is_exact_past_2_to_the_53():
    huge = 10**24 + 7  # AGR base units: a float would lose the 7
    axis = value_axis([huge])
    assert axis.high >= huge
    assert isinstance(axis.high, int)


def test_svg_parses_and_has_title_desc_and_role():
    svg = chart().svg()
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c-title c-desc"
    assert root.find(f"{SVG}title").text == "Sales"
    assert root.find(f"{SVG}desc").text == "Daily sales."


def test_every_coordinate_is_an_integer():
    svg = chart(series=[Series(name="A", values=[1, 10**20, 3, 7], kind="bar")]).svg()
    numbers = re.findall(r'\s(?:x|y|x1|x2|y1|y2|cx|cy|width|height)="([^"]+)"', svg)
    numbers += [n for pair in re.findall(r'points="([^"]+)"', svg) for n in re.split(r"[ ,]", pair)]
    assert numbers
    for number in numbers:
        if number == "100%":
            continue
        assert re.fullmatch(r"-?\d+", number), number


def test_bars_grow_with_their_values_and_the_largest_reaches_the_top():
    root = parse(chart().svg())
    bars = root.findall(f".//{SVG}g[@class='chart-bars']/{SVG}rect")
    heights = [int(bar.get("height")) for bar in bars]
    assert heights[0] == 0
    assert heights[1] < heights[2]
    assert heights[3] < heights[1]
    plot_bottom = HEIGHT - MARGIN_BOTTOM
    assert int(bars[2].get("y")) + heights[2] == plot_bottom
    assert int(bars[2].get("y")) == MARGIN_TOP  # 1,000 is the axis' top (step 250)


def test_line_has_one_point_per_label_with_exact_values_in_tooltips():
    svg = chart(format_value=lambda v: f"{v} c").svg()
    root = parse(svg)
    line = root.find(f".//{SVG}polyline")
    assert len(line.get("points").split()) == 4
    tooltips = [t.text for t in root.findall(f".//{SVG}circle/{SVG}title")]
    assert tooltips == ["Mon: Net 0 c", "Tue: Net 400 c", "Wed: Net 800 c", "Thu: Net 200 c"]


def test_text_is_escaped():
    hostile = chart(title="<script>alert(1)</script>", labels=["<b>", "&", '"', "'"])
    svg, table = hostile.svg(), hostile.table()
    assert "<script>" not in svg
    assert "<script>" not in table
    assert "&lt;script&gt;" in svg
    parse(svg)  # still well-formed


def test_table_fallback_has_every_value():
    table = chart(format_value=lambda v: f"{v:,}").table()
    root = parse(table)
    assert root.find("caption").text == "Sales"
    headers = [th.text for th in root.findall("thead/tr/th")]
    assert headers == ["Period", "Gross", "Net"]
    rows = [[cell.text for cell in row] for row in root.findall("tbody/tr")]
    assert rows[2] == ["Wed", "1,000", "800"]
    assert len(rows) == 4


def test_at_most_eight_period_labels_and_always_the_last():
    labels = [f"d{n}" for n in range(30)]
    many = chart(labels=labels, series=[Series(name="A", values=list(range(30)))])
    shown = [t.text for t in parse(many.svg()).findall(f".//{SVG}g[@class='chart-labels']/{SVG}text")]
    assert len(shown) <= 9
    assert shown[0] == "d0"
    assert shown[-1] == "d29"


def test_mismatched_or_float_values_are_refused():
    with pytest.raises(ValueError, match="3 values for 4 labels"):
        chart(series=[Series(name="A", values=[1, 2, 3])])
    with pytest.raises(TypeError):
        chart(series=[Series(name="A", values=[1, 2.5, 3, 4])])


def test_negative_values_draw_below_the_zero_line():
    root = parse(chart(series=[Series(name="A", values=[100, -50, 0, 0], kind="bar")]).svg())
    bars = root.findall(f".//{SVG}g[@class='chart-bars']/{SVG}rect")
    up, down = bars[0], bars[1]
    assert int(up.get("y")) + int(up.get("height")) == int(down.get("y"))  # both meet at zero


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (0, "0"),
        (950, "950"),
        (1_000, "1K"),
        (1_500, "1.5K"),
        (1_049, "1K"),
        (1_050, "1.1K"),
        (15_000_000, "15M"),
        (-2_500_000_000, "-2.5B"),
        (3 * 10**15, "3,000T"),
    ],
)
def test_compact_axis_numbers(value: int, label: str) -> None:
    assert compact_number(value) == label


def test_axis_labels_use_the_compact_format_and_tooltips_the_exact_one() -> None:
    chart = Chart(
        chart_id="c",
        title="t",
        description="d",
        labels=["a", "b"],
        series=[Series(name="s", values=[0, 15_000_000])],
        format_value=lambda v: f"{v:,} AGR",
        format_tick=lambda v: f"{compact_number(v)} AGR",
    )
    svg = str(chart.svg())
    assert ">15M AGR</text>" in svg or ">20M AGR</text>" in svg
    assert "15,000,000 AGR</title>" in svg
    assert ",000,000 AGR</text>" not in svg
