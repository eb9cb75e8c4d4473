"""SLO checks: tiny objects that judge one window (or one recovery) and return a Verdict.

Each check holds a name and a Threshold; ``evaluate(subject)`` never raises: a check
that crashes yields ``unknown`` with the error attached, never ``passed``. A window
without requests is ``unknown`` too (except for throughput, where 0 is an answer).

``evaluate(run)`` judges a whole run, a pure function of its files; its verdict names:

* ``steady_state.<metric>``: ``scenario.steady_state.slo`` over the baseline window
  (load start + warm-up to the first fault), or over the whole load without faults;
* ``overall.<metric>``: ``expect.overall`` over the whole load;
* ``during[<fault>].<metric>``: ``expect.during[fault]`` over the fault's window;
* ``recovery_time[<fault>]``: ``expect.recovery_time``, one bound for every fault or a
  bound per named fault (see ``harness.analysis`` for the definition).

>>> MaxErrorRate("overall.error_rate", Threshold.parse("< 1%")).evaluate(stats)  # doctest: +SKIP
Verdict(name='overall.error_rate', status=<Status.FAILED: 'failed'>, observed=0.042, ...)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Callable, ClassVar

from harness.analysis import (
    Recovery, Run, WindowStats, baseline_window, load_run, load_window, measure_recovery,
    window_stats,
)
from harness.model import SLOSet
from harness.units import Threshold


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

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.describe()}>"


def _pct(rate: float) -> str:
    return f"{rate * 100:.3g}%"


def _no_requests(stats: WindowStats) -> str:
    return f"no requests in window [{stats.start_s:.1f}, {stats.end_s:.1f}) s"


class _RateCheck(Check):
    metric: ClassVar[str]
    count: ClassVar[str]

    def judge(self, stats: WindowStats) -> Verdict:
        """The rate over ``stats``; unknown without requests."""
        rate = getattr(stats, self.metric)
        if rate is None:
            return self.verdict(Status.UNKNOWN, None, _no_requests(stats))
        shown = f"{_pct(rate)} ({getattr(stats, self.count)} of {stats.requests} requests)"
        return self.compare(self.metric, rate, shown, None)


class MaxErrorRate(_RateCheck):
    """Failed requests over all requests, e.g. ``error_rate: "< 1%"``."""

    metric, count = "error_rate", "errors"


class MaxFallbackRate(_RateCheck):
    """Requests answered by a fallback over all requests, e.g. ``fallback_rate: "< 5%"``."""

    metric, count = "fallback_rate", "fallbacks"


class MaxLatencyPercentile(Check):
    """A latency percentile in ms, e.g. ``p99_ms: "< 800ms"`` (``"< 2s"`` works too)."""

    def __init__(self, name: str, threshold: Threshold, *, percentile: int = 99):
        super().__init__(name, threshold)
        self.metric = f"p{percentile}_ms"

    def judge(self, stats: WindowStats) -> Verdict:
        """The percentile over ``stats``; unknown without requests."""
        latency = getattr(stats, self.metric)
        if latency is None:
            return self.verdict(Status.UNKNOWN, None, _no_requests(stats))
        shown = f"{latency:.4g} ms ({stats.requests} requests)"
        return self.compare(self.metric, latency, shown, "ms")


class MinThroughput(Check):
    """Requests per second over the window, e.g. ``throughput_rps: "> 20"``."""

    def judge(self, stats: WindowStats) -> Verdict:
        """Requests per second over ``stats``; unknown for an empty window."""
        if stats.throughput_rps is None:
            return self.verdict(Status.UNKNOWN, None,
                                f"empty window at t={stats.start_s:.1f} s: no throughput")
        shown = (f"{stats.throughput_rps:.4g} req/s ({stats.requests} requests "
                 f"in {stats.duration_s:.3g} s)")
        return self.compare("throughput_rps", stats.throughput_rps, shown, None)


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
                 f"the t={recovery.recovered_at:g} s bucket on)")
        return self.compare("recovery_time", time_s, shown, "s")


def _latency(percentile: int) -> Callable[[str, Threshold], Check]:
    return lambda name, threshold: MaxLatencyPercentile(name, threshold, percentile=percentile)


CHECKS: dict[str, Callable[[str, Threshold], Check]] = {
    "error_rate": MaxErrorRate,
    "fallback_rate": MaxFallbackRate,
    "p50_ms": _latency(50),
    "p95_ms": _latency(95),
    "p99_ms": _latency(99),
    "throughput_rps": MinThroughput,
}
"""One check family per ``SLOSet`` field."""


def checks_for(slo: SLOSet, prefix: str) -> list[Check]:
    """One check per SLO set in ``slo``, named ``<prefix>.<metric>``."""
    return [CHECKS[metric](f"{prefix}.{metric}", bound) for metric, bound in slo.items()]


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


def recoveries(run: Run) -> dict[str, Recovery]:
    """The recovery of every injected fault, by fault name."""
    steady = SteadyState(run.scenario.steady_state.slo)
    window_s = run.scenario.steady_state.window
    return {fault.name: measure_recovery(run, fault, window_s=window_s, holds=steady.holds)
            for fault in run.faults}


def evaluate(run: Run | Path | str, *, measured: dict[str, Recovery] | None = None) -> list[Verdict]:
    """Every SLO verdict of a run (a Run, or its directory); see the module docstring.

    ``measured`` is ``recoveries(run)`` when the caller already has it.
    """
    if not isinstance(run, Run):
        run = load_run(run)
    scenario, expect = run.scenario, run.scenario.expect
    steady = baseline_window(run) if scenario.faults else load_window(run)
    verdicts = _judge(checks_for(scenario.steady_state.slo, "steady_state"), run, steady)
    if expect.overall is not None:
        verdicts += _judge(checks_for(expect.overall, "overall"), run, load_window(run))
    windows = {fault.name: (fault.start, fault.end) for fault in run.faults}
    for name, slo in expect.during.items():
        checks = checks_for(slo, f"during[{name}]")
        verdicts += _judge(checks, run, windows.get(name), missing=f"{name} was never injected")
    bounds = expect.recovery_time
    if isinstance(bounds, Threshold):
        bounds = {fault.name: bounds for fault in scenario.faults}
    if measured is None:
        measured = recoveries(run)
    for name, bound in (bounds or {}).items():
        check = MaxRecoveryTime(f"recovery_time[{name}]", bound)
        recovery = measured.get(name)
        if recovery is None:
            verdicts.append(check.verdict(Status.UNKNOWN, None, f"{name} was never injected"))
        else:
            verdicts.append(check.evaluate(recovery))
    return verdicts


def _judge(checks: list[Check], run: Run, window: tuple[float, float] | None,
           missing: str = "") -> list[Verdict]:
    if window is None:
        return [check.verdict(Status.UNKNOWN, None, missing) for check in checks]
    stats = window_stats(run, *window)
    return [check.evaluate(stats) for check in checks]
