"""Helpers for end-to-end runs: real pipeline processes, real proxy, real Locust."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.journal import read_journal

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "tests" / "scenarios" / "e2e"
_PID_KINDS = ("service_started", "proxy_server_started", "load_launched")


def chaos_run(scenario: str, reports_dir: Path, *extra: str, timeout: float = 240):
    """Run ``chaos-harness run`` as a user would; return (exit code, run dir, report)."""
    result = subprocess.run([sys.executable, "-m", "harness", "run", str(SCENARIOS / scenario),
                             "--reports-dir", str(reports_dir), *extra],
                            capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    run_dir = (reports_dir / "latest").resolve()
    report_path = run_dir / "report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    return result, run_dir, report


def start_run(scenario: str, reports_dir: Path, *extra: str, faults: int = 1, timeout: float = 120,
              capture: bool = False) -> tuple[subprocess.Popen, Path]:
    """Start ``chaos-harness run`` in the background; return once ``faults`` are injected.

    Returns the process and its run directory; fails the test (killing the run) if the
    faults are not all injected within ``timeout`` seconds.
    """
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    process = subprocess.Popen([sys.executable, "-m", "harness", "run", str(SCENARIOS / scenario),
                                "--reports-dir", str(reports_dir), *extra], cwd=ROOT,
                               stdout=out, stderr=subprocess.STDOUT if capture else subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + timeout
    latest = reports_dir / "latest"
    while time.monotonic() < deadline:
        if (latest / "journal.jsonl").exists():
            run_dir = latest.resolve()
            if sum(r["kind"] == "fault_injected" for r in journal(run_dir)) >= faults:
                return process, run_dir
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"{scenario}: {faults} fault(s) not injected within {timeout:g} s")


def journal(run_dir: Path) -> list[dict]:
    """The run's journal records (a line torn by a full disk is left out)."""
    return read_journal(run_dir)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return False


def assert_nothing_left(run_dir: Path) -> None:
    """Every process the run started is gone, and every injected fault was reverted."""
    records = journal(run_dir)
    pids = [r["pid"] for r in records if r["kind"] in _PID_KINDS]
    assert pids, "the run journaled no processes"
    assert [p for p in pids if alive(p)] == []
    injected = {r["fault"] for r in records if r["kind"] == "fault_injected"}
    reverted = {r["fault"] for r in records if r["kind"] == "fault_reverted" and r["ok"]}
    assert injected <= reverted
    assert (run_dir / "requests.jsonl").stat().st_size > 0


def slo(report: dict, name: str) -> dict:
    return next(s for s in report["slos"] if s["name"] == name)


def per_second(report: dict) -> dict[int, dict[str, int]]:
    """The report's series (100 ms buckets) summed into whole seconds of load."""
    series, out = report["series"], {}
    for i, start in enumerate(series["start_s"]):
        second = out.setdefault(int(start), {"requests": 0, "errors": 0, "fallbacks": 0})
        for key, column in (("requests", "requests"), ("errors", "errors"), ("fallbacks", "fallback_count")):
            second[key] += series[column][i]
    return out


def window(report: dict, name: str) -> dict:
    windows = report["windows"]
    if isinstance(windows, dict):
        return windows[name]
    return next(w for w in windows if w.get("name") == name)


@pytest.fixture
def reports_dir(tmp_path):
    return tmp_path / "reports"


def launch(scenario: str, reports_dir: Path, *extra: str, env: dict | None = None,
           module: str = "harness") -> subprocess.Popen:
    """Start ``python -m <module> run SCENARIO`` in the background, output captured."""
    return subprocess.Popen([sys.executable, "-m", module, "run", str(SCENARIOS / scenario),
                             "--reports-dir", str(reports_dir), *extra], cwd=ROOT, text=True,
                            env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def await_record(process: subprocess.Popen, reports_dir: Path, matches, timeout: float = 90) -> Path:
    """Wait until the run's journal holds a record for which ``matches(record)`` is true;
    return the run directory. Fails the test (killing the run) on timeout or early exit."""
    deadline = time.monotonic() + timeout
    latest = reports_dir / "latest"
    while time.monotonic() < deadline:
        if (latest / "journal.jsonl").exists() and any(matches(r) for r in journal(latest.resolve())):
            return latest.resolve()
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"the run ended (exit {process.returncode}) before the awaited record:\n{out}\n{err}")
        time.sleep(0.05)
    process.kill()
    pytest.fail(f"no matching journal record within {timeout:g} s")


def journaled_pids(run_dir: Path) -> list[int]:
    """PIDs of every process the run journaled as started."""
    return [r["pid"] for r in journal(run_dir) if r["kind"] in _PID_KINDS]


def assert_processes_gone(run_dir: Path) -> None:
    """Every process the run started is gone, and every injected fault was reverted."""
    records = journal(run_dir)
    assert [p for p in journaled_pids(run_dir) if alive(p)] == []
    injected = {r["fault"] for r in records if r["kind"] == "fault_injected"}
    assert injected <= {r["fault"] for r in records if r["kind"] == "fault_reverted" and r["ok"]}
