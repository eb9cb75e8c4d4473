"""report.json, junit.xml and report.html, built from the run directory alone."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from harness.reporting import Reporter, base, build_reports, register, reporters

from .synthetic import Plan, journal, traffic, write_run

EXPECT = {"overall": {"error_rate": "< 1%"},
          "during": {"slow": {"p99_ms": "< 1s"}, "ghost": {"error_rate": "< 1%"}},
          "recovery_time": "< 5s"}
FAULTS = (Plan("slow", 10, 5, lag=0.004), Plan("kill", 20, instant=True, kind="kill"))


@pytest.fixture
def run_dir(tmp_path):
    records = journal(faults=FAULTS, expect=EXPECT)
    records[-1]["error"] = "<script>alert('x')</script>"
    requests = traffic(30, error=lambda t: 10 <= t < 12,
                       latency=lambda t: 400.0 if 10 <= t < 15 else 20.0,
                       fallback=lambda t: True if 10 <= t < 15 else None)
    return write_run(tmp_path, journal=records, requests=requests)


def test_all_three_files_are_written(run_dir):
    report = build_reports(run_dir)
    assert {"report.json", "junit.xml", "report.html"} <= {p.name for p in run_dir.iterdir()}
    assert json.loads((run_dir / "report.json").read_text()) == report


def test_report_json_content(run_dir):
    report = build_reports(run_dir)
    assert report["format"] == 2 and report["resolution_s"] == 0.1
    assert report["run_id"] == "synthetic-run" and report["scenario"] == "synthetic"
    assert (report["seed"], report["backend"], report["status"]) == (7, "process", "completed")
    assert report["started_at"].startswith("2023-11-14T22:13:19")
    assert report["verdict"] == "failed"
    statuses = {s["name"]: s["status"] for s in report["slos"]}
    assert statuses == {
        "steady_state.error_rate": "passed", "overall.error_rate": "failed",
        "during[slow].p99_ms": "passed", "during[ghost].error_rate": "unknown",
        "recovery_time[slow]": "passed", "recovery_time[kill]": "passed"}
    assert set(report["slos"][0]) == {"name", "status", "observed", "threshold", "message"}
    slow, kill = report["faults"]
    assert slow["planned_at"].startswith("2023-11-14T22:13:30")
    assert slow["lag_ms"] == pytest.approx(4.0, abs=1e-3) and slow["start_s"] == pytest.approx(10.004)
    assert slow["healed_at"].startswith("2023-11-14T22:13:35")
    assert (slow["recovery_time_s"], slow["kind"]) == (0.0, "latency")
    assert slow["window_s"] == pytest.approx(4.996)
    assert kill["healed_at"].startswith("2023-11-14T22:13:40.5") and kill["window_s"] == 0.0
    assert kill["instant"] and kill["lag_ms"] == 0.0
    req = report["requests"]
    assert (req["total"], req["sent"], req["errors"], req["flags"]["fallback"]) == (300, 300, 20, 50)
    assert req["fallback_rate"] == pytest.approx(50 / 300)
    assert req["p99_ms"] == 400.0 and req["service_p99_ms"] == 400.0 and req["duration_s"] == 30.0
    assert req["throughput_rps"] == 10.0
    series = report["series"]
    assert len(series["start_s"]) == 301  # 100 ms buckets, cut once more at 10.004 s
    assert series["start_s"][100] == 10.0 and series["end_s"][100] == pytest.approx(10.004)
    assert series["requests"][100] == 0 and series["error_rate"][101] == 1.0
    assert [(w["name"], w["window"]) for w in report["windows"]] == [
        ("baseline", "baseline"), ("slow", "fault"), ("kill", "fault")]


def test_the_resolution_can_be_chosen_when_rebuilding(run_dir):
    report = build_reports(run_dir, resolution=1.0)
    assert report["resolution_s"] == 1.0
    assert len(report["series"]["start_s"]) == 32  # 30 s, cut at 10.004 s and 20.5 s


def test_junit_has_one_testcase_per_slo_and_right_counts(run_dir):
    report = build_reports(run_dir)
    root = ET.parse(run_dir / "junit.xml").getroot()
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [s["name"] for s in report["slos"]]
    assert {c.get("classname") for c in cases} == {"synthetic"}
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("6", "1", "1")
    assert root.get("tests") == "6"
    failure = cases[1].find("failure")
    assert failure.get("message") == "error_rate 6.67% (20 of 300 requests) is not < 1%"
    assert cases[3].find("error") is not None and cases[3].find("failure") is None
    assert cases[0].find("failure") is None and cases[0].find("error") is None
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["run_id"] == "synthetic-run" and props["verdict"] == "failed"


def test_html_is_self_contained_escaped_and_complete(run_dir):
    build_reports(run_dir)
    html = (run_dir / "report.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html)
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html and "<link" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    for name in ("steady_state.error_rate", "during[slow].p99_ms", "recovery_time[kill]"):
        assert name in html
    assert html.count("<svg") == 5 and 'class="band"' in html and 'class="instant"' in html
    assert "<th>lag ms</th>" in html and "per 100 ms" in html
    assert 'class="failed"' in html and 'class="passed"' in html
    for kind in ("run_started", "fault_injected", "service_killed", "run_finished"):
        assert f"<td>{kind}</td>" in html


def test_a_crashed_run_still_gets_reports(tmp_path):
    records = journal(duration=None, finished=None, faults=(Plan("slow", 5, 100),),
                      expect={"recovery_time": "< 5s"})
    records = [r for r in records if r["kind"] != "fault_reverted"]
    run_dir = write_run(tmp_path, journal=records, requests=traffic(12))
    report = build_reports(run_dir)
    assert report["status"] == "crashed" and report["verdict"] == "unknown"
    assert report["integrity"] == ["journal.jsonl has no run_finished record: the harness was "
                                   "killed, or could not write its journal"]
    assert report["requests"]["duration_s"] == pytest.approx(11.97)
    assert report["faults"][0]["healed_at"] is None
    assert report["faults"][0]["recovery_time_s"] is None
    (recovery,) = [s for s in report["slos"] if s["name"] == "recovery_time[slow]"]
    assert recovery["status"] == "unknown"
    suite = ET.parse(run_dir / "junit.xml").getroot().find("testsuite")
    (case,) = [c for c in suite.iter("testcase") if c.get("name") == "record_complete"]
    assert case.find("error").get("type") == "IncompleteRecord"
    html = (run_dir / "report.html").read_text()
    assert "crashed" in html and "incomplete record: journal.jsonl has no run_finished" in html


def test_a_run_that_died_before_any_request(tmp_path):
    run_dir = write_run(tmp_path, journal=journal(duration=None, finished="error"),
                        requests=None)
    report = build_reports(run_dir)
    assert report["requests"]["total"] == 0 and report["series"]["start_s"] == []
    assert report["slos"][0]["status"] == "unknown" and report["verdict"] == "failed"
    suite = ET.parse(run_dir / "junit.xml").getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("1", "0", "1")
    assert "no requests" in (run_dir / "report.html").read_text()


def test_reporters_register_in_one_line(run_dir, monkeypatch):
    assert set(reporters()) == {"report.json", "junit.xml", "report.html", "summary.md"}
    monkeypatch.setattr(base, "_REPORTERS", dict(base._REPORTERS))  # undone after the test

    @register
    class Markdown(Reporter):
        filename = "report.md"

        def render(self, judgement):
            return f"# {judgement.scenario}: {judgement.verdict}\n"

    assert reporters()["report.md"] is Markdown
    build_reports(run_dir)
    assert (run_dir / "report.md").read_text() == "# synthetic: failed\n"

    class Twice(Reporter):
        filename = "report.json"

    with pytest.raises(ValueError, match="already writes"):
        register(Twice)


def test_check_re_judges_at_the_resolution_asked_for(run_dir, capsys):
    from harness.cli import main

    assert main(["check", str(run_dir), "--resolution", "250ms"]) == 1  # an SLO failed
    report = json.loads((run_dir / "report.json").read_text())
    assert report["resolution_s"] == 0.25
    assert "verdict: failed" in capsys.readouterr().out
