"""The compose pipeline on the docker backend: health, traffic through the proxies,
PostgreSQL really read, kill/restart, pause/resume, partition/reconnect, stop, clean down.

One pipeline per module (bringing it up costs ~10 s); the tests run in file order and
the last one takes it down. Every loop is bounded; all traffic stays on loopback.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest
import requests

from harness.faults.base import FaultContext
from harness.journal import Journal, read_journal
from harness.procgroup import identity_state

pytestmark = [pytest.mark.docker, pytest.mark.timeout(300)]

PIPELINE_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "pipeline"
TXN = {"transaction_id": "t-1", "entity_id": 42, "amount": 25.0, "hour": 14,
       "merchant_category": "grocery"}


@pytest.fixture(scope="module")
def backend(docker_images, docker_run_dir):
    from harness.backends.docker import DockerBackend
    from harness.pipeline import load_pipeline

    journal = Journal(docker_run_dir / "journal.jsonl")
    backend = DockerBackend(pipeline=load_pipeline(PIPELINE_DIR), run_dir=docker_run_dir,
                            journal=journal, seed=0)
    try:
        backend.up()
        yield backend
    finally:
        backend.down()
        journal.close()


def records(backend, kind: str) -> list[dict]:
    return [r for r in read_journal(backend.run_dir) if r["kind"] == kind]


def predict(backend, timeout: float = 3.0) -> requests.Response:
    return requests.post(f"{backend.link_url('ingress')}/predict", json=TXN, timeout=timeout)


def wait_until(check, timeout: float, what: str, interval: float = 0.1):
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except requests.RequestException as exc:
            last = exc
        time.sleep(interval)
    raise AssertionError(f"{what} not within {timeout}s (last error: {last})")


def serving(backend) -> bool:
    response = predict(backend, timeout=2)
    return response.status_code == 200 and response.json()["fallback"] is False


def test_pipeline_comes_up_healthy_with_a_proxy_per_link(backend):
    up = records(backend, "pipeline_up")
    assert len(up) == 1 and up[0]["up_s"] < 60
    assert set(backend.links) >= {"ingress", "features", "feature-db"}
    assert set(backend.proxies.proxies()) >= {"ingress", "features", "feature-db"}
    for service, container in backend._containers().items():
        container.reload()
        health = (container.attrs["State"].get("Health") or {}).get("Status")
        assert health in ("healthy", None), (service, health)
        assert container.labels["chaos-harness.run-id"] == backend.run_id
        owner = {"pid": container.labels["chaos-harness.owner-pid"], "host": container.labels["chaos-harness.owner-host"],
                 "start_time": container.labels["chaos-harness.owner-start"]}
        assert identity_state(owner) == "alive" and owner["pid"] == str(os.getpid())  # cleanup spares it


def test_a_prediction_through_the_ingress_proxy_uses_the_model(backend):
    response = wait_until(lambda: predict(backend), 20, "a prediction")
    body = response.json()
    assert response.status_code == 200 and 0.0 <= body["score"] <= 1.0
    assert body["fallback"] is False, body


def test_the_feature_server_reads_postgresql(backend):
    import psycopg

    store = backend.store()
    url = f"{backend.link_url('features')}/features/42"
    assert requests.get(f"{backend.link_url('features')}/health", timeout=3).json()["backend"] == "postgres"
    with psycopg.connect(store.dsn, autocommit=True) as db:
        (before,) = db.execute("SELECT txn_count_24h FROM features WHERE entity_id = 42").fetchone()
        assert requests.get(url, timeout=3).json()["features"]["txn_count_24h"] == before
        db.execute("UPDATE features SET txn_count_24h = 12345 WHERE entity_id = 42")
        try:
            assert requests.get(url, timeout=3).json()["features"]["txn_count_24h"] == 12345
        finally:
            db.execute("UPDATE features SET txn_count_24h = %s WHERE entity_id = 42", (before,))


def test_data_faults_round_trip_on_the_postgres_store(backend):
    store = backend.store()
    before = store.checksum()
    snapshot = store.snapshot()
    hit = store.corrupt(fraction=0.01, mode="nan", columns=store.columns()[:1], rng=random.Random(0))
    assert hit == 100 and store.checksum() != before
    store.restore(snapshot)
    assert store.checksum() == before and store.snapshots() == []


def test_kill_of_model_server_is_followed_by_a_restart(backend):
    wait_until(lambda: serving(backend), 20, "serving before the kill")
    started, before = time.monotonic(), time.time()
    sent = backend.kill("model-server")
    killed = records(backend, "service_killed")[-1]
    assert killed["service"] == "model-server" and killed["exit_code"] == 137
    assert before <= sent <= killed["died_at"] + 0.01  # the signal first, then the engine's death
    restarted = wait_until(lambda: records(backend, "service_restarted"), 30, "service_restarted")[-1]
    assert restarted["started_at"] > restarted["died_at"] == killed["died_at"]
    wait_until(lambda: serving(backend), 30, "serving again after the kill")
    assert time.monotonic() - started < 30
    healthy = wait_until(lambda: [r for r in records(backend, "service_healthy") if r["service"] == "model-server"
                                  and r["healthy_at"] > restarted["started_at"]], 30, "service_healthy")[-1]
    assert healthy["after_s"] == pytest.approx(healthy["healthy_at"] - restarted["started_at"], abs=0.002)


def test_a_kill_is_one_signal_to_the_pid_resolved_ahead_and_refreshed_on_restart(backend, monkeypatch):
    wait_until(lambda: serving(backend), 30, "serving before the kills")
    backend.resolve("model-server")
    monkeypatch.setattr(backend, "container", lambda service: pytest.fail(f"looked {service} up at the kill"))
    for _ in range(2):  # the second kill's PID is the one the start event brought
        count = len(records(backend, "service_restarted"))
        backend.kill("model-server")
        wait_until(lambda: len(records(backend, "service_restarted")) > count, 30, "service_restarted")
        wait_until(lambda: serving(backend), 30, "serving again after the kill")
    assert [r["cause"] for r in records(backend, "service_killed")][-2:] == ["SIGKILL", "SIGKILL"]


def test_pause_freezes_and_resume_thaws(backend):
    wait_until(lambda: serving(backend), 20, "serving before the pause")
    backend.pause("model-server")
    try:
        with pytest.raises(requests.RequestException):
            predict(backend, timeout=1)
    finally:
        backend.resume("model-server")
    wait_until(lambda: serving(backend), 20, "serving after resume")
    assert records(backend, "service_paused") and records(backend, "service_resumed")


def _ctx(backend, name: str) -> FaultContext:
    return FaultContext(backend=backend, journal=backend.journal, rng=random.Random(0), fault_name=name)


def test_partition_cuts_the_feature_server_off_and_reconnect_heals(backend):
    from harness.faults.container import PartitionFault, ServiceParams

    wait_until(lambda: serving(backend), 20, "serving before the partition")
    undo = PartitionFault(ServiceParams(service="feature-server")).inject(_ctx(backend, "cut"))
    try:
        response = predict(backend, timeout=5)  # the model server falls back
        assert response.status_code == 200 and response.json()["fallback"] is True
    finally:
        undo()
    wait_until(lambda: serving(backend), 30, "features again after reconnect")
    assert records(backend, "service_partitioned") and records(backend, "service_reconnected")


def test_stop_then_start(backend):
    from harness.faults.container import StopFault, StopParams

    stopped, started = len(records(backend, "service_stopped")), len(records(backend, "service_started"))
    undo = StopFault(StopParams(service="feature-server", timeout_s=1)).inject(_ctx(backend, "stop"))
    try:
        assert records(backend, "service_stopped")[stopped:][0]["service"] == "feature-server"
        assert predict(backend, timeout=5).json()["fallback"] is True
    finally:
        undo()
    assert records(backend, "service_started")[started:][0]["service"] == "feature-server"
    wait_until(lambda: serving(backend), 30, "features again after start")


def test_restart_fault_bounces_the_model_server(backend):
    from harness.faults.container import RestartFault, StopParams

    count = len(records(backend, "service_restarted"))
    undo = RestartFault(StopParams(service="model-server", timeout_s=1)).inject(_ctx(backend, "bounce"))
    undo()
    wait_until(lambda: len(records(backend, "service_restarted")) > count, 30, "service_restarted")
    assert records(backend, "service_killed")[-1]["cause"] == "restart"
    wait_until(lambda: serving(backend), 30, "serving after the restart")


def _kill_main_process(backend, service: str) -> int:
    """SIGKILL the container's main process from the host, as the OOM killer would."""
    import os
    import signal

    pid = backend.container(service).attrs["State"]["Pid"]
    os.kill(pid, signal.SIGKILL)
    return pid


