"""Recovery time, as defined in docs/recovery-time.md."""

from __future__ import annotations

import pytest

from harness.analysis import build_run, measure_recovery
from harness.slo import Status, evaluate, recoveries

from .synthetic import Plan, journal, run, traffic

SLOW = (Plan("slow", 10, 5),)  # injected at 10 s, reverted at 15 s: R = 15


def verdict(r, name):
    """The verdict called ``name``."""
    return next(v for v in evaluate(r) if v.name == name)


def test_recovers_at_a_known_second():
    r = run(faults=SLOW, expect={"recovery_time": "< 5s"},
            requests=traffic(30, error=lambda t: 10 <= t < 18))
    recovery = recoveries(r)["slow"]
    assert (recovery.start, recovery.recovered_at, recovery.time_s) == (15.0, 18.0, 3.0)
    v = verdict(r, "recovery_time[slow]")
    assert v.status is Status.PASSED and v.observed == 3.0 and v.threshold == "< 5s"


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
    assert "did not recover" in v.message


def test_healthy_then_failing_again_before_the_horizon_is_not_recovered():
    r = run(faults=SLOW, requests=traffic(30, error=lambda t: 10 <= t < 16 or 27 <= t < 28))
    assert recoveries(r)["slow"].time_s is None


def test_a_zero_traffic_gap_is_not_healthy():
    # errors stop at 16 s but nothing is sent from 18 s to 24 s: the 5 s windows
    # [18, 23) and [19, 24) are empty, so the steady state is back only from 20 s.
    requests = traffic(30, error=lambda t: 10 <= t < 16, gaps=((18.0, 24.0),))
    assert recoveries(run(faults=SLOW, requests=requests))["slow"].recovered_at == 20.0
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
    assert recovery.start == 12.0 and recovery.recovered_at == 15.0
    assert recovery.time_s == 3.0


def test_recovery_is_clamped_at_zero_for_a_revert_inside_a_second():
    r = run(faults=(Plan("blip", 10, 5.5),))  # R = 15.5, never any error
    recovery = recoveries(r)["blip"]
    assert recovery.recovered_at == 15.0 and recovery.time_s == 0.0


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


@pytest.mark.parametrize("window, expected", [(1, 3.0), (5, 3.0), (10, 3.0)])
def test_window_length_does_not_shift_a_clean_recovery(window, expected):
    r = run(faults=SLOW, window=window, requests=traffic(30, error=lambda t: 10 <= t < 18))
    holds = lambda s: s.error_rate == 0  # noqa: E731
    assert measure_recovery(r, r.faults[0], window_s=window, holds=holds).time_s == expected
