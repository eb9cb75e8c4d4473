"""Scenario files as pytest items, run for real on the tiny pipeline: a missed SLO
fails its item with the observed value and the run directory, every SLO is a testcase
of pytest's own JUnit XML, -x stops and --lf selects by scenario, Ctrl-C ends the
session healed, and --chaos-isolated runs them under xdist with the SLOs still reported.

Each pytest runs in its own process, as a user's would (``runpytest_subprocess``): an
in-process run forgets the modules it imported, and some (numpy, requests) cannot be
imported twice in one process."""

import json
import signal
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, assert_processes_gone, journal

pytestmark = pytest.mark.slow
TINY = ROOT / "tests" / "pipelines" / "tiny"


def tiny_scenario(name: str, *, during: str, latency_ms: int, duration: str = "6s",
                  at: str = "3s", lasting: str = "2s") -> str:
    """The tiny pipeline under ~10 req/s; ``latency_ms`` on its ingress from ``at``."""
    return textwrap.dedent(f"""\
        name: {name}
        pipeline: {TINY}
        seed: 7
        load: {{users: 2, spawn_rate: 2, duration: {duration}, rate_per_user: 5}}
        steady_state: {{window: 1s, slo: {{error_rate: "< 1%"}}}}
        faults:
          - {{name: slow-ingress, at: {at}, for: {lasting}, latency: {{link: ingress, latency_ms: {latency_ms}}}}}
        expect:
          overall: {{error_rate: "< 5%"}}
          during: {{slow-ingress: {{p99_ms: "{during}"}}}}
        """)


def passing(name: str = "tiny-pass") -> str:
    return tiny_scenario(name, during="< 2000", latency_ms=20)


def failing(name: str = "tiny-fail") -> str:
    """Designed to fail: 300 ms on every response, yet p99 < 100 ms demanded during it."""
    return tiny_scenario(name, during="< 100", latency_ms=300)


def suite(pytester, **files: str) -> Path:
    folder = pytester.path / "chaos"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.yaml").write_text(text)
    pytester.makeini("[pytest]\nchaos_scenarios = chaos\n")
    return folder


def cases(junit: Path) -> dict[str, ET.Element]:
    return {case.get("name"): case for case in ET.parse(junit).getroot().iter("testcase")}


def run_dir_of(case: ET.Element) -> Path:
    return Path(next(p.get("value") for p in case.iter("property") if p.get("name") == "chaos_run_dir"))


def report_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "report.json").read_text())


def test_each_slo_is_a_sub_result_and_a_missed_one_fails_with_its_observed_value(pytester):
    suite(pytester, **{"tiny-pass": passing(), "tiny-fail": failing()})
    pytester.makeconftest(textwrap.dedent("""
        def pytest_chaos_run_finished(config, item, result):
            with open("hook.log", "a") as log:
                log.write(f"{item.nodeid} {result.verdict}\\n")
    """))
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest_subprocess(f"--junitxml={junit}", "--chaos-reports-dir=reports")
    result.assert_outcomes(passed=1, failed=1)
    assert sorted((pytester.path / "hook.log").read_text().splitlines()) == [
        "chaos/tiny-fail.yaml::tiny-fail failed", "chaos/tiny-pass.yaml::tiny-pass passed"]

    by_name = cases(junit)
    fail_dir, pass_dir = run_dir_of(by_name["tiny-fail"]), run_dir_of(by_name["tiny-pass"])
    fail_slos, pass_slos = report_of(fail_dir)["slos"], report_of(pass_dir)["slos"]
    missed = next(s for s in fail_slos if s["name"] == "during[slow-ingress].p99_ms")
    assert missed["status"] == "failed" and missed["observed"] >= 300  # no noise makes it faster
    assert [s["status"] for s in fail_slos if s is not missed] == ["passed", "passed"]
    assert {s["status"] for s in pass_slos} == {"passed"} and len(pass_slos) == 3

    # the item's failure: observed vs threshold, and the run directory
    failure = result.outlines[result.outlines.index(f"scenario 'tiny-fail': 1 failed of 3 SLOs; "
                                                    f"run dir: {fail_dir}"):][:5]
    assert failure[1] == (f"  FAILED   during[slow-ingress].p99_ms: observed {missed['observed']}, "
                          f"threshold < 100 ({missed['message']})")
    assert failure[4] == "reproduce: chaos-harness run chaos/tiny-fail.yaml --seed 7 --backend process"
    # pytest's own JUnit XML: the two items, and one testcase per SLO beside them
    expected = {"tiny-fail", "tiny-pass", *(f"tiny-fail[{s['name']}]" for s in fail_slos),
                *(f"tiny-pass[{s['name']}]" for s in pass_slos)}
    assert set(by_name) == expected
    failed = {name for name, case in by_name.items() if case.find("failure") is not None}
    assert failed == {"tiny-fail", "tiny-fail[during[slow-ingress].p99_ms]"}
    message = by_name["tiny-fail[during[slow-ingress].p99_ms]"].find("failure").get("message")
    assert f"observed {missed['observed']}, threshold < 100" in message and str(fail_dir) in message
    assert {c.get("classname") for n, c in by_name.items() if n.startswith("tiny-fail")} == {"chaos.tiny-fail.yaml"}
    # the terminal summary
    result.stdout.fnmatch_lines(["*= chaos SLO verdicts =*",
                                 f"chaos/tiny-fail.yaml::tiny-fail: FAILED (failed); run dir: {fail_dir}",
                                 "SLOs: 5 passed, 1 failed"])


