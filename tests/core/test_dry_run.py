"""``chaos-harness run --dry-run``: the resolved plan, printed, and nothing touched: no run
directory, no process, no Docker call, no socket."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from harness.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def nothing_touched(monkeypatch, tmp_path):
    """Every way to start a process, reach Docker or open a socket fails the test."""
    def forbidden(*args, **kwargs):
        raise AssertionError(f"a dry run touched something: {args!r:.200}")

    import docker

    monkeypatch.setattr(subprocess.Popen, "__init__", forbidden)
    monkeypatch.setattr(socket.socket, "connect", forbidden)
    monkeypatch.setattr(docker, "DockerClient", forbidden)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _dry(capsys, scenario: str, *args: str) -> tuple[int, list[str]]:
    code = main(["run", "--dry-run", str(ROOT / scenario), "--reports-dir", "reports", *args])
    return code, capsys.readouterr().out.splitlines()


def test_the_plan_is_printed_with_times_targets_and_toxics(nothing_touched, capsys):
    code, lines = _dry(capsys, "scenarios/game-day.yaml")
    assert code == 0
    assert lines[0] == "dry run of 'game-day' (seed 7) on the process backend: nothing was started"
    plan = [line.strip() for line in lines[lines.index("plan (seconds from load start):") + 1:]]
    assert plan == [
        "8.000s  inject slow-features (latency on features)",
        "add toxic chaos-slow-features to proxy features: latency (latency=300, jitter=20), "
        "stream downstream, toxicity 1",
        "18.000s  revert slow-features",
        "remove toxic chaos-slow-features from proxy features",
        "26.000s  inject kill-model (kill on model-server)",
        "kill model-server (signal SIGKILL)",
        "45.000s  load ends"]
    assert list(nothing_touched.iterdir()) == []  # not even the reports directory


def test_data_changes_are_listed_with_the_snapshot_around_them(nothing_touched, capsys):
    code, lines = _dry(capsys, "scenarios/schema-change.yaml")
    assert code == 0
    text = "\n".join(lines)
    assert "snapshot the feature table (snapshot-1)\n              rename column avg_amount_30d" in text
    assert "revert rename-column\n              restore the feature table (snapshot-1)" in text


def test_the_docker_backend_is_planned_without_a_docker_call(nothing_touched, capsys):
    code, lines = _dry(capsys, "scenarios/game-day.yaml", "--backend", "docker", "--seed", "11")
    assert code == 0 and lines[0].endswith("(seed 11) on the docker backend: nothing was started")


def test_an_invalid_scenario_still_exits_2_before_planning(nothing_touched, capsys):
    bad = nothing_touched / "bad.yaml"
    bad.write_text("name: x\nfaults: [{name: a, at: 1s, nosuch: {}}]\n")
    assert main(["run", "--dry-run", str(bad)]) == 2
