"""SLO checks: tiny objects that judge one window (or one recovery) and return a Verdict.

Each check holds a name and a Threshold; ``evaluate(subject)`` never raises: a check
that crashes yields ``unknown`` with the error attached, never ``passed``. A window
without requests is ``unknown`` too (except for throughput, where 0 is an answer).
The window checks also judge many windows at once (``holds_batch``, for the recovery
walk): the same comparison, on counts, so the two can never disagree.

``evaluate(run)`` gives the verdicts of a whole run, a pure function of its files:

* ``steady_state.<metric>``: ``scenario.steady_state.slo`` over the baseline window
  (load start + warm-up to the first fault), or over the whole load without faults;
* ``overall.<metric>``: ``expect.overall`` over the whole load;
* ``during[<fault>].<metric>``: ``expect.during[fault]`` over the fault's window;
* ``recovery_time[<fault>]``: ``expect.recovery_time``, one bound for every fault or a
  bound per named fault (see ``harness.recovery`` for the definition);
* ``time_to_detect``, ``time_to_mitigate``, ``time_to_recover``: the runbook's incident
  (``harness.incident``); never happened is ``failed``.

Latency keys (``p50_ms``, ``p95_ms``, ``p99_ms``) are measured from each request's
intended start (``docs/measurement.md``).

>>> MaxErrorRate("overall.error_rate", Threshold.parse("< 1%")).evaluate(stats)  # doctest: +SKIP
Verdict(name='overall.error_rate', status=<Status.FAILED: 'failed'>, observed=0.042, ...)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Callable, ClassVar

import numpy as np

from harness.analysis import Run, load_run
from harness.incident import Incident, incident
from harness.model import SLOSet
from harness.recovery import Recovery, WindowBatch, measure_recovery
from harness.units import Threshold
from harness.windows import (
    WindowStats, baseline_window, load_window, rank, total_stats, window_stats,
)

_NP_OPS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}


class Status(StrEnum):
    """Outcome of one SLO check."""

    PASSED = "passed"
    FAILED = "failed"
    UNKNOWN = "unknown"
    """The check could not judge: it crashed, or there was nothing to measure."""


@dataclass(frozen=True)
class Verdict:
    """The judgement of one SLO: what was observed against which threshold, and why."""

    name: str
    status: Status
    observed: float | None
    threshold: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"name": self.name, "status": self.status.value, "observed": self.observed,
                "threshold": self.threshold, "message": self.message}


class Check:
    """Base of every SLO check: subclasses implement ``judge`` using ``compare``."""

    unit: ClassVar[str | None] = None

    def __init__(self, name: str, threshold: Threshold):
        self.name = name
        self.threshold = threshold

    def evaluate(self, subject: Any) -> Verdict:
        """Judge ``subject``; a crash inside the check gives ``unknown``, never ``passed``."""
        try:
            return self.judge(subject)
        except Exception as exc:
            return self.verdict(Status.UNKNOWN, None,
                                f"check crashed: {type(exc).__name__}: {exc}")

    def judge(self, subject: Any) -> Verdict:
        """Subclasses: measure ``subject`` and call ``compare`` (or ``verdict``)."""
        raise NotImplementedError

    def holds_batch(self, batch: WindowBatch) -> np.ndarray:
        """Window checks: for each window of ``batch``, whether it passes."""
        raise NotImplementedError

    def verdict(self, status: Status, observed: float | None, message: str) -> Verdict:
        """A Verdict for this check."""
        return Verdict(self.name, status, observed, self.describe(), message)

    def describe(self) -> str:
        """The threshold as written, for verdicts and reprs."""
        return self.threshold.text

    def compare(self, metric: str, observed: float, shown: str, unit: str | None) -> Verdict:
        """Passed or failed, with a message like ``error_rate 4.2% (...) is not < 1%``."""
        ok = self.threshold.holds(observed, unit)
        return self.verdict(Status.PASSED if ok else Status.FAILED, observed,
                            f"{metric} {shown} {'is' if ok else 'is not'} {self.threshold.text}")

    def _compare_many(self, observed: np.ndarray) -> np.ndarray:
        """``Threshold.holds`` for many observations at once (NaN never holds)."""
        return _NP_OPS[self.threshold.op](observed, self.threshold.bound(self.unit))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.describe()}>"


def _pct(rate: float) -> str:
    return f"{rate * 100:.3g}%"


def _no_requests(stats: WindowStats) -> str:
    return f"no requests in window [{stats.start_s:.2f}, {stats.end_s:.2f}) s"


class _RateCheck(Check):
    metric: str

    def judge(self, stats: WindowStats) -> Verdict:
        """The rate over ``stats``; unknown without requests."""
        rate = stats.metric(self.metric)
        if rate is None:
            return self.verdict(Status.UNKNOWN, None, _no_requests(stats))
        shown = f"{_pct(rate)} ({self.counted_in(stats)} of {stats.requests} requests)"
        return self.compare(self.metric, rate, shown, None)

    def counted_in(self, stats: WindowStats) -> int:
        """The numerator of the rate over ``stats``."""
        raise NotImplementedError

    def holds_batch(self, batch: WindowBatch) -> np.ndarray:
        """The rate of each window against the bound."""
        due = batch.requests_due
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(due > 0, self.counted(batch) / due, np.nan)
        return self._compare_many(rate)

    def counted(self, batch: WindowBatch) -> np.ndarray:
        """The numerator of the rate, per window."""
        raise NotImplementedError


class MaxErrorRate(_RateCheck):
    """Failed requests over all requests due, e.g. ``error_rate: "< 1%"``."""

    metric = "error_rate"

    def counted_in(self, stats: WindowStats) -> int:
        """Failed requests in the window."""
        return stats.errors

    def counted(self, batch: WindowBatch) -> np.ndarray:
        """Failed requests per window."""
        return batch.requests_due - batch.count(batch.requests.ok)


class MaxFlagRate(_RateCheck):
    """Answers carrying one of the pipeline's flags over all requests due, e.g.
    ``fallback_rate: "< 5%"`` for the flag ``fallback`` (``answers.flags``)."""

    def __init__(self, name: str, threshold: Threshold, *, flag: str):
        super().__init__(name, threshold)
        self.flag, self.metric = flag, f"{flag}_rate"

    def counted_in(self, stats: WindowStats) -> int:
        """Answers carrying the flag in the window."""
        return stats.flags.get(self.flag, 0)

    def counted(self, batch: WindowBatch) -> np.ndarray:
        """Answers carrying the flag, per window."""
        return batch.count(batch.requests.flag(self.flag))


class MaxLatencyPercentile(Check):
    """A latency percentile in ms, from intended start: ``p99_ms: "< 800ms"`` (``"< 2s"``)."""

    unit = "ms"

    def __init__(self, name: str, threshold: Threshold, *, percentile: int = 99):
        super().__init__(name, threshold)
        self.percentile = percentile
        self.metric = f"p{percentile}_ms"

    def judge(self, stats: WindowStats) -> Verdict:
        """The percentile over ``stats``; unknown without requests."""
        latency = getattr(stats, self.metric)
        if latency is None:
            return self.verdict(Status.UNKNOWN, None, _no_requests(stats))
        shown = f"{latency:.4g} ms ({stats.requests} requests)"
        return self.compare(self.metric, latency, shown, "ms")

    def holds_batch(self, batch: WindowBatch) -> np.ndarray:
        """Without sorting: the nearest-rank percentile P of n values is < X exactly
        when at least rank(n) of them are < X (likewise for <=); > and >= are the
        negations of <= and <."""
        op, bound = self.threshold.op, self.threshold.bound("ms")
        due = batch.requests_due
        needed = rank(due, self.percentile)
        under = batch.latency_under(bound, inclusive=op in ("<=", ">"))
        below = (under >= needed) & (due > 0)
        return below if op in ("<", "<=") else ~below & (due > 0)


class MinThroughput(Check):
    """Requests sent per second over the window, e.g. ``throughput_rps: "> 20"``."""

    def judge(self, stats: WindowStats) -> Verdict:
        """Requests per second over ``stats``; unknown for an empty window."""
        if stats.throughput_rps is None:
            return self.verdict(Status.UNKNOWN, None,
                                f"empty window at t={stats.start_s:.2f} s: no throughput")
        shown = (f"{stats.throughput_rps:.4g} req/s ({stats.sent} requests sent "
                 f"in {stats.duration_s:.3g} s)")
        return self.compare("throughput_rps", stats.throughput_rps, shown, None)

    def holds_batch(self, batch: WindowBatch) -> np.ndarray:
        """Each window's sent requests per second against the bound."""
        return self._compare_many(batch.count(batch.requests.sent) / batch.duration)


