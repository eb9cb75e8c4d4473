"""A run whose record is incomplete is judged ``unknown``, never ``passed``.

Synthetic run directories as Locust and the runner leave them: a request log checked
against the totals the locustfile wrapper writes to ``load-events.jsonl`` at quit.
"""

import errno
import json
import xml.etree.ElementTree as ET

import pytest

from harness.reporting import build_reports
from tests.analysis.synthetic import T0, _rec, journal, traffic, write_run


def _launched_run(tmp_path, *, logged, totals, torn_lines=0):
    records = journal(duration=30) + [_rec(-0.5, "load_launched", "baseline", pid=1, command=["locust"])]
    run_dir = write_run(tmp_path, journal=records, requests=logged)
    with open(run_dir / "requests.jsonl", "a") as log:
        log.write('{"ts": 1700000029.9, "latency_ms": 2\n' * torn_lines)
    if totals is not None:
        (run_dir / "load-events.jsonl").write_text(
            json.dumps({"event": "test_start", "ts": T0}) + "\n"
            + json.dumps({"event": "totals", "ts": T0 + 30, **totals}) + "\n")
    return run_dir


def test_a_complete_log_passes(tmp_path):
    run_dir = _launched_run(tmp_path, logged=traffic(30), totals={"requests": 300, "log_errors": 0})
    report = build_reports(run_dir)
    assert report["verdict"] == "passed" and report["integrity"] == []


@pytest.mark.parametrize("case, totals, torn, problem", [
    ("short", {"requests": 398, "log_errors": 0}, 0,
     "requests.jsonl holds 300 whole lines but Locust made 398 requests"),
    ("torn", {"requests": 300, "log_errors": 0}, 1, "requests.jsonl has 1 torn line(s)"),
    ("write failed", {"requests": 300, "log_errors": 2, "log_error": "[Errno 28] No space left"}, 0,
     "Locust failed 2 time(s) to write requests.jsonl: [Errno 28] No space left"),
    ("omitted lost", {"requests": 300, "omitted": 12, "log_errors": 0}, 0,
     "requests.jsonl holds 0 lines of omitted slots but the load wrote 12"),
    ("no totals", None, 0, "load-events.jsonl has no Locust totals (Locust was killed, or could "
                           "not write them), so requests.jsonl cannot be shown complete"),
])
def test_an_incomplete_request_log_makes_the_verdict_unknown(tmp_path, case, totals, torn, problem):
    run_dir = _launched_run(tmp_path, logged=traffic(30), totals=totals, torn_lines=torn)
    report = build_reports(run_dir)
    assert all(s["status"] == "passed" for s in report["slos"])  # the SLOs alone would pass
    assert report["verdict"] == "unknown"
    assert report["integrity"] == [problem]
    suite = ET.parse(run_dir / "junit.xml").getroot().find("testsuite")
    (case_,) = [c for c in suite.iter("testcase") if c.get("name") == "record_complete"]
    assert case_.find("error").get("message") == problem
    assert f"incomplete record: {problem}" in (run_dir / "report.html").read_text()


def test_omitted_slots_are_not_counted_against_locust_totals(tmp_path):
    from tests.analysis.synthetic import paced
    answer = lambda t: (14.005 - t, True) if 10 <= t < 14 else (0.005, True)  # noqa: E731
    lines = paced(users=4, rate=10, duration=30, answer=answer)
    sent = sum(1 for line in lines if line.get("sent", True))
    assert sent < len(lines)
    run_dir = _launched_run(tmp_path, logged=lines,
                            totals={"requests": sent, "omitted": len(lines) - sent, "log_errors": 0})
    report = build_reports(run_dir)
    assert report["integrity"] == [] and report["requests"]["total"] == len(lines)


def test_a_signal_while_the_reports_were_written_makes_the_status_interrupted(tmp_path):
    records = journal(duration=30) + [_rec(31, "signal_received", "analyze", signal="SIGTERM")]
    report = build_reports(write_run(tmp_path, journal=records, requests=traffic(30)))
    assert report["status"] == "interrupted"


def test_reports_are_written_all_or_none(tmp_path, monkeypatch):
    run_dir = write_run(tmp_path, journal=journal(duration=30), requests=traffic(30))
    build_reports(run_dir)
    before = {p.name: p.read_text() for p in run_dir.iterdir() if p.name.startswith(("report", "junit"))}
    import harness.reporting as reporting

    synced = []

    def fsync(fd):  # the disk fills up while the third file is written
        synced.append(fd)
        if len(synced) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(reporting.os, "fsync", fsync)
    with open(run_dir / "journal.jsonl", "a") as more:  # new reports would differ: interrupted
        more.write(json.dumps(_rec(31, "signal_received", "analyze", signal="SIGINT")) + "\n")
    with pytest.raises(reporting.ReportsNotWritten) as raised:
        build_reports(run_dir)
    assert "No space left on device" in str(raised.value)
    assert raised.value.report["status"] == "interrupted"
    assert json.loads((run_dir / "report.json").read_text())["status"] == "completed"
    assert {p.name: p.read_text() for p in run_dir.iterdir()
            if p.name.startswith(("report", "junit"))} == before
    assert [p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")] == []
