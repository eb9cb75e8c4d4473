"""``chaos-harness cleanup`` touches only orphans, and undoes what a SIGKILLed run left:
processes, data (SQLite, PostgreSQL where it runs here) and proxies on the Toxiproxy the
run recorded. Real processes killed for real, real stores, the real proxy server."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.drivers.toxiproxy import ToxiproxyDriver
from harness.journal import read_jsonl
from harness.procgroup import identity, identity_state, start_time_of
from harness.runlock import LOCK_FILE, LockState, RunLock, claim
from harness.stores.postgres import PostgresFeatureStore
from harness.stores.sqlite import SqliteFeatureStore
from stack_support import ROOT, make_pg_table, make_sqlite_table, proxy_server

KILLED_RUN = Path(__file__).with_name("killed_run.py")
NO_DOCKER = "unix:///nonexistent/docker.sock"
"""Cleanup without --run-id also sweeps the Docker engine for orphans: not from these
tests, on an engine others share (tests/docker/test_cleanup_orphans.py covers that)."""


def alive(pid: int) -> bool:
    return start_time_of(pid) is not None


def start_killed_run(run_dir: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    """Start tests/core/killed_run.py and wait (bounded) until its faults are applied."""
    process = subprocess.Popen([sys.executable, str(KILLED_RUN), str(run_dir), *args], cwd=ROOT, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env or os.environ.copy())
    line = process.stdout.readline()
    if line.strip() != "ready":
        process.kill()
        pytest.fail(f"killed_run.py did not get ready: {line!r} {process.stderr.read()}")
    return process


def sigkill(process: subprocess.Popen) -> None:
    process.kill()
    process.wait(10)


def run_cleanup(reports_dir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in (env or os.environ).items() if k != "TOXIPROXY_URL"}
    env["DOCKER_HOST"] = NO_DOCKER
    return subprocess.run([sys.executable, "-m", "harness", "cleanup", "--reports-dir", str(reports_dir), *args],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)


def test_cleanup_leaves_a_live_run_alone_and_processes_latest_once(tmp_path):
    reports = tmp_path / "reports"
    run_dir = reports / "run-1"
    run = start_killed_run(run_dir, "--child")
    (reports / "latest").symlink_to("run-1")
    child = next(r["pid"] for r in read_jsonl(run_dir / "journal.jsonl") if r["kind"] == "service_started")
    try:
        live = run_cleanup(reports)
        assert live.returncode == 0, live.stderr
        assert live.stdout.splitlines() == [f"run-1: still running (pid {run.pid}); left alone"]
        assert alive(child)
        sigkill(run)
        dead = run_cleanup(reports)
        assert dead.returncode == 0, dead.stderr
        assert dead.stdout.splitlines() == [f"run-1: killed leftover process group {child} (service_started)"]
        deadline = time.monotonic() + 10
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(child)
        assert list(read_jsonl(run_dir / "journal.jsonl"))[-1]["kind"] == "cleaned_up"
    finally:
        run.kill()
        os.killpg(child, signal.SIGKILL) if alive(child) else None


def test_a_lock_names_its_owner_by_pid_and_start_time(tmp_path):
    lock = RunLock.acquire(tmp_path)
    owner = json.loads((tmp_path / LOCK_FILE).read_text())
    assert owner == identity()
    assert owner["start_time"] == int(Path(f"/proc/{os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()[19])
    assert claim(tmp_path) == (LockState.LIVE, None)  # flock held (even by this very process)
    lock.release()
    assert claim(tmp_path)[0] is LockState.LIVE  # released, but its owner (this process) lives


def test_a_recycled_pid_is_not_the_owner(tmp_path):
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        (tmp_path / LOCK_FILE).write_text(json.dumps({**identity(stranger.pid), "start_time": 1}))
        assert identity_state(identity(stranger.pid)) == "alive"
        state, lock = claim(tmp_path)  # same PID, another start time, no flock: an orphan
        assert state is LockState.ORPHAN
        lock.release()
        (tmp_path / LOCK_FILE).write_text(json.dumps(identity(stranger.pid)))
        assert claim(tmp_path)[0] is LockState.LIVE  # the very process: left alone
    finally:
        stranger.kill()
        stranger.wait()
    assert claim(tmp_path)[0] is LockState.ORPHAN


def test_cleanup_after_sigkill_restores_sqlite_and_deletes_the_snapshot(tmp_path):
    db = make_sqlite_table(tmp_path / "features.db")
    store = SqliteFeatureStore(db)
    before = store.checksum()
    reports = tmp_path / "reports"
    sigkill(start_killed_run(reports / "run-1", "--sqlite", str(db)))
    assert store.checksum() != before
    assert "avg_amount_v2" in store.columns()
    snapshots = list(tmp_path.glob("features.db.snapshot-*"))
    assert len(snapshots) == 1
    result = run_cleanup(reports)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [f"run-1: restored table features in {db} from snapshot {snapshots[0]} "
                                          "(checksum verified)"]
    assert store.checksum() == before
    assert list(tmp_path.glob("features.db.snapshot-*")) == []
    records = list(read_jsonl(reports / "run-1" / "journal.jsonl"))
    assert [(r["kind"], r["phase"], r.get("ok")) for r in records[-2:]] == [
        ("store_restored", "cleanup", True), ("cleaned_up", "cleanup", None)]
    assert run_cleanup(reports).stdout.splitlines() == ["nothing to clean up"]  # done once


def test_cleanup_after_sigkill_restores_postgres_and_drops_the_snapshot(tmp_path, pg_dsn):
    make_pg_table(pg_dsn, "features")
    store = PostgresFeatureStore(pg_dsn)
    before = store.checksum()
    reports = tmp_path / "reports"
    sigkill(start_killed_run(reports / "run-1", "--postgres", pg_dsn))
    assert store.checksum() != before and "avg_amount_v2" in store.columns()
    [snapshot] = store.snapshots()
    result = run_cleanup(reports)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [f"run-1: restored table features in {pg_dsn} from snapshot {snapshot} "
                                          "(checksum verified)"]
    assert store.checksum() == before
    assert store.snapshots() == []


def test_cleanup_deletes_the_runs_proxies_on_the_recorded_toxiproxy(tmp_path):
    with proxy_server() as url:
        driver = ToxiproxyDriver(url)
        driver.create("someone-elses", listen="127.0.0.1:0", upstream="127.0.0.1:9")
        reports = tmp_path / "reports"
        sigkill(start_killed_run(reports / "run-1", "--proxy", env={**os.environ, "TOXIPROXY_URL": url}))
        mine = driver.proxies()["chaos-run-1-features"]
        assert mine["enabled"] is False and [t["name"] for t in mine["toxics"]] == ["chaos-slow"]
        result = run_cleanup(reports)  # TOXIPROXY_URL unset: the journal says where
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.splitlines() == [f"run-1: deleted proxy chaos-run-1-features and its toxics on {url}"]
        assert sorted(driver.proxies()) == ["someone-elses"]
        deleted = [r for r in read_jsonl(reports / "run-1" / "journal.jsonl") if r["kind"] == "proxies_deleted"]
        assert [(r["url"], r["proxies"]) for r in deleted] == [(url, ["chaos-run-1-features"])]


def test_a_store_that_cannot_be_restored_is_reported_and_retried(tmp_path):
    db = make_sqlite_table(tmp_path / "features.db")
    reports = tmp_path / "reports"
    sigkill(start_killed_run(reports / "run-1", "--sqlite", str(db)))
    for snapshot in tmp_path.glob("features.db.snapshot-*"):
        snapshot.unlink()  # lost: the table cannot be put back, and cleanup must say so
    for attempt in range(2):
        result = run_cleanup(reports)
        assert result.returncode == 3, result.stdout + result.stderr
        assert result.stdout.startswith(f"run-1: FAILED to restore table features in {db} from snapshot "), result.stdout
    failed = [r for r in read_jsonl(reports / "run-1" / "journal.jsonl") if r["kind"] == "store_restored"]
    assert [r["ok"] for r in failed] == [False, False]


def test_a_journal_that_does_not_read_is_reported_and_left_alone(tmp_path, monkeypatch):
    from harness.cleanup import cleanup

    run_dir = tmp_path / "run-1"
    run_dir.mkdir()
    line = {"ts": 1.0, "kind": "store_snapshotting", "fault": "nan-rows"}  # store, snapshot, checksum lost
    (run_dir / "journal.jsonl").write_text(json.dumps(line) + "\n")
    monkeypatch.setenv("DOCKER_HOST", NO_DOCKER)
    done = cleanup(tmp_path, run_id="run-1")
    assert done == ["run-1: FAILED: its journal does not read (" + str(run_dir / "journal.jsonl")
                    + ": record 1: a store_snapshotting record lacks store, snapshot, checksum); "
                    "nothing of it was touched"]
    assert (run_dir / "journal.jsonl").read_text() == json.dumps(line) + "\n"


def test_cleanup_after_sigkill_mid_model_swap_puts_the_artifact_back(tmp_path):
    model = tmp_path / "cache" / "m_1" / "model.pkl"
    (model.parent / "versions").mkdir(parents=True)
    model.write_bytes(b"the served model " * 100)
    before = hashlib.sha256(model.read_bytes()).hexdigest()
    reports = tmp_path / "reports"
    sigkill(start_killed_run(reports / "run-1", "--artifact", str(model)))
    assert hashlib.sha256(model.read_bytes()).hexdigest() != before  # still swapped: nobody undid it
    (backup,) = model.parent.glob("model.pkl.chaos-orig-*")
    result = run_cleanup(reports)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [f"run-1: restored artifact {model} from {backup} (checksum verified)"]
    assert hashlib.sha256(model.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in model.parent.iterdir()) == ["model.pkl", "versions"]
    records = list(read_jsonl(reports / "run-1" / "journal.jsonl"))
    restored = [r for r in records if r["kind"] == "artifact_restored"]
    assert [(r["phase"], r["ok"], r["checksum"], r["backup"]) for r in restored] == [
        ("cleanup", True, before, str(backup))]
    assert run_cleanup(reports).stdout.splitlines() == ["nothing to clean up"]  # done once


def test_an_artifact_swap_cut_before_the_swap_only_loses_its_backup(tmp_path):
    model = tmp_path / "model.pkl"
    model.write_bytes(b"kept")
    reports = tmp_path / "reports"
    sigkill(start_killed_run(reports / "run-1", "--artifact", str(model)))
    (backup,) = tmp_path.glob("model.pkl.chaos-orig-*")
    model.write_bytes(b"kept")  # as if the kill came between the backup and the swap
    result = run_cleanup(reports)
    assert result.stdout.splitlines() == [f"run-1: artifact {model} unchanged; removed backup {backup}"]
    assert not backup.exists() and model.read_bytes() == b"kept"
