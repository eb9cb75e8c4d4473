"""What the inline SVG charts share: the canvas, a nice axis step, the y grid and the header.

>>> nice_step(70.0), y_axis([0.0, 70.0])
(20, (20, 80))
"""

from __future__ import annotations

import math
from html import escape
from typing import Callable

W, H = 920, 230
LEFT, RIGHT, TOP, BOTTOM = 60, 16, 30, 30
PLOT_W, PLOT_H = W - LEFT - RIGHT, H - TOP - BOTTOM


def nice_step(span: float) -> float:
    """A step of 1, 2, 2.5 or 5 times a power of ten that cuts ``span`` into at most 4."""
    raw = span / 4 if span > 0 else 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)


def y_axis(values: list[float]) -> tuple[float, float]:
    """``(step, top)`` of a y axis from 0 that holds every one of ``values`` (shown units)."""
    step = nice_step(max(values, default=0.0))
    return step, step * max(1, math.ceil(max(values, default=0.0) / step))


def y_grid(step: float, top: float, y_px: Callable[[float], float], unit: str) -> list[str]:
    """A grid line and a tick label at every ``step`` from 0 to ``top``; ``y_px`` maps a
    shown value to its pixel row."""
    out = []
    for i in range(int(round(top / step)) + 1):
        v = i * step
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y_px(v):.1f}" y2="{y_px(v):.1f}" '
                   f'class="grid"/><text x="{LEFT - 6}" y="{y_px(v) + 4:.1f}" class="tick" '
                   f'text-anchor="end">{v:g}{escape(unit)}</text>')
    return out


def header(title: str) -> list[str]:
    """The opening tag and the title of a chart."""
    return [f'<svg viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}">',
            f'<text x="{LEFT}" y="18" class="title">{escape(title)}</text>']
