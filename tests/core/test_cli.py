"""The CLI's contract: exit codes, and invalid input starts nothing."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def chaos(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def test_validate_ok_and_broken():
    ok = chaos("validate", "scenarios/game-day.yaml")
    assert ok.returncode == 0 and ok.stdout == "scenarios/game-day.yaml: ok (game-day: 2 faults)\n"
    broken = chaos("validate", "scenarios/game-day.yaml", "tests/scenarios/invalid/negative-latency.yaml")
    assert broken.returncode == 2
    assert "negative-latency.yaml:7: faults[0].latency.latency_ms: must be >= 0 (got -5)" in broken.stderr


def test_run_of_a_broken_file_exits_2_and_starts_nothing(tmp_path):
    result = chaos("run", "tests/scenarios/invalid/unknown-link.yaml", "--reports-dir", str(tmp_path))
    assert result.returncode == 2
    assert "unknown-link.yaml:6" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_schema_matches_committed_copy():
    printed = chaos("schema")
    assert printed.returncode == 0
    committed = json.loads((ROOT / "scenarios" / "schema.json").read_text())
    assert json.loads(printed.stdout) == committed
    kinds = {ref["$ref"].split("/")[-1] for ref in committed["properties"]["faults"]["items"]["oneOf"]}
    assert {"latency_fault", "kill_fault", "corrupt_features_fault", "schema_change_fault"} <= kinds
