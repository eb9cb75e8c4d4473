"""The metrics of a window of a run: what was due in ``[start, end)``, and how it went.

A window counts every request placed in it by attribution (``harness.analysis``),
sent or not; rates and latency percentiles are over all of them, service-time
percentiles over the ones sent, throughput is the sent ones per second. Percentiles
are nearest-rank (an observed value). Definitions: ``docs/measurement.md``.

>>> window_stats(run, 0, 10).p99_ms  # doctest: +SKIP
12.4
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

import numpy as np

from harness.analysis import Requests, Run

WARMUP_S = 2.0
"""Seconds after load start left out of the baseline window (connections, caches)."""
PERCENTILES = (50, 95, 99)


def rank(n: int | np.ndarray, q: int) -> int | np.ndarray:
    """The nearest rank (1-based) of the ``q``-th percentile among ``n`` values:
    ceil(q·n/100), in integers so that no rounding moves it."""
    return (q * n + 99) // 100


def percentiles(values: np.ndarray, qs: Iterable[int] = PERCENTILES) -> list[float | None]:
    """Nearest-rank percentiles (each an observed value); Nones for no values.

    >>> percentiles(np.array([10.0, 20.0, 30.0, 40.0]), (50, 99))
    [20.0, 40.0]
    """
    qs = list(qs)
    n = len(values)
    if n == 0:
        return [None] * len(qs)
    ranks = [rank(n, q) - 1 for q in qs]
    chosen = np.partition(values, ranks)
    return [float(chosen[r]) for r in ranks]


def percentile(values: np.ndarray, q: int) -> float | None:
    """One nearest-rank percentile; None for no values."""
    return percentiles(values, (q,))[0]


@dataclass(frozen=True)
class WindowStats:
    """The request metrics of one window ``[start_s, end_s)`` (seconds from load start)."""

    start_s: float
    end_s: float
    requests: int
    """Requests due in the window, sent or not."""
    sent: int
    errors: int
    error_rate: float | None
    p50_ms: float | None
    """Latency percentiles: from intended start to the answer."""
    p95_ms: float | None
    p99_ms: float | None
    service_p50_ms: float | None
    """Service-time percentiles, over the requests sent."""
    service_p95_ms: float | None
    service_p99_ms: float | None
    throughput_rps: float | None
    """Requests sent per second of window."""
    flags: dict[str, int] = field(default_factory=dict)
    """Flag name -> requests whose answer carried it (the run's flags, see ``Run.flag_names``)."""
    correctness: dict[str, Any] = field(default_factory=dict)
    """The golden answers' metrics over the window (``harness.correctness``); empty
    when the run replayed no golden set."""

    def flag_rate(self, flag: str) -> float | None:
        """Share of the window's requests carrying ``flag`` (None without requests)."""
        return self.flags.get(flag, 0) / self.requests if self.requests else None

    def metric(self, name: str) -> float | None:
        """A metric by name: a field (``p99_ms``) or a flag's ``<flag>_rate``."""
        if name in self.correctness:
            return self.correctness[name]
        if name.endswith("_rate") and name not in ("error_rate", "silent_wrong_rate"):
            return self.flag_rate(name[:-len("_rate")])
        return getattr(self, name)

    @property
    def duration_s(self) -> float:
        """Length of the window in seconds."""
        return self.end_s - self.start_s

    @property
    def omitted(self) -> int:
        """Requests due but never sent: their user was blocked."""
        return self.requests - self.sent

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready fields, ``duration_s``, ``omitted`` and each ``<flag>_rate`` included."""
        return {**asdict(self), "omitted": self.omitted, "duration_s": self.duration_s,
                **{f"{flag}_rate": self.flag_rate(flag) for flag in self.flags}}


def window_stats(run: Run, start: float, end: float) -> WindowStats:
    """Metrics of the requests counted in ``[start, end)`` (seconds from load start),
    and of the golden answers sent in it."""
    lo, hi = np.searchsorted(run.requests.at, [start, end], side="left")
    stats = slice_stats(run.requests, int(lo), int(hi), start, end, flags=run.flag_names)
    return _with_correctness(run, stats)


def total_stats(run: Run) -> WindowStats:
    """Metrics of every request of the run, over the whole load ``[0, duration)``."""
    stats = slice_stats(run.requests, 0, len(run.requests), 0.0, run.duration_s, flags=run.flag_names)
    return _with_correctness(run, stats)


def _with_correctness(run: Run, stats: WindowStats) -> WindowStats:
    if run.golden is None:
        return stats
    from dataclasses import replace

    from harness.correctness import window_correctness

    return replace(stats, correctness=window_correctness(run.golden, stats.start_s, stats.end_s,
                                                         baseline_window(run)))


def slice_stats(requests: Requests, lo: int, hi: int, start: float, end: float, *,
                flags: Iterable[str] = ()) -> WindowStats:
    """Metrics of ``requests[lo:hi]``, reported as the window ``[start, end)``, with a
    count for each of ``flags``."""
    n = hi - lo
    sent = requests.sent[lo:hi]
    errors = n - int(np.count_nonzero(requests.ok[lo:hi]))
    latency = percentiles(requests.latency_ms[lo:hi])
    service = percentiles(requests.service_ms[lo:hi][sent])
    length = end - start
    return WindowStats(
        start_s=float(start), end_s=float(end), requests=n, sent=int(np.count_nonzero(sent)),
        errors=errors, error_rate=errors / n if n else None,
        p50_ms=latency[0], p95_ms=latency[1], p99_ms=latency[2],
        service_p50_ms=service[0], service_p95_ms=service[1], service_p99_ms=service[2],
        throughput_rps=int(np.count_nonzero(sent)) / length if length > 0 else None,
        flags={flag: int(np.count_nonzero(requests.flag(flag)[lo:hi])) for flag in flags})


def load_window(run: Run) -> tuple[float, float]:
    """The whole load, ``[0, duration)``."""
    return 0.0, run.duration_s


def baseline_window(run: Run, *, warmup: float = WARMUP_S) -> tuple[float, float]:
    """From load start + ``warmup`` to the first fault's instant (or the load's end).

    Requests in flight when the first fault took effect belong to it (attribution),
    so the baseline needs no guard before it.
    """
    end = max(0.0, run.faults[0].start) if run.faults else run.duration_s
    return min(warmup, end), end
