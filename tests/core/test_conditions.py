"""Conditions on the live feed, the abort_if watch and runbook parsing: our own logic, on
synthetic requests whose truth is known."""

from pathlib import Path

import pytest

from harness.conditions import Condition, RollingWindow
from harness.journal import Journal
from harness.runbook import RunbookError, parse_runbook, parse_runbook_text
from harness.timeline.events import Events
from harness.timeline.records import ConditionHeld, FaultInjected, LoadStarted
from harness.timeline.requests import Request
from harness.watch import ConditionWatch

ROOT = Path(__file__).resolve().parents[2]


def req(end: float, *, ok=True, flags=(), latency_ms=10.0) -> Request:
    return Request(intended_ts=end - latency_ms / 1000, ts=end - latency_ms / 1000, service_ms=latency_ms,
                   ok=ok, flags=tuple(flags))


@pytest.mark.parametrize("text, metric, value, for_s", [
    ("error_rate > 5% for 10s", "error_rate", 0.05, 10.0),
    ("fallback_rate >= 0.5 for 500ms", "fallback_rate", 0.5, 0.5),
    ("p99_ms > 2s for 3s", "p99_ms", 2.0, 3.0),
    ("rps < 5 for 2s", "rps", 5.0, 2.0),
])
def test_parse(text, metric, value, for_s):
    c = Condition.parse(text)
    assert (c.metric, c.threshold.value, c.for_s) == (metric, value, for_s)


@pytest.mark.parametrize("text, message", [
    ("error_rate > 5%", "expected METRIC OP BOUND for DURATION"),
    ("latency > 5 for 2s", "unknown metric 'latency'"),
    ("error_rate > 5ms for 2s", "is a rate"),
    ("p99_ms > 5% for 2s", "is a latency"),
    ("error_rate > 5% for 2weeks", "could not parse duration"),
    ("error_rate > 5% for 0s", "more than 0"),
])
def test_parse_errors(text, message):
    with pytest.raises(ValueError, match=message):
        Condition.parse(text)


def window_of(requests):
    w = RollingWindow(10)
    for r in requests:
        w.add(r)
    return w


def test_holds_over_the_window_of_its_duration_only():
    c = Condition.parse("error_rate > 50% for 2s")
    # 100 s of load start; t=10..12: 10 ok per second; t=12..14: all failing
    reqs = [req(100 + 10 + i / 10) for i in range(20)] + [req(100 + 12 + i / 10, ok=False) for i in range(1, 21)]
    w = window_of(reqs)
    assert c.holds(w, 100 + 12.9, started=100) == (False, pytest.approx(9 / 19))
    holds, value = c.holds(w, 100 + 13.1, started=100)
    assert holds and value == pytest.approx(11 / 19)


def test_a_window_not_yet_full_or_empty_never_holds():
    c = Condition.parse("error_rate > 50% for 2s")
    w = window_of([req(101.0, ok=False), req(101.5, ok=False)])
    assert c.holds(w, 101.5, started=100.0)[0] is False  # only 1.5 s since the load started
    assert c.holds(w, 110.0, started=100.0) == (False, None)  # no request in (108, 110]


def test_flag_rates_and_latency_percentiles():
    w = window_of([req(100 + i / 100, flags=("fallback",) if i % 4 == 0 else (), latency_ms=i) for i in range(1, 101)])
    assert Condition.parse("fallback_rate > 20% for 1s").value(w, 101.0) == pytest.approx(0.25)
    assert Condition.parse("p99_ms > 1 for 1s").value(w, 101.0) == 99
    assert Condition.parse("rps > 1 for 1s").value(w, 101.0) == 100


def test_watch_fires_once_and_a_fault_arms_detection(tmp_path):
    events = Events()
    journal = Journal(tmp_path / "journal.jsonl", events=events)
    watch = ConditionWatch(journal).listen(events)
    fired = []
    watch.watch(Condition.parse("error_rate > 50% for 1s"), "abort", fired.append)
    watch.watch(Condition.parse("error_rate > 50% for 1s"), "detect", fired.append, armed_by="boom")
    journal.emit(LoadStarted(load_ts=100.0))
    for i in range(40):
        events.request.fire(request=req(101 + i / 10, ok=False))
    assert [r.role for r in fired] == ["abort"]
    journal.emit(FaultInjected(fault="boom"))
    events.request.fire(request=req(105.0, ok=False))
    assert [r.role for r in fired] == ["abort", "detect"]
    held = [r for r in fired if isinstance(r, ConditionHeld)]
    assert held[0].held_at == pytest.approx(101.0) and held[0].value == 1.0  # 1 s after the load started


def test_runbook_steps_and_commands():
    book = parse_runbook(ROOT / "fixtures" / "pipeline" / "runbooks" / "feature-source-failover.md")
    assert sorted(book.steps) == [1, 2, 3, 4, 5]
    assert book.title.startswith("Runbook: primary feature path down")
    assert "admin/feature-source" in book.steps[3].command and '"standby"' in book.steps[3].command
    assert book.steps[5].command is None  # a human step
    assert book.steps[3].command.splitlines()[1].startswith("     -H")  # dedented by the fence's indent


@pytest.mark.parametrize("text, message", [
    ("# t\n\nno steps here\n", "no numbered steps"),
    ("1. a\n2. b\n1. again\n", "step 1 is numbered twice (first on line 1)"),
    ("1. a\n\n   ```sh\n   echo\n", ":1: step 1: a fenced command block that is never closed"),
])
def test_runbook_problems_name_file_and_line(text, message):
    with pytest.raises(RunbookError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_runbook_text(text, Path("rb.md"))
