"""Property tests: the math does not depend on record order and is monotone in bounds."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.analysis import build_run, per_second, window_stats
from harness.slo import evaluate, recoveries

from .synthetic import T0, Plan, journal

FAULT = (Plan("slow", 5, 5),)  # R = 10 s; load lasts 30 s

request = st.builds(
    lambda t, latency, ok, fallback: {
        "ts": T0 + t, "latency_ms": latency, "name": "/predict", "ok": ok,
        "status": 200 if ok else 503, "error": None if ok else "HTTP 503", "fallback": fallback},
    st.floats(0, 29.999, allow_nan=False),
    st.floats(0.1, 5000, allow_nan=False),
    st.booleans(),
    st.one_of(st.none(), st.booleans()),
)


def build(records, **kw):
    """An in-memory run of 30 s with one fault reverted at 10 s."""
    return build_run(journal(faults=FAULT, **kw), records)


@settings(max_examples=60, deadline=None)
@given(st.lists(request, max_size=200).flatmap(
    lambda rs: st.tuples(st.just(rs), st.permutations(rs))))
def test_stats_and_recovery_are_invariant_under_record_order(pair):
    original, shuffled = pair
    kw = {"steady": {"error_rate": "< 30%", "p95_ms": "< 3s"},
          "expect": {"overall": {"p50_ms": "< 1s", "p99_ms": "< 4s", "fallback_rate": "< 50%"},
                     "recovery_time": "< 10s"}}
    a, b = build(original, **kw), build(shuffled, **kw)
    assert per_second(a) == per_second(b)
    assert window_stats(a, 0, 30) == window_stats(b, 0, 30)
    assert window_stats(a, 3.3, 17.7) == window_stats(b, 3.3, 17.7)
    assert recoveries(a) == recoveries(b)
    assert evaluate(a) == evaluate(b)


def per_second_traffic(errors: list[int], latencies: list[float], rps: int = 10) -> list[dict]:
    """``rps`` requests in each second k, ``errors[k]`` of them failed, at ``latencies[k]``."""
    out = []
    for k, (bad, latency) in enumerate(zip(errors, latencies)):
        for i in range(rps):
            ok = i >= bad
            out.append({"ts": T0 + k + (i + 0.5) / rps, "latency_ms": latency, "name": "/p",
                        "ok": ok, "status": 200 if ok else 503, "error": None,
                        "fallback": None})
    return out


def recovery_time(records, steady, window):
    """Recovery of the single fault, +inf when it did not recover."""
    time_s = recoveries(build(records, steady=steady, window=window))["slow"].time_s
    return math.inf if time_s is None else time_s


@settings(max_examples=60, deadline=None)
@given(errors=st.lists(st.integers(0, 10), min_size=30, max_size=30),
       latencies=st.lists(st.sampled_from([10.0, 200.0, 900.0]), min_size=30, max_size=30),
       bounds=st.lists(st.integers(1, 100), min_size=2, max_size=2),
       window=st.integers(1, 8))
def test_a_looser_error_bound_never_gives_a_later_recovery(errors, latencies, bounds, window):
    strict, loose = sorted(bounds)
    records = per_second_traffic(errors, latencies)
    assert recovery_time(records, {"error_rate": f"<= {loose}%"}, window) <= recovery_time(
        records, {"error_rate": f"<= {strict}%"}, window)


@settings(max_examples=40, deadline=None)
@given(errors=st.lists(st.integers(0, 3), min_size=30, max_size=30),
       latencies=st.lists(st.floats(1, 2000), min_size=30, max_size=30),
       bounds=st.lists(st.integers(1, 2500), min_size=2, max_size=2),
       window=st.integers(1, 8))
def test_a_looser_latency_bound_never_gives_a_later_recovery(errors, latencies, bounds, window):
    strict, loose = sorted(bounds)
    records = per_second_traffic(errors, latencies)
    steady = {"error_rate": "< 50%"}
    assert recovery_time(records, {**steady, "p99_ms": f"< {loose}ms"}, window) <= (
        recovery_time(records, {**steady, "p99_ms": f"< {strict}ms"}, window))
