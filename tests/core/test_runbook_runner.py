"""The runbook runner on real commands (bash), fired by its triggers: output in the run
directory, a command past its timeout killed with its group, a human step done when
fired, nothing left running after stop(); and the dry run runs no runbook command."""

import time
from pathlib import Path

from harness.cli import main
from harness.journal import Journal, read_journal
from harness.model import RunbookSpec
from harness.runbook import parse_runbook
from harness.runbook_runner import RunbookRunner
from harness.timeline.events import Events
from harness.timeline.records import LoadStarted

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = ROOT / "tests" / "pipelines" / "tiny" / "runbooks" / "touch.md"


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_steps_run_in_order_with_timeout_and_output(tmp_path):
    spec = RunbookSpec.model_validate({"file": "touch.md", "timeout": "1s", "steps": [
        {"step": 1, "at": "0s"}, {"step": 2, "after": 1}, {"step": 3, "after": 2}]})
    events = Events()
    journal = Journal(tmp_path / "journal.jsonl", events=events)
    runner = RunbookRunner(spec, parse_runbook(RUNBOOK), fault=None, journal=journal, run_dir=tmp_path,
                           links={"ingress": "http://127.0.0.1:9"}).listen(events)
    try:
        journal.emit(LoadStarted(load_ts=time.time()))
        assert wait_for(lambda: sum(r["kind"] == "runbook_step_done" for r in read_journal(tmp_path)) == 3)
    finally:
        runner.stop()
    done = {r["step"]: r for r in read_journal(tmp_path) if r["kind"] == "runbook_step_done"}
    assert done[1]["ok"] and done[1]["exit_code"] == 0 and done[1]["output"] == "runbook/step-1.log"
    assert (tmp_path / "runbook" / "step-1.log").read_text() == "hello from http://127.0.0.1:9\n"
    assert (tmp_path / "step-1-ran").exists()
    assert done[2]["timed_out"] and not done[2]["ok"] and 1.0 <= done[2]["duration_s"] < 10
    assert (tmp_path / "runbook" / "step-2.log").read_text() == "started\n"
    assert done[3]["by"] == "none" and done[3]["ok"]
    fired = [r["step"] for r in read_journal(tmp_path) if r["kind"] == "runbook_step_triggered"]
    assert fired == [1, 2, 3]


def test_stop_kills_a_running_command(tmp_path):
    spec = RunbookSpec.model_validate({"file": "touch.md", "timeout": "60s", "steps": [{"step": 2, "at": "0s"}]})
    events = Events()
    journal = Journal(tmp_path / "journal.jsonl", events=events)
    runner = RunbookRunner(spec, parse_runbook(RUNBOOK), fault=None, journal=journal, run_dir=tmp_path,
                           links={}).listen(events)
    journal.emit(LoadStarted(load_ts=time.time()))
    assert wait_for(lambda: (tmp_path / "runbook" / "step-2.log").exists()
                    and "started" in (tmp_path / "runbook" / "step-2.log").read_text())
    process = runner._process
    started = time.monotonic()
    runner.stop()
    assert process.wait(5) is not None and time.monotonic() - started < 5


def test_dry_run_runs_no_runbook_command(tmp_path, capsys):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(f"name: dry\npipeline: {ROOT / 'tests' / 'pipelines' / 'tiny'}\n"
                        "load: {users: 1, duration: 10s}\nrunbook:\n  file: runbooks/touch.md\n"
                        "  steps: [{step: 1, at: 0s}]\n")
    assert main(["run", str(scenario), "--dry-run"]) == 0
    time.sleep(0.5)
    assert not list(tmp_path.rglob("step-1-ran")) and not list(ROOT.glob("step-1-ran"))
