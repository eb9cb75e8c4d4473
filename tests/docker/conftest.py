"""Docker tier: skipped with the reason when no engine answers, unless CHAOS_REQUIRE_DOCKER=1.

When selected tests need the images and some are missing, the session builds them
before the first test if this machine can (see ``imagesupport.py``: engine, root,
debootstrap or apt-get, ``CHAOS_IMAGES`` not ``skip``); otherwise every such test skips
with one reason. With ``CHAOS_REQUIRE_DOCKER=1`` (CI) a missing engine or a missing
image FAILS every ``docker`` test instead of skipping it. Tests without the ``docker``
marker in this directory (pure unit tests of the Docker code) always run.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from pathlib import Path

import pytest

REQUIRE = os.environ.get("CHAOS_REQUIRE_DOCKER") == "1"
WORKER = os.environ.get("PYTEST_XDIST_WORKER")
"""Set in a pytest-xdist worker, whose terminal reporter's lines never reach the terminal."""


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


_IMAGES_SKIP: list[str] = []
"""The one reason image-needing tests skip with, decided after collection (empty: none)."""


def pytest_collection_finish(session: pytest.Session) -> None:
    """Build missing images before the first test that needs them, or settle why not."""
    if not any("docker_images" in getattr(item, "fixturenames", ()) for item in session.items):
        return
    from imagesupport import build, plan

    decided = plan()
    if decided.action == "ready":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    capture = session.config.pluginmanager.get_plugin("capturemanager")  # None with -p no:capture
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        say = reporter.write_line if reporter and not WORKER else functools.partial(print, file=sys.__stderr__,
                                                                                   flush=True)
        say(f"[images] {decided.reason}")
        if decided.action == "build":
            say("[images] once per machine, a few minutes; CHAOS_IMAGES=skip skips the image tests instead")
            why = build(say)
        else:
            why = decided.reason
    if why:
        _IMAGES_SKIP.append(why)


@pytest.fixture(scope="session")
def docker_images() -> None:
    """Every image the tests use exists (built by `chaos-harness images build`)."""
    ok, why = _engine()
    if not ok:
        _unavailable(f"no Docker engine: {why}")
    from harness.images import missing_images
    from imagesupport import ALL_ROLES, plan

    missing = missing_images(ALL_ROLES)
    if missing:
        _unavailable(_IMAGES_SKIP[0] if _IMAGES_SKIP else plan().reason)


@pytest.fixture(scope="module")
def docker_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run directory whose name (the run id) is unique per module and per session."""
    import secrets

    return tmp_path_factory.mktemp("runs") / f"dk-{secrets.token_hex(4)}"


@pytest.fixture
def reports_dir(tmp_path: Path) -> Path:
    """Where a scenario run writes its run directory."""
    return tmp_path / "reports"
