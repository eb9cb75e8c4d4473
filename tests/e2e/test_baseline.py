"""``run --baseline``: the same scenario against a pipeline whose restart is slower fails
its baseline (exit 4) while every absolute SLO passes; ``compare`` shows the deltas."""

import shutil
import subprocess
import sys

import pytest

from tests.e2e.conftest import ROOT, SCENARIOS, assert_nothing_left, chaos_run

pytestmark = pytest.mark.slow

SLOW_RESTART_S = 5.0


def _slow_copy(tmp_path):
    """The tiny pipeline with restart_delay 5 s, and tiny-kill.yaml pointing at it."""
    pipeline = tmp_path / "slow-tiny"
    shutil.copytree(ROOT / "tests" / "pipelines" / "tiny", pipeline)
    declared = (pipeline / "pipeline.yaml").read_text()
    assert "restart_delay: 0.2" in declared
    (pipeline / "pipeline.yaml").write_text(
        declared.replace("restart_delay: 0.2", f"restart_delay: {SLOW_RESTART_S}"))
    scenario = tmp_path / "tiny-kill-slow.yaml"
    scenario.write_text((SCENARIOS / "tiny-kill.yaml").read_text()
                        .replace("pipeline: tests/pipelines/tiny", f"pipeline: {pipeline}"))
    return scenario


def test_a_slower_restart_fails_the_baseline_while_its_slos_pass(tmp_path):
    fast, fast_dir, fast_report = chaos_run("tiny-kill.yaml", tmp_path / "a")
    assert fast.returncode == 0, fast.stdout + fast.stderr
    assert "regression" not in fast_report
    baseline_recovery = fast_report["faults"][0]["recovery_time_s"]
    assert baseline_recovery is not None and baseline_recovery < SLOW_RESTART_S / 2

    slow, slow_dir, report = chaos_run(str(_slow_copy(tmp_path)), tmp_path / "b",
                                       "--baseline", str(fast_dir), "--max-regression", "20%")
    assert slow.returncode == 4, slow.stdout + slow.stderr
    assert report["verdict"] == "passed"  # every absolute SLO held ...
    assert all(s["status"] == "passed" for s in report["slos"])
    regression = report["regression"]  # ... but recovery got much slower than the baseline's
    assert regression["verdict"] == "regressed"
    assert regression["baseline_run_id"] == fast_dir.name and regression["max_regression"] == 0.2
    recovery = next(c for c in regression["checks"] if c["metric"] == "recovery_time_s")
    assert recovery["status"] == "regressed"
    assert recovery["baseline"] == baseline_recovery
    assert recovery["observed"] >= SLOW_RESTART_S - 1.0  # down for the whole restart delay
    assert recovery["observed"] == report["faults"][0]["recovery_time_s"]
    assert "regressed against baseline" in slow.stderr
    assert "Against baseline" in (slow_dir / "report.html").read_text()
    assert 'type="Regression"' in (slow_dir / "junit.xml").read_text()
    assert_nothing_left(slow_dir)

    # re-judged offline, the run keeps its baseline (it is in its journal)
    check = subprocess.run([sys.executable, "-m", "harness", "check", str(slow_dir)],
                           capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert check.returncode == 4, check.stdout + check.stderr

    html = tmp_path / "compare.html"
    compare = subprocess.run([sys.executable, "-m", "harness", "compare", str(fast_dir), str(slow_dir),
                              "--html", str(html), "--max-regression", "20%"],
                             capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert compare.returncode == 4, compare.stdout + compare.stderr
    row = next(line for line in compare.stdout.splitlines() if "recovery_time_s" in line)
    assert row.split()[-1] == "regressed"
    assert "recovery_time_s" in html.read_text()