class MaxRecoveryTime(Check):
    """Seconds from revert (or kill) until the steady state holds for good: ``"< 10s"``.

    Not recovered is ``failed`` with no number; not measurable is ``unknown``.
    """

    def judge(self, recovery: Recovery) -> Verdict:
        """Judge one Recovery: failed if not recovered, unknown if not measurable."""
        if not recovery.measurable:
            return self.verdict(Status.UNKNOWN, None,
                                f"recovery of {recovery.fault} not measurable: {recovery.reason}")
        time_s = recovery.time_s
        if time_s is None:
            return self.verdict(Status.FAILED, None,
                                f"{recovery.fault} did not recover: {recovery.reason}")
        shown = (f"{time_s:.3g} s (recovery started t={recovery.start:.2f} s; steady from "
                 f"t={recovery.recovered_at:.2f} s on, at {recovery.resolution_s * 1000:g} ms "
                 f"resolution)")
        return self.compare("recovery_time", time_s, shown, "s")


class MaxIncidentTime(Check):
    """``time_to_detect``/``time_to_mitigate``/``time_to_recover`` of the runbook's incident."""

    def judge(self, subject: tuple[Incident | None, str]) -> Verdict:
        """Judge ``(incident, key)``: failed when the moment never came."""
        found, key = subject
        if found is None or found.fault_s is None:
            return self.verdict(Status.UNKNOWN, None, "the runbook's fault was never injected")
        value = getattr(found, key)
        if value is None:
            why = {"time_to_detect": "the alert never held after the fault",
                   "time_to_mitigate": found.mitigation_note,
                   "time_to_recover": found.recovery.reason if found.recovery else ""}[key]
            return self.verdict(Status.FAILED, None, f"{key}: never ({why})")
        return self.compare(key, value, f"{value:.3g} s (from {found.fault} at t={found.fault_s:.2f} s)", "s")


