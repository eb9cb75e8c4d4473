"""Loading a run, the per-second timeline, window stats and fault windows."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.analysis import (
    GUARD_S,
    baseline_window, load_run, percentile, timeline, window_stats,
)
from harness.errors import HarnessError

from .synthetic import T0, Plan, journal, run, traffic, write_run


def test_percentile_is_nearest_rank():
    values = np.arange(1.0, 101.0)
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0
    assert percentile(np.array([7.0]), 99) == 7.0
    assert percentile(np.array([]), 50) is None


def test_timeline_has_one_row_per_second_with_the_metrics():
    r = run(duration=10, requests=traffic(10, error=lambda t: 3 <= t < 4,
                                          latency=lambda t: 100.0 if t < 5 else 10.0,
                                          fallback=lambda t: t >= 8))
    frame = timeline(r)
    assert len(frame) == 10
    assert list(frame["second"]) == list(range(10))
    assert list(frame["start_s"]) == [float(k) for k in range(10)]
    assert (frame["requests"] == 10).all()
    assert frame.loc[3, "errors"] == 10 and frame.loc[3, "error_rate"] == 1.0
    assert frame.loc[2, "error_rate"] == 0.0
    assert frame.loc[4, "p99_ms"] == 100.0 and frame.loc[5, "p50_ms"] == 10.0
    assert frame.loc[8, "fallback_rate"] == 1.0 and frame.loc[7, "fallback_rate"] == 0.0
    assert (frame["throughput_rps"] == 10.0).all()


def test_empty_seconds_are_rows_without_rates():
    r = run(duration=6, requests=traffic(6, gaps=((2.0, 4.0),)))
    frame = timeline(r)
    assert list(frame["requests"]) == [10, 10, 0, 0, 10, 10]
    assert frame.loc[2, "throughput_rps"] == 0.0
    assert np.isnan(frame.loc[2, "error_rate"]) and np.isnan(frame.loc[3, "p99_ms"])


def test_window_stats_counts_requests_by_start_time_half_open():
    requests = [
        {"ts": T0 + 0.99, "latency_ms": 5000.0, "name": "/p", "ok": False, "status": 0,
         "error": "timeout", "fallback": None},   # started in [0, 1), ended much later
        {"ts": T0 + 1.0, "latency_ms": 10.0, "name": "/p", "ok": True, "status": 200,
         "error": None, "fallback": True},
        {"ts": T0 + 1.5, "latency_ms": 30.0, "name": "/p", "ok": True, "status": 200,
         "error": None, "fallback": False},
    ]
    r = run(duration=3, requests=requests)
    first = window_stats(r, 0, 1)
    assert (first.requests, first.errors, first.error_rate) == (1, 1, 1.0)
    assert first.p50_ms == 5000.0
    second = window_stats(r, 1, 2)
    assert (second.requests, second.errors, second.fallbacks) == (2, 0, 1)
    assert second.fallback_rate == 0.5 and second.p99_ms == 30.0
    assert second.throughput_rps == 2.0
    whole = window_stats(r, 0, 3)
    assert whole.requests == 3 and whole.error_rate == pytest.approx(1 / 3)


def test_empty_window_has_no_rates_and_no_throughput_when_zero_length():
    r = run(duration=10)
    empty = window_stats(r, 5, 5)
    assert empty.requests == 0 and empty.error_rate is None and empty.p99_ms is None
    assert empty.throughput_rps is None


def test_fault_windows_and_baseline_come_from_the_journal():
    r = run(faults=(Plan("slow", 10, 5), Plan("kill", 20, instant=True, kind="kill")))
    slow, kill = r.faults
    assert (slow.name, slow.kind, slow.start, slow.end, slow.healed_at) == (
        "slow", "latency", 10.0, 15.0, 15.0)
    assert slow.recovery_start == 15.0 and not slow.instant
    assert kill.instant and kill.start == kill.end == 20.0 and kill.recovery_start == 20.0
    assert kill.kind == "kill" and kill.target == "model"
    assert baseline_window(r) == (2.0, 10.0 - GUARD_S)  # in-flight requests at the fault are left out


def test_baseline_without_faults_runs_to_the_end_and_never_starts_after_a_fault():
    assert baseline_window(run(duration=30)) == (2.0, 30.0)
    assert baseline_window(run(faults=(Plan("early", 1, 3),))) == (1.0 - GUARD_S, 1.0 - GUARD_S)


def test_fault_kind_falls_back_to_the_scenario():
    records = journal(faults=(Plan("slow", 10, 5),))
    for record in records:
        record.pop("fault_kind", None)
    from harness.analysis import build_run
    assert build_run(records, traffic(30)).faults[0].kind == "latency"


def test_a_never_reverted_fault_lasts_to_the_end_of_load():
    r = run(faults=(Plan("stuck", 10, 5, reverted=False),))
    (stuck,) = r.faults
    assert stuck.end == 30.0 and stuck.healed_at is None and stuck.recovery_start is None


def test_load_run_reads_files_skips_torn_lines_and_handles_a_crash(tmp_path):
    run_dir = write_run(tmp_path, journal=journal(duration=None, finished=None),
                        requests=traffic(12))
    with open(run_dir / "requests.jsonl", "a") as handle:
        handle.write('{"ts": 17000')  # torn by the crash
    r = load_run(run_dir)
    assert r.status == "crashed"
    assert len(r.requests) == 120
    assert r.duration_s == pytest.approx(11.95 + 0.02)  # last request's completion
    assert r.scenario.name == "synthetic" and r.run_id == "synthetic-run"


def test_missing_request_log_is_an_empty_run(tmp_path):
    run_dir = write_run(tmp_path, journal=journal(duration=None, finished="error"),
                        requests=None)
    r = load_run(run_dir)
    assert r.status == "error" and r.duration_s == 0.0 and len(r.requests) == 0
    assert len(timeline(r)) == 0


def test_a_journal_without_header_is_refused(tmp_path):
    run_dir = tmp_path / "not-a-run"
    run_dir.mkdir()
    (run_dir / "journal.jsonl").write_text(json.dumps({"ts": T0, "kind": "load_started"}))
    with pytest.raises(HarnessError, match="no run_started"):
        load_run(run_dir)
