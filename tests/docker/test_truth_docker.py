"""Known truth on real runs of the docker backend: the same checks as the embedded one.

The compose pipeline (PostgreSQL feature store, a Toxiproxy-API proxy container on every
hop), real Locust; each expected figure is derived from the run's ``journal.jsonl`` and
``requests.jsonl`` (``tests/e2e/truth.py``). Embedded-backend twins:
``tests/e2e/test_truth.py`` and ``tests/e2e/test_measurement.py``.
"""

import pytest

from tests.docker.test_docker_scenarios import assert_nothing_left_in_docker
from tests.e2e import truth
from tests.e2e.conftest import chaos_run

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def run(scenario: str, reports_dir):
    result, run_dir, report = chaos_run(scenario, reports_dir, "--backend", "docker", timeout=300)
    assert report is not None, result.stdout + result.stderr
    assert report["backend"] == "docker"
    return result, run_dir, report


def test_ingress_refused_for_5_s_on_docker(reports_dir, docker_images):
    result, run_dir, report = run("truth-refused.yaml", reports_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    truth.check_refused(run_dir, report)
    assert_nothing_left_in_docker(run_dir)


def test_black_holed_ingress_fails_p99_under_1000_on_docker(reports_dir, docker_images):
    result, run_dir, report = run("black-hole.yaml", reports_dir)
    truth.check_black_hole(result.returncode, report)
    assert_nothing_left_in_docker(run_dir)


def test_killed_model_container_recovery_is_when_requests_succeed_again(reports_dir, docker_images):
    result, run_dir, report = run("truth-kill.yaml", reports_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    truth.check_kill(run_dir, report)
    assert_nothing_left_in_docker(run_dir)


def test_a_4_s_freeze_on_docker_counts_the_due_requests(reports_dir, docker_images):
    result, run_dir, report = run("freeze.yaml", reports_dir)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    truth.check_freeze(report)
    assert_nothing_left_in_docker(run_dir)


def test_feature_latency_then_a_kill_on_docker_the_first_recovers_at_once(reports_dir, docker_images):
    result, run_dir, report = run("truth-two-faults.yaml", reports_dir)
    assert result.returncode in (0, 1), result.stdout + result.stderr  # an SLO may miss on a busy machine
    truth.check_two_faults(run_dir, report)
    assert_nothing_left_in_docker(run_dir)
