"""The recommendation pipeline's scenarios on ``--backend docker``: the same files and
the same checks as ``tests/e2e/test_recsys_runs.py``, with the compose file, images,
proxies and Redis store taken from ``fixtures/recsys/pipeline.yaml``'s ``docker`` section."""

from __future__ import annotations

import pytest

from tests.docker.test_docker_scenarios import assert_nothing_left_in_docker
from tests.e2e.conftest import chaos_run
from tests.e2e.test_recsys_runs import NAMES, SCENARIOS, check_recsys

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture
def recsys_image(docker_images):
    from harness.images import absent_images, image_tag

    if absent_images([image_tag("recsys")]):
        pytest.skip(f"image {image_tag('recsys')} is not built (chaos-harness images build)")


@pytest.mark.parametrize("name", NAMES)
def test_recsys_scenario_on_the_docker_backend(name, reports_dir, recsys_image):
    result, run_dir, report = chaos_run(str(SCENARIOS / f"recsys-{name}.yaml"), reports_dir,
                                        "--backend", "docker", timeout=400)
    check_recsys(name, result, run_dir, report)
    assert_nothing_left_in_docker(run_dir)
