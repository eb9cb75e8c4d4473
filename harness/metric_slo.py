"""SLOs on the pipeline's own metrics: ``FUNCTION(METRIC) OP NUMBER`` over the whole load,
or ``FUNCTION(METRIC[WINDOW]) OP NUMBER`` over one window (a fault's name, or ``baseline``).

``expect.metrics`` holds expressions such as ``rate(model_fallback_total) < 5`` or
``max(circuit_breaker_state) == 0``, judged on ``metrics.jsonl``
(:mod:`harness.metrics_scrape`). ``METRIC`` is a sample name (every label set and
service summed), or a name with labels exactly as scraped (``x{reason="timeout"}``).
Functions, over the samples scraped during the load:

* ``rate``: (last − first) / seconds between them, per service and label set, summed (per second);
* ``increase``: last − first, likewise summed;

  for both, a label set that first appears after its service's first scrape counts
  from 0 at that scrape (``prometheus_client`` shows a label set only once it is
  first incremented: its first increments happened inside the load);
* ``max`` / ``min`` / ``last``: of the sum across label sets and services at each scrape.

Over a window, ``rate`` and ``increase`` run from each service's last scrape at or
before the window's start to its first at or after its end (so the increments of the
window's first and last second count; at most one scrape interval more on each side),
``max``/``min``/``last`` over the scrapes inside it.

OP is ``<``, ``<=``, ``>``, ``>=`` or ``==``. No samples: ``unknown``.
"""

from __future__ import annotations

import json
import operator
from collections import defaultdict
from pathlib import Path

from harness.metrics_scrape import METRICS_FILE, parse_expression
from harness.slo import Status, Verdict

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}


def window_unknown(text: str, why: str) -> Verdict:
    """The ``unknown`` verdict of an expression whose window has no span (``why``)."""
    expression = parse_expression(text)
    return Verdict(f"metrics[{text.strip()}]", Status.UNKNOWN, None, f"{expression.op} {expression.bound:g}", why)


def read_scrapes(run_dir: Path) -> list[dict] | None:
    """The scrapes of ``metrics.jsonl`` (a torn line left out); None when there is none."""
    path = Path(run_dir) / METRICS_FILE
    if not path.exists():
        return None
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def _around(scrapes: list[dict], start: float, end: float) -> dict[str, tuple[float, float]]:
    """Per service: ``(last scrape <= start, first scrape >= end)``, ``start``/``end`` where there is none."""
    before: dict[str, float] = {}
    after: dict[str, float] = {}
    for scrape in scrapes:
        service, ts = scrape["service"], scrape["ts"]
        if ts <= start:
            before[service] = max(before.get(service, ts), ts)
        if ts >= end:
            after[service] = min(after.get(service, ts), ts)
    return {s: (before.get(s, start), after.get(s, end)) for s in {scrape["service"] for scrape in scrapes}}


def _series(scrapes: list[dict], metric: str, start: float, end: float,
            spans: dict[str, tuple[float, float]] | None = None) -> dict[str, list[tuple[float, float]]]:
    """Per ``service|sample`` key: ``(ts, value)`` of the matching samples in ``[start, end]``
    (or in the service's own span of ``spans``)."""
    out: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for scrape in scrapes or ():
        low, high = (spans or {}).get(scrape["service"], (start, end))
        if not low <= scrape["ts"] <= high:
            continue
        for name, value in scrape["samples"].items():
            if name == metric or ("{" not in metric and name.split("{")[0] == metric):
                out[f"{scrape['service']}|{name}"].append((scrape["ts"], value))
    return out


def _from_zero(series: dict[str, list[tuple[float, float]]], scrapes: list[dict], start: float,
               end: float, spans: dict[str, tuple[float, float]] | None = None,
               ) -> dict[str, list[tuple[float, float]]]:
    """``series`` with ``(first scrape of the service, 0)`` before each that appeared later."""
    first: dict[str, float] = {}
    for scrape in scrapes:
        low, high = (spans or {}).get(scrape["service"], (start, end))
        if low <= scrape["ts"] <= high:
            first.setdefault(scrape["service"], scrape["ts"])
    out = {}
    for key, points in series.items():
        began = first[key.split("|", 1)[0]]
        out[key] = [(began, 0.0), *points] if points[0][0] > began else points
    return out


def evaluate_metric_slo(text: str, scrapes: list[dict] | None, start: float, end: float) -> Verdict:
    """The verdict of one expression over the scrapes in ``[start, end]`` (epoch seconds:
    the load's, or the window's the expression names; see the module docstring)."""
    name = f"metrics[{text.strip()}]"
    function, metric, op, bound, window = parse_expression(text)
    counter = function in ("rate", "increase")
    spans = _around(scrapes or [], start, end) if window is not None and counter else None
    series = _series(scrapes or [], metric, start, end, spans)
    if not series:
        return Verdict(name, Status.UNKNOWN, None, f"{op} {bound:g}", f"no samples of {metric} were scraped")
    if counter:
        value = 0.0
        for points in _from_zero(series, scrapes or [], start, end, spans).values():
            (t0, v0), (t1, v1) = points[0], points[-1]
            value += (v1 - v0) / (t1 - t0) if function == "rate" and t1 > t0 else 0.0 if function == "rate" else v1 - v0
    else:
        totals: dict[float, float] = defaultdict(float)
        for points in series.values():
            for ts, v in points:
                totals[round(ts)] += v
        ordered = [totals[t] for t in sorted(totals)]
        value = {"max": max, "min": min, "last": lambda xs: xs[-1]}[function](ordered)
    ok = _OPS[op](value, bound)
    return Verdict(name, Status.PASSED if ok else Status.FAILED, value, f"{op} {bound:g}",
                   f"{function}({metric}{f'[{window}]' if window else ''}) {value:.4g} {'is' if ok else 'is not'} {op} {bound:g}")
