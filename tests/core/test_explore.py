"""``chaos-harness explore`` on a fake runner: hypothesis's real engine over a predicate
whose truth is known (the cold-start weak spot: a kill while ``features`` is slow).

The real runs (real pipeline, Locust, proxy) are in ``tests/e2e/test_explore_run.py``.
"""

import json
from pathlib import Path

import pytest
import yaml

from harness.cli import main
from harness.errors import InvalidScenario
from harness.explore.menu import ExploreMenu, Span
from harness.explore.search import Budget, Explorer
from harness.explore.source import load_explore
from harness.explore.summary import write_summary
from harness.trials import Outcome

ROOT = Path(__file__).resolve().parents[2]
WEAK_SPOT = ROOT / "tests" / "scenarios" / "explore" / "weak-spot.yaml"


def _seconds(text: str) -> float:
    return float(text.rstrip("s"))


def breaks(faults: list[dict]) -> bool:
    """The weak spot: a kill at K while a latency >= 300 ms on features covers K + 0.3 s."""
    kills = [_seconds(f["at"]) for f in faults if "kill" in f]
    slow = [(_seconds(f["at"]), _seconds(f["at"]) + _seconds(f["for"])) for f in faults
            if "latency" in f and f["latency"]["link"] == "features" and f["latency"]["latency_ms"] >= 300]
    return any(start <= k + 0.3 < end for k in kills for start, end in slow)


class FakeRunner:
    """Judges a scenario file by ``breaks`` instead of running it; counts the calls."""

    def __init__(self):
        self.files: list[Path] = []

    def __call__(self, path: Path, *, reports_dir: Path, backend) -> Outcome:
        self.files.append(path)
        faults = yaml.safe_load(path.read_text())["faults"]
        status = "failed" if breaks(faults) else "passed"
        return Outcome(verdict=status, run_dir=reports_dir / path.stem, seconds=0.0,
                       slos=[{"name": "overall.error_rate", "status": status, "message": status}])


def _explore(tmp_path, budget=Budget(runs=200, seconds=600), seed=5, clock=None, file=WEAK_SPOT):
    runner = FakeRunner()
    source = load_explore(file)
    kwargs = {"clock": clock} if clock else {}
    explorer = Explorer(source, tmp_path, budget=budget, seed=seed, log=lambda line: None,
                        runner=runner, **kwargs)
    return explorer.explore(), runner, source


def _pair(schedule):
    """(latency fault, kill fault) of a two-fault schedule, latency first."""
    latency = next(f for f in schedule if "latency" in f)
    kill = next(f for f in schedule if "kill" in f)
    return latency, kill


@pytest.mark.parametrize("seed", [3, 5, 7, 10])
def test_a_failing_schedule_shrinks_to_a_minimal_pair(tmp_path, seed):
    exploration, runner, _ = _explore(tmp_path, seed=seed)
    assert exploration.minimal is not None, [t.schedule for t in exploration.trials]
    schedule = exploration.minimal.schedule
    assert len(schedule) == 2  # fewer: the menu allows 3
    latency, kill = _pair(schedule)
    # weaker (600 of 100/600/1100 ms), shorter (1s of 1-2s), later (its start is the kill's)
    assert latency["latency"] == {"latency_ms": 600, "link": "features"}
    assert latency["for"] == "1s" and latency["at"] == kill["at"]
    assert kill["at"] == "4s"  # later (other seeds may stop at the pair at 3s: moving it to 4s
    # takes both faults moving at once, and hypothesis shrinks one choice at a time)
    assert any(len(t.schedule) == 3 and t.broke for t in exploration.trials)  # it had 3 faults
    assert len(runner.files) == exploration.runs == len({f.read_text() for f in runner.files})
    assert (tmp_path / "hypothesis").is_dir()  # hypothesis's own example database


def test_the_run_budget_bounds_the_runs_and_keeps_the_smallest_failure(tmp_path):
    exploration, runner, _ = _explore(tmp_path, budget=Budget(runs=6, seconds=600), seed=8)
    assert exploration.runs == len(runner.files) == 6
    assert exploration.stopped_by == "budget: runs" and exploration.not_run > 0
    assert exploration.minimal is not None and exploration.minimal.broke  # found at try 2, partly shrunk


def test_the_time_budget_stops_the_search(tmp_path):
    ticks = iter(range(0, 10_000, 10))  # every look at the clock: 10 s later
    exploration, runner, _ = _explore(tmp_path, budget=Budget(runs=100, seconds=35),
                                      clock=lambda: next(ticks))
    assert 1 <= len(runner.files) <= 4
    assert exploration.stopped_by == "budget: time"


