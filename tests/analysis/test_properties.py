"""Property tests: the math does not depend on record order, is monotone in bounds, and
judging many windows at once agrees with judging each alone."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.analysis import build_run
from harness.model import SLOSet
from harness.recovery import window_batch
from harness.series import series
from harness.slo import SteadyState, evaluate, recoveries
from harness.timeline.requests import Request
from harness.windows import window_stats

from .synthetic import T0, Plan, journal

FAULTS = (Plan("slow", 5, 5), Plan("kill", 18, instant=True, kind="kill"))  # R = 10 s, 18 s

request = st.builds(
    lambda due, queued, service, ok, fallback, sent: Request(
        intended_ts=T0 + due, ts=T0 + due + queued, service_ms=service if sent else 0.0,
        name="/p", ok=ok, status=200 if ok else 503,
        flags=("fallback",) if fallback else (), sent=sent).to_json(),
    st.floats(0, 29.999, allow_nan=False),
    st.sampled_from([0.0, 0.0, 0.05, 1.5]),
    st.floats(0.1, 5000, allow_nan=False),
    st.booleans(), st.booleans(), st.booleans(),
)


def build(records, **kw):
    """An in-memory run of 30 s with a fault reverted at 10 s and a kill at 18 s."""
    return build_run(journal(faults=FAULTS, **kw), records)


def rows(s):
    """A series' rows (NaN made None, so that rows compare equal)."""
    return s.rows()


@settings(max_examples=60, deadline=None)
@given(st.lists(request, max_size=200).flatmap(
    lambda rs: st.tuples(st.just(rs), st.permutations(rs))))
def test_stats_series_and_recovery_are_invariant_under_record_order(pair):
    original, shuffled = pair
    kw = {"steady": {"error_rate": "< 30%", "p95_ms": "< 3s"},
          "expect": {"overall": {"p50_ms": "< 1s", "p99_ms": "< 4s", "fallback_rate": "< 50%"},
                     "during": {"slow": {"throughput_rps": "> 1"}},
                     "recovery_time": "< 10s"}}
    a, b = build(original, **kw), build(shuffled, **kw)
    assert rows(series(a, 0.1)) == rows(series(b, 0.1))
    for window in ((0, 30), (3.3, 17.7), (5, 10)):
        assert window_stats(a, *window) == window_stats(b, *window)
    assert recoveries(a) == recoveries(b)
    assert evaluate(a) == evaluate(b)


def per_second_traffic(errors: list[int], latencies: list[float], rps: int = 10) -> list[dict]:
    """``rps`` requests in each second k, ``errors[k]`` of them failed, at ``latencies[k]``."""
    out = []
    for k, (bad, latency) in enumerate(zip(errors, latencies)):
        for i in range(rps):
            t = k + (i + 0.5) / rps
            out.append(Request(intended_ts=T0 + t, ts=T0 + t, service_ms=latency,
                               ok=i >= bad).to_json())
    return out


def recovery_time(records, steady, window):
    """Recovery of the first fault, +inf when it did not recover."""
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


slo_sets = st.fixed_dictionaries({}, optional={
    "error_rate": st.sampled_from(["< 1%", "<= 20%", "> 5%", ">= 50%"]),
    "fallback_rate": st.sampled_from(["< 10%", ">= 30%"]),
    "p50_ms": st.sampled_from(["< 100", "<= 1000", "> 50", ">= 1500"]),
    "p95_ms": st.sampled_from(["< 2s", "<= 300", "> 1000"]),
    "p99_ms": st.sampled_from(["< 250", ">= 4000"]),
    "throughput_rps": st.sampled_from(["> 2", "<= 5", ">= 0", "<= 10", ">= 4"]),
})


@settings(max_examples=80, deadline=None)
@given(records=st.lists(request, max_size=150), slo=slo_sets,
       length=st.sampled_from([0.5, 1.0, 2.5]), step=st.sampled_from([0.1, 0.3]))
def test_judging_windows_at_once_agrees_with_judging_each(records, slo, length, step):
    r = build(records)
    steady = SteadyState(SLOSet.model_validate(slo))
    starts = step * np.arange(int(27 / step))
    batch = steady.holds_batch(window_batch(r, starts, length))
    alone = [steady.holds(window_stats(r, s, s + length)) for s in starts]
    assert batch.tolist() == alone


@settings(max_examples=60, deadline=None)
@given(records=st.lists(request, max_size=200), step=st.sampled_from([0.1, 0.7, 1.0]))
def test_each_bucket_of_the_series_is_the_window_of_its_span(records, step):
    r = build(records)
    for row in series(r, step).rows():
        stats = window_stats(r, row["start_s"], row["end_s"])
        assert (row["requests"], row["sent"], row["errors"], row.get("fallback_count", 0)) == (
            stats.requests, stats.sent, stats.errors, stats.flags.get("fallback", 0))
        assert (row["p50_ms"], row["p99_ms"], row["service_p50_ms"], row["service_p99_ms"]) == (
            stats.p50_ms, stats.p99_ms, stats.service_p50_ms, stats.service_p99_ms)
        assert row["error_rate"] == stats.error_rate
