"""The live view as a listener: fed records and requests (no file read), it shows the
figures they imply, plain or rich."""

import io

from harness.liveview import LiveView, plain_line, rich_panel
from harness.model import Scenario
from harness.timeline.events import Events
from harness.timeline.records import FaultInjected, LoadStarted, RunbookStepDone, RunbookStepTriggered
from harness.timeline.requests import Request

SCENARIO = Scenario.model_validate({
    "name": "live", "load": {"duration": "20s"},
    "steady_state": {"window": "2s", "slo": {"error_rate": "< 1%", "p99_ms": "< 250"}},
    "faults": [{"name": "slow", "at": "1s", "latency": {"link": "features", "latency_ms": 10}}],
    "runbook": {"file": "rb.md", "steps": [{"step": 1, "at": "2s"}, {"step": 2, "after": 1}]}})


def feed(events: Events, now: float) -> None:
    events.record.fire(record=LoadStarted(load_ts=now - 8))
    events.record.fire(record=FaultInjected(fault="slow", fault_kind="latency", target="features"))
    events.record.fire(record=RunbookStepTriggered(step=1, title="t", trigger="at 2s"))
    events.record.fire(record=RunbookStepDone(step=1, ok=True))
    for i in range(100):  # 20 req/s over the last 5 s; every 10th failed, every 4th a fallback, 10..109 ms
        end = now - 5 + (i + 1) * 0.05
        events.request.fire(request=Request(intended_ts=end - (10 + i) / 1000, ts=end - (10 + i) / 1000,
                                            service_ms=10 + i, ok=i % 10 != 0,
                                            flags=("fallback",) if i % 4 == 0 else ()))


def test_figures_come_from_the_events_alone():
    events, now = Events(), 1_000_000.0
    view = LiveView(SCENARIO, stream=io.StringIO(), tty=False).listen(events)
    feed(events, now)
    s = view.state.snapshot(now)
    assert s["elapsed_s"] == 8 and s["duration_s"] == 20
    assert s["requests"] == 100 and s["rps"] == 20
    assert s["error_rate"] == 0.1 and s["flags"] == {"fallback": 0.25}
    assert s["p99_ms"] == 108
    assert s["faults"] == {"slow": "latency on features"}
    assert s["steps"] == {1: "done", 2: "waiting"}
    assert s["slos"] == [("error_rate < 1%", "MISSED"), ("p99_ms < 250", "ok")]
    line = plain_line(s)
    assert line.startswith("[live]   8.0/20s    20.0 req/s  err 10.0%  p99 108ms  fallback 25%")
    assert "faults: slow" in line and "steps 1:done 2:waiting" in line and "[error_rate < 1%: MISSED]" in line


def test_rich_panel_renders_every_part():
    from rich.console import Console

    events, now = Events(), 1_000_000.0
    view = LiveView(SCENARIO, stream=io.StringIO(), tty=True).listen(events)
    feed(events, now)
    out = io.StringIO()
    Console(file=out, width=120, color_system=None).print(rich_panel(view.state.snapshot(now), "chaos-harness: live"))
    text = out.getvalue()
    for part in ("chaos-harness: live", "elapsed   8.0s", "remaining  12.0s", "20.0", "10.0%", "108 ms",
                 "fallback rate", "25.0%", "slow (latency on features)", "error_rate < 1%: MISSED",
                 "step 1: done", "step 2: waiting"):
        assert part in text, (part, text)
