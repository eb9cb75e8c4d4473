"""SLOs on the pipeline's own metrics: ``FUNCTION(METRIC) OP NUMBER`` over the whole load.

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


def _series(scrapes: list[dict], metric: str, start: float, end: float) -> dict[str, list[tuple[float, float]]]:
    """Per ``service|sample`` key: ``(ts, value)`` of the matching samples in ``[start, end]``."""
    out: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for scrape in scrapes or ():
        if not start <= scrape["ts"] <= end:
            continue
        for name, value in scrape["samples"].items():
            if name == metric or ("{" not in metric and name.split("{")[0] == metric):
                out[f"{scrape['service']}|{name}"].append((scrape["ts"], value))
    return out


def _from_zero(series: dict[str, list[tuple[float, float]]], scrapes: list[dict], start: float,
               end: float) -> dict[str, list[tuple[float, float]]]:
    """``series`` with ``(first scrape of the service, 0)`` before each that appeared later."""
    first: dict[str, float] = {}
    for scrape in scrapes:
        if start <= scrape["ts"] <= end:
            first.setdefault(scrape["service"], scrape["ts"])
    out = {}
    for key, points in series.items():
        began = first[key.split("|", 1)[0]]
        out[key] = [(began, 0.0), *points] if points[0][0] > began else points
    return out


def evaluate_metric_slo(text: str, scrapes: list[dict] | None, start: float, end: float) -> Verdict:
    """The verdict of one expression over the scrapes in ``[start, end]`` (epoch seconds)."""
    name = f"metrics[{text.strip()}]"
    function, metric, op, bound = parse_expression(text)
    series = _series(scrapes or [], metric, start, end)
    if not series:
        return Verdict(name, Status.UNKNOWN, None, f"{op} {bound:g}", f"no samples of {metric} were scraped")
    if function in ("rate", "increase"):
        value = 0.0
        for points in _from_zero(series, scrapes or [], start, end).values():
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
                   f"{function}({metric}) {value:.4g} {'is' if ok else 'is not'} {op} {bound:g}")
