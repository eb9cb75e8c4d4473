"""Docker tier: skipped with the reason when no engine answers, unless CHAOS_REQUIRE_DOCKER=1.

With ``CHAOS_REQUIRE_DOCKER=1`` (CI on a machine that ran ``docker/ci-setup.sh``) a
missing engine or a missing image FAILS every ``docker`` test instead of skipping it.
Tests without the ``docker`` marker in this directory (pure unit tests of the Docker
code) always run.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

REQUIRE = os.environ.get("CHAOS_REQUIRE_DOCKER") == "1"


@functools.lru_cache(maxsize=1)
def _engine() -> tuple[bool, str]:
    from harness.dockerutil import docker_available

    return docker_available()


def _unavailable(reason: str) -> None:
    if REQUIRE:
        pytest.fail(f"CHAOS_REQUIRE_DOCKER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _docker_engine(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("docker") is None:
        return
    ok, why = _engine()
    if not ok:
        _unavailable(f"no Docker engine: {why}")


@pytest.fixture(scope="session")
def docker_images() -> None:
    """The compose pipeline's images exist (built by `chaos-harness images build`)."""
    ok, why = _engine()
    if not ok:
        _unavailable(f"no Docker engine: {why}")
    from harness.images import missing_images

    missing = missing_images()
    if missing:
        _unavailable(f"image(s) {', '.join(missing)} missing. Hint: chaos-harness images build "
                     "(or docker/ci-setup.sh)")


@pytest.fixture(scope="module")
def docker_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run directory whose name (the run id) is unique per module and per session."""
    import secrets

    return tmp_path_factory.mktemp("runs") / f"dk-{secrets.token_hex(4)}"


@pytest.fixture
def reports_dir(tmp_path: Path) -> Path:
    """Where a scenario run writes its run directory."""
    return tmp_path / "reports"
