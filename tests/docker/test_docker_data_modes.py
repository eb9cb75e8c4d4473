"""The issue-12 data faults on PostgreSQL: ``data-modes.yaml`` on ``--backend docker``,
with the same report.json numbers as on the embedded backend's SQLite."""

import pytest

from tests.docker.test_docker_scenarios import assert_nothing_left_in_docker
from tests.e2e.conftest import chaos_run
from tests.e2e.test_data_fault_modes import check_data_modes

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_every_data_fault_on_postgres(reports_dir, docker_images):
    result, run_dir, report = chaos_run("data-modes.yaml", reports_dir, "--backend", "docker")
    assert result.returncode == 0, result.stdout + result.stderr
    check_data_modes(report)
    assert {s["store"]["kind"] for s in report["data"]["stores"]} == {"postgres"}
    assert_nothing_left_in_docker(run_dir)
