"""``abort_if`` for real: a fault that breaks everything is healed within 1 s of the
stop condition holding, and the run ends as aborted (exit code 5)."""

import pytest

from tests.e2e.conftest import assert_nothing_left, chaos_run, journal

pytestmark = pytest.mark.slow


def test_abort_if_heals_everything_within_a_second(reports_dir):
    result, run_dir, report = chaos_run("abort.yaml", reports_dir)
    assert result.returncode == 5, result.stdout + result.stderr
    assert "abort_if 'error_rate > 50% for 1s' held" in result.stderr
    records = journal(run_dir)
    held = [r for r in records if r["kind"] == "condition_held"]
    assert [(r["role"], r["condition"]) for r in held] == [("abort", "error_rate > 50% for 1s")]
    assert held[0]["value"] > 0.5
    reverted = next(r for r in records if r["kind"] == "fault_reverted" and r["fault"] == "ingress-down")
    assert reverted["ok"]
    healed_at = reverted["effective_ts"] or reverted["ts"]
    assert 0 <= healed_at - held[0]["held_at"] < 1.0
    assert 0 <= healed_at - held[0]["ts"] < 1.0
    load_ts = next(r for r in records if r["kind"] == "load_started")["load_ts"]
    assert held[0]["held_at"] - load_ts < 10  # long before the load's 30 s
    finished = records[-1]
    assert finished["kind"] == "run_finished" and finished["status"] == "aborted"
    assert report["status"] == "aborted" and "abort_if" in report["error"]
    assert_nothing_left(run_dir)
