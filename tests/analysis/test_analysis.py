"""Loading a run, attribution, window stats, the series and fault windows."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.analysis import build_run, load_run
from harness.errors import HarnessError
from harness.series import bucket_edges, series
from harness.timeline.requests import Request
from harness.windows import baseline_window, percentile, percentiles, rank, window_stats

from .synthetic import T0, Plan, journal, run, traffic, write_run


def req(intended: float, *, sent_at: float | None = None, service_ms: float = 10.0,
        ok: bool = True, sent: bool = True, fallback: bool = False) -> dict:
    """One request line, times in seconds from T0."""
    return Request(intended_ts=T0 + intended, ts=T0 + (intended if sent_at is None else sent_at),
                   service_ms=service_ms, ok=ok, sent=sent,
                   flags=("fallback",) if fallback else ()).to_json()


def test_percentile_is_nearest_rank_in_integers():
    values = np.arange(1.0, 101.0)
    assert percentiles(values) == [50.0, 95.0, 99.0]
    assert percentile(np.array([7.0]), 99) == 7.0
    assert percentile(np.array([]), 50) is None
    assert percentiles(np.array([10.0, 20.0, 30.0, 40.0]), (50, 99)) == [20.0, 40.0]
    assert [rank(n, 95) for n in (1, 19, 20, 21, 100)] == [1, 19, 19, 20, 95]


def test_latency_counts_from_the_intended_start_and_service_time_is_kept():
    r = run(duration=3, requests=[req(1.0, sent_at=1.5, service_ms=100.0)])
    stats = window_stats(r, 0, 3)
    assert stats.p50_ms == pytest.approx(600.0) and stats.service_p50_ms == 100.0


def test_a_window_counts_what_was_due_sent_or_not():
    requests = [req(1.0, service_ms=2000.0),                     # blocks its user until 3.0
                req(1.5, sent_at=3.0, service_ms=0.0, sent=False),  # due meanwhile, never sent
                req(2.5, sent_at=3.0, service_ms=0.0, sent=False),
                req(3.5)]
    stats = window_stats(run(duration=5, requests=requests), 1, 3)
    assert (stats.requests, stats.sent, stats.omitted) == (3, 1, 2)
    assert stats.throughput_rps == 0.5  # one request sent in 2 s
    assert stats.p50_ms == pytest.approx(1500.0)  # due at 1.5, its user free at 3.0
    assert stats.service_p99_ms == 2000.0  # over the one request sent


def test_window_stats_count_requests_by_intended_start_half_open():
    requests = [req(0.99, service_ms=5000.0, ok=False), req(1.0, fallback=True),
                req(1.5, service_ms=30.0)]
    r = run(duration=3, requests=requests)
    first = window_stats(r, 0, 1)
    assert (first.requests, first.errors, first.error_rate, first.p50_ms) == (1, 1, 1.0, 5000.0)
    second = window_stats(r, 1, 2)
    assert (second.requests, second.errors, second.flags["fallback"]) == (2, 0, 1)
    assert second.flag_rate("fallback") == 0.5 and second.p99_ms == 30.0 and second.throughput_rps == 2.0
    empty = window_stats(r, 5, 5)
    assert empty.requests == 0 and empty.error_rate is None and empty.p99_ms is None
    assert empty.throughput_rps is None


def test_a_request_in_flight_at_an_injection_belongs_to_the_fault():
    # the kill takes effect at 25.96 s; requests due before it, failing after it
    kill = (Plan("kill", 25.96, instant=True, kind="kill"),)
    in_flight = [req(25.90 + i / 100, service_ms=300.0, ok=False) for i in range(4)]
    before = [req(25.0 + i / 10) for i in range(9)]  # answered before the kill
    r = run(faults=kill, requests=before + in_flight)
    assert window_stats(r, 23, 25.96).errors == 0
    moved = window_stats(r, 25.96, 26.5)
    assert (moved.requests, moved.errors) == (4, 4)
    assert moved.p99_ms == 300.0  # still measured from when they were due


def test_a_request_that_ended_during_the_injecting_call_belongs_to_the_fault():
    # the kill's call starts at 25.96 s and returns at 25.965 s (its effective time); a
    # request cut off by the signal ended at 25.962 s, before the call returned
    kill = (Plan("kill", 25.96, instant=True, kind="kill", lag=0.005),)
    cut_off = req(25.90, service_ms=62.0, ok=False)
    answered = req(25.80, service_ms=100.0)  # ended at 25.90 s, before the call began
    r = run(faults=kill, requests=[cut_off, answered])
    assert r.faults[0].called == pytest.approx(25.96) and r.faults[0].start == pytest.approx(25.965)
    assert window_stats(r, 23, r.faults[0].start).errors == 0
    moved = window_stats(r, r.faults[0].start, 27)
    assert (moved.requests, moved.errors, moved.p99_ms) == (1, 1, pytest.approx(62.0))
    assert window_stats(r, 25.75, 25.85).requests == 1  # answered in time: stays put


def test_attribution_takes_the_latest_injection_a_request_was_in_flight_at():
    faults = (Plan("a", 10, 10), Plan("b", 12, 5))
    r = run(faults=faults, requests=[req(9.5, service_ms=4000.0), req(9.8, service_ms=100.0)])
    assert window_stats(r, 12, 13).requests == 1  # in flight at 10 and at 12: from 12
    assert window_stats(r, 10, 12).requests == 0
    assert window_stats(r, 9.7, 10.0).requests == 1  # answered before the first injection


def test_series_has_one_bucket_per_resolution_step_with_the_metrics():
    requests = traffic(10, rps=20, error=lambda t: 3 <= t < 4,
                       latency=lambda t: 100.0 if t < 5 else 10.0, fallback=lambda t: t >= 8)
    s = series(run(duration=10, requests=requests), 0.1)
    assert len(s) == 100 and s.start_s[0] == 0.0 and s.end_s[-1] == 10.0
    assert np.allclose(np.diff(s.start_s), 0.1)
    assert (s.requests == 2).all() and (s.sent == 2).all()
    rows = s.rows()
    assert rows[30]["error_rate"] == 1.0 and rows[29]["error_rate"] == 0.0
    assert rows[49]["p99_ms"] == 100.0 and rows[50]["p50_ms"] == 10.0
    assert rows[80]["fallback_rate"] == 1.0 and rows[79]["fallback_rate"] == 0.0
    assert s.throughput_rps == pytest.approx(np.full(100, 20.0))
    assert s.to_json()["resolution_s"] == 0.1


def test_bucket_edges_are_cut_at_every_fault_instant():
    edges = bucket_edges(2.0, 0.5, [0.73, 1.5, 2.0])
    assert edges.tolist() == [0.0, 0.5, 0.73, 1.0, 1.5, 2.0]


def test_nothing_is_drawn_before_its_cause():
    # a kill at 25.96 s: the requests it cut off are drawn from 25.96 on, not from 25.9
    kill = (Plan("kill", 25.96, instant=True, kind="kill"),)
    requests = traffic(30, rps=100, error=lambda t: 25.96 <= t < 26.5)
    requests += [req(25.91, service_ms=200.0, ok=False)]
    s = series(run(faults=kill, requests=requests), 0.1)
    failing = [row for row in s.rows() if row["errors"]]
    assert min(row["start_s"] for row in failing) == pytest.approx(25.96)


def test_empty_buckets_have_no_rates():
    s = series(run(duration=6, requests=traffic(6, gaps=((2.0, 4.0),))), 1.0)
    assert s.requests.tolist() == [10, 10, 0, 0, 10, 10]
    assert s.throughput_rps[2] == 0.0 and np.isnan(s.error_rate[2]) and np.isnan(s.p99_ms[3])
    assert s.rows()[2]["error_rate"] is None


def test_fault_windows_come_from_the_effective_times_with_their_lag():
    r = run(faults=(Plan("slow", 10, 5, lag=0.013), Plan("kill", 20, instant=True, kind="kill")))
    slow, kill = r.faults
    assert (slow.name, slow.kind, slow.start, slow.end) == ("slow", "latency",
                                                            pytest.approx(10.013), 15.0)
    assert slow.planned == 10.0 and slow.lag_ms == pytest.approx(13.0)
    assert slow.recovery_start == 15.0 and not slow.instant
    assert kill.instant and kill.start == kill.end == 20.0 and kill.recovery_start == 20.0
    assert kill.healed_at == pytest.approx(20.5)  # its target healthy again
    assert kill.planned == 20.0 and kill.lag_ms == pytest.approx(0.0)  # from the scenario's at
    assert baseline_window(r) == (2.0, pytest.approx(10.013))


def test_baseline_without_faults_runs_to_the_end_and_never_starts_after_a_fault():
    assert baseline_window(run(duration=30)) == (2.0, 30.0)
    assert baseline_window(run(faults=(Plan("early", 1, 3),))) == (1.0, 1.0)


def test_fault_kind_falls_back_to_the_scenario():
    records = journal(faults=(Plan("slow", 10, 5),))
    for record in records:
        record.pop("fault_kind", None)
    assert build_run(records, traffic(30)).faults[0].kind == "latency"


def test_a_never_reverted_fault_lasts_to_the_end_of_load():
    (stuck,) = run(faults=(Plan("stuck", 10, 5, reverted=False),)).faults
    assert stuck.end == 30.0 and stuck.healed_at is None and stuck.recovery_start is None


def test_load_run_reads_files_skips_torn_lines_and_handles_a_crash(tmp_path):
    run_dir = write_run(tmp_path, journal=journal(duration=None, finished=None),
                        requests=traffic(12))
    with open(run_dir / "requests.jsonl", "a") as handle:
        handle.write('{"intended_ts": 17000')  # torn by the crash
    r = load_run(run_dir)
    assert r.status == "crashed" and len(r.requests) == 120
    assert r.duration_s == pytest.approx(11.95 + 0.02)  # last request's answer
    assert r.scenario.name == "synthetic" and r.run_id == "synthetic-run"


def test_lines_that_are_not_requests_count_as_torn(tmp_path):
    lines = traffic(3)
    run_dir = write_run(tmp_path, journal=journal(duration=3), requests=lines)
    with open(run_dir / "requests.jsonl", "a") as handle:
        handle.write('[1, 2]\n{"intended_ts": "soon", "ts": 1, "service_ms": 1}\n\n')
        handle.write(json.dumps(lines[0]) + "\n")
    from harness.requestlog import read_request_log
    log = read_request_log(run_dir / "requests.jsonl")
    assert (len(log), log.torn) == (31, 2)


def test_version_1_request_lines_are_read_as_sent_on_time(tmp_path):
    old = [{"ts": T0 + 1.0, "latency_ms": 40.0, "name": "/p", "ok": True, "status": 200,
            "error": None, "fallback": True},
           {"ts": T0 + 1.5, "latency_ms": 900.0, "name": "/p", "ok": False, "status": 0,
            "error": "timeout", "fallback": None}]
    r = load_run(write_run(tmp_path, journal=journal(duration=3), requests=old))
    stats = window_stats(r, 0, 3)
    assert (stats.requests, stats.sent, stats.errors, stats.flags["fallback"]) == (2, 2, 1, 1)
    assert stats.p99_ms == 900.0 and stats.service_p99_ms == 900.0


def test_missing_request_log_is_an_empty_run(tmp_path):
    run_dir = write_run(tmp_path, journal=journal(duration=None, finished="error"),
                        requests=None)
    r = load_run(run_dir)
    assert r.status == "error" and r.duration_s == 0.0 and len(r.requests) == 0
    assert len(series(r, 0.1)) == 0


def test_a_journal_without_header_is_refused(tmp_path):
    run_dir = tmp_path / "not-a-run"
    run_dir.mkdir()
    (run_dir / "journal.jsonl").write_text(json.dumps({"ts": T0, "kind": "load_started",
                                                       "load_ts": T0}))
    with pytest.raises(HarnessError, match="no run_started"):
        load_run(run_dir)
