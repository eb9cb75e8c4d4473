"""The pytest plugin, driven as a user would (pytester acceptance tests)."""

import textwrap


def test_options_are_namespaced(pytester):
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*chaos-harness resilience scenarios*", "*--chaos-backend*",
                                 "*--chaos-reports-dir*", "*--chaos-scenarios=PATH*",
                                 "*--chaos-isolated*", "*chaos_scenarios (paths):*",
                                 "*chaos_markers (linelist):*"])


def test_docker_tests_skip_with_a_reason_without_an_engine(pytester, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.delenv("CHAOS_REQUIRE_DOCKER", raising=False)
    pytester.makepyfile(textwrap.dedent("""
        import pytest

        @pytest.mark.docker
        def test_needs_docker():
            raise AssertionError("must not run")

        def test_plain():
            pass
    """))
    result = pytester.runpytest("-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*no Docker engine*nonexistent*CHAOS_REQUIRE_DOCKER=1*"])


def test_docker_tests_run_and_fail_when_docker_is_required(pytester, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.setenv("CHAOS_REQUIRE_DOCKER", "1")
    pytester.makepyfile(textwrap.dedent("""
        import pytest

        @pytest.mark.docker
        def test_needs_docker():
            raise AssertionError("ran")
    """))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)


def test_chaos_run_without_marker_fails_clearly(pytester):
    pytester.makepyfile("def test_x(chaos_run):\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*chaos_run needs @pytest.mark.chaos(scenario=*"])


def test_chaos_pipeline_without_marker_or_ini_fails_clearly(pytester):
    pytester.makepyfile("def test_x(inject):\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*chaos_pipeline needs @pytest.mark.chaos_pipeline('path/to/pipeline')*"])
