"""model_artifact.py and model_slot.py: checksummed versions, refusal, hot swap, last good model kept."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from .conftest import SEED

import fraud_model  # noqa: E402
import model_artifact  # noqa: E402
from model_artifact import ArtifactError  # noqa: E402
from model_slot import LoadedModel, ModelSlot  # noqa: E402
from serving_metrics import Metrics  # noqa: E402


@pytest.fixture
def model_copy(prepared: dict, tmp_path: Path) -> Path:
    """A private copy of the session's model cache (tests swap its artifact)."""
    root = tmp_path / "model"
    shutil.copytree(prepared["model_dir"], root)
    return root


def key_dir(root: Path) -> Path:
    return root / model_artifact.model_key(SEED)


def versions(root: Path) -> dict[str, dict]:
    manifest = json.loads((key_dir(root) / model_artifact.MANIFEST).read_text())
    return {v["label"]: v for v in manifest["versions"]}


def swap(root: Path, data: bytes) -> None:
    model_artifact.write_atomic(key_dir(root) / model_artifact.ARTIFACT, data)


def test_manifest_records_every_version(prepared: dict) -> None:
    path = key_dir(prepared["model_dir"])
    manifest = json.loads((path / model_artifact.MANIFEST).read_text())
    labels = [v["label"] for v in manifest["versions"]]
    assert labels == ["previous", "current"] and manifest["current"] == manifest["versions"][-1]["model_version"]
    for entry in manifest["versions"]:
        blob = (path / entry["file"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(blob).hexdigest() and entry["size"] == len(blob)
        assert entry["model_version"] == f"fraud-lr-s{SEED}-{entry['sha256'][:10]}"
        assert len(entry["scorer"]["weights"]) == fraud_model.N_INPUTS
    prev, cur = manifest["versions"]
    assert prev["n_train"] < cur["n_train"] and prev["sha256"] != cur["sha256"]
    assert (path / model_artifact.ARTIFACT).read_bytes() == (path / cur["file"]).read_bytes()


def test_load_verifies_the_checksum(model_copy: Path) -> None:
    good = model_artifact.load_model(model_copy, SEED)
    assert good.meta["label"] == "current"
    older = versions(model_copy)["previous"]
    swap(model_copy, (key_dir(model_copy) / older["file"]).read_bytes())
    assert model_artifact.load_model(model_copy, SEED).meta["model_version"] == older["model_version"]
    swap(model_copy, b"\x80\x04not a model at all")
    with pytest.raises(ArtifactError, match="unknown_checksum") as err:
        model_artifact.load_model(model_copy, SEED)
    assert err.value.reason == "unknown_checksum"
    (key_dir(model_copy) / model_artifact.ARTIFACT).unlink()
    with pytest.raises(ArtifactError) as err:
        model_artifact.load_model(model_copy, SEED)
    assert err.value.reason == "missing"


def test_a_listed_but_unpicklable_artifact_is_refused(model_copy: Path) -> None:
    """Even bytes the manifest lists are refused when they do not unpickle (a tampered manifest)."""
    blob = b"garbage"
    manifest_path = key_dir(model_copy) / model_artifact.MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest["versions"].append({"model_version": "bogus", "sha256": hashlib.sha256(blob).hexdigest()})
    manifest_path.write_text(json.dumps(manifest))
    swap(model_copy, blob)
    with pytest.raises(ArtifactError) as err:
        model_artifact.load_model(model_copy, SEED)
    assert err.value.reason == "unloadable"
    manifest_path.write_text("{not json")
    with pytest.raises(ArtifactError) as err:
        model_artifact.load_model(model_copy, SEED)
    assert err.value.reason == "manifest_invalid"


def make_slot(root: Path, seed: int | None = SEED) -> tuple[ModelSlot, Metrics, list]:
    metrics, prepared_models = Metrics(), []

    def prepare(model) -> LoadedModel:
        prepared_models.append(model.meta["model_version"])
        return LoadedModel(model, lambda x: 0.5)

    return ModelSlot(root, seed, prepare=prepare, metrics=metrics), metrics, prepared_models


def test_slot_keeps_the_last_good_model(model_copy: Path) -> None:
    slot, metrics, prepared_models = make_slot(model_copy)
    slot.check()
    cur, prev = versions(model_copy)["current"], versions(model_copy)["previous"]
    assert slot.current.version == cur["model_version"] and not slot.degraded
    swap(model_copy, b"garbage")
    for _ in range(3):  # refused once, counted once, however often it is looked at
        slot.check()
    assert slot.degraded and slot.problem == "unknown_checksum"
    assert slot.current.version == cur["model_version"]  # still serving the last good model
    assert metrics.model_load_failures.get("unknown_checksum") == 1
    swap(model_copy, (key_dir(model_copy) / prev["file"]).read_bytes())
    slot.check()
    assert slot.current.version == prev["model_version"] and not slot.degraded
    swap(model_copy, (key_dir(model_copy) / cur["file"]).read_bytes())
    slot.check()
    assert slot.current.version == cur["model_version"] and not slot.degraded
    assert metrics.model_reloads.get() == 2
    assert prepared_models == [cur["model_version"], prev["model_version"]]  # the restore reused the loaded one


def test_slot_without_any_model_waits_for_one(tmp_path: Path, prepared: dict) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    slot, metrics, _ = make_slot(root, seed=None)
    slot.check()
    assert slot.current is None and slot.problem == "missing"
    assert metrics.model_load_failures.get("missing") == 1
    staged = tmp_path / "staged"
    shutil.copytree(prepared["model_dir"], staged)
    for entry in staged.iterdir():
        entry.rename(root / entry.name)
    slot.check()
    assert slot.current is not None and not slot.degraded
