"""Whether the answers stayed right: the golden answers of a run, per window.

``golden-answers.jsonl`` (:mod:`harness.timeline.golden`) read into columns and placed
on the run's clock (seconds from load start, by when each golden request was sent).
For a window ``[start, end)``:

* ``golden_accuracy``: right answers / golden requests sent in the window;
* ``silent_wrong_rate``: answers that were 200, not flagged and not right / the same;
* ``prediction_drift_psi`` / ``prediction_drift_ks``: PSI and KS (:mod:`harness.drift`)
  of the window's values of the pipeline's first ``answers.values`` field against the
  baseline's (``<field>_drift_psi`` / ``_ks`` for every declared field, in the report);
  only 200 answers with a number count. The baseline is what the healthy pipeline
  answers to the *same* golden requests: the cases' known answers (``expected``), so a
  healthy window drifts by exactly 0 whichever cases it happened to replay; a field
  the cases give no known answer for is compared with the baseline window's answers.

Every metric is None for a window without golden answers (no evidence either way).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import orjson

from harness.drift import ks, psi
from harness.timeline.golden import GOLDEN_ANSWERS_FILE, parse_golden_answer

METRICS = ("golden_accuracy", "silent_wrong_rate", "prediction_drift_psi", "prediction_drift_ks")


@dataclass(frozen=True, eq=False)
class GoldenLog:
    """The golden answers as columns, sorted by ``at``."""

    at: np.ndarray
    """Seconds from load start when each was sent."""
    right: np.ndarray
    silent_wrong: np.ndarray
    values: dict[str, np.ndarray]
    """Declared value -> float per answer (NaN: absent, or not a 200)."""
    expected: dict[str, np.ndarray]
    """Declared value -> the case's known answer (NaN: the case gives none)."""
    torn: int = 0

    def __len__(self) -> int:
        return len(self.at)

    def span(self, start: float, end: float) -> slice:
        """The answers sent in ``[start, end)``."""
        lo, hi = np.searchsorted(self.at, [start, end], side="left")
        return slice(int(lo), int(hi))


def read_golden_log(run_dir: Path, zero: float,
                    injections: Iterable[tuple[float, float]] = ()) -> GoldenLog | None:
    """The run's golden answers placed at seconds from ``zero``; None when it replayed none.
    The value fields are those the answers carry (the pipeline's ``answers.values``).

    Placed like the load's requests (``harness.analysis.place``): at when they were sent,
    except one still unanswered when a fault's call began (``injections``: its ``(C, I)``),
    which counts from the fault's I on."""
    path = Path(run_dir) / GOLDEN_ANSWERS_FILE
    if not path.exists():
        return None
    answers, torn = [], 0
    for line in path.read_bytes().splitlines():
        try:
            answers.append(parse_golden_answer(orjson.loads(line)))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            torn += 1  # a line cut by a crash
    answers.sort(key=lambda a: a.ts)
    value_names = list(answers[0].values) if answers else []

    def value(a, name: str) -> float:
        v = a.values.get(name)
        return float(v) if a.status == 200 and isinstance(v, (int, float)) and math.isfinite(v) else math.nan

    at = np.array([a.ts - zero for a in answers], dtype=float)
    end = at + np.array([a.service_ms for a in answers], dtype=float) / 1000.0
    spans = np.asarray(sorted(set(injections)), dtype=np.float64).reshape(-1, 2)
    if len(spans) and len(at):
        latest = np.searchsorted(spans[:, 0], end, side="right") - 1
        cut = spans[np.maximum(latest, 0), 1]
        moved = (latest >= 0) & (cut > at)
        at[moved] = cut[moved]
    order = np.argsort(at, kind="stable")
    answers = [answers[i] for i in order]
    at = at[order]
    return GoldenLog(at=at,
                     right=np.array([a.right for a in answers], dtype=bool),
                     silent_wrong=np.array([a.silent_wrong for a in answers], dtype=bool),
                     values={n: np.array([value(a, n) for a in answers], dtype=float) for n in value_names},
                     expected={n: np.array([_known(a.expected.get(n)) for a in answers], dtype=float)
                               for n in value_names},
                     torn=torn)


def _known(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else math.nan


def window_correctness(log: GoldenLog | None, start: float, end: float,
                       baseline: tuple[float, float]) -> dict[str, Any]:
    """The metrics of the module docstring over ``[start, end)``; empty without a log."""
    if log is None:
        return {}
    span = log.span(start, end)
    n = span.stop - span.start
    out: dict[str, Any] = {"golden_requests": n,
                           "golden_accuracy": float(log.right[span].mean()) if n else None,
                           "silent_wrong_rate": float(log.silent_wrong[span].mean()) if n else None}
    base = log.span(*baseline)
    for k, (name, column) in enumerate(log.values.items()):
        window, known = column[span], log.expected[name][span]
        reference = known[np.isfinite(window)] if np.isfinite(known).all() else column[base]
        prefix = "prediction" if k == 0 else name
        out[f"{prefix}_drift_psi"] = psi(reference, window)
        out[f"{prefix}_drift_ks"] = ks(reference, window)
        if k == 0 and prefix != name:
            out[f"{name}_drift_psi"], out[f"{name}_drift_ks"] = out["prediction_drift_psi"], out["prediction_drift_ks"]
    return out


def correctness_steps(log: GoldenLog | None, duration_s: float,
                      step_s: float = 1.0) -> dict[str, list[tuple[float, float, float | None]]]:
    """``golden_accuracy`` and ``silent_wrong_rate`` per ``step_s`` bucket over the load,
    as ``(start, end, value or None)`` steps for the HTML timeline; empty without a log."""
    if log is None or not len(log):
        return {}
    out: dict[str, list[tuple[float, float, float | None]]] = {"golden_accuracy": [], "silent_wrong_rate": []}
    start = 0.0
    while start < duration_s:
        end = min(start + step_s, duration_s)
        span = log.span(start, end)
        n = span.stop - span.start
        out["golden_accuracy"].append((start, end, float(log.right[span].mean()) if n else None))
        out["silent_wrong_rate"].append((start, end, float(log.silent_wrong[span].mean()) if n else None))
        start = end
    return out
