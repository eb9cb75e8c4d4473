"""SIGINT and SIGTERM at every phase of a run, including teardown and the writing of the
reports: the run exits 130, its reports are written and say ``interrupted``, and
nothing it started is left.

Each test learns from the journal which phase the run is in before it signals; the tiny
pipeline (``tests/pipelines/tiny``) holds the run in that phase for seconds, so the
signal cannot miss it, and the test checks the phase the harness journaled it in.
"""

import json
import signal
import time

import pytest

from tests.e2e.conftest import assert_processes_gone, await_record, journal, launch

pytestmark = pytest.mark.slow


def _phase(name):
    return lambda r: r["phase"] == name


PHASES = {  # phase: (scenario, environment of the pipeline, the record that shows the phase)
    "setup": ("tiny.yaml", {"TINY_STARTUP_DELAY": "30"}, lambda r: r["kind"] == "service_started"),
    "baseline": ("tiny.yaml", {"TINY_READY_AFTER": "30"}, _phase("baseline")),
    "inject": ("tiny.yaml", {}, lambda r: r["kind"] == "fault_injected"),
    "recover": ("tiny.yaml", {}, _phase("recover")),
    "teardown": ("tiny-short.yaml", {"TINY_IGNORE_SIGTERM": "1"}, _phase("teardown")),
}


def _assert_interrupted(process, run_dir, sig, phase):
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out + err
    received = [r for r in journal(run_dir) if r["kind"] == "signal_received"]
    assert [(r["signal"], r["phase"]) for r in received] == [(sig.name, phase)]
    assert f"interrupted by {sig.name}" in err
    report = json.loads((run_dir / "report.json").read_text())
    assert report["status"] == "interrupted"
    assert (run_dir / "junit.xml").exists() and (run_dir / "report.html").exists()
    assert_processes_gone(run_dir)
    return report, out


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("phase", list(PHASES))
def test_a_signal_at_any_phase_exits_130_with_reports(phase, sig, reports_dir):
    scenario, env, shows_phase = PHASES[phase]
    process = launch(scenario, reports_dir, env=env)
    run_dir = await_record(process, reports_dir, shows_phase)
    process.send_signal(sig)
    report, _ = _assert_interrupted(process, run_dir, sig, phase)
    if phase == "teardown":  # it ran to its end, and still is no pass
        assert report["verdict"] == "passed" and report["requests"]["total"] > 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_while_the_reports_are_written_exits_130_and_they_say_so(sig, reports_dir):
    process = launch("tiny-short.yaml", reports_dir, module="tests.e2e.hold_reports",
                     env={"HOLD_REPORTS_DIR": str(reports_dir)})
    run_dir = await_record(process, reports_dir, lambda r: r["kind"] == "run_finished")
    deadline = time.monotonic() + 60
    while not (run_dir / "holding").exists():  # the reporter holds the reports from here on
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(sig)
    _assert_interrupted(process, run_dir, sig, "analyze")
    assert (run_dir / "held.txt").read_text() == "interrupted\n"
