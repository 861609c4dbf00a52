"""Small charts drawn on the server as inline SVG.

The monthly report is printed and turned into a PDF by WeasyPrint, which runs no
JavaScript, so its charts cannot be ECharts; the index panel uses the same bars so that it
needs no script either. Each chart is an ``<svg role="img">`` with a title naming what it
shows, and every figure in it is also in a table beside it: the chart only helps the eye.

Labels are escaped; numbers are written with a fixed number of decimals.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

#: Series colours: the site's navy, gold, grey and a red for what went wrong.
COLOURS = ("#0b3d6e", "#b7791f", "#6b7685", "#b42318")
INK = "#1b1f24"
MUTED = "#4a5361"
GRID = "#d5dbe3"
FONT = "'WenQuanYi Micro Hei', 'Noto Sans CJK SC', 'Noto Sans SC', sans-serif"


def _num(x: float) -> str:
    return f"{x:.1f}"


def _label(value: float | None, places: int) -> str:
    if value is None:
        return "—"
    return f"{value:.{places}f}"


def _nice_max(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above ``value`` (an axis that reads well)."""
    if value <= 0:
        return 1.0
    power = 10 ** len(str(int(value))) / 10 if value >= 1 else 1.0
    while power > value:
        power /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def _steps(scale_max: float) -> int:
    """How many gridline intervals make round tick values: 5 (0, 1, 2…), 4 or 2."""
    for steps in (5, 4, 2):
        tick = scale_max / steps
        if round(tick, 1) == tick:
            return steps
    return 4


def _svg(width: int, height: int, title: str, body: list[str]) -> SafeString:
    return mark_safe(  # noqa: S308 - every label in ``body`` went through escape()
        f'<svg xmlns="http://www.w3.org/2000/svg" class="svg-chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'font-family="{escape(FONT)}" font-size="12" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def _legend(labels: Sequence[str], x: float, y: float) -> list[str]:
    parts = []
    for i, label in enumerate(labels):
        colour = COLOURS[i % len(COLOURS)]
        parts.append(
            f'<rect x="{_num(x)}" y="{_num(y - 9)}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{_num(x + 14)}" y="{_num(y)}" fill="{INK}">{escape(label)}</text>'
        )
        x += 24 + 12 * max(len(label), 2)
    return parts


def bar_chart(
    rows: Sequence[tuple[str, Sequence[float | None]]],
    series: Sequence[str],
    *,
    title: str,
    max_value: float | None = None,
    places: int = 0,
    width: int = 560,
    label_width: int = 150,
) -> SafeString:
    """Horizontal bars: one group per row (its label on the left), one bar per series.

    ``rows`` is ``[(label, [value per series])]``; a value of None draws no bar and says —.
    """
    bar_h, gap = 14, 10
    top = 24 if len(series) > 1 else 8
    group_h = bar_h * len(series) + gap
    height = top + group_h * max(len(rows), 1) + 6
    values = [v for _label, vs in rows for v in vs if v is not None]
    scale_max = max_value if max_value is not None else _nice_max(max(values, default=0))
    plot_w = width - label_width - 60
    body: list[str] = []
    if len(series) > 1:
        body += _legend(series, label_width, 14)
    body.append(
        f'<line x1="{label_width}" y1="{top - 4}" x2="{label_width}" y2="{height - 4}" '
        f'stroke="{MUTED}" stroke-width="1"/>'
    )
    for r, (label, vs) in enumerate(rows):
        y0 = top + r * group_h
        text = label if len(label) <= 18 else label[:17] + "…"
        body.append(
            f'<text x="{label_width - 6}" y="{_num(y0 + group_h / 2 - 2)}" text-anchor="end" '
            f'fill="{INK}">{escape(text)}</text>'
        )
        for s, value in enumerate(vs):
            y = y0 + s * bar_h
            colour = COLOURS[s % len(COLOURS)]
            w = 0.0 if value is None else max(0.0, min(value, scale_max)) / scale_max * plot_w
            if w > 0:
                body.append(
                    f'<rect x="{label_width}" y="{_num(y)}" width="{_num(w)}" '
                    f'height="{bar_h - 2}" fill="{colour}"/>'
                )
            body.append(
                f'<text x="{_num(label_width + w + 4)}" y="{_num(y + bar_h - 4)}" '
                f'fill="{MUTED}" font-size="11">{escape(_label(value, places))}</text>'
            )
    return _svg(width, height, title, body)


def line_chart(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    title: str,
    width: int = 640,
    height: int = 220,
) -> SafeString:
    """Lines over categories (months): one line per ``(label, values)`` series, with a
    legend, a value axis from 0 and every category labelled below."""
    left, right, top, bottom = 44, 12, 28, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _l, vs in series for v in vs if v is not None]
    scale_max = _nice_max(max(values, default=0))
    n = max(len(categories), 1)
    step = plot_w / n

    def x_of(i: int) -> float:
        return left + step * (i + 0.5)

    def y_of(v: float) -> float:
        return top + plot_h - (v / scale_max) * plot_h

    body = _legend([label for label, _vs in series], left, 14)
    steps = _steps(scale_max)
    for k in range(steps + 1):
        v = scale_max * k / steps
        y = y_of(v)
        body.append(
            f'<line x1="{left}" y1="{_num(y)}" x2="{width - right}" y2="{_num(y)}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{left - 4}" y="{_num(y + 4)}" text-anchor="end" fill="{MUTED}" '
            f'font-size="10">{escape(f"{v:g}")}</text>'
        )
    for i, category in enumerate(categories):
        body.append(
            f'<text x="{_num(x_of(i))}" y="{height - bottom + 16}" text-anchor="middle" '
            f'fill="{INK}" font-size="10">{escape(category)}</text>'
        )
    for s, (_label_text, vs) in enumerate(series):
        colour = COLOURS[s % len(COLOURS)]
        points = [(x_of(i), y_of(v)) for i, v in enumerate(vs) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{_num(x)},{_num(y)}" for x, y in points)
            body.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
        for x, y in points:
            body.append(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="3" fill="{colour}"/>')
    return _svg(width, height, title, body)
