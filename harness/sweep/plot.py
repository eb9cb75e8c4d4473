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

from harness.reporting.axes import H, LEFT, PLOT_H, PLOT_W, RIGHT, TOP, W, header, nice_step, y_axis, y_grid

_PASS, _FAIL = "#16a34a", "#dc2626"


def slo_chart(*, title: str, unit: str, scale: float, x_range: tuple[float, float], x_label: str,
              dots: list[tuple[float, float | None, bool]], bound: float | None,
              edge: tuple[float, float, str] | None) -> str:
    """An SVG chart: ``dots`` are ``(value, observed or None, held)``; ``bound`` and
    observed values are multiplied by ``scale``; ``edge`` is ``(a, b, label)``."""
    x_low, x_high = x_range
    values = [v * scale for _, v, _ in dots if v is not None] + ([bound * scale] if bound is not None else [])
    y_step, y_max = y_axis(values)
    plot_w, plot_h = PLOT_W, PLOT_H

    def x(v: float) -> float:
        return LEFT + (v - x_low) / (x_high - x_low) * plot_w

    def y(v: float) -> float:
        return TOP + plot_h - v * scale / y_max * plot_h

    out = header(title)
    if edge is not None:
        a, b, label = edge
        out.append(f'<rect x="{x(a):.1f}" y="{TOP}" width="{max(x(b) - x(a), 1.0):.1f}" '
                   f'height="{plot_h}" class="band"><title>{escape(label)}</title></rect>'
                   f'<text x="{x(a) + 3:.1f}" y="{TOP + 12}" class="band-label">{escape(label)}</text>')
    out += y_grid(y_step, y_max, lambda shown: y(shown / scale), unit)
    x_step = nice_step(x_high - x_low)
    tick = math.ceil(x_low / x_step) * x_step
    while tick <= x_high + 1e-9:
        out.append(f'<text x="{x(tick):.1f}" y="{H - 10}" class="tick" text-anchor="middle">'
                   f'{tick:g}{escape(x_label)}</text>')
        tick += x_step
    if bound is not None:
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y(bound):.1f}" y2="{y(bound):.1f}" '
                   f'class="instant"><title>bound {bound * scale:g}{escape(unit)}</title></line>')
    for value, observed, held in dots:
        at_y = y(observed) if observed is not None else TOP + plot_h
        color = _PASS if held else _FAIL
        shown = "none" if observed is None else f"{observed * scale:g}{unit}"
        out.append(f'<circle cx="{x(value):.1f}" cy="{at_y:.1f}" r="4.5" fill="{color}">'
                   f'<title>{value:g}{escape(x_label)}: {escape(shown)}</title></circle>')
    out.append("</svg>")
    return "\n".join(out)
