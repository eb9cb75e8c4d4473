"""The runner on the fakes: its order, its fault timing on the fake clock, and healing on
every exit path (errors, bugs, interrupts and aborts at each phase). Milliseconds each;
the real parts are proven by the e2e and docker tiers."""

from __future__ import annotations

import os
import signal

import pytest

from harness.backends.fake import FakeBackend
from harness.drivers.fake import ProxyCall
from harness.errors import DriverError
from harness.plan import PREPARE_S
from harness.timeline.records import (FaultInjected, FaultInjecting, FaultReverted, LoadStopped, PipelineDown,
                                      ProxyServerDied, RunFinished, SignalReceived)
from tests.core.runner_support import DOWN, KILL, LATENCY, PAUSE, play, scenario


def _healed(run) -> None:
    """Every injected fault was reverted (ok), the load stopped and the pipeline went down."""
    __tracebackhide__ = True
    injected = {r.fault for r in run.of(FaultInjected)}
    assert injected <= {r.fault for r in run.of(FaultReverted) if r.ok}
    assert all(p["enabled"] and not p["toxics"] for p in run.backend.proxies.proxies().values())
    assert run.of(PipelineDown) and run.backend.down_done
    if "load_started" in run.kinds():
        assert run.of(LoadStopped)
    assert run.records[-1] == run.first(RunFinished)


def test_the_phases_and_records_come_in_their_order():
    run = play(scenario(LATENCY))
    assert run.status == "completed" and run.error is None
    assert [(r.kind, r.phase) for r in run.records] == [
        ("run_started", "setup"), ("pipeline_up", "setup"), ("phase_started", "baseline"),
        ("load_started", "baseline"), ("phase_started", "inject"), ("fault_injecting", "inject"),
        ("fault_injected", "inject"), ("fault_reverted", "inject"), ("phase_started", "recover"),
        ("phase_started", "teardown"), ("load_stopped", "teardown"), ("pipeline_down", "teardown"),
        ("phase_started", "analyze"), ("run_finished", "analyze")]
    _healed(run)


def test_each_fault_is_announced_ahead_and_lands_exactly_on_its_planned_time():
    run = play(scenario(LATENCY, KILL, PAUSE))
    planned = {"slow": 4.0, "freeze": 5.0, "kill-model": 6.0}
    for record in run.of(FaultInjecting):
        assert record.planned_ts == run.load_ts + planned[record.fault]
        assert record.ts == pytest.approx(record.planned_ts - PREPARE_S)  # durable before its time
    for record in run.of(FaultInjected):
        assert record.planned_ts == record.call_ts == record.effective_ts == run.load_ts + planned[record.fault]
        assert record.lag_ms == 0.0
    changes = [c for c in run.backend.calls if c.action in ("add_toxic", "remove_toxic", "pause", "resume", "kill")]
    assert [(c.action, round(c.at - run.load_ts, 6)) for c in changes] == [
        ("add_toxic", 4.0), ("pause", 5.0), ("kill", 6.0), ("remove_toxic", 7.0), ("resume", 7.0)]
    _healed(run)


def test_the_lag_is_what_the_one_call_took():
    run = play(scenario(LATENCY), call_s=0.003)
    injected, reverted = run.first(FaultInjected), run.first(FaultReverted)
    assert injected.lag_ms == pytest.approx(3.0) and injected.call_ts == injected.planned_ts
    assert reverted.planned_ts == run.load_ts + 7 and reverted.lag_ms == pytest.approx(3.0)
    assert [c.action for c in run.backend.calls if isinstance(c, ProxyCall)].count("add_toxic") == 1


class _SlowToReturn(FakeBackend):
    """A kill whose signal goes out 2 ms into a call that takes 50 ms (as docker's waits)."""

    def kill(self, service: str, signal: str = "SIGKILL") -> float:
        self.clock.sleep(0.002)
        sent = super().kill(service, signal)
        self.clock.sleep(0.048)
        return sent


