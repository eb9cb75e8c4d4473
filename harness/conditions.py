"""Conditions on the live request feed: ``error_rate > 5% for 10s``.

A condition is ``METRIC OP BOUND for DURATION``. Metrics: ``error_rate``,
``<flag>_rate`` for any degraded flag of the answers (``fallback_rate``,
``stale_features_rate``), ``p50_ms``/``p95_ms``/``p99_ms`` (latency from intended start)
and ``rps`` (requests answered per second). Bounds are written as in SLOs
(``50%``, ``0.5``, ``800ms``, ``2s``).

**Definition** (one, used by ``abort_if``, runbook ``when`` triggers and the alert that
times detection): the condition *holds at T* when the requests answered in ``(T - D, T]``
(D its duration; by their answer's time) number at least one, the metric over them
satisfies the bound, and T is at least D after the load started (the window is full).
It is evaluated as each request arrives (at most every ``EVAL_STEP_S`` of request time),
so it can only hold while answers arrive: a pipeline that stops answering altogether
is caught by its later timeouts and refusals, not by silence.

>>> c = Condition.parse("error_rate > 5% for 10s")
>>> c.metric, c.threshold.value, c.for_s
('error_rate', 0.05, 10.0)
"""

from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

from harness.timeline.requests import Request
from harness.units import Threshold, parse_duration

EVAL_STEP_S = 0.05
"""The least request time between two evaluations of one condition."""

_CONDITION = re.compile(r"^\s*(?P<metric>[a-z][a-z0-9_]*)\s*(?P<bound>(?:<=|>=|<|>)\s*[^\s].*?)"
                        r"\s+for\s+(?P<for>\S+)\s*$")
_LATENCY = {"p50_ms": 50, "p95_ms": 95, "p99_ms": 99}


@dataclass(frozen=True)
class Condition:
    """A parsed condition (see the module docstring)."""

    metric: str
    threshold: Threshold
    for_s: float
    text: str

    @classmethod
    def parse(cls, text: Any) -> "Condition":
        """Parse ``"error_rate > 5% for 10s"``; ValueError saying what was expected."""
        if isinstance(text, Condition):
            return text
        if not isinstance(text, str):
            raise ValueError(f"expected a condition such as 'error_rate > 5% for 10s' (got {text!r:.60})")
        match = _CONDITION.match(text)
        if not match:
            raise ValueError(f"could not parse condition {text!r:.60}: expected METRIC OP BOUND for "
                             f"DURATION, e.g. 'error_rate > 5% for 10s'")
        metric = match["metric"]
        if not (metric in _LATENCY or metric in ("rps", "error_rate") or metric.endswith("_rate")):
            raise ValueError(f"unknown metric {metric!r} in {text!r:.60}: use error_rate, <flag>_rate "
                             f"(fallback_rate), p50_ms, p95_ms, p99_ms or rps")
        threshold = Threshold.parse(match["bound"])
        if metric.endswith("_rate") and threshold.unit not in ("%", None):
            raise ValueError(f"{metric} is a rate: write a percentage or a fraction (got {match['bound']!r})")
        if metric in _LATENCY and threshold.unit not in ("ms", "s", "m", None):
            raise ValueError(f"{metric} is a latency: write ms, s or a bare number of ms (got {match['bound']!r})")
        for_s = parse_duration(match["for"])
        if not 0 < for_s <= 3600:
            raise ValueError(f"the duration of {text!r:.60} must be more than 0 and at most 1 h")
        return cls(metric=metric, threshold=threshold, for_s=for_s, text=" ".join(text.split()))

    def value(self, window: "RollingWindow", now: float) -> float | None:
        """The metric over the requests answered in ``(now - for_s, now]``; None without any."""
        requests = window.between(now - self.for_s, now)
        if not requests:
            return None
        if self.metric == "rps":
            return len(requests) / self.for_s
        if self.metric == "error_rate":
            return sum(not r.ok for r in requests) / len(requests)
        if self.metric in _LATENCY:
            latencies = sorted(r.latency_ms for r in requests)
            return latencies[max(math.ceil(_LATENCY[self.metric] / 100 * len(latencies)) - 1, 0)]
        flag = self.metric[:-len("_rate")]
        return sum(flag in r.flags for r in requests) / len(requests)

    def holds(self, window: "RollingWindow", now: float, started: float) -> tuple[bool, float | None]:
        """Whether the condition holds at ``now`` (load started at ``started``), and the value."""
        value = self.value(window, now)
        if value is None or now - started < self.for_s:
            return False, value
        unit = "ms" if self.metric in _LATENCY else None
        return self.threshold.holds(value, unit), value

    def __str__(self) -> str:
        return self.text


ConditionText = Annotated[
    Condition,
    BeforeValidator(Condition.parse),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\s*[a-z][a-z0-9_]*\s*(<=|>=|<|>).+\s+for\s+\S+\s*$",
                    "description": "a condition such as 'error_rate > 5% for 10s'"}),
]
"""A condition in a scenario: text parsed into a :class:`Condition`."""


class RollingWindow:
    """The requests answered in the last ``span_s`` seconds, by their answer's time."""

    def __init__(self, span_s: float):
        self.span_s = span_s
        self._requests: deque[Request] = deque()
        self.latest = 0.0
        """The latest answer time seen (epoch seconds)."""

    def add(self, request: Request) -> None:
        """Keep ``request``; forget those older than the span."""
        self._requests.append(request)
        self.latest = max(self.latest, request.end_ts)
        while self._requests and self._requests[0].end_ts <= self.latest - self.span_s:
            self._requests.popleft()

    def between(self, start: float, end: float) -> list[Request]:
        """The requests answered in ``(start, end]``."""
        return [r for r in self._requests if start < r.end_ts <= end]
