"""The journal: durable typed lines, listeners told after the write, a full disk that
stops it loudly, torn lines that stay torn alone."""

import errno
import logging
import subprocess
from pathlib import Path

import pytest

from harness.clock import FakeClock
from harness.errors import JournalWriteError
from harness.journal import Journal, read_jsonl, read_records, scan_jsonl
from harness.timeline.records import (CleanedUp, FaultInjecting, LoadStarted, PhaseStarted, RunStarted,
                                      SetupStarted)


def test_a_full_disk_raises_and_stops_the_journal():
    journal = Journal(Path("/dev/full"))  # every write: ENOSPC
    with pytest.raises(JournalWriteError, match=r"No space left on device.*record is incomplete"):
        journal.emit(RunStarted(run_id="r", scenario={}))
    assert "No space left on device" in journal.failure
    with pytest.raises(JournalWriteError):  # and every later record, without trying again
        journal.emit(FaultInjecting(fault="f"))
    journal.close()


def test_a_torn_last_line_is_ended_before_the_next_record(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.write_text('{"kind": "run_started"}\n{"ts": 17, "kind": "proxy')  # cut by a SIGKILL
    with Journal(path) as journal:
        journal.emit(CleanedUp())
    records, torn = scan_jsonl(path)
    assert [r["kind"] for r in records] == ["run_started", "cleaned_up"] and torn == 1


def test_phases_are_journaled_when_they_change(tmp_path):
    with Journal(tmp_path / "journal.jsonl") as journal:
        journal.enter_phase("baseline")
        journal.enter_phase("baseline")
        journal.emit(LoadStarted(load_ts=1.0))
        journal.enter_phase("inject")
    records = list(read_jsonl(tmp_path / "journal.jsonl"))
    assert [(r["kind"], r["phase"]) for r in records] == [
        ("phase_started", "baseline"), ("load_started", "baseline"), ("phase_started", "inject")]


def test_emit_stamps_the_record_and_it_reads_back_equal(tmp_path):
    clock = FakeClock(start=500.0)
    with Journal(tmp_path / "journal.jsonl", clock=clock) as journal:
        clock.sleep(1.25)
        journal.enter_phase("inject")
        written = journal.emit(SetupStarted(command=["make", "data"]))
    assert (written.ts, written.t, written.phase) == (501.25, 1.25, "inject")
    assert read_records(tmp_path) == [PhaseStarted(ts=501.25, t=1.25, phase="inject"), written]


def test_listeners_hear_each_record_after_it_is_on_disk(tmp_path):
    path, heard = tmp_path / "journal.jsonl", []
    with Journal(path) as journal:
        journal.events.record.add_listener(
            lambda record, **_: heard.append((record.kind, [r["kind"] for r in read_jsonl(path)])))
        journal.emit(SetupStarted(command=["true"]))
    assert heard == [("setup_started", ["setup_started"])]


def test_a_failing_listener_is_logged_and_the_record_still_written(tmp_path, caplog):
    def broken(**_):
        raise RuntimeError("listener bug")

    with Journal(tmp_path / "journal.jsonl") as journal, caplog.at_level(logging.ERROR, "harness.timeline"):
        journal.events.record.add_listener(broken)
        journal.emit(SetupStarted(command=["true"]))
    assert [r["kind"] for r in read_jsonl(tmp_path / "journal.jsonl")] == ["setup_started"]
    assert "RuntimeError: listener bug" in caplog.text


def test_a_journal_without_a_file_only_tells_its_listeners(tmp_path):
    heard = []
    journal = Journal(None)
    journal.events.record.add_listener(lambda record, **_: heard.append(record.kind))
    journal.emit(SetupStarted(command=["true"]))
    journal.close()
    journal.emit(SetupStarted(command=["after close"]))
    assert heard == ["setup_started"] and list(tmp_path.iterdir()) == []


def test_a_disk_that_fills_up_still_takes_the_records_of_the_healing(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        with Journal(disk / "journal.jsonl") as journal:
            journal.emit(SetupStarted(command=["before the disk fills"]))
            with open(disk / "ballast", "wb", buffering=0) as ballast:
                with pytest.raises(OSError) as full:
                    while True:
                        ballast.write(b"\0" * 4096)
            assert full.value.errno == errno.ENOSPC
            for n in range(100):  # about 10 kB: well inside the reserve
                journal.emit(CleanedUp(actions=[f"healed {n}"]))
        assert len(read_records(disk)) == 101
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)
