"""``model_swap`` on the fake backend's files (:class:`harness.files.MemoryFiles`): what
it writes, in which order, what it journals, and that every exit path restores the
file. The real files: ``e2e/test_model_swap.py`` and ``docker/test_model_swap_docker.py``."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from harness.backends.fake import FakeBackend
from harness.errors import DriverError, FaultRevertError
from harness.faults.base import FaultContext
from harness.faults.registry import get_fault
from harness.journal import Journal, read_records
from harness.pipeline import load_pipeline
from harness.timeline.records import ArtifactRestored, ArtifactSwapped, ArtifactSwapping

ROOT = Path(__file__).resolve().parents[2]
SERVED = "{cache}/model/fraud-lr_seed-{seed}_0/model.pkl"
OLDER = "{cache}/model/fraud-lr_seed-{seed}_0/versions/older"


@pytest.fixture
def swap(tmp_path):
    backend = FakeBackend(pipeline=load_pipeline(ROOT / "fixtures" / "pipeline"), run_dir=None,
                          journal=Journal(None))
    journal = Journal(tmp_path / "journal.jsonl")

    def make(replace_with: str):
        fault = get_fault("model_swap")(get_fault("model_swap").Params(artifact="model", replace_with=replace_with))
        ctx = FaultContext(backend=backend, journal=journal, rng=random.Random(3), fault_name=replace_with)
        return fault, ctx, backend.artifact("model").files

    yield make
    journal.close()


def records(tmp_path, cls):
    return [r for r in read_records(tmp_path) if isinstance(r, cls)]


def test_corrupt_bytes_then_the_original_back_with_the_backup_gone(swap, tmp_path):
    fault, ctx, files = swap("corrupt")
    original = files.read(SERVED)
    fault.prepare(ctx)
    undo = fault.inject(ctx)
    swapped = files.read(SERVED)
    assert swapped != original and len(swapped) == 64  # seeded bytes, at least 64
    (backup,) = files.glob(SERVED + ".chaos-orig-*")
    assert files.read(backup) == original
    undo()
    assert files.read(SERVED) == original and files.glob(SERVED + ".chaos-orig-*") == []
    (before,), (after,) = records(tmp_path, ArtifactSwapping), records(tmp_path, ArtifactRestored)
    assert (before.checksum, before.backup, before.where, before.artifact) == (
        hashlib.sha256(original).hexdigest(), backup, "memory", "model")
    assert (after.ok, after.checksum, after.backup) == (True, before.checksum, backup)
    assert [c.action for c in files.calls] == ["replace", "replace", "replace", "remove"]  # backup first


def test_older_serves_the_other_version_beside_it(swap, tmp_path):
    fault, ctx, files = swap("older")
    undo = fault.inject(ctx)
    assert files.read(SERVED) == files.read(OLDER)
    (swapped,) = records(tmp_path, ArtifactSwapped)
    assert swapped.source == OLDER
    undo()


def test_no_other_version_leaves_the_file_as_it_was(swap, tmp_path):
    fault, ctx, files = swap("older")
    original = files.read(SERVED)
    files.replace(OLDER, original)  # the only other version is the same bytes
    with pytest.raises(DriverError, match="no other version matches 'versions/\\*'"):
        fault.inject(ctx)
    assert files.read(SERVED) == original and files.glob(SERVED + ".chaos-orig-*") == []
    assert [r.ok for r in records(tmp_path, ArtifactRestored)] == [True]


def test_a_restore_that_does_not_take_is_a_revert_error_and_keeps_the_backup(swap, tmp_path, monkeypatch):
    fault, ctx, files = swap("corrupt")
    undo = fault.inject(ctx)
    monkeypatch.setattr(files, "replace", lambda path, data: None)  # the write is lost
    with pytest.raises(FaultRevertError, match="after restore"):
        undo()
    assert files.glob(SERVED + ".chaos-orig-*") and records(tmp_path, ArtifactRestored)[-1].ok is False
