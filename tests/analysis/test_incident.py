"""Time to detect, mitigate and recover, and the reports for people, over a synthetic run
whose truth is known: fault at 10 s; answers fall back from 10 s to 14 s; the alert held
at 11 s; runbook steps done at 12 s and 13.5 s; an operator note at 12.5 s."""

import json

import pytest

from harness.analysis import load_run
from harness.judge import judge
from harness.reporting import write_reports
from tests.analysis.synthetic import T0, Plan, journal, traffic, write_run

RUNBOOK = {"file": "runbooks/x.md", "steps": [{"step": 1, "when": "fallback_rate > 50% for 1s"},
                                               {"step": 2, "after": 1}]}


def incident_run(tmp_path, *, step2_ok=True, fallback_until=14.0):
    records = journal(duration=30, faults=(Plan("feat-down", at=10.0, for_=20.0, kind="down", lag=0.0),),
                      steady={"fallback_rate": "< 5%"}, window=2,
                      expect={"time_to_detect": "< 2s", "time_to_mitigate": "< 5s", "time_to_recover": "< 5s"})
    records[0]["scenario"]["runbook"] = RUNBOOK

    def rec(t, kind, **fields):
        return {"ts": T0 + t, "t": t + 1.0, "kind": kind, "phase": "inject", **fields}

    records += [rec(11.0, "condition_held", condition="fallback_rate > 50% for 1s", role="detect", held_at=T0 + 11.0),
                rec(11.0, "runbook_step_triggered", step=1, title="Confirm", trigger="when fallback_rate > 50% for 1s"),
                rec(12.0, "runbook_step_done", step=1, ok=True, by="operator", answer="y"),
                rec(12.0, "runbook_step_triggered", step=2, title="Switch | <b>over</b>", trigger="after step 1"),
                rec(12.5, "operator_note", text="dashboard shows 100% fallbacks", step=2),
                rec(13.5, "runbook_step_done", step=2, ok=step2_ok, by="command", exit_code=0 if step2_ok else 1)]
    records.sort(key=lambda r: r["t"])
    requests = traffic(30, rps=20, fallback=lambda t: 10.0 <= t < fallback_until)
    return write_run(tmp_path, journal=records, requests=requests)


def test_the_three_times_hold_to_their_truth(tmp_path):
    j = judge(load_run(incident_run(tmp_path)))
    inc = j.incident
    assert inc.fault == "feat-down" and inc.fault_s == pytest.approx(10.0)
    assert inc.time_to_detect == pytest.approx(1.0)
    assert inc.time_to_mitigate == pytest.approx(3.5)
    assert inc.time_to_recover == pytest.approx(4.0, abs=0.1 + 1e-9)  # the first fallback-free window, 100 ms grid
    assert inc.notes == ((pytest.approx(12.5), "dashboard shows 100% fallbacks"),)
    verdicts = {v.name: v.status.value for v in j.slos}
    assert verdicts["time_to_detect"] == verdicts["time_to_mitigate"] == verdicts["time_to_recover"] == "passed"
    data = j.to_json()["incident"]
    assert data["time_to_detect_s"] == pytest.approx(1.0) and [s["step"] for s in data["steps"]] == [1, 2]


def test_never_is_a_failure_not_a_number(tmp_path):
    j = judge(load_run(incident_run(tmp_path, step2_ok=False, fallback_until=31.0)))
    verdicts = {v.name: v for v in j.slos}
    assert j.incident.time_to_mitigate is None and j.incident.mitigation_note == "step 2 failed"
    assert verdicts["time_to_mitigate"].status.value == "failed" and verdicts["time_to_mitigate"].observed is None
    assert j.incident.time_to_recover is None
    assert verdicts["time_to_recover"].status.value == "failed"
    assert j.verdict.value == "failed"


def test_summary_and_html_mark_the_incident(tmp_path):
    run_dir = incident_run(tmp_path)
    write_reports(run_dir)
    summary = (run_dir / "summary.md").read_text()
    assert summary.startswith("# synthetic: PASSED")
    assert "- **feat-down**: down on features at t=10.00 s" in summary
    assert "| 1.00 s | 3.50 s | 4.00 s |" in summary
    assert "| 2. Switch \\| \\<b\\>over\\</b\\> | after step 1 | t=12.00 s | t=13.50 s | done (command) |" in summary
    assert "- t=12.50 s: dashboard shows 100% fallbacks" in summary
    assert "All 4 passed." in summary
    html = (run_dir / "report.html").read_text()
    assert "<b>over</b>" not in html  # escaped
    for label in ("step 1 done", "step 2 done", "note: dashboard shows 100% fallbacks", "detected", "mitigated",
                  "recovered"):
        assert f">{label}</text>" in html, label
    assert "Incident: detect, mitigate, recover" in html
    assert json.loads((run_dir / "report.json").read_text())["incident"]["time_to_mitigate_s"] == pytest.approx(3.5)
