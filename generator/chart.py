"""The home page's overview chart: articles per month as an inline SVG, drawn
at build time (no script needed to see it), with key events marked.

Every month with articles is a link to its month page; every event marker
is a link to the event in the timeline. Colours come from CSS classes, so
the chart follows the page's light or dark scheme.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Callable, Mapping, Sequence

from generator.events import Event

BAR = 20  # width of one month, in SVG units
LEFT = 34  # room for the y-axis labels
ROW = 18  # height of one row of event markers
PLOT = 120  # height of the bars' area
BOTTOM = 40  # room for month and year labels


@dataclass(frozen=True)
class ChartMonth:
    year: int
    month: int
    count: int
    href: str | None  # None: no month page (no articles)


@dataclass(frozen=True)
class ChartEvent:
    event: Event
    href: str


def month_range(first: tuple[int, int], last: tuple[int, int]) -> list[tuple[int, int]]:
    months = []
    year, month = first
    while (year, month) <= last:
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def chart_months(counts: Mapping[tuple[int, int], int], first: tuple[int, int],
                 last: tuple[int, int], href: Callable[[int, int], str]) -> list[ChartMonth]:
    """One entry per calendar month from `first` to `last` (widened to the data)."""
    if counts:
        first = min(first, min(counts))
        last = max(last, max(counts))
    return [ChartMonth(y, m, counts.get((y, m), 0), href(y, m) if counts.get((y, m)) else None)
            for y, m in month_range(first, last)]


def _nice_max(value: int) -> int:
    """A round top for the y axis, at least `value`."""
    if value <= 5:
        return max(value, 1)
    step = 1
    while step * 10 < value:
        step *= 10
    for factor in (1, 2, 2.5, 5, 10):
        top = int(step * factor)
        if top >= value:
            return top
    return value


def render_svg(months: Sequence[ChartMonth], events: Sequence[ChartEvent],
               title_id: str = "chart-title") -> str:
    """The chart's SVG markup (safe to insert into the page as is)."""
    if not months:
        return ""
    width = LEFT + BAR * len(months) + 6
    index = {(m.year, m.month): i for i, m in enumerate(months)}
    markers = _place_markers(events, index)
    head = 8 + ROW * max([row + 1 for _, _, row in markers], default=0)
    height = head + PLOT + BOTTOM
    base = head + PLOT
    top = _nice_max(max(m.count for m in months))
    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="group" aria-labelledby="{title_id}" '
           'xmlns="http://www.w3.org/2000/svg">']
    # Axis and grid.
    for value in (top, top // 2) if top > 1 else (top,):
        y = base - PLOT * value / top
        out.append(f'<line class="grid" x1="{LEFT}" x2="{width - 4}" y1="{y:.1f}" '
                   f'y2="{y:.1f}"/><text class="axis" x="{LEFT - 4}" y="{y + 4:.1f}" '
                   f'text-anchor="end">{value}</text>')
    out.append(f'<line class="base" x1="{LEFT}" x2="{width - 4}" y1="{base}" y2="{base}"/>')
    # Bars: the whole column is the link target, so small months are easy to hit.
    for i, m in enumerate(months):
        x = LEFT + i * BAR
        label = f"{m.year}年{m.month}月：{m.count} 篇"
        h = PLOT * m.count / top
        bar = (f'<rect class="bar" x="{x + 3}" y="{base - h:.1f}" width="{BAR - 6}" '
               f'height="{h:.1f}"/>' if m.count else "")
        if m.href:
            out.append(f'<a href="{escape(m.href)}" aria-label="{label}"><title>{label}</title>'
                       f'<rect class="hit" x="{x}" y="{head}" width="{BAR}" height="{PLOT}"/>'
                       f'{bar}</a>')
        else:
            out.append(f'<g><title>{label}</title>{bar}</g>')
        if m.month == 1 or i == 0:
            out.append(f'<text class="year" x="{x + 1}" y="{base + 32}">{m.year}</text>'
                       f'<line class="tick" x1="{x}" x2="{x}" y1="{base}" y2="{base + 20}"/>')
        if m.month in (1, 4, 7, 10):
            out.append(f'<text class="axis" x="{x + BAR / 2}" y="{base + 14}" '
                       f'text-anchor="middle">{m.month}</text>')
    # Event markers: a line through the plot and a numbered flag above it;
    # flags that would overlap go on a higher row.
    for number, (item, mx, row) in enumerate(markers, start=1):
        label = f"{_day(item.event.day)}：{item.event.title}"
        cy = head - 10 - ROW * row
        out.append(f'<a class="event" href="{escape(item.href)}" aria-label="{number}. '
                   f'{escape(label)}"><title>{escape(label)}</title>'
                   f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{cy + 8}" y2="{base}"/>'
                   f'<circle cx="{mx:.1f}" cy="{cy}" r="8"/>'
                   f'<text x="{mx:.1f}" y="{cy + 3.5}" text-anchor="middle">{number}</text></a>')
    out.append("</svg>")
    return "".join(out)


def _place_markers(events: Sequence[ChartEvent], index: Mapping[tuple[int, int], int]
                   ) -> list[tuple[ChartEvent, float, int]]:
    """(event, x, row) for the events inside the chart's months."""
    placed: list[tuple[ChartEvent, float, int]] = []
    row_ends: list[float] = []
    for item in events:
        day = item.event.day
        i = index.get((day.year, day.month))
        if i is None:
            continue
        days = calendar.monthrange(day.year, day.month)[1]
        x = LEFT + (i + (day.day - 0.5) / days) * BAR
        row = next((r for r, end in enumerate(row_ends) if end <= x - 17), len(row_ends))
        if row == len(row_ends):
            row_ends.append(x)
        row_ends[row] = x
        placed.append((item, x, row))
    return placed


def _day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"
