"""Scenario files as pytest items, without running them: what is collected, how an
invalid file fails, selection by -k and markers, and the refusal under pytest-xdist.

The runs themselves (failing SLOs, JUnit cases, -x, --lf, Ctrl-C) are proved in
tests/e2e/test_pytest_scenarios_run.py.
"""

import subprocess
import sys
import textwrap
from pathlib import Path

# Imported here, once: each pytester run forgets the modules it imported, and PyYAML's C
# parser, imported a second time, builds nodes of the first import's classes.
import harness.loader  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "pipelines" / "tiny"


def tiny_scenario(name: str, *, extra: str = "") -> str:
    """A valid scenario on the tiny pipeline (never run by these tests)."""
    return textwrap.dedent(f"""\
        name: {name}
        pipeline: {TINY}
        load: {{users: 1, spawn_rate: 1, duration: 4s, rate_per_user: 2}}
        steady_state: {{window: 1s, slo: {{error_rate: "< 1%"}}}}
        faults:
          - {{name: slow, at: 1s, for: 1s, latency: {{link: ingress, latency_ms: 20}}}}
        expect:
          overall: {{error_rate: "< 5%"}}
        """) + extra


def write(pytester, relative: str, text: str) -> Path:
    path = pytester.path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_yaml_files_under_the_configured_folder_are_the_only_scenarios(pytester):
    pytester.makeini("[pytest]\nchaos_scenarios = chaos\n")
    write(pytester, "chaos/latency.yaml", tiny_scenario("latency"))
    write(pytester, "chaos/more/kill.yml", tiny_scenario("kill"))
    write(pytester, "chaos/notes.txt", "not a scenario")
    write(pytester, "data/elsewhere.yaml", tiny_scenario("elsewhere"))
    result = pytester.runpytest("--collect-only", "-q")
    assert result.ret == 0
    assert [line for line in result.outlines if "::" in line] == [
        "chaos/latency.yaml::latency", "chaos/more/kill.yml::kill"]
    header = pytester.runpytest("--collect-only")
    header.stdout.fnmatch_lines(["chaos scenarios: chaos"])


def test_the_option_and_the_command_line_name_scenarios_too(pytester):
    write(pytester, "data/elsewhere.yaml", tiny_scenario("elsewhere"))
    write(pytester, "one/named.yaml", tiny_scenario("named"))
    assert pytester.runpytest("--collect-only", "-q", "data").ret == 5  # not a scenario folder
    by_option = pytester.runpytest("--collect-only", "-q", "--chaos-scenarios", "data", "data")
    by_option.stdout.fnmatch_lines(["data/elsewhere.yaml::elsewhere", "1 test collected*"])
    by_name = pytester.runpytest("--collect-only", "-q", "one/named.yaml")
    by_name.stdout.fnmatch_lines(["one/named.yaml::named", "1 test collected*"])


def test_an_invalid_scenario_fails_collection_with_the_loaders_file_and_line(pytester):
    pytester.makeini("[pytest]\nchaos_scenarios = chaos\n")
    write(pytester, "chaos/good.yaml", tiny_scenario("good"))
    bad = tiny_scenario("bad").replace("latency_ms: 20", "latency_ms: -5")
    write(pytester, "chaos/bad.yaml", bad)
    line = 1 + bad.splitlines().index(next(x for x in bad.splitlines() if "latency_ms" in x))
    result = pytester.runpytest()
    assert result.ret == 2  # interrupted: nothing ran
    result.stdout.fnmatch_lines([
        "*ERROR collecting chaos/bad.yaml*",
        f"chaos/bad.yaml:{line}: faults[0].latency.latency_ms: must be >= 0 (got -5)",
        "*Interrupted: 1 error during collection*"])
    result.assert_outcomes(errors=1)  # good.yaml did not run either
    assert "Traceback" not in result.stdout.str()


