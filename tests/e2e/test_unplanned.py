"""Deaths nobody planned: a service killed from outside the plan is journaled and shown
in every report; the fault proxy dying ends the run at once with exit 3, healing the rest.
"""

import json
import os
import signal
import subprocess
import sys

import pytest

from tests.e2e.conftest import ROOT, assert_processes_gone, await_record, journal, launch
from harness.probes import HttpProbe, free_port

pytestmark = pytest.mark.slow


def _first(run_dir, kind):
    return next(r for r in journal(run_dir) if r["kind"] == kind)


def test_an_unplanned_kill_of_a_service_is_in_the_report(reports_dir):
    process = launch("tiny.yaml", reports_dir)
    run_dir = await_record(process, reports_dir, lambda r: r["kind"] == "fault_injected")
    victim = _first(run_dir, "service_started")["pid"]
    os.killpg(victim, signal.SIGKILL)  # not the plan: nothing in tiny.yaml kills anything
    out, err = process.communicate(timeout=90)
    assert process.returncode in (0, 1), out + err
    died = _first(run_dir, "service_died")
    assert (died["service"], died["pid"], died["cause"]) == ("echo", victim, "unplanned")
    assert "service_restarted" in [r["kind"] for r in journal(run_dir)]
    report = json.loads((run_dir / "report.json").read_text())
    (event,) = report["unplanned"]
    assert event["what"] == "echo died: killed by SIGKILL, not by the plan"
    injected = _first(run_dir, "fault_injected")["ts"] - _first(run_dir, "load_started")["ts"]
    assert event["phase"] == "inject" and injected <= event["t_s"] < injected + 3
    assert "unplanned at t=" in out and "echo died: killed by SIGKILL, not by the plan" in out
    html = (run_dir / "report.html").read_text()
    assert "Unplanned deaths" in html and "echo died (unplanned)" in html
    assert_processes_gone(run_dir)


def test_a_planned_kill_is_not_reported_as_unplanned(reports_dir):
    from tests.e2e.conftest import chaos_run

    result, run_dir, report = chaos_run("kill.yaml", reports_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    exited = _first(run_dir, "service_exited")
    assert exited["planned"] is True and exited["service"] == "model-server"
    assert "service_died" not in [r["kind"] for r in journal(run_dir)]
    assert report["unplanned"] == []


def _ends_at_once(process, run_dir):
    """The run ends with exit 3 naming the proxy; teardown began within 2 s of its death."""
    out, err = process.communicate(timeout=60)
    assert process.returncode == 3, out + err
    assert "the fault proxy server died mid-run" in err
    records = journal(run_dir)
    died = _first(run_dir, "proxy_server_died")
    teardown = next(r for r in records if r["kind"] == "phase_started" and r["phase"] == "teardown")
    assert teardown["ts"] - died["ts"] < 2.0
    load_end = _first(run_dir, "load_started")["ts"] + 12
    assert teardown["ts"] < load_end - 2  # long before the load would have ended
    (paused,) = [r for r in records if r["kind"] == "fault_reverted"]
    assert paused["fault"] == "frozen-echo" and paused["ok"]  # the rest was healed
    report = json.loads((run_dir / "report.json").read_text())
    assert report["status"] == "error" and "fault proxy server died" in report["error"]
    assert [e["kind"] for e in report["unplanned"]] == ["proxy_server_died"]
    return died


def test_killing_the_embedded_proxy_ends_the_run_at_once(reports_dir):
    process = launch("tiny-pause.yaml", reports_dir)
    run_dir = await_record(process, reports_dir, lambda r: r["kind"] == "fault_injected")
    proxy = _first(run_dir, "proxy_server_started")["pid"]
    os.killpg(proxy, signal.SIGKILL)
    died = _ends_at_once(process, run_dir)
    assert died["pid"] == proxy and "killed by SIGKILL" in died["reason"]
    assert_processes_gone(run_dir)


def test_an_external_proxy_that_stops_answering_ends_the_run_at_once(reports_dir, tmp_path):
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "harness.proxy", "--host", "127.0.0.1",
                               "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        HttpProbe(f"{url}/version").with_timeout(15).wait()
        process = launch("tiny-pause.yaml", reports_dir, env={"TOXIPROXY_URL": url})
        run_dir = await_record(process, reports_dir, lambda r: r["kind"] == "fault_injected")
        server.kill()
        died = _ends_at_once(process, run_dir)
        assert died["url"] == url and "stopped answering" in died["reason"]
        assert_processes_gone(run_dir)
    finally:
        server.kill()
        server.wait(10)
