"""Issue 12 on the docker backend: the silent-failure scenario with its ``env`` applied
to the containers through a compose override, and ``payload_schema_change`` judged on
the containers' own ``/metrics``. Each run is checked by the same function as its
process-backend twin in ``tests/e2e/``."""

import pytest

from tests.docker.test_docker_scenarios import assert_nothing_left_in_docker
from tests.e2e.conftest import chaos_run, journal
from tests.e2e.test_payload_schema_change import check_payload
from tests.e2e.test_silent_failure import check_silent_failure, run_silent_failure

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_silent_failure_on_docker(reports_dir, docker_images):
    _, run_dir, report = run_silent_failure(reports_dir, "--backend", "docker")
    assert report["backend"] == "docker"
    check_silent_failure(run_dir, report)
    override = run_dir / "compose.env.yml"
    assert "FEATURE_VALIDATION: 'off'" in override.read_text()
    records = journal(run_dir)
    starting = next(r for r in records if r["kind"] == "pipeline_starting")
    assert starting["command"][starting["command"].index(str(override)) - 1] == "-f"
    golden = next(r for r in records if r["kind"] == "golden_started")
    assert golden["source"] == str(run_dir / "golden-cases.jsonl")  # copied out of the model-server container
    assert_nothing_left_in_docker(run_dir)


def test_payload_schema_change_on_docker(reports_dir, docker_images):
    result, run_dir, report = chaos_run("payload.yaml", reports_dir, "--backend", "docker")
    assert result.returncode == 0, result.stdout + result.stderr
    assert report["backend"] == "docker"
    check_payload(run_dir, report)
    records = journal(run_dir)
    started = next(r for r in records if r["kind"] == "metrics_started")
    # neither service's port 8000 is published: reached on the project's network
    assert set(started["urls"]) == {"model-server", "feature-server"}
    assert not any(url.startswith("http://127.") for url in started["urls"].values())
    assert all(url.endswith(":8000") for url in started["urls"].values())
    stopped = next(r for r in records if r["kind"] == "metrics_stopped")
    assert min(stopped["scrapes"].values()) >= 18
    assert_nothing_left_in_docker(run_dir)