def test_exitfirst_stops_at_the_first_failing_scenario_and_last_failed_selects_it(pytester):
    suite(pytester, **{"a-fail": failing("a-fail"), "b-fail": failing("b-fail"),
                       "c-pass": passing("c-pass")})
    first = pytester.runpytest_subprocess("-x", "--chaos-reports-dir=reports")
    first.assert_outcomes(failed=1)
    first.stdout.fnmatch_lines(["scenario 'a-fail': 1 failed of 3 SLOs; run dir: *",
                                "*stopping after 1 failures*"])
    runs = [p.name for p in (pytester.path / "reports").iterdir() if not p.is_symlink()]
    assert len(runs) == 1 and "-a-fail-" in runs[0]  # b-fail and c-pass never ran
    again = pytester.runpytest_subprocess("--lf", "--collect-only", "-q")
    assert [line for line in again.outlines if "::" in line] == ["chaos/a-fail.yaml::a-fail"]


def test_an_interrupt_ends_the_session_like_ctrl_c_after_healing(pytester):
    suite(pytester, long=tiny_scenario("long", during="< 2000", latency_ms=20, duration="30s",
                                       at="3s", lasting="20s"))
    reports = pytester.path / "reports"
    process = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                                "--chaos-reports-dir=reports"], cwd=pytester.path, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        run_dir = _await_fault(process, reports / "latest")
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 2, out  # pytest's own "interrupted"
    assert "KeyboardInterrupt" in out and "interrupted by SIGINT: healed and torn down" in out
    finished = [r for r in journal(run_dir) if r["kind"] == "run_finished"]
    assert [r["status"] for r in finished] == ["interrupted"]
    assert_processes_gone(run_dir)


def _await_fault(process: subprocess.Popen, latest: Path, timeout: float = 90) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (latest / "journal.jsonl").exists():
            if any(r["kind"] == "fault_injected" for r in journal(latest.resolve())):
                return latest.resolve()
        if process.poll() is not None:
            pytest.fail(f"pytest ended (exit {process.returncode}) before the fault:\n{process.stdout.read()}")
        time.sleep(0.1)
    pytest.fail(f"no fault injected within {timeout:g} s")


def test_isolated_items_run_under_xdist_and_report_their_slos_to_the_controller(pytester):
    suite(pytester, **{"tiny-pass": passing(), "tiny-fail": failing()})
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest_subprocess("-n", "2", "--chaos-isolated", f"--junitxml={junit}",
                                "--chaos-reports-dir=reports")
    result.assert_outcomes(passed=1, failed=1)
    by_name = cases(junit)
    for name in ("tiny-pass", "tiny-fail"):
        run_dir = run_dir_of(by_name[name])
        assert run_dir.parent.parent == pytester.path / "reports"  # reports/<worker>/<run>
        assert run_dir.parent.name.startswith("gw")
        assert {f"{name}[{s['name']}]" for s in report_of(run_dir)["slos"]} <= set(by_name)
    result.stdout.fnmatch_lines(["*= chaos SLO verdicts =*", "SLOs: 5 passed, 1 failed"])