class CorrectnessBound(Check):
    """A metric of the golden answers over a window (``harness.correctness``):
    ``golden_accuracy: "> 99%"``, ``silent_wrong_rate: "< 1%"``,
    ``prediction_drift_psi: "< 0.1"``, ``prediction_drift_ks: "< 0.2"``."""

    def __init__(self, name: str, threshold: Threshold, *, metric: str):
        super().__init__(name, threshold)
        self.metric = metric

    def judge(self, stats: WindowStats) -> Verdict:
        """The metric over ``stats``; unknown without golden answers in the window."""
        value = stats.correctness.get(self.metric)
        if value is None:
            return self.verdict(Status.UNKNOWN, None, f"no golden answers to measure {self.metric} on in "
                                f"[{stats.start_s:.2f}, {stats.end_s:.2f}) s")
        n = stats.correctness.get("golden_requests", 0)
        shown = (f"{_pct(value)} ({n} golden answers)" if self.metric.endswith(("_rate", "_accuracy"))
                 else f"{value:.4g} ({n} golden answers)")
        return self.compare(self.metric, value, shown, None)

    def holds_batch(self, batch: WindowBatch) -> np.ndarray:
        """Each window's metric against the bound (one window at a time: golden answers are few)."""
        from harness.correctness import window_correctness
        from harness.windows import baseline_window

        run = batch.run
        baseline = baseline_window(run)
        values = [window_correctness(run.golden, s, s + batch.length, baseline).get(self.metric)
                  for s in batch.start]
        return self._compare_many(np.array([np.nan if v is None else v for v in values], dtype=float))


