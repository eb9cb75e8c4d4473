"""Workers' request logs merged into one, and their totals summed (``load.workers``)."""

import json

from harness.integrity import load_totals, record_problems
from harness.requestmerge import merge_worker_logs
from harness.timeline.records import LoadLaunched, RunFinished


def _line(intended, user):
    return json.dumps({"intended_ts": intended, "ts": intended, "service_ms": 1.0, "user": user})


def test_merge_orders_by_intended_start_and_keeps_torn_lines(tmp_path):
    (tmp_path / "requests-worker-0.jsonl").write_text(_line(3.0, 0) + "\n" + _line(1.0, 0) + "\n")
    (tmp_path / "requests-worker-1.jsonl").write_text(_line(2.0, 1_000_000) + "\n" + '{"intended_ts": 4')
    assert merge_worker_logs(tmp_path) == 4
    lines = (tmp_path / "requests.jsonl").read_text().splitlines()
    assert [json.loads(line)["intended_ts"] for line in lines[:3]] == [1.0, 2.0, 3.0]
    assert lines[3] == '{"intended_ts": 4'  # torn: kept for the integrity check to count
    assert not list(tmp_path.glob("requests-worker-*"))
    assert merge_worker_logs(tmp_path) == 0  # idempotent
    assert len((tmp_path / "requests.jsonl").read_text().splitlines()) == 4


def test_worker_totals_are_summed_and_a_missing_worker_is_a_problem():
    events = [{"event": "test_start"},
              {"event": "totals", "role": "worker", "worker": 0, "requests": 10, "sent": 10, "omitted": 1},
              {"event": "totals", "role": "worker", "worker": 1, "requests": 5, "sent": 5, "omitted": 0},
              {"event": "totals", "role": "master", "requests": 15, "workers": 3}]
    totals = load_totals(events)
    assert (totals["requests"], totals["omitted"], totals["missing_workers"]) == (15, 1, 1)
    journal = [LoadLaunched(pid=1, command=[]), RunFinished(status="completed")]
    problems = record_problems(journal, logged=15, omitted=1, torn=0, totals=totals)
    assert problems == ["1 Locust worker(s) wrote no totals (killed, or could not write them), "
                        "so requests.jsonl cannot be shown complete"]
    assert record_problems(journal, logged=15, omitted=1, torn=0,
                           totals=load_totals(events[:3] + [{**events[3], "workers": 2}])) == []


def test_one_process_totals_are_read_as_before():
    events = [{"event": "totals", "requests": 7, "sent": 7, "omitted": 0}]
    assert load_totals(events) == events[0]
