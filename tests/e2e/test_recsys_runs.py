"""The second example pipeline (fixtures/recsys: a recommender over Redis hashes) run
by the harness on the process backend, one scenario per fault family, numbers checked
in report.json and the journal. ``tests/docker/test_recsys_scenarios.py`` runs the same
files on the docker backend with the same checks.

Ground truths: the seed's store has 400 items, so corrupting 10% of them hits 40
hashes; the recommender never answers an error (a degraded answer is a 200 with a
flag), so every error-rate figure is 0; a store restored after a data fault has the
checksum it had before (the ledger verifies it and journals ``store_restored``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, assert_nothing_left, chaos_run, journal, slo, window

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("redis-server") is None,
                                 reason="redis-server is not installed (apt-get install redis-server)")]

SCENARIOS = ROOT / "fixtures" / "recsys" / "scenarios"
NAMES = ("store-latency", "kill-redis", "corrupt-items", "schema-change")
ITEMS = 400
"""Item hashes in the seed's store (``setup_recsys.py --items``)."""


def check_recsys(name: str, result, run_dir: Path, report: dict) -> list[dict]:
    """The checks shared by both backends; returns the journal."""
    assert result.returncode == 0, result.stdout + result.stderr
    assert report["verdict"] == "passed", [s for s in report["slos"] if s["status"] != "passed"]
    assert report["requests"]["errors"] == 0  # degraded answers are 200s with flags
    baseline = window(report, "baseline")
    records = journal(run_dir)
    [fault] = report["faults"]
    assert fault["recovery_time_s"] is not None and fault["recovery_time_s"] < 6
    if name == "store-latency":
        during = window(report, "slow-store")
        assert during["popular_fallback_rate"] > 0.5 and baseline["popular_fallback_rate"] < 0.05
        assert during["p99_ms"] < 1000  # the 100 ms deadline holds under a 300 ms store
    elif name == "kill-redis":
        killed = [r for r in records if r["kind"] == "service_killed" and r["service"] == "redis"]
        healthy = [r for r in records if r["kind"] == "service_healthy" and r["service"] == "redis"]
        assert len(killed) == 1 and len(healthy) >= 2  # up, then back after the kill
        assert baseline["popular_fallback_rate"] < 0.05
    elif name == "corrupt-items":
        [hit] = [r for r in records if r["kind"] == "rows_corrupted"]
        assert (hit["rows"], hit["columns"], hit["target"]) == (ITEMS // 10, ["popularity"], "items")
        during = window(report, "bad-items")
        assert during["items_dropped_rate"] > 0.5 and baseline["items_dropped_rate"] < 0.05
    elif name == "schema-change":
        during = window(report, "rename-quality")
        assert during["schema_drift_rate"] > 0.5 and baseline["schema_drift_rate"] < 0.05
    if name in ("corrupt-items", "schema-change"):
        [snap] = [r for r in records if r["kind"] == "store_snapshotting"]
        [restored] = [r for r in records if r["kind"] == "store_restored"]
        assert snap["store"]["kind"] == "redis" and snap["store"]["key_pattern"] == "item:{key}"
        assert restored["ok"] and restored["checksum"] == snap["checksum"]
        assert not Path(snap["snapshot"]).exists()
    assert slo(report, "overall.error_rate")["observed"] == 0
    return records


@pytest.mark.parametrize("name", NAMES)
def test_recsys_scenario_on_the_process_backend(name, reports_dir):
    result, run_dir, report = chaos_run(str(SCENARIOS / f"recsys-{name}.yaml"), reports_dir)
    check_recsys(name, result, run_dir, report)
    assert_nothing_left(run_dir)
