"""Inline SVG step charts for ``report.html``: no JavaScript, no external files.

Each value is drawn as a flat step over its own bucket ``[start, end)``, never as a
point at a bucket's start or centre joined to the next: what happened in a bucket is
drawn where it happened, and nothing appears before its cause.

>>> step_chart(title="p99", series=[Series("p99", "#c33", [(0.0, 0.1, 20.0)])],
...            bands=[], x_max=30, unit="ms")  # doctest: +ELLIPSIS
'<svg ...'
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from harness.reporting.axes import H, LEFT, PLOT_H, PLOT_W, RIGHT, TOP, W, header, nice_step, y_axis, y_grid


@dataclass(frozen=True)
class Series:
    """One line of steps: ``steps`` are ``(start_s, end_s, value or None)`` in time
    order; None breaks the line."""

    label: str
    color: str
    steps: list[tuple[float, float, float | None]]


@dataclass(frozen=True)
class Band:
    """A shaded fault window ``[start, end)``; a vertical line when ``start == end``."""

    start: float
    end: float
    label: str


@dataclass(frozen=True)
class Mark:
    """A moment of the run drawn as a labelled vertical line: a runbook step done, an
    operator note, or detect / mitigate / recover (``kind`` is its CSS class)."""

    t: float
    label: str
    kind: str


def step_chart(*, title: str, series: list[Series], bands: list[Band], x_max: float,
               unit: str, scale: float = 1.0, marks: list[Mark] = ()) -> str:
    """An SVG chart of ``series`` (values multiplied by ``scale``) with ``bands`` shaded
    and ``marks`` drawn as labelled lines."""
    values = [v * scale for s in series for _, _, v in s.steps if v is not None]
    step, y_max = y_axis(values)
    x_max = max(x_max, 1.0)
    plot_w, plot_h = PLOT_W, PLOT_H

    def x(t: float) -> float:
        return LEFT + t / x_max * plot_w

    def y(v: float) -> float:
        return TOP + plot_h - v * scale / y_max * plot_h

    out = header(title)
    for band in bands:
        if band.end > band.start:
            out.append(f'<rect x="{x(band.start):.1f}" y="{TOP}" '
                       f'width="{x(band.end) - x(band.start):.1f}" height="{plot_h}" '
                       f'class="band"><title>{escape(band.label)}</title></rect>')
        else:
            out.append(f'<line x1="{x(band.start):.1f}" x2="{x(band.start):.1f}" y1="{TOP}" '
                       f'y2="{TOP + plot_h}" class="instant"/>')
        out.append(f'<text x="{x(band.start) + 3:.1f}" y="{TOP + 12}" class="band-label">'
                   f'{escape(band.label)}</text>')
    for n, mark in enumerate(marks):
        row = TOP + plot_h - 4 - 12 * (n % 4)
        out.append(f'<line x1="{x(mark.t):.1f}" x2="{x(mark.t):.1f}" y1="{TOP}" y2="{TOP + plot_h}" '
                   f'class="mark {escape(mark.kind)}"><title>{escape(mark.label)}</title></line>'
                   f'<text x="{x(mark.t) + 3:.1f}" y="{row}" class="mark-label {escape(mark.kind)}">'
                   f'{escape(mark.label)}</text>')
    out += y_grid(step, y_max, lambda shown: y(shown / scale), unit)
    x_step = nice_step(x_max)
    for i in range(int(x_max // x_step) + 1):
        out.append(f'<text x="{x(i * x_step):.1f}" y="{H - 10}" class="tick" '
                   f'text-anchor="middle">{i * x_step:g}s</text>')
    for n, s in enumerate(series):
        out.append(f'<path d="{_path(s.steps, x, y)}" fill="none" stroke="{escape(s.color)}" '
                   f'stroke-width="1.6"/><text x="{W - RIGHT - 60 * (len(series) - n)}" y="18" '
                   f'class="legend" fill="{escape(s.color)}">{escape(s.label)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _path(steps: list[tuple[float, float, float | None]], x, y) -> str:
    """``M`` to a step's start, ``H`` along it, ``V`` to the next value where it changes;
    a gap or a None lifts the pen. Equal neighbours merge into one segment."""
    parts, last_end, last_value = [], None, None
    for start, end, v in steps:
        if v is None:
            last_end = None
            continue
        if last_end is None or abs(start - last_end) > 1e-9:
            parts.append(f"M{x(start):.1f},{y(v):.1f}")
        elif v != last_value:
            parts.append(f"V{y(v):.1f}")
        elif parts and parts[-1].startswith("H"):
            parts.pop()
        parts.append(f"H{x(end):.1f}")
        last_end, last_value = end, v
    return " ".join(parts)
