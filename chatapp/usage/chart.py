"""Spend per day as a stacked bar chart, drawn on the server as SVG (no script, no CSP hole).

chart_svg() writes the markup itself: a year of stacked bars is thousands of rectangles, which a
template loop renders slower than all the queries behind the page. Every piece of text in it
(model ids are model-controlled) goes through _esc().
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.utils.safestring import SafeString, mark_safe

from chatapp.usage.money import usd_text

WIDTH, HEIGHT = 960, 280
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 14, 30
MAX_X_LABELS = 10


@dataclass(frozen=True)
class Segment:
    y: str
    height: str
    css: str
    title: str


@dataclass
class Bar:
    x: str
    width: str
    segments: list[Segment] = field(default_factory=list)


@dataclass(frozen=True)
class Tick:
    pos: str
    label: str


def _n(value: float) -> str:
    return f"{value:.2f}"


@dataclass(frozen=True)
class Legend:
    name: str
    css: str
    total: Decimal


@dataclass
class Chart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_bottom: int
    bars: list[Bar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    legend: list[Legend]
    empty: bool

    @property
    def mid_x(self) -> int:
        return (self.plot_left + self.plot_right) // 2


def _nice_ceiling(value: Decimal) -> Decimal:
    """Return the smallest 1, 2, 2.5 or 5 × 10^k that is at least `value`."""
    if value <= 0:
        return Decimal(1)
    exponent = value.adjusted()
    for _ in range(2):
        for step in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5)):
            candidate = step.scaleb(exponent)
            if candidate >= value:
                return candidate
        exponent += 1
    return Decimal(10).scaleb(exponent)


def _tick_label(value: Decimal) -> str:
    # Ticks are exact quarters of a 1-2-2.5-5 ceiling: show them without rounding ($7.5).
    text = format(value.normalize(), ",f") if value else "0"
    return f"${text}"


def _css(index: int, name: str, other: str) -> str:
    return "s-other" if name == other else f"s{index % 8}"


def spend_chart(
    *, days: list[date], names: list[str], per_day: dict[date, dict[str, Decimal]], other: str
) -> Chart:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    day_totals = [sum(per_day[d].values(), Decimal(0)) for d in days]
    top = _nice_ceiling(max(day_totals, default=Decimal(0)))
    scale = plot_h / float(top)
    slot = plot_w / max(len(days), 1)
    css = {name: _css(i, name, other) for i, name in enumerate(names)}
    bars = []
    for i, day in enumerate(days):
        bar = Bar(x=_n(LEFT + i * slot + slot * 0.14), width=_n(max(slot * 0.72, 1.0)))
        base = float(TOP + plot_h)
        for name in names:
            value = per_day[day].get(name)
            if not value:
                continue
            h = float(value) * scale
            base -= h
            title = f"{day.isoformat()} · {name} · ${usd_text(value)}"
            bar.segments.append(Segment(y=_n(base), height=_n(h), css=css[name], title=title))
        bars.append(bar)
    y_ticks = [
        Tick(pos=_n(TOP + plot_h - plot_h * n / 4), label=_tick_label(top * n / 4))
        for n in range(5)
    ]
    every = max(1, -(-len(days) // MAX_X_LABELS))
    x_ticks = [
        Tick(pos=_n(LEFT + i * slot + slot / 2), label=f"{day:%b} {day.day}")
        for i, day in enumerate(days)
        if i % every == 0
    ]
    totals = {n: sum((per_day[d].get(n, Decimal(0)) for d in days), Decimal(0)) for n in names}
    legend = [Legend(name=n, css=css[n], total=totals[n]) for n in names]
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        plot_left=LEFT,
        plot_right=WIDTH - RIGHT,
        plot_bottom=TOP + plot_h,
        bars=bars,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        legend=legend,
        empty=not any(day_totals),
    )


def _esc(text: str) -> str:
    # html.escape, not django's escape: same output for str, without the lazy-string wrapper
    # that costs more than the escaping on thousands of bar titles.
    return html.escape(text, quote=True)


def chart_svg(chart: Chart, *, title: str) -> SafeString:
    """Return the chart as inline SVG markup, titled `title` for screen readers."""
    left, right, bottom = chart.plot_left, chart.plot_right, chart.plot_bottom
    parts = [
        f'<svg class="spend-chart" viewBox="0 0 {chart.width} {chart.height}" role="img" '
        'aria-labelledby="chart-title" preserveAspectRatio="xMidYMid meet">',
        f'<title id="chart-title">{_esc(title)}</title><g class="grid">',
    ]
    for t in chart.y_ticks:
        parts.append(
            f'<line x1="{left}" x2="{right}" y1="{t.pos}" y2="{t.pos}"/>'
            f'<text class="y-label" x="{left - 8}" y="{t.pos}" dy="0.32em" '
            f'text-anchor="end">{_esc(t.label)}</text>'
        )
    parts.append('</g><g class="bars">')
    for bar in chart.bars:
        for seg in bar.segments:
            parts.append(
                f'<rect class="{seg.css}" x="{bar.x}" y="{seg.y}" width="{bar.width}" '
                f'height="{seg.height}" rx="1.5"><title>{_esc(seg.title)}</title></rect>'
            )
    parts.append(f'</g><line class="axis" x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}"/>')
    parts.append('<g class="x-labels">')
    for t in chart.x_ticks:
        parts.append(
            f'<text x="{t.pos}" y="{bottom + 18}" text-anchor="middle">{_esc(t.label)}</text>'
        )
    parts.append("</g>")
    if chart.empty:
        parts.append(
            f'<text class="chart-empty" x="{chart.mid_x}" y="120" '
            'text-anchor="middle">No spend in this range</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above went through _esc
