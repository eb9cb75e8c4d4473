"""``payload_schema_change`` end to end (``tests/scenarios/e2e/payload.yaml``): for each
fault's window the load sends a new request shape; the reference pipeline refuses it
(422, an error of the window) and nothing else changes."""

import json

import pytest

from tests.e2e.conftest import assert_nothing_left, chaos_run, window

pytestmark = pytest.mark.slow


def test_a_new_request_shape_is_refused_only_during_its_window(reports_dir):
    result, run_dir, report = chaos_run("payload.yaml", reports_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert window(report, "baseline")["error_rate"] == 0
    assert window(report, "renamed")["error_rate"] > 0.9   # amount -> amt: every request
    assert window(report, "dropped")["error_rate"] > 0.9
    assert 0.3 < window(report, "stringified")["error_rate"] < 0.7  # fraction 0.5
    statuses = {json.loads(line).get("status") for line in (run_dir / "requests.jsonl").read_text().splitlines()}
    assert statuses == {200, 422}  # refused as invalid, never a 5xx
    assert not (run_dir / "payload-fault.json").exists()
    # the pipeline's own /metrics, scraped each second: it counted what it refused
    metrics = {v["name"]: v for v in report["slos"] if v["name"].startswith("metrics[")}
    assert {v["status"] for v in metrics.values()} == {"passed"} and len(metrics) == 3
    refused = metrics["metrics[increase(request_rejections_total) > 300]"]["observed"]
    assert refused == pytest.approx(sum(json.loads(line).get("status") == 422 for line in
                                        (run_dir / "requests.jsonl").read_text().splitlines()), abs=20)
    assert len((run_dir / "metrics.jsonl").read_text().splitlines()) >= 2 * 18  # two services, ~1/s
    assert_nothing_left(run_dir)
