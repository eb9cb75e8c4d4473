"""The fixtures for hand-written tests on a real pipeline (the tiny one): a running
pipeline, its fault proxy's API, and faults as context managers that always heal."""

import json

import pytest

from tests.e2e.conftest import ROOT, alive

pytestmark = pytest.mark.slow

TESTS = f"""
import pytest

pytestmark = pytest.mark.chaos_pipeline({str(ROOT / 'tests' / 'pipelines' / 'tiny')!r})


def toxics(client):
    return {{name: proxy["toxics"] for name, proxy in client.proxies().items()}}


def test_latency_inside_only(chaos_pipeline, chaos_toxiproxy, inject):
    assert chaos_pipeline.post("ingress", "/predict", json={{"x": 1}}).json()["score"] == 0.5
    with inject.latency("ingress", ms=400) as slow:
        assert [t["type"] for t in toxics(chaos_toxiproxy)["ingress"]] == ["latency"]
        chaos_pipeline.post("ingress", "/predict", json={{"x": 1}})
        chaos_pipeline.get("ingress", "/health")
    assert toxics(chaos_toxiproxy) == {{"ingress": []}}
    chaos_pipeline.get("ingress", "/health")
    assert [c.path for c in slow.calls] == ["/predict", "/health"]
    assert all(c.ok and c.elapsed_ms >= 400 for c in slow.calls)  # noise only adds time
    assert len(chaos_pipeline.calls) == 4
    print("PIPELINE", chaos_pipeline.run_dir)


def test_heals_when_the_body_raises(chaos_pipeline, chaos_toxiproxy, inject):
    with pytest.raises(RuntimeError):
        with inject.timeout("ingress", ms=0):
            raise RuntimeError("the test's own failure")
    with pytest.raises(ZeroDivisionError):
        with inject.down("ingress") as down:
            assert chaos_pipeline.get("ingress", "/health", timeout=2) is None
            1 / 0
    assert not down.calls[0].ok and down.calls[0].status == 0
    assert toxics(chaos_toxiproxy) == {{"ingress": []}}
    assert chaos_toxiproxy.proxies()["ingress"]["enabled"] is True
    assert chaos_pipeline.get("ingress", "/health").status_code == 200


def test_kill_and_back(chaos_pipeline, inject):
    pid = chaos_pipeline.backend.services["echo"].pid
    with inject.kill("echo") as killed:
        chaos_pipeline.get("ingress", "/health", timeout=2)
    assert not killed.calls[0].ok
    for _ in range(100):  # bounded: 10 s for a 0.2 s restart delay
        if chaos_pipeline.get("ingress", "/health", timeout=1) is not None:
            break
        __import__("time").sleep(0.1)
    assert chaos_pipeline.backend.services["echo"].pid != pid
    assert chaos_pipeline.calls[-1].ok


def test_a_failing_test_still_heals(chaos_pipeline, inject):
    inject.latency("ingress", ms=100).__enter__()  # never left: the fixture heals it
    assert False, "the test fails with the fault still active"


def test_unknown_kind(inject):
    with pytest.raises(AttributeError, match="no fault kind 'slowness'"):
        inject.slowness("ingress")
"""


def test_fixtures_on_a_real_pipeline(pytester, tmp_path):
    pytester.makepyfile(test_hand_written=TESTS)
    reports = tmp_path / "reports"
    result = pytester.runpytest_subprocess("-v", "-s", "-p", "no:cacheprovider",
                                           f"--chaos-reports-dir={reports}", timeout=180)
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(["*test_a_failing_test_still_heals FAILED*"])
    run_dirs = sorted(p for p in reports.iterdir() if p.is_dir())
    assert len(run_dirs) == 5  # one pipeline per test
    for run_dir in run_dirs:
        records = [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()]
        kinds = [r["kind"] for r in records]
        assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
        assert "pipeline_down" in kinds
        pids = [r["pid"] for r in records if r["kind"] in ("service_started", "proxy_server_started")]
        assert pids and not [p for p in pids if alive(p)]
        injected = [r["fault"] for r in records if r["kind"] == "fault_injected"]
        reverted = [r["fault"] for r in records if r["kind"] == "fault_reverted" and r["ok"]]
        assert sorted(injected) == sorted(reverted)
    failing = next(d for d in run_dirs if "still_heals" in d.name)
    assert "fault_reverted" in (failing / "journal.jsonl").read_text()
