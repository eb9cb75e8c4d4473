"""SLO checks and the verdicts of a whole run."""

from __future__ import annotations

import pytest

from harness.windows import WindowStats
from harness.model import SLOSet
from harness.slo import (
    Check, MaxErrorRate, MaxFlagRate, MaxLatencyPercentile, MaxRecoveryTime,
    MinThroughput, Status, SteadyState, Verdict, evaluate,
)
from harness.units import Threshold

from .synthetic import Plan, run, traffic


def stats(**fields) -> WindowStats:
    """A 30 s window of 3000 requests, healthy unless ``fields`` say otherwise."""
    base = dict(start_s=0.0, end_s=30.0, requests=3000, sent=3000, errors=0,
                error_rate=0.0, p50_ms=10.0, p95_ms=20.0, p99_ms=30.0,
                service_p50_ms=10.0, service_p95_ms=20.0, service_p99_ms=30.0,
                throughput_rps=100.0)
    return WindowStats(**{**base, **fields})


EMPTY = stats(requests=0, sent=0, error_rate=None, p50_ms=None,
              p95_ms=None, p99_ms=None, service_p50_ms=None, service_p95_ms=None,
              service_p99_ms=None, throughput_rps=0.0)


def t(text: str) -> Threshold:
    return Threshold.parse(text)


def test_error_rate_message_says_observed_vs_threshold():
    v = MaxErrorRate("overall.error_rate", t("< 1%")).evaluate(
        stats(errors=126, error_rate=126 / 3000))
    assert v == Verdict("overall.error_rate", Status.FAILED, 0.042, "< 1%",
                        "error_rate 4.2% (126 of 3000 requests) is not < 1%")
    ok = MaxErrorRate("overall.error_rate", t("< 5%")).evaluate(stats(error_rate=0.042))
    assert ok.status is Status.PASSED and ok.message.endswith("is < 5%")


def test_bounds_are_strict_or_not_as_written():
    assert MaxErrorRate("e", t("< 1%")).evaluate(stats(error_rate=0.01)).status is Status.FAILED
    assert MaxErrorRate("e", t("<= 1%")).evaluate(stats(error_rate=0.01)).status is Status.PASSED


def test_latency_thresholds_convert_units():
    check = MaxLatencyPercentile("overall.p99_ms", t("< 2s"), percentile=99)
    assert check.evaluate(stats(p99_ms=1999.0)).status is Status.PASSED
    v = check.evaluate(stats(p99_ms=2500.0))
    assert v.status is Status.FAILED and v.message == (
        "p99_ms 2500 ms (3000 requests) is not < 2s")
    assert MaxLatencyPercentile("p", t("< 15ms"), percentile=50).evaluate(
        stats()).status is Status.PASSED


def test_fallback_and_throughput():
    v = MaxFlagRate("f", t("< 5%"), flag="fallback").evaluate(stats(flags={"fallback": 300}))
    assert v.status is Status.FAILED and v.observed == 0.1 and "(300 of 3000 requests)" in v.message
    v = MaxFlagRate("f", t("< 5%"), flag="popular_fallback").evaluate(stats(flags={"fallback": 300}))
    assert v.status is Status.PASSED and v.observed == 0.0 and v.message.startswith("popular_fallback_rate 0%")
    assert MinThroughput("r", t("> 20")).evaluate(stats()).status is Status.PASSED
    v = MinThroughput("r", t("> 20")).evaluate(EMPTY)
    assert v.status is Status.FAILED and v.observed == 0.0


def test_an_empty_window_is_unknown_not_passed():
    for check in (MaxErrorRate("e", t("< 1%")), MaxFlagRate("f", t("< 1%"), flag="fallback"),
                  MaxLatencyPercentile("p", t("< 1s"))):
        v = check.evaluate(EMPTY)
        assert v.status is Status.UNKNOWN and "no requests" in v.message


