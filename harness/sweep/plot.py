"""Inline SVG for ``sweep.html``: one chart per SLO, observed value against the parameter.

Each run is a dot (green: the SLO held, red: it did not) at its tried value; the SLO's
bound is a dashed line and its edge (the pair of tried values where the verdict
changes) a shaded band labelled with the breaking point. No JavaScript.

>>> svg = slo_chart(title="error_rate", unit="%", scale=100, x_range=(50, 2000), x_label="ms",
...                 dots=[(50, 0.0, True), (2000, 1.0, False)], bound=0.1, edge=(50, 2000, "breaks at 2000"))
>>> svg.startswith('<svg') and svg.count('<circle') == 2
True
"""

from __future__ import annotations

import math
from html import escape

_W, _H = 920, 230
_LEFT, _RIGHT, _TOP, _BOTTOM = 60, 16, 30, 30
_PASS, _FAIL = "#16a34a", "#dc2626"


def _nice_step(span: float) -> float:
    raw = span / 4 if span > 0 else 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)


def slo_chart(*, title: str, unit: str, scale: float, x_range: tuple[float, float], x_label: str,
              dots: list[tuple[float, float | None, bool]], bound: float | None,
              edge: tuple[float, float, str] | None) -> str:
    """An SVG chart: ``dots`` are ``(value, observed or None, held)``; ``bound`` and
    observed values are multiplied by ``scale``; ``edge`` is ``(a, b, label)``."""
    x_low, x_high = x_range
    values = [v * scale for _, v, _ in dots if v is not None] + ([bound * scale] if bound is not None else [])
    y_step = _nice_step(max(values, default=0.0))
    y_max = y_step * max(1, math.ceil(max(values, default=0.0) / y_step))
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def x(v: float) -> float:
        return _LEFT + (v - x_low) / (x_high - x_low) * plot_w

    def y(v: float) -> float:
        return _TOP + plot_h - v * scale / y_max * plot_h

    out = [f'<svg viewBox="0 0 {_W} {_H}" role="img" aria-label="{escape(title)}">',
           f'<text x="{_LEFT}" y="18" class="title">{escape(title)}</text>']
    if edge is not None:
        a, b, label = edge
        out.append(f'<rect x="{x(a):.1f}" y="{_TOP}" width="{max(x(b) - x(a), 1.0):.1f}" '
                   f'height="{plot_h}" class="band"><title>{escape(label)}</title></rect>'
                   f'<text x="{x(a) + 3:.1f}" y="{_TOP + 12}" class="band-label">{escape(label)}</text>')
    for i in range(int(round(y_max / y_step)) + 1):
        v = i * y_step
        out.append(f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y(v / scale):.1f}" y2="{y(v / scale):.1f}" '
                   f'class="grid"/><text x="{_LEFT - 6}" y="{y(v / scale) + 4:.1f}" class="tick" '
                   f'text-anchor="end">{v:g}{escape(unit)}</text>')
    x_step = _nice_step(x_high - x_low)
    tick = math.ceil(x_low / x_step) * x_step
    while tick <= x_high + 1e-9:
        out.append(f'<text x="{x(tick):.1f}" y="{_H - 10}" class="tick" text-anchor="middle">'
                   f'{tick:g}{escape(x_label)}</text>')
        tick += x_step
    if bound is not None:
        out.append(f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y(bound):.1f}" y2="{y(bound):.1f}" '
                   f'class="instant"><title>bound {bound * scale:g}{escape(unit)}</title></line>')
    for value, observed, held in dots:
        at_y = y(observed) if observed is not None else _TOP + plot_h
        color = _PASS if held else _FAIL
        shown = "none" if observed is None else f"{observed * scale:g}{unit}"
        out.append(f'<circle cx="{x(value):.1f}" cy="{at_y:.1f}" r="4.5" fill="{color}">'
                   f'<title>{value:g}{escape(x_label)}: {escape(shown)}</title></circle>')
    out.append("</svg>")
    return "\n".join(out)