def test_a_fault_reports_when_it_took_effect_not_when_its_call_returned():
    run = play(scenario(KILL), backend=_SlowToReturn)
    killed = run.first(FaultInjected)
    assert killed.lag_ms == pytest.approx(2.0) and killed.call_ts == killed.planned_ts


def test_faults_held_to_the_end_are_reverted_at_teardown_last_in_first_out():
    run = play(scenario(DOWN, {**LATENCY, "for": None}))
    reverts = run.of(FaultReverted)
    assert [(r.fault, r.phase, r.planned_ts) for r in reverts] == [("slow", "teardown", None),
                                                                   ("cut", "teardown", None)]
    _healed(run)


@pytest.mark.parametrize("where, faults, fail", [
    ("up", (), {"up": DriverError("the engine said no")}),
    ("a fault's call", (LATENCY, KILL), {"kill": DriverError("no such process")}),
    ("a revert", (PAUSE, LATENCY), {"resume": DriverError("cannot thaw")}),
    ("down", (LATENCY,), {"down": DriverError("engine hung")}),
])
def test_an_error_anywhere_still_heals_and_says_what_went_wrong(where, faults, fail):
    run = play(scenario(*faults), fail=dict(fail))
    assert run.status == "error" and str(next(iter(fail.values()))) in run.error
    assert run.first(RunFinished).status == "error"
    if where == "a revert":
        assert [(r.fault, r.ok) for r in run.of(FaultReverted)] == [("freeze", False), ("slow", True)]
        return
    if where != "down":
        _healed(run)


def test_a_harness_bug_in_the_baseline_still_heals():
    def broken(clock):
        raise ZeroDivisionError("a bug")

    run = play(scenario(LATENCY), probe=broken)
    assert run.status == "error" and run.error == "ZeroDivisionError: a bug"
    _healed(run)


def _sigint(run) -> None:
    os.kill(os.getpid(), signal.SIGINT)


# Seconds from the start. Setup and teardown runs (backend calls take 1 s): up 0-1, probe
# 1-2, load 2-12, down 12-13. The others: probe 0-1, load 1-11, LATENCY active 5-8.
PHASE_TIMES = {"setup": 0.5, "baseline": 0.5, "inject": 6.5, "recover": 9.5, "teardown": 12.5}


@pytest.mark.parametrize("phase", list(PHASE_TIMES))
def test_an_interrupt_at_any_phase_heals_and_ends_interrupted(phase):
    run = play(scenario(LATENCY), step_s=1.0 if phase in ("setup", "teardown") else 0.0,
               probe=lambda clock: clock.sleep(1.0), alarms=((PHASE_TIMES[phase], _sigint),))
    assert run.status == "interrupted" and run.signals == ["SIGINT"]
    assert [(r.signal, r.phase) for r in run.of(SignalReceived)] == [("SIGINT", phase)]
    _healed(run)
    if phase == "inject":
        assert run.first(FaultReverted).interrupted


def test_a_signal_while_a_fault_is_prepared_waits_until_it_is_injected():
    run = play(scenario(LATENCY), alarms=((4.0 - PREPARE_S / 2, _sigint),))
    assert run.kinds().index("signal_received") < run.kinds().index("fault_injected")
    assert run.first(FaultInjected).lag_ms == 0.0  # made whole, and on time
    assert run.first(FaultReverted).interrupted and run.status == "interrupted"
    _healed(run)


def test_the_fault_proxy_dying_aborts_the_run_and_still_heals():
    def proxy_dies(run):
        run.journal.emit(ProxyServerDied(reason="killed by a test"))

    run = play(scenario(LATENCY, duration=20), alarms=((5.5, proxy_dies),))
    assert run.status == "error" and "fault proxy server died mid-run (killed by a test)" in run.error
    assert run.clock.now - run.load_ts < 6  # ended at once, not at the load's end (20 s)
    _healed(run)


def test_the_load_ending_before_the_plan_ends_the_run_with_an_error():
    run = play(scenario(LATENCY), alarms=((3.0, lambda run: run.loads[0].stop()),))
    assert run.status == "error" and "Locust stopped before the fault plan finished" in run.error
    assert not run.of(FaultInjected)
    _healed(run)
