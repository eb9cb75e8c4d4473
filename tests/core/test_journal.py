"""The journal: durable lines, a full disk that stops it loudly, torn lines that stay torn alone."""

from pathlib import Path

import pytest

from harness.errors import JournalWriteError
from harness.journal import Journal, read_jsonl, scan_jsonl


def test_a_full_disk_raises_and_stops_the_journal():
    journal = Journal(Path("/dev/full"))  # every write: ENOSPC
    with pytest.raises(JournalWriteError, match=r"No space left on device.*record is incomplete"):
        journal.record("run_started")
    assert "No space left on device" in journal.failure
    with pytest.raises(JournalWriteError):  # and every later record, without trying again
        journal.record("fault_injecting")
    journal.close()


def test_a_torn_last_line_is_ended_before_the_next_record(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.write_text('{"kind": "run_started"}\n{"ts": 17, "kind": "proxy')  # cut by a SIGKILL
    with Journal(path) as journal:
        journal.record("cleaned_up")
    records, torn = scan_jsonl(path)
    assert [r["kind"] for r in records] == ["run_started", "cleaned_up"] and torn == 1


def test_phases_are_journaled_when_they_change(tmp_path):
    with Journal(tmp_path / "journal.jsonl") as journal:
        journal.enter_phase("baseline")
        journal.enter_phase("baseline")
        journal.record("load_started")
        journal.enter_phase("inject")
    records = list(read_jsonl(tmp_path / "journal.jsonl"))
    assert [(r["kind"], r["phase"]) for r in records] == [
        ("phase_started", "baseline"), ("load_started", "baseline"), ("phase_started", "inject")]
