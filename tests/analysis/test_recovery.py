"""Recovery time, as defined in docs/recovery-time.md, against runs whose truth is known."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.analysis import build_run
from harness.recovery import measure_recovery
from harness.series import series
from harness.slo import Status, SteadyState, evaluate, recoveries
from harness.model import SLOSet
from harness.windows import window_stats

from .synthetic import Plan, journal, paced, run, traffic

SLOW = (Plan("slow", 10, 5),)  # injected at 10 s, reverted at 15 s: R = 15


def verdict(r, name):
    """The verdict called ``name``."""
    return next(v for v in evaluate(r) if v.name == name)


def test_recovers_at_a_known_moment():
    # the last failing request is due at 17.95 s: the first window without it starts at 18.0
    r = run(faults=SLOW, expect={"recovery_time": "< 5s"},
            requests=traffic(30, error=lambda t: 10 <= t < 18))
    recovery = recoveries(r)["slow"]
    assert (recovery.start, recovery.recovered_at, recovery.time_s) == (
        15.0, pytest.approx(18.0), 3.0)
    v = verdict(r, "recovery_time[slow]")
    assert v.status is Status.PASSED and v.observed == 3.0 and v.threshold == "< 5s"
    assert "at 100 ms resolution" in v.message


def test_the_resolution_is_the_recovery_grid():
    # the last failing request is due at 17.225 s; no error at all is allowed
    strict = {"error_rate": "<= 0%"}
    r = run(faults=SLOW, steady=strict,
            requests=traffic(30, rps=100, error=lambda t: 10 <= t < 17.23))
    assert recoveries(r, resolution=0.01)["slow"].time_s == pytest.approx(2.23)
    assert recoveries(r, resolution=0.1)["slow"].time_s == pytest.approx(2.3)
    assert recoveries(r, resolution=1.0)["slow"].time_s == pytest.approx(3.0)
    coarse = run(faults=SLOW, resolution="250ms", steady=strict,
                 requests=traffic(30, rps=100, error=lambda t: 10 <= t < 17.23))
    assert recoveries(coarse)["slow"].time_s == pytest.approx(2.25)


def test_too_slow_a_recovery_fails_with_its_number():
    r = run(faults=SLOW, expect={"recovery_time": "< 2s"},
            requests=traffic(30, error=lambda t: 10 <= t < 18))
    v = verdict(r, "recovery_time[slow]")
    assert v.status is Status.FAILED and v.observed == 3.0
    assert "is not < 2s" in v.message


def test_never_recovering_is_none_and_failed():
    r = run(faults=SLOW, expect={"recovery_time": "< 5s"},
            requests=traffic(30, error=lambda t: t >= 10))
    recovery = recoveries(r)["slow"]
    assert recovery.measurable and recovery.time_s is None and recovery.recovered_at is None
    v = verdict(r, "recovery_time[slow]")
    assert v.status is Status.FAILED and v.observed is None
    assert "did not recover" in v.message and "[25.00, 30.00) s" in v.message


def test_healthy_then_failing_again_before_the_horizon_is_not_recovered():
    r = run(faults=SLOW, requests=traffic(30, error=lambda t: 10 <= t < 16 or 27 <= t < 28))
    assert recoveries(r)["slow"].time_s is None


def test_a_zero_traffic_gap_is_not_healthy():
    # errors stop at 16 s but nothing is due from 18 s to 24 s: every 5 s window that
    # fits in the gap (starting after 17.95 s, ending before 24.05 s) is empty
    requests = traffic(30, error=lambda t: 10 <= t < 16, gaps=((18.0, 24.0),))
    assert recoveries(run(faults=SLOW, requests=requests))["slow"].recovered_at == (
        pytest.approx(19.1))
    silent = traffic(15, error=lambda t: t >= 10)  # the load got nothing after the revert
    recovery = recoveries(run(faults=SLOW, requests=silent))["slow"]
    assert recovery.measurable and recovery.time_s is None


def test_the_next_fault_is_the_horizon():
    faults = (Plan("first", 5, 5), Plan("second", 20, 5))
    errors = traffic(30, error=lambda t: 10 <= t < 13 or t >= 20)
    measured = recoveries(run(faults=faults, requests=errors))
    assert measured["first"].horizon == 20.0
    assert measured["first"].time_s == 3.0  # errors after the next fault do not count
    assert measured["second"].time_s is None  # errors until the end of the load


def test_requests_a_later_fault_broke_do_not_count_against_the_earlier_one():
    # the game day of issue 10: a kill at 26.05 s fails 4 requests due before it;
    # they belong to the kill, so the latency fault before it recovered at once
    faults = (Plan("slow-features", 10, 10), Plan("kill", 26.05, instant=True, kind="kill"))
    requests = traffic(30, error=lambda t: t >= 26.05)
    for line in requests:
        if 25.9 < line["intended_ts"] - 1_700_000_000.0 < 26.05:
            line.update(ok=False, status=0, error="connection reset", service_ms=200.0)
    r = run(faults=faults, window=3, requests=requests,
            expect={"recovery_time": {"slow-features": "< 1s"}})
    assert recoveries(r)["slow-features"].time_s == 0.0
    assert verdict(r, "recovery_time[slow-features]").status is Status.PASSED


def test_no_room_before_the_horizon_is_not_measurable_and_unknown():
    faults = (Plan("first", 5, 5), Plan("second", 13, 5))  # 3 s < one 5 s window
    r = run(faults=faults, expect={"recovery_time": {"first": "< 5s"}})
    recovery = recoveries(r)["first"]
    assert not recovery.measurable and recovery.time_s is None
    v = verdict(r, "recovery_time[first]")
    assert v.status is Status.UNKNOWN and "not measurable" in v.message
    assert [v.name for v in evaluate(r) if v.name.startswith("recovery")] == [
        "recovery_time[first]"]


def test_an_instant_fault_recovers_from_its_injection():
    r = run(faults=(Plan("kill", 12, instant=True, kind="kill"),),
            requests=traffic(30, error=lambda t: 12 <= t < 14.5))
    recovery = recoveries(r)["kill"]
    assert recovery.start == 12.0 and recovery.recovered_at == pytest.approx(14.5)
    assert recovery.time_s == 2.5


def test_the_load_ends_with_its_schedule_not_when_locust_got_round_to_exiting():
    # 30 s of load, but load_stopped was journaled 1.5 s later (a busy machine): the
    # silence after the schedule is not a window without traffic
    records = journal(duration=31.5, window=1, faults=(Plan("kill", 12, instant=True, kind="kill"),))
    for record in records:
        if record["kind"] == "load_started":
            record["duration_s"] = 30.0
    r = build_run(records, traffic(30, error=lambda t: 12 <= t < 20))
    assert r.duration_s == 30.0
    recovery = recoveries(r)["kill"]
    assert recovery.horizon == 30.0 and recovery.time_s == 8.0
    stopped_early = journal(duration=25, window=1)  # stopped before its schedule: that is the end
    stopped_early[1]["duration_s"] = 30.0
    assert build_run(stopped_early, traffic(25)).duration_s == 25.0


def test_a_never_reverted_fault_is_unknown():
    r = run(faults=(Plan("stuck", 10, 5, reverted=False),),
            expect={"recovery_time": "< 5s"})
    v = verdict(r, "recovery_time[stuck]")
    assert v.status is Status.UNKNOWN and "never reverted" in v.message


def test_a_fault_never_injected_is_unknown():
    records = journal(faults=SLOW, expect={"recovery_time": "< 5s"})
    records = [r for r in records if not r["kind"].startswith("fault_")]
    v = next(v for v in evaluate(build_run(records, traffic(30)))
             if v.name == "recovery_time[slow]")
    assert v.status is Status.UNKNOWN and "never injected" in v.message


def test_steady_state_latency_bounds_recovery_too():
    requests = traffic(30, latency=lambda t: 900.0 if 10 <= t < 19 else 20.0)
    r = run(faults=SLOW, requests=requests, steady={"p99_ms": "< 500ms"})
    assert recoveries(r)["slow"].time_s == 4.0


@pytest.mark.parametrize("window", [1, 5, 10])
def test_window_length_does_not_shift_a_clean_recovery(window):
    r = run(faults=SLOW, window=window, requests=traffic(30, error=lambda t: 10 <= t < 18))
    steady = SteadyState(SLOSet(error_rate="<= 0%"))
    recovery = measure_recovery(r, r.faults[0], window_s=window, resolution=0.1,
                                holds=steady.holds_batch)
    assert recovery.time_s == 3.0


# ----------------------------------------------------------------- known truth

def test_an_outage_of_exactly_5_s_errs_only_inside_it_and_recovers_at_once():
    # ingress refused from 10.000 s to 15.000 s: refused requests fail in 1 ms
    outage = (Plan("refused", 10, 5, kind="down"),)
    answer = lambda t: (0.001, False) if 10 <= t < 15 else (0.004, True)  # noqa: E731
    r = run(faults=outage, window=2, requests=paced(users=8, rate=10, duration=30,
                                                    answer=answer))
    failing = [row for row in series(r, 0.1).rows() if row["errors"]]
    assert failing and all(10 <= row["start_s"] and row["end_s"] <= 15 for row in failing)
    inside = window_stats(r, 10, 15)
    assert inside.errors == inside.requests == 400
    assert window_stats(r, 0, 10).errors == window_stats(r, 15, 30).errors == 0
    truth = 0.0  # the first request due after the revert is answered
    assert abs(recoveries(r)["refused"].time_s - truth) <= 0.1


def test_a_4_s_freeze_counts_every_due_request_and_measures_from_intent():
    # the model server frozen from 10 s to 14 s: a request sent meanwhile is answered at
    # 14 s; its user's later slots came due while it waited, and were never sent
    freeze = (Plan("frozen", 10, 4, kind="pause"),)
    answer = lambda t: (14.005 - t, True) if 10 <= t < 14 else (0.005, True)  # noqa: E731
    r = run(faults=freeze, window=2, steady={"error_rate": "< 1%", "p99_ms": "< 250"},
            requests=paced(users=8, rate=10, duration=30, answer=answer))
    during = window_stats(r, 10, 14)
    assert during.requests == 8 * 10 * 4  # every slot due in the window is counted
    assert (during.sent, during.omitted) == (8, 312)  # each user sent one, then was stuck
    assert during.p50_ms >= 1500 and during.p50_ms == pytest.approx(2000, abs=60)
    assert 3900 < during.service_p50_ms <= 4005  # sent in [10, 10.1) s, answered at 14 s
    assert during.throughput_rps == 2.0
    assert abs(recoveries(r)["frozen"].time_s - 0.0) <= 0.1


@settings(max_examples=40, deadline=None)
@given(truth=st.floats(0.05, 5.0), resolution=st.sampled_from([0.01, 0.05, 0.1, 0.25]))
def test_recovery_is_within_one_resolution_step_of_the_truth(truth, resolution):
    # a kill at 12 s: every request due before 12 s + truth fails, every later one succeeds
    kill = (Plan("kill", 12, instant=True, kind="kill"),)
    requests = traffic(30, rps=100, error=lambda t: 12 <= t < 12 + truth)
    r = run(faults=kill, window=2, steady={"error_rate": "< 0.1%"}, requests=requests)
    measured = recoveries(r, resolution=resolution)["kill"].time_s
    assert abs(measured - truth) <= resolution + 1e-9
