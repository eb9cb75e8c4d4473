"""The silent-failure scenario (``scenarios/silent-failure.yaml``), end to end on the
embedded backend: feature validation off (a scenario ``env`` setting), half the rows
NaN. Latency, error and fallback SLOs pass; the correctness SLO on the golden set
replayed beside the load fails, and only it. :func:`check_silent_failure` is shared
with the docker backend's run (``tests/docker/test_correctness_docker.py``)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, assert_nothing_left, journal

pytestmark = pytest.mark.slow


def run_silent_failure(reports_dir: Path, *extra: str) -> tuple[subprocess.CompletedProcess, Path, dict]:
    """``chaos-harness run scenarios/silent-failure.yaml``; (result, run dir, report)."""
    result = subprocess.run([sys.executable, "-m", "harness", "run", "scenarios/silent-failure.yaml",
                             "--reports-dir", str(reports_dir), *extra], capture_output=True, text=True,
                            timeout=240, cwd=ROOT)
    assert result.returncode == 1, result.stdout + result.stderr
    run_dir = (reports_dir / "latest").resolve()
    return result, run_dir, json.loads((run_dir / "report.json").read_text())


def check_silent_failure(run_dir: Path, report: dict) -> None:
    """Only ``during[nan-rows].silent_wrong_rate`` failed; the golden figures say why."""
    status = {s["name"]: s["status"] for s in report["slos"]}
    assert [name for name, s in status.items() if s != "passed"] == ["during[nan-rows].silent_wrong_rate"]
    assert status["steady_state.silent_wrong_rate"] == "passed"
    assert {status[f"during[nan-rows].{m}"] for m in ("error_rate", "p99_ms", "fallback_rate")} == {"passed"}
    windows = {w["name"]: w for w in report["windows"]}
    baseline, hit = windows["baseline"]["correctness"], windows["nan-rows"]["correctness"]
    assert baseline["golden_accuracy"] == 1.0 and baseline["silent_wrong_rate"] == 0.0
    # 50% of the rows, so about half the golden cases; a NaN imputed as 0 moves 60-100% of scores
    assert 0.2 < hit["silent_wrong_rate"] < 0.8
    assert hit["golden_accuracy"] == pytest.approx(1 - hit["silent_wrong_rate"])  # nothing flagged, no errors
    assert hit["prediction_drift_psi"] > baseline["prediction_drift_psi"] == 0.0
    records = journal(run_dir)
    overridden = [r for r in records if r["kind"] == "env_overridden"]
    assert [r["services"] for r in overridden] == [{"model-server": {"FEATURE_VALIDATION": "off",
                                                                     "FEATURE_TIMEOUT_MS": "1000"}}]
    started = [r for r in records if r["kind"] == "golden_started"]
    assert len(started) == 1 and started[0]["cases"] == 200
    stopped = [r for r in records if r["kind"] == "golden_stopped"]
    assert len(stopped) == 1 and stopped[0]["error"] is None and stopped[0]["answers"] > 200
    html = (run_dir / "report.html").read_text()
    assert "Failed: during[nan-rows].silent_wrong_rate (" in html
    assert "every other SLO (latency, errors, flags) passed" in html
    assert "Golden answers per 1 s" in html


def test_only_the_correctness_slo_sees_the_silent_failure(reports_dir):
    _, run_dir, report = run_silent_failure(reports_dir)
    check_silent_failure(run_dir, report)
    assert_nothing_left(run_dir)
