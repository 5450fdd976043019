"""Charts drawn on the server as SVG (no script, nothing for the CSP to refuse): the
geometry is computed here, web/dashboard/_chart_*.html draws it. Each chart has a
title and a one-sentence description for assistive technology (the SVG is one image
to them) and keeps its figures for a table beside it, its text alternative."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

# The drawing's own units, about the pixels of a chart on a laptop (three across) or a
# phone, so its 11px text stays 11px or so.
WIDTH = 340
HEIGHT = 140
LEFT, RIGHT, TOP, BOTTOM = 28, 12, 8, 22
BAR_ROW = 24
BAR_LABEL = 118


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50... at or above `value` (at least 1), so
    the axis reads in round numbers."""
    if value <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover  (the loop always returns)


@dataclass
class Series:
    name: str
    key: str  # a CSS class: the series' colour
    values: list[int]
    points: str = ""

    @property
    def total(self) -> int:
        return sum(self.values)


@dataclass
class Tick:
    y: float
    label: str


@dataclass
class LineChart:
    id: str
    title: str
    description: str
    days: list[date]
    series: list[Series]
    width: int = WIDTH
    height: int = HEIGHT
    ticks: list[Tick] = field(default_factory=list)
    x_labels: list[tuple[float, str]] = field(default_factory=list)
    left: int = LEFT
    right: int = WIDTH - RIGHT
    bottom: int = HEIGHT - BOTTOM

    @property
    def tick_x(self) -> int:
        return self.left - 6

    @property
    def label_y(self) -> int:
        return self.height - 6

    @property
    def rows(self) -> list[tuple[date, list[int]]]:
        """(day, the value of each series), newest first: the table's rows."""
        return [(day, [s.values[n] for s in self.series]) for n, day in reversed(list(enumerate(self.days)))]


def _label(day: date) -> str:
    return f"{day:%b} {day.day}"


def line_chart(chart_id: str, title: str, description: str, days: list[date], series: list[Series]) -> LineChart:
    """Every series as a polyline over `days`, on one axis from 0 to a round maximum."""
    chart = LineChart(chart_id, title, description, days, series)
    top = nice_ceiling(max((v for s in series for v in s.values), default=0))
    span_x = chart.right - chart.left
    span_y = chart.bottom - TOP
    step = span_x / max(len(days) - 1, 1)

    def y(value: float) -> float:
        return round(chart.bottom - span_y * value / top, 1)

    for s in series:
        s.points = " ".join(f"{round(chart.left + n * step, 1)},{y(v)}" for n, v in enumerate(s.values))
    chart.ticks = [Tick(y(v), str(v)) for v in sorted({0, top // 2 if top % 2 == 0 else top, top})]
    if days:
        chart.x_labels = [(chart.left, _label(days[0])), (chart.right, _label(days[-1]))]
        if len(days) > 2:
            middle = len(days) // 2
            chart.x_labels.insert(1, (round(chart.left + middle * step, 1), _label(days[middle])))
    return chart


@dataclass
class Bar:
    label: str
    value: int
    url: str
    y: float
    width: float

    @property
    def top(self) -> float:
        return self.y + 4

    @property
    def mid(self) -> float:
        return self.y + BAR_ROW / 2

    @property
    def value_x(self) -> float:
        return BAR_LABEL + self.width + 6


@dataclass
class BarChart:
    id: str
    title: str
    description: str
    bars: list[Bar]
    width: int = WIDTH
    height: int = 0
    label_width: int = BAR_LABEL
    label_x: int = BAR_LABEL - 8


def bar_chart(chart_id: str, title: str, description: str, rows: list[tuple[str, int, str]]) -> BarChart:
    """Horizontal bars, one per (label, value, url) row, longest for the largest."""
    top = max((value for _, value, _ in rows), default=0) or 1
    room = WIDTH - BAR_LABEL - 34  # the value is written after its bar
    bars = [
        Bar(label, value, url, n * BAR_ROW, round(max(room * value / top, 2), 1))
        for n, (label, value, url) in enumerate(rows)
    ]
    return BarChart(chart_id, title, description, bars, height=max(len(bars), 1) * BAR_ROW)
