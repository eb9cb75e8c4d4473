"""The docker tier's images on a machine that may not have them: build them, or one reason.

When the selected tests need the images (the ``docker_images`` fixture) and some are
missing, ``tests/docker/conftest.py`` asks :func:`plan` once, after collection:

* ``build``: a Docker engine answers, we are root, ``debootstrap`` is installed or
  ``apt-get`` can install it, and ``CHAOS_IMAGES`` is ``build`` (the default). The
  session then runs ``docker/ci-setup.sh`` (apt-get install debootstrap if missing,
  ``chaos-harness images build``) with its output on the terminal, before the first test;
* ``skip``: anything else; every test that needs the images skips with the plan's one
  reason (``CHAOS_REQUIRE_DOCKER=1`` makes it a failure);
* ``ready``: nothing is missing.

Nothing is ever pulled from a registry. ``CHAOS_IMAGE_TAG=absent`` (see
``harness.images``) points every tag at one that does not exist: the suite then runs as
on a machine with no image (with ``CHAOS_IMAGES=skip``, without building them).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

REPO_ROOT = Path(__file__).resolve().parents[2]
ALL_ROLES = ("base", "postgres", "runtime", "pipeline", "proxy", "recsys")
"""The tests use every image: the compose files' (both pipelines'), base (a bare container) and runtime."""
MODES = ("build", "skip")
LOCK = Path(os.environ.get("TMPDIR", "/tmp")) / "chaos-harness-images.lock"
"""Held while building, so two suites on one engine do not build the same tags at once."""


@dataclass(frozen=True)
class ImagePlan:
    """What to do about the images: ``action`` is ``ready``, ``build`` or ``skip``."""

    action: str
    reason: str


def _short(tags: list[str]) -> str:
    """``chaos-harness/{base,proxy}:local`` for tags that share a repository prefix and tag."""
    from harness.images import OWN_PREFIX

    suffixes = {tag.rsplit(":", 1)[-1] for tag in tags}
    if len(tags) > 1 and len(suffixes) == 1 and all(tag.startswith(OWN_PREFIX) for tag in tags):
        roles = ",".join(tag[len(OWN_PREFIX):].rsplit(":", 1)[0] for tag in tags)
        return f"{OWN_PREFIX}{{{roles}}}:{suffixes.pop()}"
    return ", ".join(tags)


def decide(*, engine: tuple[bool, str], missing: list[str], mode: str, root: bool,
           debootstrap: bool, apt: bool) -> ImagePlan:
    """The plan for these facts (pure: every fact is an argument)."""
    if not engine[0]:
        return ImagePlan("skip", f"no Docker engine: {engine[1]}")
    if not missing:
        return ImagePlan("ready", "every image exists")
    what = f"Docker image(s) missing: {_short(missing)}"
    hint = "build them once with `sudo docker/ci-setup.sh` (or `sudo chaos-harness images build`)"
    if mode not in MODES:
        return ImagePlan("skip", f"{what}; CHAOS_IMAGES={mode!r} is neither 'build' nor 'skip'")
    if mode == "skip":
        return ImagePlan("skip", f"{what} and CHAOS_IMAGES=skip: {hint}")
    if not root:
        return ImagePlan("skip", f"{what}; building them needs root (debootstrap): {hint}")
    if not debootstrap and not apt:
        return ImagePlan("skip", f"{what}; debootstrap is not installed and there is no apt-get "
                                 f"to install it: install debootstrap, then {hint}")
    how = "debootstrap" if debootstrap else "apt-get install debootstrap"
    return ImagePlan("build", f"{what}: building them ({how}, then `chaos-harness images build`)")


def plan() -> ImagePlan:
    """:func:`decide` for this machine, now."""
    from harness.dockerutil import docker_available
    from harness.images import image_tag, missing_images

    engine = docker_available()
    missing = missing_images(ALL_ROLES) if engine[0] else [image_tag(r) for r in ALL_ROLES]
    return decide(engine=engine, missing=missing, mode=os.environ.get("CHAOS_IMAGES", "build"),
                  root=os.geteuid() == 0,
                  debootstrap=bool(shutil.which("debootstrap") or Path("/usr/sbin/debootstrap").exists()),
                  apt=bool(shutil.which("apt-get")))


def build(say: Callable[[str], None]) -> str | None:
    """Run ``docker/ci-setup.sh`` (its output goes to stderr: the terminal, also from an
    xdist worker, whose stdout is not) under :data:`LOCK`.

    Returns None when every image exists afterwards, else the reason to skip with.
    """
    from harness.images import missing_images

    started = time.monotonic()
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another suite may be building the same tags
        if missing_images(ALL_ROLES):
            code = subprocess.run(["bash", str(REPO_ROOT / "docker" / "ci-setup.sh")],
                                  stdin=subprocess.DEVNULL, stdout=sys.__stderr__).returncode
        else:
            code = 0
    seconds = time.monotonic() - started
    missing = missing_images(ALL_ROLES)
    if not missing:
        say(f"[images] ready in {seconds:.0f} s")
        return None
    say(f"[images] build failed after {seconds:.0f} s (exit {code})")
    return (f"Docker image(s) missing: {_short(missing)}; the build before the tests failed "
            f"(docker/ci-setup.sh exit {code}, its output is above the test results)")