def _correctness(metric: str) -> Callable[[str, Threshold], Check]:
    return lambda name, threshold: CorrectnessBound(name, threshold, metric=metric)


def _latency(percentile: int) -> Callable[[str, Threshold], Check]:
    return lambda name, threshold: MaxLatencyPercentile(name, threshold, percentile=percentile)


CHECKS: dict[str, Callable[[str, Threshold], Check]] = {
    "error_rate": MaxErrorRate,
    "p50_ms": _latency(50),
    "p95_ms": _latency(95),
    "p99_ms": _latency(99),
    "throughput_rps": MinThroughput,
    **{metric: _correctness(metric) for metric in
       ("golden_accuracy", "silent_wrong_rate", "prediction_drift_psi", "prediction_drift_ks")},
}
"""One check family per ``SLOSet`` field; any other ``<flag>_rate`` is a :class:`MaxFlagRate`."""


def check_for(metric: str, name: str, bound: Threshold) -> Check:
    """The check of ``metric`` (a ``SLOSet`` key), named ``name``."""
    if metric in CHECKS:
        return CHECKS[metric](name, bound)
    return MaxFlagRate(name, bound, flag=metric.removesuffix("_rate"))


def checks_for(slo: SLOSet, prefix: str) -> list[Check]:
    """One check per SLO set in ``slo``, named ``<prefix>.<metric>``."""
    return [check_for(metric, f"{prefix}.{metric}", bound) for metric, bound in slo.items()]


class SteadyState(Check):
    """Every SLO of ``steady_state.slo`` at once over one window: what "healthy" means.

    ``passed`` only when the window has requests and every check passed.
    """

    def __init__(self, slo: SLOSet, *, name: str = "steady_state"):
        self.name = name
        self.checks = checks_for(slo, name)
        self.text = ", ".join(f"{metric} {bound.text}" for metric, bound in slo.items())

    def describe(self) -> str:
        """All the SLOs, e.g. ``error_rate < 1%, p99_ms < 500ms``."""
        return self.text or "any requests"

    def judge(self, stats: WindowStats) -> Verdict:
        """Passed when ``stats`` has requests and every SLO passed over it."""
        if stats.requests == 0:
            return self.verdict(Status.UNKNOWN, None, _no_requests(stats))
        verdicts = [check.evaluate(stats) for check in self.checks]
        statuses = {v.status for v in verdicts}
        status = (Status.FAILED if Status.FAILED in statuses else
                  Status.UNKNOWN if Status.UNKNOWN in statuses else Status.PASSED)
        shown = [v for v in verdicts if v.status is not Status.PASSED] or verdicts
        return self.verdict(status, None, "; ".join(v.message for v in shown))

    def holds(self, stats: WindowStats) -> bool:
        """True when this window is healthy."""
        return self.evaluate(stats).status is Status.PASSED

    def holds_batch(self, batch: WindowBatch) -> np.ndarray:
        """For each window of ``batch``: it has requests and every SLO holds over it."""
        held = batch.requests_due > 0
        for check in self.checks:
            held &= check.holds_batch(batch)
        return held


def resolution_of(run: Run, resolution: float | None = None) -> float:
    """``resolution`` if given, else the scenario's (seconds)."""
    return float(resolution if resolution is not None else run.scenario.resolution)


