"""setup_recsys.py: the store snapshot, the cached model, the golden set; same seed, same data."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import golden_set
from ranking_model import ArtifactError, load_model, model_key
from recsys_data import ITEM_KEY, N_ITEMS, N_USERS, USER_KEY, item_rows, user_rows

from .conftest import SEED, Recommender, Redis, recommender_env, run_setup


def test_setup_writes_every_hash_and_200_golden_cases(prepared: dict):
    info = prepared["setup"]
    assert info["keys"] == N_USERS + N_ITEMS and (info["users"], info["items"]) == (N_USERS, N_ITEMS)
    assert info["golden_cases"] == len(golden_set.read_cases(info["golden"])) == 200
    assert Path(info["snapshot"]).stat().st_size > 100_000


def test_the_snapshot_holds_exactly_the_rows_of_the_seed(prepared: dict, redis_server: Redis):
    as_of = prepared["setup"]["as_of"]
    users, items = user_rows(SEED, as_of), item_rows(SEED, as_of)
    for i in (0, 1, 2499, N_USERS - 1):
        assert redis_server.hash(USER_KEY.format(i)) == users[i]
    for i in (0, 7, N_ITEMS - 1):
        assert redis_server.hash(ITEM_KEY.format(i)) == items[i]
    assert redis_server.command("DBSIZE") == N_USERS + N_ITEMS
    assert redis_server.command("EXISTS", USER_KEY.format(N_USERS)) == 0


def test_same_seed_same_golden_set_and_the_model_comes_from_the_cache(prepared: dict, tmp_path: Path):
    again = run_setup(tmp_path / "same", prepared["model_dir"], SEED, "--as-of", str(prepared["setup"]["as_of"] - 3600))
    other = run_setup(tmp_path / "other", prepared["model_dir"], SEED + 1)
    assert again["trained"] is False and other["trained"] is True
    assert Path(again["golden"]).read_text() == Path(prepared["setup"]["golden"]).read_text()  # as-of plays no part
    assert golden_set.read_cases(other["golden"]) != golden_set.read_cases(again["golden"])
    assert user_rows(SEED, 1_000) == user_rows(SEED, 1_000) != user_rows(SEED + 1, 1_000)


def test_a_tampered_model_is_refused_and_the_recommender_does_not_start(prepared: dict, redis_server: Redis,
                                                                       tmp_path: Path):
    model_dir = tmp_path / "model"
    shutil.copytree(prepared["model_dir"], model_dir)
    artifact = model_dir / model_key(SEED) / "model.json"
    payload = json.loads(artifact.read_text())
    payload["weights"][0] += 0.5
    artifact.write_text(json.dumps(payload))
    with pytest.raises(ArtifactError, match="checksum"):
        load_model(model_dir, SEED)
    env = recommender_env(prepared, f"redis://127.0.0.1:{redis_server.port}/0", MODEL_DIR=str(model_dir))
    svc = Recommender(env, tmp_path)
    try:
        assert svc.proc.wait(timeout=30) != 0
    finally:
        svc.stop()
    assert "checksum mismatch" in svc.log_path.read_text()


def test_setup_without_a_place_for_its_output_is_a_usage_error(tmp_path: Path):
    done = subprocess.run([sys.executable, str(Path(golden_set.__file__).with_name("setup_recsys.py")), "--model-dir",
                           str(tmp_path), "--seed", "1"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--out is required" in done.stderr
