"""Scenario files: every shipped one validates; every broken one fails with file:line and key path."""

from pathlib import Path

import pytest
import yaml

from harness.errors import InvalidScenario
from harness.loader import load_scenario
from harness.model import Scenario

ROOT = Path(__file__).resolve().parents[2]
INVALID_DIR = ROOT / "tests" / "scenarios" / "invalid"
INVALID = sorted(p for p in INVALID_DIR.iterdir() if p.suffix != ".expect")
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))


def expected_message(path: Path) -> str:
    """A text file's first line says ``# expect: MESSAGE``; bytes files have NAME.expect."""
    beside = INVALID_DIR / f"{path.name.split('.')[0]}.expect"
    if beside.exists():
        return beside.read_text().strip()
    return path.read_text().splitlines()[0].removeprefix("# expect: ")


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_scenarios_validate(path):
    scenario = load_scenario(path)
    assert scenario.name == path.stem


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_each_broken_file_names_file_line_and_key(path):
    expected = expected_message(path)
    with pytest.raises(InvalidScenario) as info:
        load_scenario(path)
    message = str(info.value)
    assert f"{path}{expected}" in message, message
    assert [p.file for p in info.value.problems] == [str(path)]  # one mistake per file, one problem


def test_all_problems_reported_at_once(tmp_path):
    path = tmp_path / "many.yaml"
    path.write_text("name: many\nload: {users: 0}\nfaults:\n  - name: a\n    at: 1 fortnight\n"
                    "    latency: {link: features, latency_ms: -1}\n")
    with pytest.raises(InvalidScenario) as info:
        load_scenario(path)
    paths = [p.path for p in info.value.problems]
    assert paths == ["load.users", "faults[0].at", "faults[0].latency.latency_ms"]
    assert [p.line for p in info.value.problems] == [2, 5, 6]


def test_missing_file_is_a_scenario_error(tmp_path):
    with pytest.raises(InvalidScenario, match="cannot read file"):
        load_scenario(tmp_path / "absent.yaml")


def test_invalid_scenario_is_also_a_value_error():
    assert issubclass(InvalidScenario, ValueError)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_yaml_model_yaml_round_trip(path, tmp_path):
    scenario = load_scenario(path)
    dumped = scenario.model_dump(mode="json", by_alias=True)
    again = tmp_path / path.name
    again.write_text(yaml.safe_dump({**dumped, "pipeline": str(ROOT / "fixtures" / "pipeline")}))
    reloaded = load_scenario(again)
    assert reloaded.model_copy(update={"pipeline": scenario.pipeline}) == scenario
    assert Scenario.model_validate(dumped) == scenario
