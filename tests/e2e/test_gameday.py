"""Game-day mode through a pseudo-terminal: the operator injects the fault early, adds a
note, answers a runbook step, quits in the middle, and nothing is left (no fault, no
process, no container). Real pipeline, proxy and Locust."""

import json
import subprocess
import sys
import time

import pexpect
import pytest

from tests.e2e.conftest import ROOT, SCENARIOS, alive, assert_nothing_left, journal

pytestmark = pytest.mark.slow


def containers_of(run_id: str) -> list[str]:
    """Containers whose name or labels mention the run (none expected; [] without docker)."""
    try:
        out = subprocess.run(["docker", "ps", "-a", "--format", "{{.Names}} {{.Labels}}"], capture_output=True,
                             text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return []
    return [line for line in out.stdout.splitlines() if run_id in line]


def spawn_gameday(scenario: str, reports_dir, *extra: str, timeout: float = 90) -> pexpect.spawn:
    """``chaos-harness gameday SCENARIO`` in a 40x160 pseudo-terminal."""
    return pexpect.spawn(sys.executable, ["-m", "harness", "gameday", str(SCENARIOS / scenario), *extra,
                                          "--reports-dir", str(reports_dir)],
                         cwd=str(ROOT), encoding="utf-8", timeout=timeout, dimensions=(40, 160))


def inject_early(child: pexpect.spawn) -> None:
    """Answer the first prompt at once (inject ahead of the plan), wait for runbook step 1."""
    child.expect(r"next fault: features-down at 6s")
    child.sendline("")  # ready: inject it now, ahead of the plan's clock
    child.expect(r"step 1 done\? \[y/n/note\]")


def interrupted_and_clean(run_dir) -> list[dict]:
    """The run's journal, after checking it ended interrupted with nothing left."""
    records = journal(run_dir)
    assert records[-1]["kind"] == "run_finished" and records[-1]["status"] == "interrupted"
    assert_nothing_left(run_dir)
    assert containers_of(run_dir.name) == []
    return records


def test_operator_answers_notes_and_quits_midway(reports_dir):
    child = spawn_gameday("gameday.yaml", reports_dir)
    try:
        inject_early(child)
        child.sendline("note")
        child.expect("note:")
        child.sendline("fallbacks at 100% on the dashboard")
        child.expect(r"step 1 done\? \[y/n/note\]")
        child.sendline("y")
        child.expect(r"step 3 done\? \[y/n/note\]")
        child.sendline("q")  # quit in the middle of the runbook
        child.expect("the operator quit: healing every fault and tearing down")
        child.expect(pexpect.EOF, timeout=60)
    finally:
        child.close(force=True)
    assert child.exitstatus == 130, child.before

    run_dir = (reports_dir / "latest").resolve()
    records = journal(run_dir)
    load_ts = next(r for r in records if r["kind"] == "load_started")["load_ts"]
    injected = next(r for r in records if r["kind"] == "fault_injected")
    assert injected["effective_ts"] - load_ts < 5.5  # the operator's Enter came before the plan's 6 s
    note = next(r for r in records if r["kind"] == "operator_note")
    assert note["text"] == "fallbacks at 100% on the dashboard" and note["step"] == 1
    done = [r for r in records if r["kind"] == "runbook_step_done"]
    assert [(r["step"], r["by"], r["answer"], r["ok"]) for r in done][0] == (1, "operator", "y", True)
    assert all(r["step"] != 5 for r in records if r["kind"] == "runbook_step_triggered")
    assert note["ts"] < done[0]["ts"]
    # nothing left: every fault reverted, every process gone, no container
    interrupted_and_clean(run_dir)
    report = json.loads((run_dir / "report.json").read_text())
    assert report["status"] == "interrupted"
    assert report["incident"]["notes"][0]["text"] == "fallbacks at 100% on the dashboard"


def test_closing_the_terminal_heals_everything(reports_dir):
    child = spawn_gameday("gameday.yaml", reports_dir)
    inject_early(child)  # the fault is in, the operator is being asked
    pid = child.pid
    with pytest.raises(pexpect.ExceptionPexpect):  # still healing when pexpect gives up waiting
        child.close(force=False)  # the terminal goes away: its pty closed, SIGHUP
    deadline = time.monotonic() + 60
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(pid)
    run_dir = (reports_dir / "latest").resolve()
    records = interrupted_and_clean(run_dir)
    signals = [r["signal"] for r in records if r["kind"] == "signal_received"]
    assert signals[0] == "SIGHUP"


def test_inject_only_holds_until_enter_then_heals(reports_dir):
    child = spawn_gameday("tiny.yaml", reports_dir, "--inject-only", "--hold", "60s", timeout=60)
    try:
        child.expect("holding every fault: press Enter to heal")
        time.sleep(1.0)
        child.sendline("")
        child.expect(pexpect.EOF, timeout=60)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.before
    run_dir = (reports_dir / "latest").resolve()
    records = journal(run_dir)
    load_ts = next(r for r in records if r["kind"] == "load_started")["load_ts"]
    injected = next(r for r in records if r["kind"] == "fault_injected")
    reverted = next(r for r in records if r["kind"] == "fault_reverted")
    assert injected["effective_ts"] - load_ts < 1.0  # at once, not at the plan's 4 s
    assert 1.0 <= reverted["effective_ts"] - injected["effective_ts"] < 30  # held until Enter, far from 60 s
    assert records[-1]["status"] == "completed"
    assert_nothing_left(run_dir)


def test_verify_only_judges_a_running_pipeline_and_starts_none(reports_dir, tmp_path):
    from harness.probes import HttpProbe, free_port

    port = free_port()
    server = subprocess.Popen([sys.executable, str(ROOT / "tests" / "pipelines" / "tiny" / "server.py"),
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        HttpProbe(f"http://127.0.0.1:{port}/health").with_timeout(20).wait()
        ok = subprocess.run([sys.executable, "-m", "harness", "gameday", str(SCENARIOS / "tiny-short.yaml"),
                             "--verify-only", "--url", f"http://127.0.0.1:{port}", "--reports-dir", str(reports_dir)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        run_dir = (reports_dir / "latest").resolve()
        report = json.loads((run_dir / "report.json").read_text())
        assert report["faults"] == [] and report["requests"]["total"] > 0
        assert {s["name"]: s["status"] for s in report["slos"]} == {"steady_state.error_rate": "passed"}
        kinds = [r["kind"] for r in journal(run_dir)]
        assert "service_started" not in kinds and "proxy_server_started" not in kinds
        assert server.poll() is None  # not ours to stop
        off = subprocess.run([sys.executable, "-m", "harness", "gameday", str(SCENARIOS / "tiny-short.yaml"),
                              "--verify-only", "--url", "http://10.20.30.40:80", "--reports-dir", str(tmp_path / "r2")],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert off.returncode == 2 and "off this machine and not in the scenario's allowed_hosts" in off.stderr
        assert not (tmp_path / "r2").exists() or not any((tmp_path / "r2").iterdir())
    finally:
        server.terminate()
        server.wait(10)
