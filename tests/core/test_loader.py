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


def test_a_file_over_one_mib_is_refused_without_being_read(tmp_path):
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as handle:  # 50 MB, sparse: refused from its size alone
        handle.truncate(50 * 1024 * 1024)
    with pytest.raises(InvalidScenario, match=r"huge.yaml: file is over the 1 MiB limit \(52,428,800 bytes\)"):
        load_scenario(path)


def test_faults_null_means_no_faults(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nfaults:\n")
    assert load_scenario(path).faults == ()


def test_an_unknown_schema_change_column_is_refused(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nfaults:\n  - name: r\n    at: 1s\n    for: 2s\n"
                    "    schema_change: {column: entity_id, rename_to: x}\n"
                    "  - name: d\n    at: 4s\n    for: 2s\n    schema_change: {column: amount, drop: true}\n")
    with pytest.raises(InvalidScenario) as info:
        load_scenario(path)
    assert [str(p).split(": ", 1)[1] for p in info.value.problems] == [
        "faults[0].schema_change.column: 'entity_id' is the key of table 'features'; "
        "data faults change feature columns only",
        "faults[1].schema_change.column: table 'features' of pipeline 'fraud-scoring' has no "
        "column 'amount'; its columns are: txn_count_24h, avg_amount_30d, account_age_days, "
        "chargeback_rate, distinct_merchants_7d"]
    assert [p.line for p in info.value.problems] == [6, 10]


def _pipeline_dir(tmp_path, store: str) -> Path:
    """A copy of the reference pipeline declaration with another stores block."""
    text = (ROOT / "fixtures" / "pipeline" / "pipeline.yaml").read_text()
    head = text[:text.index("stores:")]
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "pipeline.yaml").write_text(head + store + "\n")
    (tmp_path / "s.yaml").write_text("name: s\npipeline: p\n")
    return tmp_path / "p" / "pipeline.yaml"


@pytest.mark.parametrize("store,where,why", [
    ('stores: {features: {sqlite: x.db, table: "features; DROP TABLE x"}}', "stores.features.table",
     "must match ^[A-Za-z_][A-Za-z0-9_]*$"),
    ("stores: {features: {sqlite: x.db, key: \"id'\"}}", "stores.features.key", "must match"),
    ('stores: {features: {sqlite: x.db, columns: [a, "b c"]}}', "stores.features.columns[1]", "must match"),
    ("stores: {features: {sqlite: x.db, service: redis}}", "",
     "store 'features' names unknown service 'redis'"),
    ("stores: {features: {sqlite: x.db}}\nstores: {f: {sqlite: y.db}}", "", "duplicate key 'stores'"),
    ("stores: {features: {sqlite: x.db, redis: {url: 'redis://127.0.0.1:1/0'}}}", "stores.features",
     "give exactly one of sqlite, postgres or redis"),
    ("stores: {users: {redis: {url: 'redis://127.0.0.1:1/0'}}}", "stores.users",
     "a redis store needs key_pattern holding {key}"),
], ids=["table", "key", "columns", "service", "duplicate", "two-kinds", "redis-pattern"])
def test_a_broken_pipeline_file_is_located_in_that_file(tmp_path, store, where, why):
    pipeline_file = _pipeline_dir(tmp_path, store)
    with pytest.raises(InvalidScenario) as info:
        load_scenario(tmp_path / "s.yaml")
    [problem] = info.value.problems
    assert problem.file == str(pipeline_file)
    assert problem.path == where and why in problem.message
    lines = pipeline_file.read_text().splitlines()
    assert problem.line == (len(lines) if where or "duplicate" in why else 3)  # 3: the first key


def test_anchors_are_no_problem_in_themselves(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nload: &l {users: 5, duration: 10s}\nx-defaults: &d {users: 5}\n")
    with pytest.raises(InvalidScenario) as info:
        load_scenario(path)
    assert [(p.line, p.path) for p in info.value.problems] == [(3, "x-defaults")]  # only the unknown key


def test_aliases_within_the_limit_are_expanded(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nsteady_state: {window: 2s, slo: &slo {error_rate: '< 1%'}}\n"
                    "expect: {overall: *slo}\n")
    scenario = load_scenario(path)
    assert scenario.expect.overall == scenario.steady_state.slo
