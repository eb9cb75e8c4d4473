"""``chaos-harness explore`` for real: the cold-start pipeline's weak spot (a kill while
``features`` is slow) found and shrunk to the minimal pair in real runs, and the written
``minimal.yaml`` replayed by ``run`` failing the same SLO. About 10 runs of a 7 s load.
"""

import json
import subprocess
import sys

import pytest

from tests.core.test_explore import breaks
from tests.e2e.conftest import ROOT, assert_processes_gone

pytestmark = pytest.mark.slow

SMALL = ROOT / "tests" / "scenarios" / "explore" / "weak-spot-small.yaml"


def test_explore_finds_the_minimal_pair_and_its_replay_fails_the_same_way(tmp_path):
    found = subprocess.run([sys.executable, "-m", "harness", "explore", str(SMALL), "--budget", "14,8m",
                            "--reports-dir", str(tmp_path)], capture_output=True, text=True,
                           timeout=900, cwd=ROOT)
    assert found.returncode == 1, found.stdout + found.stderr
    (out_dir,) = tmp_path.glob("*-explore-weak-spot-small")
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["runs"] <= 14
    for trial in summary["trials"]:  # every verdict is the pipeline's known truth
        assert trial["verdict"] == ("failed" if breaks(trial["schedule"]) else "passed"), trial
        assert_processes_gone(ROOT / trial["run_dir"])
    assert any(t["verdict"] == "passed" and [k for f in t["schedule"] for k in f if k == "kill"]
               for t in summary["trials"])  # a kill alone was tried and held
    minimal = summary["minimal"]
    latency = next(f for f in minimal["schedule"] if "latency" in f)
    kill = next(f for f in minimal["schedule"] if "kill" in f)
    assert len(minimal["schedule"]) == 2
    assert latency == {"name": latency["name"], "at": "4s", "for": "1s",
                       "latency": {"latency_ms": 600, "link": "features"}}
    assert kill["at"] == "4s" and minimal["failed_slos"] == ["overall.error_rate"]
    assert (out_dir / "hypothesis").is_dir()

    replay = subprocess.run([sys.executable, "-m", "harness", "run", str(out_dir / "minimal.yaml"),
                             "--reports-dir", str(tmp_path / "replay")], capture_output=True,
                            text=True, timeout=120, cwd=ROOT)
    assert replay.returncode == 1, replay.stdout + replay.stderr
    report = json.loads((tmp_path / "replay" / "latest" / "report.json").read_text())
    assert [s["name"] for s in report["slos"] if s["status"] == "failed"] == ["overall.error_rate"]
    assert next(s for s in report["slos"] if s["name"] == "overall.error_rate")["observed"] > 0.25
