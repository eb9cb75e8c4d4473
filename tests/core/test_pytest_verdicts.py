"""The SLO sub-results of a scenario item, from a run result (our own logic, synthetic
results: the real runs are in tests/e2e/test_pytest_scenarios_run.py)."""

from pathlib import Path

import pytest

from harness.pytest_verdicts import RunOutcome, outcome_of, slo_reports, summary_lines
from harness.runner import RunResult

RUN_DIR = Path("/reports/20261130-070251-tiny-fail-75d04b")
SLOS = [
    {"name": "overall.error_rate", "status": "passed", "observed": 0.0, "threshold": "< 1%",
     "message": "error_rate 0% (0 of 32 requests) is < 1%"},
    {"name": "during[slow].p99_ms", "status": "failed", "observed": 304.635, "threshold": "< 100",
     "message": "p99_ms 304.6 ms (13 requests) is not < 100"},
    {"name": "steady_state.error_rate", "status": "unknown", "observed": None, "threshold": "< 1%",
     "message": "no requests in window [0.5, 0.5) s"},
]


def result(*, slos=SLOS, verdict="failed", status="completed", error=None, reports_error=None):
    return RunResult(RUN_DIR, status, {"verdict": verdict, "slos": slos}, error, reports_error)


def test_a_missed_slo_names_observed_threshold_and_run_dir():
    outcome = outcome_of(result())
    assert not outcome.passed
    message = outcome.failure_message("tiny-fail", "chaos-harness run x.yaml --seed 3")
    first, *rest = message.splitlines()
    assert first == f"scenario 'tiny-fail': 1 failed and 1 unknown of 3 SLOs; run dir: {RUN_DIR}"
    assert rest[0].split() == ["FAILED", "during[slow].p99_ms:", "observed", "304.635,", "threshold",
                               "<", "100", "(p99_ms", "304.6", "ms", "(13", "requests)", "is",
                               "not", "<", "100)"]
    assert rest[1].startswith("  UNKNOWN  steady_state.error_rate: observed None, threshold < 1%")
    assert rest[2].startswith("  passed   overall.error_rate: observed 0.0")
    assert rest[-1] == "reproduce: chaos-harness run x.yaml --seed 3"


@pytest.mark.parametrize(("kwargs", "head"), [
    ({"status": "error", "error": "proxy died"},
     "scenario 's': the harness did not complete (error): proxy died"),
    ({"verdict": "passed", "slos": SLOS[:1], "reports_error": "disk full"},
     "scenario 's': the reports could not be written (disk full)"),
    ({"verdict": "unknown", "slos": SLOS[:1]},
     "scenario 's': verdict unknown: the run's record is incomplete"),
])
def test_a_run_that_did_not_judge_cleanly_fails_and_says_why(kwargs, head):
    outcome = outcome_of(result(**kwargs))
    assert not outcome.passed
    assert outcome.failure_message("s", "r").startswith(f"{head}; run dir: {RUN_DIR}")


def test_a_passing_run_passes_and_survives_the_trip_across_xdist():
    outcome = outcome_of(result(slos=SLOS[:1], verdict="passed"))
    assert outcome.passed
    assert RunOutcome.from_json(outcome.to_json()) == outcome
    assert outcome.properties() == [("chaos_run_dir", str(RUN_DIR)),
                                    ("slo:overall.error_rate", "passed (observed 0.0, threshold < 1%)")]


def test_each_slo_becomes_a_call_and_a_teardown_report_named_like_a_parameter():
    item = pytest.TestReport("chaos/x.yaml::tiny-fail", ("chaos/x.yaml", None, "scenario"), {},
                             "failed", "text", "call")
    reports = slo_reports(item, outcome_of(result()))
    assert [(r.nodeid, r.when, r.outcome) for r in reports] == [
        ("chaos/x.yaml::tiny-fail[overall.error_rate]", "call", "passed"),
        ("chaos/x.yaml::tiny-fail[overall.error_rate]", "teardown", "passed"),
        ("chaos/x.yaml::tiny-fail[during[slow].p99_ms]", "call", "failed"),
        ("chaos/x.yaml::tiny-fail[during[slow].p99_ms]", "teardown", "passed"),
        ("chaos/x.yaml::tiny-fail[steady_state.error_rate]", "call", "failed"),
        ("chaos/x.yaml::tiny-fail[steady_state.error_rate]", "teardown", "passed"),
    ]
    assert str(reports[2].longrepr) == (
        "during[slow].p99_ms: not met: observed 304.635, threshold < 100: "
        f"p99_ms 304.6 ms (13 requests) is not < 100\nrun dir: {RUN_DIR}")
    assert str(reports[4].longrepr).startswith("steady_state.error_rate: could not be judged (unknown)")


def test_the_terminal_summary_counts_every_slo():
    lines = summary_lines([("a.yaml::a", outcome_of(result())),
                           ("b.yaml::b", outcome_of(result(slos=SLOS[:1], verdict="passed")))])
    assert lines[0] == f"a.yaml::a: FAILED (failed); run dir: {RUN_DIR}"
    assert lines[4] == f"b.yaml::b: passed; run dir: {RUN_DIR}"
    assert lines[-1] == "SLOs: 2 passed, 1 failed, 1 unknown"
