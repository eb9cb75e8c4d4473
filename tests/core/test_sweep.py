"""``chaos-harness sweep`` on a fake runner whose truth is known: the bisection, the
edges, the parameter language, the files and bad input. Real runs:
``tests/e2e/test_sweep_run.py``.
"""

import json
from pathlib import Path

import pytest
import yaml

from harness.cli import main
from harness.sweep.page import sweep_summary, write_sweep
from harness.sweep.param import parse_param
from harness.sweep.search import Sweeper
from harness.trials import Outcome

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = ROOT / "tests" / "scenarios" / "sweep" / "deadline.yaml"
PARAM = "faults[0].latency.latency_ms=50..2000"


class Truth:
    """Judges a scenario file by its latency: errors above ``error_at`` ms, p99 above ``p99_at``."""

    def __init__(self, error_at=500, p99_at=300):
        self.error_at, self.p99_at, self.values = error_at, p99_at, []

    def __call__(self, path: Path, *, reports_dir: Path, backend) -> Outcome:
        latency = yaml.safe_load(path.read_text())["faults"][0]["latency"]["latency_ms"]
        self.values.append(latency)
        slos = [{"name": "error_rate", "status": "failed" if latency > self.error_at else "passed",
                 "observed": 1.0 if latency > self.error_at else 0.0, "threshold": "< 10%"},
                {"name": "p99_ms", "status": "failed" if latency > self.p99_at else "passed",
                 "observed": latency + 3.0, "threshold": "< 300"}]
        verdict = "failed" if any(s["status"] == "failed" for s in slos) else "passed"
        return Outcome(verdict=verdict, run_dir=reports_dir / path.stem, seconds=0.0, slos=slos)


def _sweep(tmp_path, runs, truth=None, param=PARAM):
    truth = truth or Truth()
    sweeper = Sweeper(yaml.safe_load(DEADLINE.read_text()), DEADLINE, parse_param(param), tmp_path,
                      runs=runs, log=lambda line: None, runner=truth)
    return sweeper, {e.slo: e for e in sweeper.sweep()}, truth


@pytest.mark.parametrize("runs", [4, 6, 8, 12])
def test_each_breaking_point_is_within_one_step_of_the_truth(tmp_path, runs):
    _, edges, truth = _sweep(tmp_path, runs)
    assert len(truth.values) == runs and truth.values[:2] == [50, 2000]
    for name, true_value in (("error_rate", 500), ("p99_ms", 300)):
        edge = edges[name]
        assert edge.fails == "above" and edge.monotone
        assert edge.low <= true_value < edge.high  # the truth lies inside the edge
        assert abs(edge.breaking_point - true_value) <= edge.step
    widths = [edges["error_rate"].step, edges["p99_ms"].step]
    assert max(widths) <= 1950 / 2 ** ((runs - 2) // 2)  # halves the widest edge each run


def test_bisection_stops_once_every_edge_is_one_step_wide(tmp_path):
    _, edges, truth = _sweep(tmp_path, 100, param="faults[0].latency.latency_ms=490..510")
    assert (edges["error_rate"].low, edges["error_rate"].high) == (500, 501)
    assert len(truth.values) < 10 and len(set(truth.values)) == len(truth.values)


def test_a_slo_that_never_breaks_or_always_breaks_has_no_edge(tmp_path):
    _, edges, truth = _sweep(tmp_path, 8, truth=Truth(error_at=5000, p99_at=-1))
    assert edges["error_rate"].fails == "nowhere" and edges["p99_ms"].fails == "everywhere"
    assert len(truth.values) == 2  # nothing to bisect


def test_the_files_say_where_each_slo_breaks(tmp_path):
    sweeper, edges, _ = _sweep(tmp_path, 6)
    param = parse_param(PARAM)
    summary = sweep_summary("deadline", DEADLINE, param, sweeper.points, list(edges.values()))
    write_sweep(summary, param, tmp_path)
    on_disk = json.loads((tmp_path / "sweep.json").read_text())
    assert [s["breaking_point"] for s in on_disk["slos"]] == [edges["error_rate"].high, edges["p99_ms"].high]
    assert [p["value"] for p in on_disk["points"]][:2] == [50, 2000]
    html = (tmp_path / "sweep.html").read_text()
    assert html.count("<svg") == 2 and html.count("<circle") == 12 and "breaks at" in html
    variant = yaml.safe_load((tmp_path / "variants" / "002.yaml").read_text())
    assert variant["faults"][0]["latency"]["latency_ms"] == 2000


@pytest.mark.parametrize("text, value, expected", [
    ("faults[0].latency.latency_ms=50..2000", 1025.5, 1026),
    ("faults[0].at=1s..4s", 2.25, "2.25s"),
    ("load.rate_per_user=0.5..2.5", 1.5, 1.5),
])
def test_parameters_keep_their_written_form(text, value, expected):
    param = parse_param(text)
    assert param.value(value) == expected
    assert param.apply({"faults": [{"at": "1s", "latency": {"latency_ms": 1}}], "load": {}},
                       value) is not None


@pytest.mark.parametrize("argv, message", [
    (["--param", "faults[3].latency.latency_ms=50..2000"], "faults has no item [3]"),
    (["--param", "faults[0].latency.jitter_ms=50..2000"], "faults[0].latency has no key 'jitter_ms'"),
    (["--param", "faults[0].latency.latency_ms=-500..-50"], "must be >= 0"),
    (["--param", "faults[0].latency=1..2"], "is not a number or a duration"),
    (["--param", "faults[0].latency.latency_ms=2000..50"], "LOW must be below HIGH"),
    (["--param", "latency_ms"], "expected PATH=LOW..HIGH"),
    (["--param", PARAM, "--runs", "1"], "at least 2"),
])
def test_bad_input_exits_2_and_starts_nothing(tmp_path, capsys, argv, message):
    try:
        code = main(["sweep", str(DEADLINE), "--reports-dir", str(tmp_path / "reports"), *argv])
    except SystemExit as exc:  # argparse
        code = exc.code
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()
