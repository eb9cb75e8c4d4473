"""``chaos-harness init`` on three compose files; each starter scenario runs and passes on docker.

The files: the project's two (``docker-compose.chaos.yml`` and
``fixtures/recsys/docker/compose.yml``, which already route their edges through a
proxy service whose links their pipeline.yaml declares, not the compose file) and ``tests/pipelines/compose-other/docker-compose.yml``, written in another
style with no proxy at all, where ``init``'s override must route ``web -> api``. Each
test runs ``init`` and then the starter scenario exactly as a user would (two
commands, nothing edited), and checks report.json and that the run left nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docker.test_docker_scenarios import assert_nothing_left_in_docker
from tests.e2e.conftest import ROOT, journal, window

pytestmark = [pytest.mark.docker, pytest.mark.slow]

LATENCY_MS = 200
"""The starter scenario's latency (harness.init.starter.LATENCY_MS)."""


def init_and_run(compose: Path, tmp_path: Path) -> tuple[Path, dict, str]:
    """``chaos-harness init COMPOSE --out DIR`` then ``chaos-harness run DIR/starter-scenario.yaml``."""
    out = tmp_path / "chaos"
    before = compose.read_bytes()
    made = subprocess.run([sys.executable, "-m", "harness", "init", str(compose), "--out", str(out)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert made.returncode == 0, made.stdout + made.stderr
    assert compose.read_bytes() == before                 # their file is never edited
    reports = tmp_path / "reports"
    ran = subprocess.run([sys.executable, "-m", "harness", "run", str(out / "starter-scenario.yaml"),
                          "--reports-dir", str(reports)], capture_output=True, text=True, timeout=400,
                         cwd=tmp_path)
    run_dir = (reports / "latest").resolve()
    assert ran.returncode == 0, made.stdout + ran.stdout + ran.stderr
    return run_dir, json.loads((run_dir / "report.json").read_text()), made.stdout


def project_objects(run_dir: Path) -> list[str]:
    """Containers, networks and volumes of the run's compose project, labelled by us or not."""
    import docker

    from harness.dockerutil import project_name

    client = docker.from_env()
    try:
        flt = {"label": [f"com.docker.compose.project={project_name(run_dir.name)}"]}
        return ([c.name for c in client.containers.list(all=True, filters=flt)]
                + [n.name for n in client.networks.list(filters=flt)]
                + [v.name for v in client.volumes.list(filters=flt)])
    finally:
        client.close()


def passed_on_docker(report: dict, run_dir: Path, link: str) -> None:
    """Every SLO passed on docker, the starter fault hit ``link`` and was reverted, nothing left."""
    assert report["backend"] == "docker" and report["verdict"] == "passed"
    assert all(s["status"] == "passed" for s in report["slos"])
    assert report["requests"]["error_rate"] < 0.05
    assert [f["recovery_time_s"] is not None for f in report["faults"]] == [True]
    records = journal(run_dir)
    assert link in [r["link"] for r in records if r["kind"] == "proxy_created"]
    assert [r["fault"] for r in records if r["kind"] == "fault_reverted" and r["ok"]] == [f"slow-{link}"]
    assert_nothing_left_in_docker(run_dir)
    assert project_objects(run_dir) == []


def test_init_on_a_stack_in_another_style_routes_its_edge(tmp_path, docker_images):
    """No proxy in the file: the override adds one and points web's API_URL at it. The
    proof that the edge is routed: every request sent and answered wholly inside the
    fault took at least the 200 ms the ``api`` link added (each GET waits for the API;
    noise only adds time), while some baseline requests took less."""
    run_dir, report, said = init_and_run(ROOT / "tests/pipelines/compose-other/docker-compose.yml", tmp_path)
    assert "link api: web -> api:8000" in said
    passed_on_docker(report, run_dir, "api")
    records = journal(run_dir)
    injected = next(r["effective_ts"] for r in records if r["kind"] == "fault_injected")
    reverted = next(r["effective_ts"] for r in records if r["kind"] == "fault_reverted")
    sent = [json.loads(line) for line in (run_dir / "requests.jsonl").read_text().splitlines()]
    sent = [r for r in sent if r.get("sent", True)]
    inside = [r["service_ms"] for r in sent if r["ts"] >= injected and r["ts"] + r["service_ms"] / 1000 < reverted]
    before = [r["service_ms"] for r in sent if r["ts"] + r["service_ms"] / 1000 < injected]
    assert len(inside) >= 20 and min(inside) >= LATENCY_MS
    assert min(before) < LATENCY_MS
    assert window(report, "slow-api")["p50_ms"] >= LATENCY_MS


def test_init_on_the_reference_compose_file(tmp_path, docker_images):
    """Its own proxy is kept; what is behind its ports is found (database, feature server)."""
    run_dir, report, said = init_and_run(ROOT / "docker-compose.chaos.yml", tmp_path)
    assert "ingress: model-server; proxy service: toxiproxy" in said
    assert "link postgres: feature-server -> postgres:5432 (proxy port 15432)" in said
    assert "link feature-server: model-server -> feature-server:8000 (proxy port 8001)" in said
    passed_on_docker(report, run_dir, "postgres")


def test_init_on_the_recsys_compose_file(tmp_path, docker_images):
    """REDIS_URL's toxiproxy:16379 is found to lead to redis (its one dependency on 6379)."""
    run_dir, report, said = init_and_run(ROOT / "fixtures/recsys/docker/compose.yml", tmp_path)
    assert "link redis: recommender -> redis:6379 (proxy port 16379)" in said
    passed_on_docker(report, run_dir, "redis")
