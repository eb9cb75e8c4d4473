"""The CLI's contract: exit codes, and invalid input starts nothing."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_reports_dir_that_is_a_file_exits_2_and_starts_nothing(tmp_path):
    afile = tmp_path / "reports"
    afile.write_text("not a directory")
    for reports_dir in (afile, afile / "sub"):
        result = chaos("run", "scenarios/game-day.yaml", "--reports-dir", str(reports_dir))
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(f"error: --reports-dir {reports_dir}: ")
        assert "Traceback" not in result.stderr and "run " not in result.stdout
    assert sorted(tmp_path.iterdir()) == [afile]


def _read_only(directory: Path) -> list[str]:
    """A command prefix under which ``directory`` is read-only (a private mount if root)."""
    if os.geteuid() != 0:
        directory.chmod(0o555)
        return []
    unshare = shutil.which("unshare")
    probe = subprocess.run([unshare or "unshare", "-m", "true"], capture_output=True) if unshare else None
    if probe is None or probe.returncode != 0:
        pytest.skip("root without a private mount namespace: cannot make a read-only directory")
    return [unshare, "-m", "sh", "-c", 'mount -t tmpfs -o ro,size=64k tmpfs "$0" && exec "$@"',
            str(directory)]


def test_read_only_reports_dir_exits_2_with_a_message(tmp_path):
    reports = tmp_path / "ro"
    reports.mkdir()
    prefix = _read_only(reports)
    for target in (reports, reports / "sub"):
        result = subprocess.run([*prefix, sys.executable, "-m", "harness", "run", "scenarios/game-day.yaml",
                                 "--reports-dir", str(target)], capture_output=True, text=True,
                                cwd=ROOT, timeout=120)
        assert result.returncode == 2, result.stderr
        assert f"error: --reports-dir {target}: cannot write there" in result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["check", "report"])
def test_check_and_report_of_a_missing_or_non_run_directory_exit_2(tmp_path, command):
    (tmp_path / "empty").mkdir()
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "garbage").mkdir()
    (tmp_path / "garbage" / "journal.jsonl").write_bytes(b"\xff\xfe[1]\n\x00\x01{\"kind\"\n[2]\n")
    cases = {"missing": "no such directory", "a-file": "not a directory",
             "empty": "not a run directory (it has no journal.jsonl)",
             "garbage": "not a run directory (journal.jsonl has no run_started record)"}
    for name, why in cases.items():
        result = chaos(command, str(tmp_path / name))
        assert result.returncode == 2, (name, result.stderr)
        assert result.stderr == f"error: {command} {tmp_path / name}: {why}\n"


@pytest.mark.parametrize("args,why", [
    (["run", "scenarios/game-day.yaml", "--seed", "-1"], "argument --seed: must be between 0 and 2**63 - 1"),
    (["run", "scenarios/game-day.yaml", "--seed", "lots"], "argument --seed: must be an integer"),
    (["run", "scenarios/game-day.yaml", "--backend", "vm"], "argument --backend: invalid choice"),
    (["proxy", "serve", "--port", "99999"], "argument --port: invalid port 99999: must be 0-65535"),
    (["cleanup", "--reports-dir", "pyproject.toml"], "--reports-dir pyproject.toml: not a directory"),
    (["validate", "scenarios"], "scenarios: not a regular file"),
    (["check", "reports", "--resolution", "5ms"], "argument --resolution: must be between 10ms and 1s"),
    (["report", "reports", "--resolution", "soon"], "argument --resolution: could not parse duration"),
    (["nonsense"], "invalid choice"),
])
def test_wrong_arguments_exit_2_with_a_message(args, why):
    result = chaos(*args)
    assert result.returncode == 2, result.stderr
    assert why in result.stderr and "Traceback" not in result.stderr


def test_a_run_without_error_or_report_never_says_none(monkeypatch, capsys, tmp_path):
    import harness.runner
    from harness.cli import main
    from harness.runner import RunResult

    monkeypatch.setattr(harness.runner, "run_scenario",
                        lambda *a, **kw: RunResult(tmp_path, "completed", None, None))
    assert main(["run", str(ROOT / "scenarios" / "game-day.yaml"), "--reports-dir", str(tmp_path)]) == 3
    err = capsys.readouterr().err
    assert "None" not in err and "the harness failed: its reports could not be built" in err


def test_a_bug_exits_3_never_1(monkeypatch, capsys):
    import harness.loader
    from harness.cli import main

    def broken(*args, **kwargs):
        raise TypeError("a bug")

    monkeypatch.setattr(harness.loader, "load_scenario", broken)
    assert main(["validate", "scenarios/game-day.yaml"]) == 3
    assert "internal error of chaos-harness (TypeError: a bug)" in capsys.readouterr().err
