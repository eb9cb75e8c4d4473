"""The same scenarios as the embedded backend, on ``--backend docker``, numbers checked.

Each run brings the compose pipeline up under a unique project, runs Locust through
the ingress proxy container, injects the faults and tears everything down.
"""

import subprocess
import sys

import pytest

from tests.e2e.conftest import ROOT, alive, chaos_run, journal, slo, start_run, window

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def labelled(run_id: str) -> list[str]:
    import docker

    client = docker.from_env()
    try:
        label = f"chaos-harness.run-id={run_id}"
        found = [c.name for c in client.containers.list(all=True, filters={"label": label})]
        found += [n.name for n in client.networks.list(filters={"label": label})]
        found += [v.name for v in client.volumes.list(filters={"label": label})]
        return found
    finally:
        client.close()


def assert_nothing_left_in_docker(run_dir):
    assert labelled(run_dir.name) == []
    records = journal(run_dir)
    assert [r["pid"] for r in records if r["kind"] == "load_launched" and alive(r["pid"])] == []
    injected = {r["fault"] for r in records if r["kind"] == "fault_injected"}
    assert injected <= {r["fault"] for r in records if r["kind"] == "fault_reverted" and r["ok"]}


def test_feature_latency_on_docker(reports_dir, docker_images):
    result, run_dir, report = chaos_run("latency.yaml", reports_dir, "--backend", "docker")
    assert result.returncode == 0, result.stdout + result.stderr
    assert report["backend"] == "docker"
    assert window(report, "slow-features")["fallback_rate"] > 0.5
    assert window(report, "baseline")["fallback_rate"] < 0.05
    assert report["requests"]["error_rate"] < 0.02
    assert report["faults"][0]["recovery_time_s"] is not None
    assert_nothing_left_in_docker(run_dir)


def test_latency_between_feature_server_and_postgres(reports_dir, docker_images):
    """The docker-only ``feature-db`` link: a slow database makes scoring fall back."""
    result, run_dir, report = chaos_run("db-latency.yaml", reports_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert report["backend"] == "docker"
    assert window(report, "slow-db")["fallback_rate"] > 0.5
    assert window(report, "baseline")["fallback_rate"] < 0.05
    assert report["faults"][0]["recovery_time_s"] is not None
    created = [r["link"] for r in journal(run_dir) if r["kind"] == "proxy_created"]
    assert "feature-db" in created
    assert_nothing_left_in_docker(run_dir)


def test_model_server_kill_on_docker_recovers_through_the_restart_policy(reports_dir, docker_images):
    result, run_dir, report = chaos_run("kill.yaml", reports_dir, "--backend", "docker")
    assert result.returncode == 0, result.stdout + result.stderr
    kinds = [r["kind"] for r in journal(run_dir)]
    assert "service_killed" in kinds and "service_restarted" in kinds and "service_healthy" in kinds
    fault = report["faults"][0]
    assert 0 <= fault["recovery_time_s"] < 18  # the scenario's bound
    assert report["requests"]["errors"] > 0
    assert slo(report, "recovery_time[kill-model]")["status"] == "passed"
    assert_nothing_left_in_docker(run_dir)


def test_corrupted_features_and_schema_change_on_postgres(reports_dir, docker_images):
    result, run_dir, report = chaos_run("data.yaml", reports_dir, "--backend", "docker")
    assert result.returncode == 0, result.stdout + result.stderr
    assert window(report, "nan-rows")["fallback_rate"] > 0.3
    assert window(report, "rename-column")["fallback_rate"] > 0.9
    assert report["requests"]["error_rate"] < 0.01
    assert [r["ok"] for r in journal(run_dir) if r["kind"] == "fault_reverted"] == [True, True]
    assert_nothing_left_in_docker(run_dir)


def test_sigkilled_harness_then_cleanup_leaves_nothing(reports_dir, docker_images):
    process, run_dir = start_run("interrupt.yaml", reports_dir, "--backend", "docker", timeout=180)
    process.kill()
    process.wait(10)
    assert labelled(run_dir.name), "the SIGKILL should have left the run's containers behind"
    result = subprocess.run([sys.executable, "-m", "harness", "cleanup", "--reports-dir", str(reports_dir)],
                            capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert labelled(run_dir.name) == []
    load = [r["pid"] for r in journal(run_dir) if r["kind"] == "load_launched"]
    assert [p for p in load if alive(p)] == []


def test_a_dead_proxy_container_ends_the_run_at_once(reports_dir, docker_images):
    import os
    import signal

    import docker

    process, run_dir = start_run("interrupt.yaml", reports_dir, "--backend", "docker", timeout=180,
                                 capture=True)
    proxy = next(r for r in journal(run_dir) if r["kind"] == "pipeline_up")["services"]["toxiproxy"]
    client = docker.from_env()
    try:
        os.kill(client.containers.get(proxy).attrs["State"]["Pid"], signal.SIGKILL)
    finally:
        client.close()
    output, _ = process.communicate(timeout=180)
    assert process.returncode == 3, output
    assert "the fault proxy server died mid-run" in output
    records = journal(run_dir)
    died = next(r for r in records if r["kind"] == "proxy_server_died")
    teardown = next(r for r in records if r["kind"] == "phase_started" and r["phase"] == "teardown")
    assert teardown["ts"] - died["ts"] < 2.0
    assert labelled(run_dir.name) == []
