"""End to end on the embedded backend: scenario -> pipeline -> faults under load -> report.

Each test runs a real scenario (real services, real proxy, real Locust) for about 20 s
and checks the numbers in report.json, then that nothing is left behind.
"""

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.e2e.conftest import (ROOT, alive, assert_nothing_left, chaos_run, journal, per_second, slo,
                                start_run, window)

pytestmark = pytest.mark.slow


def test_feature_latency_makes_scoring_fall_back_then_recover(reports_dir):
    result, run_dir, report = chaos_run("latency.yaml", reports_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert report["verdict"] == "passed"
    during, baseline = window(report, "slow-features"), window(report, "baseline")
    assert during["fallback_rate"] > 0.5
    assert baseline["fallback_rate"] < 0.05
    assert report["requests"]["error_rate"] < 0.02
    fault = report["faults"][0]
    assert fault["name"] == "slow-features" and fault["recovery_time_s"] is not None
    assert fault["recovery_time_s"] < 5
    after = [s for k, s in per_second(report).items() if k >= 16 and s["requests"]]  # reverted at 13 s
    assert after and max(s["fallbacks"] / s["requests"] for s in after) < 0.2
    assert slo(report, "during[slow-features].fallback_rate")["status"] == "passed"
    assert_nothing_left(run_dir)


def test_killed_model_server_has_a_finite_recovery_time(reports_dir):
    result, run_dir, report = chaos_run("kill.yaml", reports_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    records = journal(run_dir)
    kinds = [r["kind"] for r in records]
    assert "service_killed" in kinds and "service_exited" in kinds and "service_restarted" in kinds
    fault = report["faults"][0]
    assert fault["name"] == "kill-model"
    assert 0 <= fault["recovery_time_s"] < 18  # the scenario's bound
    assert report["requests"]["errors"] > 0  # the kill was real: some requests failed
    assert slo(report, "recovery_time[kill-model]")["status"] == "passed"
    assert_nothing_left(run_dir)


def test_corrupted_rows_and_renamed_column_fall_back_and_are_restored(reports_dir):
    result, run_dir, report = chaos_run("data.yaml", reports_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert window(report, "nan-rows")["fallback_rate"] > 0.3
    assert window(report, "rename-column")["fallback_rate"] > 0.9
    assert window(report, "baseline")["fallback_rate"] < 0.05
    assert report["requests"]["error_rate"] < 0.01
    reverted = [r for r in journal(run_dir) if r["kind"] == "fault_reverted"]
    assert [r["ok"] for r in reverted] == [True, True]  # restored with the checksum verified
    assert_nothing_left(run_dir)


def test_designed_to_fail_scenario_exits_1_with_a_failing_junit_case(reports_dir):
    result = subprocess.run([sys.executable, "-m", "harness", "run", "scenarios/designed-to-fail.yaml",
                             "--reports-dir", str(reports_dir)], capture_output=True, text=True,
                            timeout=180, cwd=ROOT)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "reproduce: chaos-harness run scenarios/designed-to-fail.yaml --seed 5" in result.stderr
    run_dir = (reports_dir / "latest").resolve()
    report = json.loads((run_dir / "report.json").read_text())
    failing = slo(report, "during[slow-ingress].p99_ms")
    assert failing["status"] == "failed" and failing["observed"] > 300
    assert failing["threshold"] == "< 100"
    assert failing["message"].startswith(f"p99_ms {failing['observed']:.4g} ms (")
    assert failing["message"].endswith(" requests) is not < 100")
    assert [s["name"] for s in report["slos"] if s["status"] != "passed"] == ["during[slow-ingress].p99_ms"]
    cases = ET.parse(run_dir / "junit.xml").getroot().iter("testcase")
    failures = {c.get("name"): c.find("failure") for c in cases}
    assert failures["during[slow-ingress].p99_ms"].get("message") == failing["message"]
    assert [name for name, failure in failures.items() if failure is not None] == ["during[slow-ingress].p99_ms"]
    assert_nothing_left(run_dir)

    (run_dir / "report.json").unlink()
    rebuilt = subprocess.run([sys.executable, "-m", "harness", "report", str(run_dir)],
                             capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert rebuilt.returncode == 0
    assert json.loads((run_dir / "report.json").read_text())["slos"] == report["slos"]
    check = subprocess.run([sys.executable, "-m", "harness", "check", str(run_dir)],
                           capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert check.returncode == 1


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _checksum(db):
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT sql FROM sqlite_master WHERE name='features'").fetchone(), \
            conn.execute("SELECT * FROM features ORDER BY entity_id").fetchall()


def test_sigint_mid_fault_heals_everything_and_keeps_the_records(reports_dir, tmp_path):
    process, run_dir = start_run("interrupt.yaml", reports_dir, faults=4, capture=True)
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=90)
    assert process.returncode == 130, output
    records = journal(run_dir)
    reverted = [r for r in records if r["kind"] == "fault_reverted"]
    assert sorted(r["fault"] for r in reverted) == ["corrupt-model", "nan-rows", "paused-features", "slow-features"]
    assert all(r["ok"] and r["interrupted"] for r in reverted)
    assert records[-1]["kind"] == "run_finished" and records[-1]["status"] == "interrupted"
    assert_nothing_left(run_dir)
    # the feature table is byte-for-byte the seeded one again
    fresh = tmp_path / "fresh.db"
    as_of = json.loads((run_dir / "logs" / "setup.log").read_text().strip().splitlines()[-1])["as_of"]
    subprocess.run([sys.executable, str(ROOT / "fixtures/pipeline/setup_pipeline.py"), "--db", str(fresh),
                    "--model-dir", str(tmp_path / "model"), "--seed", "14", "--as-of", str(as_of)],
                   check=True, timeout=120)
    assert _checksum(run_dir / "features.db") == _checksum(fresh)
    report = json.loads((run_dir / "report.json").read_text())
    assert report["status"] == "interrupted"


def cleanup(reports_dir):
    """``chaos-harness cleanup`` of this test's reports, kept off the shared Docker engine."""
    return subprocess.run([sys.executable, "-m", "harness", "cleanup", "--reports-dir", str(reports_dir)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env={**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"})


def test_sigkilled_harness_leaves_processes_and_data_that_cleanup_restores(reports_dir, tmp_path):
    process, run_dir = start_run("interrupt.yaml", reports_dir, faults=4)  # nan-rows and corrupt-model included
    (swap,) = [r for r in journal(run_dir) if r["kind"] == "artifact_swapping"]
    model = Path(swap["path"])
    pids = [r["pid"] for r in journal(run_dir)
            if r["kind"] in ("service_started", "proxy_server_started", "load_launched")]
    live = cleanup(reports_dir)
    assert live.stdout.splitlines() == [f"{run_dir.name}: still running (pid {process.pid}); left alone"], live.stdout
    assert all(alive(p) for p in pids), "cleanup must not touch a run that is still going"
    process.kill()  # SIGKILL: no clean-up code of the harness runs
    process.wait(10)
    assert any(alive(p) for p in pids), "the SIGKILL should have orphaned the run's processes"
    assert list(run_dir.glob("features.db.snapshot-*")), "the SIGKILL should have left the table corrupted"
    assert _sha256(model) != swap["checksum"], "the SIGKILL should have left the cached model swapped"
    result = cleanup(reports_dir)
    assert result.returncode == 0, result.stderr
    assert "killed leftover process group" in result.stdout
    assert f"restored table features in {run_dir / 'features.db'} from snapshot" in result.stdout
    assert f"restored artifact {model} from {swap['backup']} (checksum verified)" in result.stdout
    assert _sha256(model) == swap["checksum"] and not Path(swap["backup"]).exists()
    deadline = time.monotonic() + 10
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [p for p in pids if alive(p)] == []
    assert journal(run_dir)[-1]["kind"] == "cleaned_up"
    assert list(run_dir.glob("features.db.snapshot-*")) == []
    fresh = tmp_path / "fresh.db"  # the feature table is byte-for-byte the seeded one again
    as_of = json.loads((run_dir / "logs" / "setup.log").read_text().strip().splitlines()[-1])["as_of"]
    subprocess.run([sys.executable, str(ROOT / "fixtures/pipeline/setup_pipeline.py"), "--db", str(fresh),
                    "--model-dir", str(tmp_path / "model"), "--seed", "14", "--as-of", str(as_of)],
                   check=True, timeout=120)
    assert _checksum(run_dir / "features.db") == _checksum(fresh)
    again = cleanup(reports_dir)
    assert again.stdout.splitlines() == ["nothing to clean up"]
