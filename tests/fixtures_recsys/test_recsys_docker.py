"""The recommendation pipeline in containers: docker/compose.yml brought up with docker-compose v1.

The proxies of pipeline.yaml's ``docker.links`` are created through the Toxiproxy API,
as the docker backend will; golden requests go in through the ingress proxy, the
``features`` link is taken down and brought back. Needs the images of this tag
(``chaos-harness images build``); skipped without them unless CHAOS_REQUIRE_DOCKER=1.
Everything the test created is removed (``down -v``).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import Iterator

import httpx
import pytest
import yaml

import golden_set

from .conftest import RECSYS_DIR

pytestmark = [pytest.mark.docker, pytest.mark.timeout(600)]

COMPOSE = RECSYS_DIR / "docker" / "compose.yml"


def _unavailable(reason: str) -> None:
    if os.environ.get("CHAOS_REQUIRE_DOCKER") == "1":
        pytest.fail(f"CHAOS_REQUIRE_DOCKER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


class Stack:
    """One compose project of the recsys pipeline."""

    def __init__(self) -> None:
        from harness.images import IMAGES, image_tag

        self.project = f"chaos-recsys-test-{os.getpid()}"
        self.env = {**os.environ, "CHAOS_RUN_ID": self.project, "CHAOS_SEED": "0",
                    "RECSYS_IMAGE": image_tag("recsys"), "TOXIPROXY_IMAGE": IMAGES["proxy"]}

    def compose(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run(["docker-compose", "-p", self.project, "-f", str(COMPOSE), *args], env=self.env,
                              capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"docker-compose {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def port(self, service: str, port: int) -> str:
        return self.compose("port", service, str(port)).strip()


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    from harness.dockerutil import docker_available
    from harness.images import IMAGES, absent_images, image_tag

    ok, why = docker_available()
    if not ok:
        _unavailable(f"no Docker engine: {why}")
    missing = absent_images([image_tag("recsys"), IMAGES["proxy"]])
    if missing:
        _unavailable(f"image(s) missing: {', '.join(missing)} (build them: chaos-harness images build)")
    stack = Stack()
    try:
        stack.compose("up", "-d")
        yield stack
    finally:
        stack.compose("down", "-v", "--remove-orphans", "--timeout", "5", timeout=180)


def _wait_model_answer(http: httpx.Client, timeout: float = 60.0) -> dict:
    deadline, last = time.monotonic() + timeout, None
    user = 2000
    while time.monotonic() < deadline:
        try:
            resp = http.get(f"/recommendations?user_id={user}&k=5")
            last = resp.text
            if resp.status_code == 200 and not resp.json()["popular_fallback"]:
                return resp.json()
        except httpx.HTTPError as exc:
            last = repr(exc)
        user += 1
        time.sleep(0.2)
    raise AssertionError(f"no model answer through the ingress within {timeout:g} s; last: {last}")


def test_compose_serves_golden_answers_through_the_proxies_and_falls_back_when_the_store_link_is_down(stack: Stack):
    links = yaml.safe_load((RECSYS_DIR / "pipeline.yaml").read_text())["docker"]["links"]
    api = httpx.Client(base_url=f"http://{stack.port('toxiproxy', 8474)}", timeout=10, trust_env=False)
    for name, link in links.items():
        resp = api.post("/proxies", json={"name": name, "listen": link["listen"], "upstream": link["upstream"]})
        assert resp.status_code == 201, resp.text
    cases = [json.loads(line) for line in stack.compose("exec", "-T", "recommender", "cat", "/model/golden.jsonl")
             .splitlines()[:30]]
    ingress = stack.port("toxiproxy", int(links["ingress"]["listen"].rsplit(":", 1)[1]))
    with httpx.Client(base_url=f"http://{ingress}", timeout=10, trust_env=False) as http:
        first = _wait_model_answer(http)
        assert first["model_version"].startswith("recsys-lr-s0-") and len(first["items"]) == 5
        wrong = [c["id"] for c in cases if not golden_set.judge(c, http.get(c["request"]["path"]).json())]
        assert wrong == []
        assert api.post("/proxies/features", json={"enabled": False}).status_code == 200
        down = http.get("/recommendations?user_id=4321&k=5").json()
        assert (down["popular_fallback"], down["reason"]) == (True, "store_error")
        assert api.post("/proxies/features", json={"enabled": True}).status_code == 200
        assert not _wait_model_answer(http)["popular_fallback"]
    api.close()
