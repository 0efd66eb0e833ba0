"""Charts as SVG made on the server: no JavaScript, nothing fetched, text in the report's font.

Each function returns an ``<svg>`` element as markup, safe to put in a template as is (every
label is escaped here). Sizes are in CSS pixels; the print stylesheet scales them to the column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from markupsafe import Markup

#: Colours of the aging buckets, from current (calm) to the oldest (alarming).
BUCKET_COLOURS = ("#4e9a6f", "#a4c46a", "#f2c14e", "#f08a3c", "#d9534f", "#8e2424")
#: Colours of lines and plain series.
SERIES_COLOURS = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b83280")
FONT = "Noto Sans CJK SC"


@dataclass(frozen=True)
class Series:
    label: str
    #: One value per category; None where there is no figure (a gap, never a zero).
    values: Sequence[Decimal | float | None]
    colour: str


def _number(value: Decimal | float) -> str:
    return f"{float(value):.1f}"


def _tick(value: float) -> str:
    """A short axis label: 1.2M, 350k, 75."""
    magnitude = abs(value)
    if magnitude >= 1_000_000:
        return f"{value / 1_000_000:.3g}M"
    if magnitude >= 1_000:
        return f"{value / 1_000:.4g}k"
    return f"{value:.4g}"


def _nice_max(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above ``value``."""
    if value <= 0:
        return 1.0
    power = 10 ** len(str(int(value))) / 10 if value >= 1 else 1.0
    # four grid steps: small counts get whole-number ticks
    for step in (1, 2, 2.5, 5, 10) if power >= 10 else (1, 2, 4, 8, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _text(
    x: float, y: float, content: str, size: int = 9, anchor: str = "start", **extra: str
) -> str:
    attrs = "".join(f' {key.replace("_", "-")}="{value}"' for key, value in extra.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-family="{FONT}" font-size="{size}" '
        f'text-anchor="{anchor}" fill="#222"{attrs}>{escape(content)}</text>'
    )


def _legend(series: Sequence[Series], x: float, y: float, width: float) -> list[str]:
    parts, cursor, line = [], x, y
    for item in series:
        room = 18 + 7 * len(item.label)
        if cursor + room > x + width and cursor > x:
            cursor, line = x, line + 14
        parts.append(f'<rect x="{cursor:.1f}" y="{line - 8:.1f}" width="10" height="10" '
                     f'fill="{item.colour}"/>')  # fmt: skip
        parts.append(_text(cursor + 14, line, item.label, 8))
        cursor += room
    return parts


def _axes(
    categories: Sequence[str],
    top: float,
    left: float,
    plot_w: float,
    plot_h: float,
    high: float,
    floor: float = 0.0,
    baseline: bool = True,
) -> list[str]:
    """Five grid lines with their figures from ``floor`` to ``high``, the category labels, and
    (for bars) a darker base line."""
    parts = []
    span = (high - floor) or 1.0
    for i in range(5):
        value = floor + span * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
                     f'stroke="#ddd" stroke-width="0.6"/>')  # fmt: skip
        parts.append(_text(left - 4, y + 3, _tick(value), 8, "end"))
    step = plot_w / max(len(categories), 1)
    for i, label in enumerate(categories):
        parts.append(_text(left + step * (i + 0.5), top + plot_h + 12, label, 8, "middle"))
    if baseline:
        parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" '
                     f'y2="{top + plot_h}" stroke="#555" stroke-width="0.8"/>')  # fmt: skip
    return parts


def _svg(width: int, height: int, title: str, parts: list[str]) -> Markup:
    body = "".join(parts)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img"><title>{escape(title)}</title>{body}</svg>'
    )


def stacked_bars(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    width: int = 640,
    height: int = 230,
) -> Markup:
    """Vertical bars, one per category, each stacked from the series' values (bottom first)."""
    left, top, right = 52, 10, 8
    legend_h = 18 * (1 + (sum(18 + 7 * len(s.label) for s in series) // (width - left)))
    plot_w, plot_h = width - left - right, height - top - 18 - legend_h
    # negative amounts (credits) are not drawn, so they do not count towards the bar's height
    totals = [
        sum(max(float(s.values[i] or 0), 0.0) for s in series) for i in range(len(categories))
    ]
    high = _nice_max(max(totals, default=0))
    parts = _axes(categories, top, left, plot_w, plot_h, high)
    step = plot_w / max(len(categories), 1)
    bar = step * 0.62
    for i in range(len(categories)):
        base = top + plot_h
        for item in series:
            value = float(item.values[i] or 0)
            if value <= 0:
                continue
            h = plot_h * value / high
            base -= h
            parts.append(
                f'<rect x="{left + step * i + (step - bar) / 2:.1f}" y="{base:.1f}" '
                f'width="{bar:.1f}" height="{h:.1f}" fill="{item.colour}"/>'
            )
    parts += _legend(series, left, height - legend_h + 10, plot_w)
    return _svg(width, height, title, parts)


def line_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    width: int = 640,
    height: int = 200,
    low: float | None = None,
) -> Markup:
    """Lines through each series' values, with a dot and the figure at every point; a missing
    value breaks the line."""
    left, top, right = 52, 14, 8
    legend_h = 18
    plot_w, plot_h = width - left - right, height - top - 18 - legend_h
    values = [float(v) for s in series for v in s.values if v is not None]
    floor = min([0.0, *values]) if low is None else low
    high = _nice_max(max(values, default=0) - floor) + floor if values else 1.0
    span = (high - floor) or 1.0
    parts = _axes(categories, top, left, plot_w, plot_h, high, floor, baseline=False)
    step = plot_w / max(len(categories), 1)
    for item in series:
        points: list[tuple[float, float, float]] = []
        for i, value in enumerate(item.values):
            if value is None:
                points.append((-1, -1, 0))
                continue
            x = left + step * (i + 0.5)
            y = top + plot_h - plot_h * (float(value) - floor) / span
            points.append((x, y, float(value)))
        segment: list[str] = []
        for x, y, _ in [*points, (-1, -1, 0)]:
            if x < 0:
                if len(segment) > 1:
                    parts.append(f'<polyline points="{" ".join(segment)}" fill="none" '
                                 f'stroke="{item.colour}" stroke-width="1.6"/>')  # fmt: skip
                segment = []
            else:
                segment.append(f"{x:.1f},{y:.1f}")
        for x, y, value in points:
            if x >= 0:
                parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.2" fill="{item.colour}"/>')
                parts.append(_text(x, y - 5, _number(value), 7, "middle"))
    parts += _legend(series, left, height - legend_h + 10, plot_w)
    return _svg(width, height, title, parts)
