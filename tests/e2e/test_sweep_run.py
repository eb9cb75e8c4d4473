"""``chaos-harness sweep`` for real on the deadline pipeline, whose truth is known: the
model answers 503 when its store read misses a 500 ms deadline, so the error-rate SLO
during the fault breaks at a latency of 500 ms. Seven runs of a 6 s load.
"""

import json
import subprocess
import sys

import pytest

from tests.e2e.conftest import ROOT, assert_processes_gone

pytestmark = pytest.mark.slow

DEADLINE = ROOT / "tests" / "scenarios" / "sweep" / "deadline.yaml"
ERRORS, P99 = "during[slow-features].error_rate", "during[slow-features].p99_ms"


def test_the_breaking_point_is_within_one_bisection_step_of_the_deadline(tmp_path):
    done = subprocess.run([sys.executable, "-m", "harness", "sweep", str(DEADLINE), "--param",
                           "faults[0].latency.latency_ms=50..2000", "--runs", "7",
                           "--reports-dir", str(tmp_path)], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    (out_dir,) = tmp_path.glob("*-sweep-deadline")
    sweep = json.loads((out_dir / "sweep.json").read_text())
    assert sweep["runs"] == 7
    slos = {s["name"]: s for s in sweep["slos"]}
    errors = slos[ERRORS]
    assert errors["fails"] == "above" and errors["monotone"]
    assert abs(errors["breaking_point"] - 500) <= errors["step"] <= 1950 / 4
    # p99 from intended start is the injected latency plus a few ms: it breaks a little below 300
    assert abs(slos[P99]["breaking_point"] - 300) <= slos[P99]["step"] + 30
    for point in sweep["points"]:  # each run's own numbers hold to the truth, away from the edge
        latency, observed = point["value"], point["slos"][ERRORS]["observed"]
        if latency < 450:
            assert observed == 0, point
        elif latency > 550:
            assert observed > 0.5, point
        assert_processes_gone(ROOT / point["run_dir"])
    assert f"{ERRORS} (< 10%): fails from faults[0].latency.latency_ms = {errors['breaking_point']}" in done.stdout
    html = (out_dir / "sweep.html").read_text()
    assert html.count("<svg") == len(sweep["slos"]) and "breaks at" in html