def test_the_summary_and_the_minimal_scenario_are_written(tmp_path):
    exploration, _, source = _explore(tmp_path)
    summary = write_summary(exploration, source, tmp_path, budget=Budget(200, 600), seed=5)
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk == json.loads(json.dumps(summary))
    assert len(on_disk["minimal"]["schedule"]) == 2
    assert [t["verdict"] for t in on_disk["trials"]] == [
        "failed" if t.broke else "passed" for t in exploration.trials]
    from harness.loader import load_scenario
    replay = load_scenario(tmp_path / "minimal.yaml")  # an ordinary scenario, pipeline resolved
    assert sorted(f.kind for f in replay.faults) == ["kill", "latency"] and replay.explore is None
    assert "Minimal failing schedule" in (tmp_path / "summary.md").read_text()


def test_menu_options_run_simplest_first():
    menu = ExploreMenu.model_validate({"step": "1s", "faults": [
        {"kind": "latency", "at": ["3s", "5s"], "for": ["1s", "2s"], "params": {"link": "x"}}]})
    entry = menu.faults[0]
    assert menu.starts(entry) == [5.0, 4.0, 3.0]  # later first
    assert menu.durations(entry) == [1.0, 2.0]  # shorter first
    assert Span(range=(100, 1100), step=500).options() == [100, 600, 1100]  # weaker first
    assert Span(range=(0.5, 1.0)).options() == [0.5, 0.625, 0.75, 0.875, 1.0]


def _write(tmp_path, text: str) -> Path:
    path = tmp_path / "menu.yaml"
    pipeline = ROOT / "tests" / "pipelines" / "coldstart"
    path.write_text(f"name: m\npipeline: {pipeline}\nload: {{duration: 7s}}\n" + text)
    return path


@pytest.mark.parametrize("text, expected", [
    ("explore:\n  faults:\n    - kind: latency\n      at: [3s, 4s]\n      for: [1s, 2s]\n"
     "      params: {link: {choose: [features, nope]}, latency_ms: 100}\n",
     ":6: explore.faults[0]: at 4s with link=nope, latency_ms=100: pipeline 'coldstart' has no link 'nope'"),
    ("explore:\n  faults:\n    - kind: latency\n      at: [3s, 6s]\n      for: [1s, 2s]\n"
     "      params: {link: features, latency_ms: 100}\n",
     ":6: explore.faults[0]: at 6s with link=features, latency_ms=100: fault would end at 8s, after"),
    ("explore:\n  faults:\n    - kind: kill\n      at: [3s, 4s]\n      for: [1s, 2s]\n"
     "      params: {service: model}\n", ":6: explore.faults[0]: a kill fault happens at one instant"),
    ("explore:\n  faults:\n    - kind: latency\n      at: [5s, 4s]\n      for: [1s, 2s]\n"
     "      params: {link: features, latency_ms: {range: [100, 50]}}\n", ":6: explore.faults[0]: "),
    ("explore:\n  faults:\n    - kind: warp\n      at: [3s, 4s]\n", ":6: explore.faults[0].kind: unknown fault kind"),
    ("faults: []\n", ":1: has no explore: section"),
])
def test_a_bad_menu_is_located_and_starts_nothing(tmp_path, capsys, text, expected):
    path = _write(tmp_path, text)
    with pytest.raises(InvalidScenario) as caught:
        load_explore(path)
    assert expected in str(caught.value)
    assert main(["explore", str(path), "--reports-dir", str(tmp_path / "reports")]) == 2
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize("budget", ["0", "-3", "soon", "0s"])
def test_a_bad_budget_exits_2(tmp_path, budget, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["explore", str(WEAK_SPOT), "--budget", budget])
    assert caught.value.code == 2


def test_a_run_that_does_not_complete_stops_the_search_and_is_reported(tmp_path):
    from harness.trials import TrialStopped

    calls = []

    def interrupted(path, *, reports_dir, backend):
        calls.append(path)
        raise TrialStopped("interrupted by SIGINT", interrupted=True)

    explorer = Explorer(load_explore(WEAK_SPOT), tmp_path, budget=Budget(50, 600), seed=5,
                        log=lambda line: None, runner=interrupted)
    with pytest.raises(TrialStopped) as caught:
        explorer.explore()
    assert caught.value.exit_code == 130 and len(calls) == 1
    assert explorer.result.stopped_by == "a run did not complete: interrupted by SIGINT"
