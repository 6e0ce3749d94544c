"""Server-drawn SVG charts: bars and lines over one integer axis, no JavaScript, no chart library.

Every coordinate is an integer computed with integer arithmetic (money values pass 2**53, where a
float would misplace them). A chart is accessible three ways: `<title>` and `<desc>` name and
summarise it for screen readers (role="img"), each bar and point carries its exact value in a
`<title>` tooltip, and `table()` gives the same numbers as an HTML table to show beside it.

    chart = Chart(
        chart_id="earnings",
        title="Earnings, last 30 days",
        description="Daily gross sales and creator earnings in US dollars.",
        labels=["1 Mar", "2 Mar", ...],
        series=[Series(name="Gross", values=[...], kind="bar"), Series(name="Earnings", values=[...])],
        format_value=lambda cents: format_amount(amount=cents, asset="USD"),
    )
    chart.svg(), chart.table()  # SafeStrings for the template
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Literal

from django.utils.safestring import SafeString, mark_safe

WIDTH = 720
HEIGHT = 260
MARGIN_LEFT = 88  # room for the value labels of the axis
MARGIN_RIGHT = 16
MARGIN_TOP = 28  # room for the legend
MARGIN_BOTTOM = 32  # room for the period labels
TARGET_TICKS = 4
MAX_X_LABELS = 8
PALETTE = ("#c7d2fe", "#4f46e5", "#059669", "#d97706")


def _text(value: object) -> str:
    return escape(str(value), quote=True)


def compact_number(value: int) -> str:
    """An integer for an axis label: 950, 1.5K, 15M, 2B (rounded half up to one decimal, trailing
    ".0" dropped). Integer arithmetic."""
    magnitude, sign = abs(value), "-" if value < 0 else ""
    for size, suffix in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if magnitude >= size:
            tenths = (magnitude * 10 + size // 2) // size
            whole, decimal = divmod(tenths, 10)
            return f"{sign}{whole:,}{f'.{decimal}' if decimal else ''}{suffix}"
    return f"{sign}{magnitude}"


def nice_step(span: int, ticks: int = TARGET_TICKS) -> int:
    """The smallest step of 1, 2 or 5 times a power of ten that covers `span` in `ticks` steps."""
    if span <= 0:
        return 1
    raw = -(-span // ticks)  # ceiling division
    magnitude = int(10 ** (len(str(raw)) - 1))
    for multiple in (1, 2, 5, 10):
        if multiple * magnitude >= raw:
            return multiple * magnitude
    raise AssertionError("unreachable: 10 * magnitude >= raw")  # pragma: no cover


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int]
    kind: Literal["bar", "line"] = "line"
    color: str = ""  # a CSS colour; the palette's next one when blank


@dataclass(frozen=True)
class Axis:
    low: int  # value at the bottom of the plot (0, or below for negative values)
    high: int  # value at the top
    step: int
    ticks: list[int] = field(default_factory=list)


def value_axis(values: Sequence[int], ticks: int = TARGET_TICKS) -> Axis:
    """An axis that includes 0 and every value, with bounds on multiples of a nice step."""
    low = min(0, *values) if values else 0
    high = max(0, *values) if values else 0
    step = nice_step(high - low, ticks)
    top = -(-high // step) * step
    bottom = (low // step) * step
    if top == bottom:  # nothing but zeros: show one empty step above the baseline
        top = bottom + step
    return Axis(low=bottom, high=top, step=step, ticks=list(range(bottom, top + 1, step)))


@dataclass(frozen=True)
class Chart:
    chart_id: str  # unique in the page: prefixes the ids of <title> and <desc>
    title: str
    description: str
    labels: Sequence[str]  # one per point, e.g. the day
    series: Sequence[Series]
    format_value: Callable[[int], str] = str
    # The axis labels, when the exact value is too wide for the margin (e.g. "15M AGR"); the
    # tooltips and the table keep format_value.
    format_tick: Callable[[int], str] | None = None
    width: int = WIDTH
    height: int = HEIGHT
    label_heading: str = "Period"

    def __post_init__(self) -> None:
        for series in self.series:
            if len(series.values) != len(self.labels):
                raise ValueError(
                    f"series {series.name!r} has {len(series.values)} values for {len(self.labels)} labels"
                )
            for value in series.values:
                if type(value) is not int:
                    raise TypeError(f"chart values are ints, got {type(value).__name__}: {value!r}")

    # ---------------------------------------------------------------- geometry

    @property
    def plot_width(self) -> int:
        return self.width - MARGIN_LEFT - MARGIN_RIGHT

    @property
    def plot_height(self) -> int:
        return self.height - MARGIN_TOP - MARGIN_BOTTOM

    def axis(self) -> Axis:
        return value_axis([value for series in self.series for value in series.values])

    def y(self, value: int, axis: Axis) -> int:
        """The vertical pixel of `value`: the axis top is MARGIN_TOP, its bottom the plot's bottom."""
        return MARGIN_TOP + (axis.high - value) * self.plot_height // (axis.high - axis.low)

    def slot(self, index: int) -> tuple[int, int]:
        """(left edge, width) of the index-th point's slot across the plot."""
        count = max(len(self.labels), 1)
        left = MARGIN_LEFT + index * self.plot_width // count
        right = MARGIN_LEFT + (index + 1) * self.plot_width // count
        return left, right - left

    def x(self, index: int) -> int:
        left, width = self.slot(index)
        return left + width // 2

    def label_indexes(self) -> list[int]:
        """Which points get a period label: evenly spaced, at most MAX_X_LABELS, the last always."""
        count = len(self.labels)
        if count == 0:
            return []
        every = -(-count // MAX_X_LABELS)
        chosen = list(range(0, count, every))
        if chosen[-1] != count - 1:
            if count - 1 - chosen[-1] < every // 2 + 1 and len(chosen) > 1:
                chosen.pop()  # too close to the last label: they would overlap
            chosen.append(count - 1)
        return chosen

    def _colors(self) -> list[str]:
        return [series.color or PALETTE[index % len(PALETTE)] for index, series in enumerate(self.series)]

    # ---------------------------------------------------------------- markup

    def svg(self) -> SafeString:
        axis = self.axis()
        colors = self._colors()
        ident = _text(self.chart_id)
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {self.width} {self.height}" '
            f'width="100%" preserveAspectRatio="xMidYMid meet" role="img" '
            f'aria-labelledby="{ident}-title {ident}-desc" font-family="inherit" font-size="12">',
            f'<title id="{ident}-title">{_text(self.title)}</title>',
            f'<desc id="{ident}-desc">{_text(self.description)}</desc>',
        ]
        parts.append('<g class="chart-grid" aria-hidden="true">')
        right = MARGIN_LEFT + self.plot_width
        for tick in axis.ticks:
            y = self.y(tick, axis)
            stroke = "#9ca3af" if tick == 0 else "#e5e7eb"
            parts.append(f'<line x1="{MARGIN_LEFT}" y1="{y}" x2="{right}" y2="{y}" stroke="{stroke}"/>')
            parts.append(
                f'<text x="{MARGIN_LEFT - 6}" y="{y + 4}" text-anchor="end" fill="#6b7280">'
                f"{_text((self.format_tick or self.format_value)(tick))}</text>"
            )
        parts.append("</g>")

        bars = [index for index, series in enumerate(self.series) if series.kind == "bar"]
        zero = self.y(0, axis)
        for order, index in enumerate(bars):
            series = self.series[index]
            parts.append(f'<g class="chart-bars" fill="{_text(colors[index])}">')
            for point, value in enumerate(series.values):
                left, width = self.slot(point)
                bar_width = max(width * 7 // (10 * len(bars)), 1)
                bar_left = left + (width - bar_width * len(bars)) // 2 + order * bar_width
                top, bottom = sorted((self.y(value, axis), zero))
                parts.append(
                    f'<rect x="{bar_left}" y="{top}" width="{bar_width}" height="{max(bottom - top, 0)}">'
                    f"<title>{_text(self.labels[point])}: {_text(series.name)} "
                    f"{_text(self.format_value(value))}</title></rect>"
                )
            parts.append("</g>")

        for index, series in enumerate(self.series):
            if series.kind != "line":
                continue
            points = " ".join(f"{self.x(i)},{self.y(value, axis)}" for i, value in enumerate(series.values))
            color = _text(colors[index])
            parts.append(f'<g class="chart-line" stroke="{color}" fill="{color}">')
            parts.append(
                f'<polyline points="{points}" fill="none" stroke-width="2" stroke-linejoin="round"/>'
            )
            for point, value in enumerate(series.values):
                parts.append(
                    f'<circle cx="{self.x(point)}" cy="{self.y(value, axis)}" r="3">'
                    f"<title>{_text(self.labels[point])}: {_text(series.name)} "
                    f"{_text(self.format_value(value))}</title></circle>"
                )
            parts.append("</g>")

        parts.append('<g class="chart-labels" aria-hidden="true" fill="#6b7280">')
        for point in self.label_indexes():
            parts.append(
                f'<text x="{self.x(point)}" y="{self.height - MARGIN_BOTTOM + 18}" text-anchor="middle">'
                f"{_text(self.labels[point])}</text>"
            )
        parts.append("</g>")

        parts.append('<g class="chart-legend" aria-hidden="true">')
        x = MARGIN_LEFT
        for index, series in enumerate(self.series):
            color = _text(colors[index])
            if series.kind == "bar":
                parts.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{color}"/>')
            else:
                parts.append(
                    f'<line x1="{x}" y1="14" x2="{x + 12}" y2="14" stroke="{color}" stroke-width="3"/>'
                )
            parts.append(f'<text x="{x + 18}" y="18">{_text(series.name)}</text>')
            x += 18 + 8 * len(series.name) + 24
        parts.append("</g>")
        parts.append("</svg>")
        return mark_safe("".join(parts))  # noqa: S308 - every interpolated text went through escape()

    def table(self) -> SafeString:
        """The chart's numbers as an accessible table (the fallback for the drawing)."""
        head = "".join(f'<th scope="col" class="num">{_text(series.name)}</th>' for series in self.series)
        rows = []
        for point, label in enumerate(self.labels):
            cells = "".join(
                f'<td class="num">{_text(self.format_value(series.values[point]))}</td>'
                for series in self.series
            )
            rows.append(f'<tr><th scope="row">{_text(label)}</th>{cells}</tr>')
        return mark_safe(  # noqa: S308 - every interpolated text went through escape()
            f'<table class="chart-data" id="{_text(self.chart_id)}-data">'
            f"<caption>{_text(self.title)}</caption>"
            f'<thead><tr><th scope="col">{_text(self.label_heading)}</th>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>"
        )
