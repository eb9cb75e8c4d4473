"""The measuring instrument on real runs (embedded backend): stalls are counted from intent.

Real pipeline processes, real proxy, real Locust paced by the harness's own schedule;
the numbers are read from report.json. Each run has 12 s of load.
"""

import pytest

from tests.e2e.conftest import assert_nothing_left, chaos_run, slo, window

pytestmark = pytest.mark.slow


def test_a_4_s_freeze_counts_the_due_requests_and_measures_latency_from_intent(reports_dir):
    result, run_dir, report = chaos_run("freeze.yaml", reports_dir)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert report["integrity"] == []  # Locust's count matches the sent lines
    frozen = window(report, "frozen-model")
    due = 8 * 10 * (frozen["end_s"] - frozen["start_s"])  # 8 users, 10 slots/s each
    assert frozen["requests"] >= 0.9 * due, frozen
    assert frozen["omitted"] > frozen["sent"]  # the users were blocked: most slots never sent
    assert frozen["p50_ms"] >= 1500, frozen  # from intended start: they waited for the thaw
    baseline = window(report, "baseline")
    assert baseline["omitted"] == 0 and baseline["p50_ms"] < 250
    assert_nothing_left(run_dir)


def test_a_black_holed_ingress_fails_a_latency_slo_during_it(reports_dir):
    result, run_dir, report = chaos_run("black-hole.yaml", reports_dir)
    assert result.returncode == 1, result.stdout + result.stderr
    failing = slo(report, "during[black-hole].p99_ms")
    assert failing["status"] == "failed" and failing["observed"] > 3000, failing
    hole = window(report, "black-hole")
    due = 8 * 10 * (hole["end_s"] - hole["start_s"])
    assert hole["requests"] >= 0.9 * due and hole["errors"] > 0, hole
    assert report["integrity"] == []
    assert_nothing_left(run_dir)
