"""``payload_schema_change`` end to end (``tests/scenarios/e2e/payload.yaml``): for each
fault's window the load sends a new request shape; the reference pipeline refuses it
(422, an error of the window) and nothing else changes. :func:`check_payload` is
shared with the docker backend's run (``tests/docker/test_correctness_docker.py``)."""

import json
from datetime import datetime
from pathlib import Path

import pytest

from tests.e2e.conftest import assert_nothing_left, chaos_run, window

pytestmark = pytest.mark.slow


def check_payload(run_dir: Path, report: dict) -> None:
    """The refusals per window, and the pipeline's own counter of them, scraped each second."""
    assert window(report, "baseline")["error_rate"] == 0
    assert window(report, "renamed")["error_rate"] > 0.9   # amount -> amt: every request
    assert window(report, "dropped")["error_rate"] > 0.9
    assert 0.3 < window(report, "stringified")["error_rate"] < 0.7  # fraction 0.5
    requests = [json.loads(line) for line in (run_dir / "requests.jsonl").read_text().splitlines()]
    assert {r.get("status") for r in requests} == {200, 422}  # refused as invalid, never a 5xx
    assert not (run_dir / "payload-fault.json").exists()
    metrics = {v["name"]: v["observed"] for v in report["slos"] if v["name"].startswith("metrics[")}
    assert {v["status"] for v in report["slos"] if v["name"] in metrics} == {"passed"} and len(metrics) == 5
    # every 422 the server sent (a slot omitted while its user waited was not sent) it counted
    refused = [r for r in requests if r.get("status") == 422 and r.get("sent", True)]
    assert metrics["metrics[increase(request_rejections_total) > 300]"] == len(refused)
    # one window's: the 422s sent in it (the next fault begins 2 s after it ends)
    renamed, zero = window(report, "renamed"), datetime.fromisoformat(report["load_started_at"]).timestamp()
    in_window = [r for r in refused if renamed["start_s"] - 1 < r["ts"] - zero < renamed["end_s"] + 1]
    assert metrics["metrics[increase(request_rejections_total[renamed]) > 200]"] == len(in_window) > 200
    assert metrics["metrics[max(circuit_breaker_state[baseline]) == 0]"] == 0
    scrapes = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    for service in ("model-server", "feature-server"):  # ~1/s over the 20 s load; a starved box may miss some
        assert sum(s["service"] == service for s in scrapes) >= 12, service


def test_a_new_request_shape_is_refused_only_during_its_window(reports_dir):
    result, run_dir, report = chaos_run("payload.yaml", reports_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    check_payload(run_dir, report)
    assert_nothing_left(run_dir)