def test_k_and_markers_select_scenario_items(pytester):
    pytester.makeini("[pytest]\nchaos_scenarios = chaos\nchaos_markers = slow\n"
                     "markers = slow: long runs\naddopts = --strict-markers\n")
    write(pytester, "chaos/latency.yaml", tiny_scenario("latency"))
    write(pytester, "chaos/kill.yaml", tiny_scenario("kill"))
    write(pytester, "chaos/in-docker.yaml", tiny_scenario("in-docker", extra="backend: docker\n"))
    write(pytester, "test_plain.py", "def test_plain():\n    pass\n")

    def selected(*args: str) -> list[str]:
        result = pytester.runpytest("--collect-only", "-q", *args)
        return sorted(line for line in result.outlines if "::" in line)

    assert selected("-k", "latency") == ["chaos/latency.yaml::latency"]
    assert selected("-k", "not kill and not docker") == ["chaos/latency.yaml::latency",
                                                         "test_plain.py::test_plain"]
    assert selected("-m", "chaos") == ["chaos/in-docker.yaml::in-docker", "chaos/kill.yaml::kill",
                                       "chaos/latency.yaml::latency"]
    assert selected("-m", "not slow") == ["test_plain.py::test_plain"]
    assert selected("-m", "docker") == ["chaos/in-docker.yaml::in-docker"]
    assert selected("-m", "docker", "--chaos-backend", "docker") == [
        "chaos/in-docker.yaml::in-docker", "chaos/kill.yaml::kill", "chaos/latency.yaml::latency"]


def test_an_unregistered_chaos_marker_is_refused_under_strict_markers(pytester):
    pytester.makeini("[pytest]\nchaos_scenarios = chaos\nchaos_markers = nightly\n"
                     "addopts = --strict-markers\n")
    write(pytester, "chaos/latency.yaml", tiny_scenario("latency"))
    result = pytester.runpytest("--collect-only", "-q")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*'nightly' not found in `markers` configuration option*"])


def _xdist_project(pytester) -> None:
    pytester.makeini("[pytest]\nchaos_scenarios = chaos\n")
    write(pytester, "chaos/latency.yaml", tiny_scenario("latency"))
    pytester.makepyfile(
        test_marked=textwrap.dedent("""
            import pytest

            @pytest.mark.chaos(scenario="chaos/latency.yaml")
            def test_marked():
                pass

            def test_plain():
                pass
        """))


def test_parallel_chaos_items_are_refused_under_xdist(pytester):
    _xdist_project(pytester)
    for path in ("chaos", "test_marked.py"):  # a scenario item; a chaos-marked test
        result = pytester.runpytest("-n", "2", path)
        assert result.ret == 1
        result.stdout.fnmatch_lines([
            f"*ERROR collecting {path}*",
            "1 chaos item(s) here cannot run in parallel under pytest-xdist (2 workers): *"
            "--chaos-isolated if every xdist worker has a machine of its own*"])
        result.assert_outcomes(errors=1)


def test_xdist_runs_chaos_items_when_isolated_or_on_one_worker(pytester):
    _xdist_project(pytester)
    isolated = pytester.runpytest("-n", "2", "--chaos-isolated", "test_marked.py")
    isolated.assert_outcomes(passed=2)
    one_worker = pytester.runpytest("-n", "1", "test_marked.py")
    one_worker.assert_outcomes(passed=2)


def test_this_repository_collects_its_shipped_scenarios_only_when_asked():
    def collect(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                               "-p", "no:cacheprovider", *args],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)

    shipped = sorted(p.name for p in (ROOT / "scenarios").glob("*.yaml"))
    asked = collect("scenarios", "-m", "chaos and slow")
    assert asked.returncode == 0, asked.stdout + asked.stderr
    items = [line for line in asked.stdout.splitlines() if "::" in line]
    assert sorted(line.split("::")[0] for line in items) == [f"scenarios/{n}" for n in shipped]
    default = collect("-m", "chaos", "tests/core")  # the suite's own paths hold no scenario
    assert default.returncode == 5, default.stdout + default.stderr
