"""The installed wheel (see ``tests/e2e/test_installed_wheel.py``) on the docker backend:
``chaos-harness images build DIR`` from the fresh venv builds the images from the files
shipped in the package and the one the copied pipeline names, then the run passes
with its numbers checked."""

from __future__ import annotations

import pytest

from tests.e2e.test_installed_wheel import check, harness, installed, workdir  # noqa: F401  (fixture)

pytestmark = [pytest.mark.slow]


@pytest.mark.docker
def test_an_installed_harness_builds_and_runs_a_foreign_pipeline_on_the_docker_backend(
        installed, tmp_path, docker_images):
    run = workdir(tmp_path)
    built = harness(installed, "images", "build", "../recsys", cwd=run, timeout=1800)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "recsys" in built.stdout
    check(harness(installed, "run", "s.yaml", "--backend", "docker", "--reports-dir", str(tmp_path / "reports"),
                  cwd=run, timeout=400), tmp_path / "reports")
