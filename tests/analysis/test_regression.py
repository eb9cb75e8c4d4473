"""The regression checks and ``compare`` over report.json documents whose truth is known."""

import json

import pytest

from harness.cli import EXIT_INVALID, EXIT_OK, EXIT_REGRESSED, main
from harness.regression import Figure, figures, parse_bound, regression


def _report(*, recovery=0.5, error_rate=0.0, p99=20.0, fault_error=0.1, name="demo", run_id="r"):
    window = {"error_rate": error_rate, "fallback_rate": 0.0, "p50_ms": 5.0, "p95_ms": 10.0,
              "p99_ms": p99, "throughput_rps": 50.0}
    return {"format": 2, "run_id": run_id, "scenario": name, "verdict": "passed",
            "slos": [{"name": "overall.error_rate", "status": "passed", "observed": error_rate}],
            "requests": {"total": 100, **window},
            "windows": [{"name": "baseline", **window},
                        {"name": "slow", **window, "error_rate": fault_error},
                        {"name": "kill", **{k: None for k in window}}],
            "faults": [{"name": "slow", "recovery_time_s": recovery},
                       {"name": "kill", "recovery_time_s": 1.0}]}


def _checks(old, new, bound=0.2):
    out = regression(figures(old), figures(new), bound=bound)
    return out.verdict, {f"{c.figure.name}.{c.figure.metric}": c.status for c in out.checks}


def test_the_same_run_does_not_regress():
    verdict, checks = _checks(_report(), _report())
    assert verdict == "passed" and set(checks.values()) == {"passed"}
    # the baseline window is shown by compare but not checked; an instant fault's window has no figures
    assert "baseline.p99_ms" not in checks and "kill.p99_ms" not in checks
    assert set(checks) == {"overall.error_rate", "overall.p99_ms", "slow.error_rate", "slow.p99_ms",
                           "slow.recovery_time_s", "kill.recovery_time_s"}


@pytest.mark.parametrize("change, regressed", [
    ({"recovery": 2.0}, {"slow.recovery_time_s"}),                 # 0.5 -> 2.0 s: +150 % of the 1 s floor
    ({"recovery": 0.7}, set()),                                    # +0.2 s: +20 % of the 1 s floor, not more
    ({"recovery": None}, {"slow.recovery_time_s"}),                # recovered before, not now
    ({"p99": 30.0}, {"overall.p99_ms", "slow.p99_ms"}),            # +50 %
    ({"p99": 23.0}, set()),                                        # +15 %
    ({"error_rate": 0.005}, {"overall.error_rate"}),               # 0 -> 0.5 %: +50 % of the 1 pp floor
    ({"error_rate": 0.002}, set()),                                # 0 -> 0.2 %: +20 %, not more
])
def test_worse_by_more_than_the_bound_regresses(change, regressed):
    verdict, checks = _checks(_report(), _report(**change))
    assert {k for k, v in checks.items() if v == "regressed"} == regressed
    assert verdict == ("regressed" if regressed else "passed")


def test_a_fault_only_one_run_has_is_unknown_and_regresses_nothing():
    old = _report()
    new = _report()
    new["faults"] = new["faults"][:1]
    verdict, checks = _checks(old, new)
    assert checks["kill.recovery_time_s"] == "unknown" and verdict == "passed"


def test_figure_keys_and_floors():
    assert Figure.parse("window:my.fault.p99_ms") == Figure("window", "my.fault", "p99_ms")
    assert Figure("slo", "recovery_time[kill]", "observed").measure == "recovery_time_s"
    assert Figure("slo", "during.slow.error_rate", "observed").measure == "error_rate"
    assert parse_bound("20%") == pytest.approx(0.2) and parse_bound("0.5") == 0.5
    for bad in ("-5%", "x", "inf"):
        with pytest.raises(ValueError):
            parse_bound(bad)


def _run_dir(tmp_path, name, report):
    path = tmp_path / name
    path.mkdir()
    (path / "report.json").write_text(json.dumps(report))
    return path


def test_compare_prints_and_writes_the_deltas(tmp_path, capsys):
    a = _run_dir(tmp_path, "a", _report(run_id="a"))
    b = _run_dir(tmp_path, "b", _report(run_id="b", recovery=3.0))
    assert main(["compare", str(a), str(b)]) == EXIT_OK
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("slow recovery_time_s"))
    assert row.split() == ["slow", "recovery_time_s", "0.5", "3", "2.5", "+250%"]
    html = (b / "compare-a.html").read_text()
    assert "<table" in html and "+250%" in html
    assert main(["compare", str(a), str(b), "--max-regression", "20%"]) == EXIT_REGRESSED
    assert main(["compare", str(a), str(b), "--max-regression", "300%"]) == EXIT_OK


def test_bad_baselines_and_bounds_start_nothing(tmp_path, capsys):
    scenario = "tests/scenarios/e2e/tiny-kill.yaml"
    other = _run_dir(tmp_path, "other", _report(name="another-scenario"))
    cases = [(["--baseline", str(other)], "a run of scenario 'another-scenario'"),
             (["--baseline", str(tmp_path / "none")], "no such run directory"),
             (["--baseline", str(tmp_path)], "has no report.json"),
             (["--max-regression", "20%"], "--max-regression needs --baseline")]
    for extra, message in cases:
        assert main(["run", scenario, "--reports-dir", str(tmp_path / "reports"), *extra]) == EXIT_INVALID
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:  # argparse's own exit code for a bad value: 2
        main(["run", scenario, "--baseline", str(other), "--max-regression", "lots"])
    assert exited.value.code == EXIT_INVALID
    assert "must be a percentage" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()
