"""The harness's own pacing schedule (the code the locustfile wrapper runs)."""

import pytest

from harness.pacing import Schedule, omitted_requests
from harness.timeline.requests import Request


def test_slots_are_due_at_a_fixed_rate_and_a_task_claims_its_slot_once():
    schedule = Schedule(t0=100.0, rate=10.0)
    assert [schedule.due(k) for k in range(3)] == [100.0, 100.1, 100.2]
    assert schedule.claim() == 100.0
    assert schedule.claim() is None  # the task's second request carries its own start


def test_a_task_on_time_omits_nothing_and_waits_for_its_next_slot():
    schedule = Schedule(t0=100.0, rate=10.0)
    schedule.claim()
    omitted, wait = schedule.finish(100.02)
    assert omitted == [] and wait == pytest.approx(0.08)
    assert schedule.claim() == pytest.approx(100.1)


def test_a_blocked_user_omits_the_slots_that_came_due_and_does_not_catch_up():
    schedule = Schedule(t0=100.0, rate=10.0)
    schedule.claim()
    omitted, wait = schedule.finish(100.35)  # blocked 350 ms on one request
    assert omitted == pytest.approx([100.1, 100.2, 100.3])
    assert wait == pytest.approx(0.05)  # the next slot is 100.4: one request, no burst
    assert schedule.claim() == pytest.approx(100.4)


def test_a_slot_due_the_moment_the_user_is_free_was_missed():
    schedule = Schedule(t0=0.0, rate=4.0)
    schedule.claim()
    omitted, wait = schedule.finish(0.25)
    assert omitted == [0.25] and wait == pytest.approx(0.25)


def test_omitted_slots_take_the_blocking_request_outcome():
    blocking = Request(intended_ts=100.0, ts=100.0, service_ms=4000.0, name="/p", ok=False,
                       status=0, error="timeout", flags=("fallback",), user=3)
    (first, second) = omitted_requests(blocking, [100.1, 100.2], 104.0)
    assert (first.intended_ts, first.ts, first.service_ms, first.sent) == (100.1, 104.0, 0.0, False)
    assert (first.ok, first.error, first.flags, first.user) == (False, "timeout", ("fallback",), 3)
    assert second.latency_ms == pytest.approx(3800.0)