def test_a_crashing_check_is_unknown_with_the_error():
    class Broken(Check):
        def judge(self, subject):
            raise ZeroDivisionError("boom")

    v = Broken("steady_state.weird", t("< 1")).evaluate(stats())
    assert v.status is Status.UNKNOWN and v.observed is None
    assert "ZeroDivisionError: boom" in v.message
    bad_subject = MaxErrorRate("e", t("< 1%")).evaluate(None)
    assert bad_subject.status is Status.UNKNOWN and "check crashed" in bad_subject.message
    assert MaxRecoveryTime("r", t("< 1s")).evaluate(object()).status is Status.UNKNOWN


def test_steady_state_combines_its_slos_and_needs_traffic():
    steady = SteadyState(SLOSet(error_rate="< 1%", p99_ms="< 100ms"))
    assert steady.holds(stats())
    assert not steady.holds(stats(p99_ms=150.0))
    assert not steady.holds(EMPTY)
    v = steady.evaluate(stats(error_rate=0.5, errors=1500))
    assert v.status is Status.FAILED and v.threshold == "error_rate < 1%, p99_ms < 100ms"
    assert "error_rate 50%" in v.message


def test_status_is_a_string_enum_for_json_and_cli():
    assert Status.PASSED == "passed" and f"{Status.FAILED}" == "failed"
    assert repr(MaxErrorRate("overall.error_rate", t("< 1%"))) == (
        "<MaxErrorRate overall.error_rate < 1%>")


def test_verdict_names_of_a_run_with_faults():
    expect = {"overall": {"error_rate": "< 50%", "p99_ms": "< 1s"},
              "during": {"slow": {"error_rate": "< 10%", "throughput_rps": ">= 5"}},
              "recovery_time": "< 5s"}
    r = run(faults=(Plan("slow", 10, 5), Plan("kill", 20, instant=True)), expect=expect,
            steady={"error_rate": "< 1%", "p95_ms": "< 100ms"},
            requests=traffic(30, error=lambda t: 10 <= t < 12))
    verdicts = {v.name: v for v in evaluate(r)}
    assert list(verdicts) == [
        "steady_state.error_rate", "steady_state.p95_ms", "overall.error_rate",
        "overall.p99_ms", "during[slow].error_rate", "during[slow].throughput_rps",
        "recovery_time[slow]", "recovery_time[kill]"]
    steady = verdicts["steady_state.error_rate"]
    assert steady.status is Status.PASSED and "(0 of 80 requests)" in steady.message  # [2 s, 10 s) at 10 req/s
    during = verdicts["during[slow].error_rate"]
    assert during.status is Status.FAILED and during.observed == pytest.approx(0.4)
    assert verdicts["during[slow].throughput_rps"].observed == 10.0
    assert verdicts["overall.error_rate"].observed == pytest.approx(20 / 300)


def test_steady_state_without_faults_is_judged_over_the_whole_load():
    r = run(requests=traffic(30, error=lambda t: t < 1))  # errors only in the warm-up
    (v,) = evaluate(r)
    assert v.name == "steady_state.error_rate" and v.status is Status.FAILED
    assert "(10 of 300 requests)" in v.message


def test_during_an_instant_fault_is_unknown():
    r = run(faults=(Plan("kill", 12, instant=True),),
            expect={"during": {"kill": {"error_rate": "< 1%"}, "ghost": {"p50_ms": "< 1s"}}})
    verdicts = {v.name: v for v in evaluate(r)}
    assert verdicts["during[kill].error_rate"].status is Status.UNKNOWN
    assert verdicts["during[ghost].p50_ms"].status is Status.UNKNOWN
    assert "ghost was never injected" in verdicts["during[ghost].p50_ms"].message


def test_evaluate_accepts_a_run_directory(tmp_path):
    from .synthetic import journal, write_run
    run_dir = write_run(tmp_path, journal=journal(), requests=traffic(30))
    assert [v.status for v in evaluate(run_dir)] == [Status.PASSED]
    assert [v.status for v in evaluate(str(run_dir))] == [Status.PASSED]
