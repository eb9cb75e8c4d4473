"""Regression between two runs of a scenario: their comparable figures and the checks of
``run --baseline RUN_DIR --max-regression 20%``.

A run's **figures** are read from its ``report.json`` (so any two runs, old ones too,
compare): each SLO's observed value (``slo:NAME``), the error rate and latency
percentiles of the whole load (``window:overall``) and of every named window (the
baseline and each fault's, ``window:NAME``), and each fault's recovery time
(``fault:NAME``).

A **regression check** holds a figure of the new run to the baseline's: recovery time
of each fault, error rate and p99 latency of the whole load and of each fault's window.
All three are "lower is better". The change is measured against the baseline value, but
never against less than a floor (``FLOORS``: 1 percentage point of error rate, 10 ms of
latency, 1 s of recovery), so that 0 errors becoming 1 is not an infinite regression::

    change = (new - old) / max(old, floor)      regressed when change > max_regression

A fault that recovered in the baseline and did not recover now is regressed; a figure
either run lacks (a fault only one of them has, a window without requests) is
``unknown`` and regresses nothing. The verdict is ``regressed`` when any check regressed,
else ``passed``. It is separate from the run's own SLO verdict (see the CLI's exit codes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FLOORS = {"error_rate": 0.01, "p99_ms": 10.0, "recovery_time_s": 1.0}
"""The least baseline value a change is measured against, per metric."""
WINDOW_METRICS = ("error_rate", "p50_ms", "p95_ms", "p99_ms", "throughput_rps")
"""Compared in every window, with each ``<flag>_rate`` the window holds (the pipeline's flags)."""
"""What ``compare`` shows of every window."""
CHECKED_WINDOW_METRICS = ("error_rate", "p99_ms")
"""What ``--baseline`` holds to the bound in the whole load and each fault's window."""


@dataclass(frozen=True)
class Figure:
    """One comparable number of a run: ``group`` (slo, window, fault), ``name``, ``metric``."""

    group: str
    name: str
    metric: str

    @property
    def key(self) -> str:
        """``group:name.metric``, the figure's key in ``figures()``."""
        return f"{self.group}:{self.name}.{self.metric}"

    @property
    def measure(self) -> str:
        """What the figure measures (an SLO's observed value: its SLO's metric), for FLOORS."""
        if self.group != "slo":
            return self.metric
        return "recovery_time_s" if self.name.startswith("recovery_time") else self.name.rsplit(".", 1)[-1]

    @classmethod
    def parse(cls, key: str) -> "Figure":
        """The inverse of ``key``."""
        group, rest = key.split(":", 1)
        name, metric = rest.rsplit(".", 1)
        return cls(group, name, metric)


def _window_metrics(stats: dict[str, Any]) -> list[str]:
    return [*WINDOW_METRICS, *(k for k in stats if k.endswith("_rate") and k not in WINDOW_METRICS)]


def figures(report: dict[str, Any]) -> dict[str, float | None]:
    """Every comparable figure of a ``report.json`` (format 2), by ``Figure.key``."""
    out: dict[str, float | None] = {}
    for slo in report.get("slos", []):
        out[Figure("slo", slo["name"], "observed").key] = slo.get("observed")
    totals = report.get("requests", {})
    for metric in _window_metrics(totals):
        out[Figure("window", "overall", metric).key] = totals.get(metric)
    for window in report.get("windows", []):
        for metric in _window_metrics(window):
            out[Figure("window", window["name"], metric).key] = window.get(metric)
    for fault in report.get("faults", []):
        out[Figure("fault", fault["name"], "recovery_time_s").key] = fault.get("recovery_time_s")
    return out


def checked_keys(baseline: dict[str, float | None], current: dict[str, float | None]) -> list[str]:
    """The figures ``--baseline`` holds to the bound, in report order (either run's);
    a figure neither run has a value for (an instant fault's window) is left out."""
    keys = {k: None for k in [*baseline, *current]
            if baseline.get(k) is not None or current.get(k) is not None}
    fault_names = {Figure.parse(k).name for k in keys if k.startswith("fault:")}
    out = []
    for key in keys:
        figure = Figure.parse(key)
        if figure.group == "fault" or (
                figure.group == "window" and figure.metric in CHECKED_WINDOW_METRICS
                and (figure.name == "overall" or figure.name in fault_names)):
            out.append(key)
    return out


@dataclass(frozen=True)
class RegressionCheck:
    """One figure of the new run held to the baseline's."""

    figure: Figure
    baseline: float | None
    observed: float | None
    change: float | None
    """Relative change against ``max(baseline, floor)``; None when not comparable."""
    status: str
    """``passed``, ``regressed`` or ``unknown``."""
    message: str

    def to_json(self) -> dict[str, Any]:
        """The check's entry in ``report.json``'s ``regression.checks``."""
        f = self.figure
        return {"name": f"{f.name}.{f.metric}", "group": f.group, "window": f.name,
                "metric": f.metric, "baseline": self.baseline, "observed": self.observed,
                "change": self.change, "status": self.status, "message": self.message}


def relative_change(figure: Figure, old: float | None, new: float | None) -> float | None:
    """``(new - old) / max(old, floor)``; None when either is missing or that is 0."""
    if old is None or new is None:
        return None
    against = max(old, FLOORS.get(figure.measure, 0.0))
    return (new - old) / against if against > 0 else None


def check_figure(figure: Figure, old: float | None, new: float | None, bound: float) -> RegressionCheck:
    """Hold ``new`` to ``old`` within ``bound`` (a fraction: 0.2 is 20 %)."""
    def made(status: str, change: float | None, message: str) -> RegressionCheck:
        return RegressionCheck(figure, old, new, change, status, message)

    what = f"{figure.name} {figure.metric}"
    if figure.group == "fault" and old is not None and new is None:
        return made("regressed", None, f"{what}: recovered in {old:g} s in the baseline, "
                                       f"not recovered now")
    change = relative_change(figure, old, new)
    if change is None:
        return made("unknown", None, f"{what}: not comparable (baseline {old}, now {new})")
    worse = change > bound
    return made("regressed" if worse else "passed", change,
                f"{what}: {old:g} -> {new:g} ({change:+.0%}; bound +{bound:.0%})")


def check_key(key: str, baseline: dict[str, float | None], current: dict[str, float | None],
              bound: float) -> RegressionCheck:
    """``check_figure`` of one figure key; ``unknown`` when only one run has the figure."""
    figure = Figure.parse(key)
    if key in baseline and key in current:
        return check_figure(figure, baseline[key], current[key], bound)
    which = "the baseline" if key in baseline else "this run"
    return RegressionCheck(figure, baseline.get(key), current.get(key), None, "unknown",
                           f"{figure.name} {figure.metric}: only {which} has it")


@dataclass(frozen=True)
class Regression:
    """The ``--baseline`` checks of a run (see the module docstring)."""

    baseline_run_id: str
    baseline_dir: str
    max_regression: float
    checks: tuple[RegressionCheck, ...]

    @property
    def verdict(self) -> str:
        """``regressed`` when any check regressed, else ``passed``."""
        return "regressed" if any(c.status == "regressed" for c in self.checks) else "passed"

    def to_json(self) -> dict[str, Any]:
        """``report.json``'s ``regression`` block."""
        return {"baseline_run_id": self.baseline_run_id, "baseline_dir": self.baseline_dir,
                "max_regression": self.max_regression, "verdict": self.verdict,
                "checks": [c.to_json() for c in self.checks]}


def regression(baseline: dict[str, float | None], current: dict[str, float | None], *,
               bound: float, baseline_run_id: str = "", baseline_dir: str = "") -> Regression:
    """Every regression check of ``current``'s figures against ``baseline``'s."""
    checks = tuple(check_key(k, baseline, current, bound) for k in checked_keys(baseline, current))
    return Regression(baseline_run_id, baseline_dir, bound, checks)


def parse_bound(text: str) -> float:
    """``--max-regression``: ``20%`` or a fraction ``0.2``, at least 0; ValueError otherwise."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise ValueError(f"must be a percentage ('20%') or a fraction ('0.2') (got {text!r})") from None
    if not 0 <= value < float("inf"):
        raise ValueError(f"must be 0 or more (got {text!r})")
    return value
