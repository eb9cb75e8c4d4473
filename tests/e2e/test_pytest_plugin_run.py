"""A chaos-marked test runs a real scenario and its SLOs land in pytest's own JUnit XML;
the plugin listens to the run as it goes (each fault's lag, every record to a hook)."""

import json
import textwrap
import xml.etree.ElementTree as ET

import pytest

from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.slow


def test_chaos_marker_runs_scenario_and_records_slos(pytester, tmp_path):
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(textwrap.dedent(f"""
        name: tiny
        pipeline: {ROOT / 'fixtures' / 'pipeline'}
        load: {{users: 2, spawn_rate: 2, duration: 8s, rate_per_user: 5}}
        faults:
          - {{name: nothing, at: 4s, for: 2s, noop: {{}}}}
        expect:
          overall: {{error_rate: "< 5%"}}
    """))
    pytester.makepyfile(textwrap.dedent(f"""
        import pytest

        @pytest.mark.chaos(scenario={str(scenario)!r})
        def test_resilience(chaos_run):
            assert chaos_run.status == "completed"
            assert chaos_run.verdict == "passed"
    """))
    pytester.makeconftest(textwrap.dedent("""
        from harness.timeline.records import FaultInjected, RunFinished

        def pytest_chaos_run_finished(config, result):
            print(f"HOOK {result.status} {result.verdict}")

        def pytest_chaos_record(config, record):
            if isinstance(record, (FaultInjected, RunFinished)):
                print(f"LIVE {record.kind} {getattr(record, 'fault', '')}")
    """))
    junit = tmp_path / "junit.xml"
    result = pytester.runpytest("-s", f"--junitxml={junit}", "-o", "junit_family=xunit1", f"--chaos-reports-dir={tmp_path / 'reports'}")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*LIVE fault_injected nothing*", "*LIVE run_finished*",
                                 "*HOOK completed passed*"])
    properties = {p.get("name"): p.get("value") for p in ET.parse(junit).getroot().iter("property")}
    run_dir = (tmp_path / "reports" / "latest").resolve()
    assert properties["chaos_run_dir"] == str(run_dir)
    report = json.loads((run_dir / "report.json").read_text())
    assert report["scenario"] == "tiny" and report["verdict"] == "passed"
    assert report["requests"]["total"] > 0
    recorded = {k.removeprefix("slo:"): v for k, v in properties.items() if k.startswith("slo:")}
    assert recorded == {s["name"]: f"{s['status']} (observed {s['observed']}, threshold {s['threshold']})"
                        for s in report["slos"]}
    assert recorded["overall.error_rate"].startswith("passed")
    injected = next(json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()
                    if '"fault_injected"' in line)
    assert float(properties["fault:nothing:lag_ms"]) == injected["lag_ms"]
