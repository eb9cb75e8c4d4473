"""A full disk mid-run: the run ends with exit 3 and verdict ``unknown``, never a pass,
heals everything, and once there is room ``report`` rebuilds reports that say why.

The reports go to a small tmpfs mounted for the test (root only); once the journal
shows a fault injected, the test fills the filesystem to the last byte. The request
log, the journal and the report files are then all cut short: whichever of them
fails first, the harness must say so.
"""

import errno
import json
import subprocess
import sys

import pytest

from tests.e2e.conftest import ROOT, assert_processes_gone, await_record, launch

pytestmark = pytest.mark.slow


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _fill(path):
    """Write zeros to ``path`` until the filesystem is full."""
    block = b"\0" * 4096
    with open(path, "wb", buffering=0) as ballast:
        try:
            while True:
                ballast.write(block)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    with open(path, "ab", buffering=0) as ballast:  # the last partial block, byte by byte
        try:
            while True:
                ballast.write(b"\0")
        except OSError:
            pass


def test_a_full_disk_mid_run_ends_unknown_with_exit_3(small_disk):
    reports = small_disk / "reports"
    process = launch("tiny.yaml", reports)
    run_dir = await_record(process, reports, lambda r: r["kind"] == "fault_injected")
    _fill(small_disk / "ballast")
    out, err = process.communicate(timeout=120)
    assert process.returncode == 3, out + err
    assert "verdict: unknown" in out and "verdict: passed" not in out
    assert "No space left on device" in out + err
    assert_processes_gone(run_dir)

    (small_disk / "ballast").unlink()
    rebuilt = subprocess.run([sys.executable, "-m", "harness", "report", str(run_dir)], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    report = json.loads((run_dir / "report.json").read_text())
    assert report["verdict"] == "unknown" and report["integrity"]
    assert "incomplete record:" in rebuilt.stdout
    check = subprocess.run([sys.executable, "-m", "harness", "check", str(run_dir)], cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 3