def recoveries(run: Run, *, resolution: float | None = None) -> dict[str, Recovery]:
    """The recovery of every injected fault, by fault name."""
    steady = SteadyState(run.scenario.steady_state.slo)
    window_s, step = run.scenario.steady_state.window, resolution_of(run, resolution)
    return {fault.name: measure_recovery(run, fault, window_s=window_s, resolution=step,
                                         holds=steady.holds_batch)
            for fault in run.faults}


def evaluate(run: Run | Path | str, *, measured: dict[str, Recovery] | None = None,
             resolution: float | None = None) -> list[Verdict]:
    """Every SLO verdict of a run (a Run, or its directory); see the module docstring.

    ``measured`` is ``recoveries(run)`` when the caller already has it.
    """
    if not isinstance(run, Run):
        run = load_run(run)
    scenario, expect = run.scenario, run.scenario.expect
    steady = baseline_window(run) if scenario.faults else load_window(run)
    verdicts = _judge(checks_for(scenario.steady_state.slo, "steady_state"),
                      window_stats(run, *steady))
    if expect.overall is not None:
        verdicts += _judge(checks_for(expect.overall, "overall"), total_stats(run))
    windows = {fault.name: (fault.start, fault.end) for fault in run.faults}
    for name, slo in expect.during.items():
        checks = checks_for(slo, f"during[{name}]")
        stats = window_stats(run, *windows[name]) if name in windows else None
        verdicts += _judge(checks, stats, missing=f"{name} was never injected")
    bounds = expect.recovery_time
    if isinstance(bounds, Threshold):
        bounds = {fault.name: bounds for fault in scenario.faults}
    if measured is None:
        measured = recoveries(run, resolution=resolution)
    for name, bound in (bounds or {}).items():
        check = MaxRecoveryTime(f"recovery_time[{name}]", bound)
        recovery = measured.get(name)
        if recovery is None:
            verdicts.append(check.verdict(Status.UNKNOWN, None, f"{name} was never injected"))
        else:
            verdicts.append(check.evaluate(recovery))
    if expect.metrics:
        verdicts += _metric_verdicts(run, expect.metrics, {**windows, "baseline": steady})
    keys = [k for k in INCIDENT_TIMES if getattr(expect, k) is not None]
    if keys:
        found = run_incident(run, resolution=resolution)
        verdicts += [MaxIncidentTime(k, getattr(expect, k)).evaluate((found, k)) for k in keys]
    return verdicts


def _metric_verdicts(run: Run, texts: tuple[str, ...], windows: dict[str, tuple[float, float]]) -> list[Verdict]:
    """Each metric expression over the load, or over the window it names (``windows``: seconds
    from load start, by name; ``harness.metric_slo``)."""
    from harness.metric_slo import evaluate_metric_slo, window_unknown
    from harness.metrics_scrape import parse_expression

    zero = run.load_started_at
    verdicts = []
    for text in texts:
        window = parse_expression(text).window
        start, end = (0.0, run.duration_s) if window is None else windows.get(window, (None, None))
        verdicts.append(window_unknown(text, f"{window} was never injected") if start is None
                        else evaluate_metric_slo(text, run.metrics, zero + start, zero + end))
    return verdicts


INCIDENT_TIMES = ("time_to_detect", "time_to_mitigate", "time_to_recover")


def run_incident(run: Run, *, resolution: float | None = None) -> Incident | None:
    """The run's runbook incident (``harness.incident``), or None without a runbook."""
    return incident(run, window_s=run.scenario.steady_state.window, resolution=resolution_of(run, resolution),
                    holds=SteadyState(run.scenario.steady_state.slo).holds_batch)


def _judge(checks: list[Check], stats: WindowStats | None, missing: str = "") -> list[Verdict]:
    if stats is None:
        return [check.verdict(Status.UNKNOWN, None, missing) for check in checks]
    return [check.evaluate(stats) for check in checks]
