"""testcontainers helpers: a throwaway PostgreSQL feature store and a Toxiproxy-API proxy."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.timeout(120)]


@pytest.fixture
def postgres(docker_images):
    from harness.containers import postgres_container

    with postgres_container() as handle:
        yield handle


def load_features(dsn: str, *, seed: int, entities: int) -> int:
    """Load the reference pipeline's feature rows (its docker/seed.py) into ``dsn``."""
    import importlib.util
    import sys

    seed_py = Path(__file__).resolve().parents[2] / "fixtures" / "pipeline" / "docker" / "seed.py"
    spec = importlib.util.spec_from_file_location("_chaos_seed", seed_py)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("_chaos_seed", module)
    spec.loader.exec_module(module)
    return module.load_table(dsn, seed, entities, "features")


def test_postgres_fixture_gives_a_feature_store_that_restores_exactly(postgres):
    assert load_features(postgres.dsn, seed=3, entities=200) == 200
    store = postgres.feature_store()
    before, columns = store.checksum(), store.columns()
    assert len(columns) == 5
    for change in (lambda: store.corrupt(fraction=0.5, mode="wrong_type", columns=columns[:2],
                                         rng=random.Random(1)),
                   lambda: store.rename_column(columns[0], "renamed"),
                   lambda: store.drop_column(columns[-1])):
        snapshot = store.snapshot()
        change()
        assert store.checksum() != before
        store.restore(snapshot)
        assert store.checksum() == before
    assert store.snapshots() == []


def test_containers_carry_our_label_and_go_away(docker_images):
    from harness.containers import postgres_container
    from harness.dockerutil import labelled_objects

    with postgres_container(run_id="tc-label-test") as handle:
        assert labelled_objects("tc-label-test")["containers"]
        assert handle.dsn.startswith("postgresql://chaos:chaos@127.0.0.1:")
    assert labelled_objects("tc-label-test")["containers"] == []


def test_proxy_fixture_puts_latency_on_a_postgres_link(docker_images):
    import psycopg

    from harness.containers import labelled_network, postgres_container, toxiproxy_container

    with labelled_network() as network, postgres_container(network=network) as pg, \
            toxiproxy_container(network=network) as proxy:
        driver = proxy.driver()
        driver.create("db", listen="0.0.0.0:8666", upstream="postgres:5432")
        dsn = pg.dsn.rsplit("@", 1)[0] + f"@{proxy.address(8666)}/features"

        def query_seconds() -> float:
            with psycopg.connect(dsn, connect_timeout=5, autocommit=True) as db:
                started = time.perf_counter()
                db.execute("SELECT 1").fetchone()
                return time.perf_counter() - started

        # 1 s of latency against a 0.5 s bound: a busy machine cannot cross that margin
        assert query_seconds() < 0.5
        driver.add_toxic("db", name="slow", type="latency", attributes={"latency": 1000})
        assert query_seconds() >= 1.0
        driver.remove_toxic("db", "slow")
        assert query_seconds() < 0.5


def test_cleanup_docker_removes_one_runs_containers_and_networks(docker_images):
    from harness.containers import _container, labelled_network
    from harness.dockerutil import cleanup_docker, labelled_objects
    from harness.images import IMAGES

    with labelled_network(run_id="tc-cleanup-test") as network:
        container = _container(IMAGES["postgres"], "tc-cleanup-test", 5432)
        container.with_network(network).start()
        assert labelled_objects("tc-cleanup-test")["containers"]
        removed = cleanup_docker("tc-cleanup-test")
        assert any(r.startswith("container ") for r in removed)
        assert any(r.startswith("network ") for r in removed)
        assert labelled_objects("tc-cleanup-test") == {"containers": [], "networks": [], "volumes": []}


def test_cleanup_spares_objects_of_a_live_run_and_removes_them_once_it_is_gone(docker_images):
    """Objects labelled with another live process as owner belong to a running run."""
    import subprocess

    import docker

    from harness.dockerutil import OWNER_LABEL, RUN_LABEL, cleanup_docker, labelled_objects
    from harness.images import IMAGES

    owner = subprocess.Popen(["sleep", "120"])
    client = docker.from_env()
    run_id = "tc-live-owner-test"
    try:
        client.containers.create(IMAGES["base"], ["true"], name=f"chaos-{run_id}",
                                 labels={RUN_LABEL: run_id, OWNER_LABEL: str(owner.pid)})
        assert cleanup_docker(run_id) == []
        assert labelled_objects(run_id)["containers"] == [f"chaos-{run_id}"]
        owner.kill()
        owner.wait(10)
        assert cleanup_docker(run_id) == [f"container chaos-{run_id}"]
        assert labelled_objects(run_id)["containers"] == []
    finally:
        owner.kill()
        cleanup_docker(run_id)
        client.close()