def test_an_unplanned_container_death_is_journaled_as_such(backend):
    wait_until(lambda: serving(backend), 20, "serving before the death")
    _kill_main_process(backend, "feature-server")
    died = wait_until(lambda: records(backend, "service_died"), 20, "service_died")[-1]
    assert (died["service"], died["cause"]) == ("feature-server", "unplanned")
    assert died["reason"] == "exited with code 137, not by the plan"
    wait_until(lambda: serving(backend), 60, "serving after the restart policy brought it back")
    assert records(backend, "proxy_server_died") == []


def test_the_proxy_container_dying_is_journaled_as_the_proxy_dying(backend):
    _kill_main_process(backend, "toxiproxy")  # its proxies were in memory: every link is gone
    died = wait_until(lambda: records(backend, "proxy_server_died"), 20, "proxy_server_died")[-1]
    assert died["service"] == "toxiproxy"
    assert died["reason"] == f"container {died['container']} exited with code 137, not by the plan"
    assert "toxiproxy" in died["container"]


def test_down_leaves_no_labelled_container_network_or_volume(backend):
    from harness.dockerutil import labelled_objects

    assert any(labelled_objects(backend.run_id).values())
    backend.down()
    assert labelled_objects(backend.run_id) == {"containers": [], "networks": [], "volumes": []}
    backend.down()  # idempotent
    downs = records(backend, "pipeline_down")
    assert len(downs) == 2 and all(d["ok"] and d["error"] is None for d in downs)  # it answered its ping
