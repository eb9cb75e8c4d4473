"""``model_swap`` on ``--backend docker``: the same scenario and the same checks as the
embedded backend (``tests/e2e/model_swap_checks.py``). The served model is replaced
inside the model server's container (the compose volume ``model``, writable) through
the Docker SDK, and restored there; then everything is removed."""

import pytest

from tests.docker.test_docker_scenarios import assert_nothing_left_in_docker, labelled
from tests.e2e.conftest import chaos_run, journal
from tests.e2e.model_swap_checks import check_model_swap, run_least_fallback

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_a_corrupt_model_is_flagged_and_an_older_one_is_silently_wrong_on_docker(reports_dir, docker_images):
    result, run_dir, report = run_least_fallback(
        lambda: chaos_run("model-swap.yaml", reports_dir, "--backend", "docker", timeout=300))
    assert result.returncode == 0, result.stdout + result.stderr
    assert report["backend"] == "docker"
    check_model_swap(report)
    swapping = [r for r in journal(run_dir) if r["kind"] == "artifact_swapping"]
    assert len(swapping) == 2
    assert all(r["where"].startswith("container ") and "model-server" in r["where"] for r in swapping)
    # the server noticed each swap by its own poll, in the same container: no restart hid anything
    assert not [r for r in journal(run_dir) if r["kind"] in ("service_died", "service_restarted")]
    log = (run_dir / "logs" / "docker-model-server.log").read_text()
    assert "model artifact refused (unknown_checksum" in log and "(previous)" in log
    assert_nothing_left_in_docker(run_dir)
    runs = [d.name for d in reports_dir.iterdir() if not d.is_symlink()]
    assert {run: labelled(run) for run in runs} == {run: [] for run in runs}  # every attempt's objects gone
