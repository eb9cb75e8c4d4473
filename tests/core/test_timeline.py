"""The timeline's record types, their parsing, and the event hook."""

from __future__ import annotations

import logging

import pytest

from harness.timeline import EventHook, Events, Request, TimelineError, parse_record, parse_request
from harness.timeline.records import FaultInjected, ServiceHealthy, UnknownRecord, record_types


def test_every_kind_round_trips_through_its_json():
    for name, cls in record_types().items():
        required = {f: "x" for f in cls.__dataclass_fields__
                    if cls.__dataclass_fields__[f].default is cls.__dataclass_fields__[f].default_factory}
        record = cls(ts=1.5, t=0.5, phase="inject", **{k: v for k, v in required.items()
                                                       if k not in ("ts", "t", "phase")})
        line = record.to_json()
        assert line["kind"] == name
        assert parse_record(line) == record


def test_a_kind_this_version_does_not_know_is_kept_as_read():
    record = parse_record({"ts": 2.0, "t": 1.0, "kind": "from_the_future", "phase": "inject", "x": 1})
    assert isinstance(record, UnknownRecord)
    assert record.to_json() == {"ts": 2.0, "t": 1.0, "kind": "from_the_future", "phase": "inject", "x": 1}


def test_a_known_kind_missing_a_required_field_names_it():
    with pytest.raises(TimelineError, match="a fault_injected record lacks fault"):
        parse_record({"ts": 1.0, "kind": "fault_injected"})


def test_fields_of_older_journals_are_optional_and_times_fall_back_to_the_record():
    healthy = parse_record({"ts": 7.0, "kind": "service_healthy", "service": "m", "pid": 3, "after_s": 1})
    assert isinstance(healthy, ServiceHealthy) and healthy.at == 7.0
    injected = parse_record({"ts": 9.0, "kind": "fault_injected", "fault": "f"})
    assert isinstance(injected, FaultInjected) and injected.at == 9.0


def test_a_version_1_request_line_reads_as_sent_on_schedule():
    request = parse_request({"ts": 10.0, "latency_ms": 25.0, "name": "/p", "ok": True, "status": 200,
                             "error": None, "fallback": True})
    assert request == Request(intended_ts=10.0, ts=10.0, service_ms=25.0, name="/p", ok=True,
                              status=200, flags=("fallback",))
    assert request.latency_ms == 25.0


def test_latency_counts_from_the_intended_start():
    request = Request(intended_ts=10.0, ts=10.5, service_ms=20.0)
    assert request.latency_ms == pytest.approx(520.0)
    assert request.end_ts == pytest.approx(10.52)


def test_a_failing_listener_is_logged_and_the_others_still_run(caplog):
    hook, seen = EventHook(), []

    @hook.add_listener
    def broken(**_):
        raise ValueError("listener bug")

    hook.add_listener(lambda **kw: seen.append(kw))
    with caplog.at_level(logging.ERROR, logger="harness.timeline"):
        hook.fire(record="r")
    assert seen == [{"record": "r"}]
    assert "listener" in caplog.text and "ValueError: listener bug" in caplog.text


def test_an_interrupt_in_a_listener_is_not_swallowed():
    hook = EventHook()

    def stop(**_):
        raise KeyboardInterrupt

    hook.add_listener(stop)
    with pytest.raises(KeyboardInterrupt):
        hook.fire()


def test_events_has_one_hook_per_documented_event():
    events = Events()
    assert isinstance(events.record, EventHook) and isinstance(events.request, EventHook)
    assert events.record is not events.request
