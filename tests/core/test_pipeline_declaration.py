"""pipeline.yaml v2 as the harness reads it: both example pipelines, version 1 still
loading, flag SLOs checked against the declared flags, stores by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import InvalidScenario
from harness.loader import load_scenario
from harness.pipeline import load_pipeline

ROOT = Path(__file__).resolve().parents[2]


def test_both_examples_declare_probe_flags_stores_and_docker():
    reference, recsys = load_pipeline(ROOT / "fixtures" / "pipeline"), load_pipeline(ROOT / "fixtures" / "recsys")
    assert reference.probe.method == "POST" and reference.answers.flags[0] == "fallback"
    assert recsys.probe.method == "GET" and "popular_fallback" in recsys.answers.flags
    assert recsys.load.user_class == "RecsysUser" and recsys.services["redis"].health.tcp
    assert {n: s.kind for n, s in recsys.stores.items()} == {"users": "redis", "items": "redis"}
    assert [reference.path(c) for c in reference.docker.compose] == [ROOT / "docker-compose.chaos.yml"]
    assert recsys.path(recsys.docker.images["recsys"]).is_file()
    with pytest.raises(LookupError, match="declares stores users, items: name one"):
        recsys.store_named(None)


def test_a_version_1_file_still_loads_its_feature_store_as_the_store_features(tmp_path):
    (tmp_path / "pipeline.yaml").write_text(
        "name: old\nservices: {s: {command: [x]}}\nlinks: {ingress: {from: load, to: s}}\n"
        "feature_store: {sqlite: f.db, table: t, key: k, service: s}\n")
    pipeline = load_pipeline(tmp_path)
    assert pipeline.version == 1 and pipeline.probe is None and pipeline.answers.flags == ()
    assert pipeline.store_named(None) == ("features", pipeline.stores["features"])
    assert (pipeline.stores["features"].sqlite, pipeline.stores["features"].table) == ("f.db", "t")


def scenario(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\npipeline: {ROOT / 'fixtures' / 'recsys'}\n{body}")
    return path


def test_a_flag_rate_slo_must_name_a_declared_flag(tmp_path):
    ok = scenario(tmp_path, "expect:\n  overall: {popular_fallback_rate: '< 5%', cache_hit_rate: '> 1%'}\n")
    assert [m for m, _ in load_scenario(ok).expect.overall.items()] == ["popular_fallback_rate", "cache_hit_rate"]
    bad = scenario(tmp_path, "steady_state:\n  slo: {fallback_rate: '< 5%'}\n")
    with pytest.raises(InvalidScenario) as info:
        load_scenario(bad)
    [problem] = info.value.problems
    assert (problem.line, problem.path) == (4, "steady_state.slo.fallback_rate")
    assert "declares no flag 'fallback'; its flags are: popular_fallback, stale_features" in problem.message


def test_a_data_fault_names_a_declared_store_and_its_fields(tmp_path):
    fault = "faults:\n  - {name: f, at: 1s, for: 1s, corrupt_features: {%s}}\n"
    load_scenario(scenario(tmp_path, fault % "store: items, fraction: 0.1, columns: [popularity]"))
    for params, where, why in (("fraction: 0.1", "faults[0].corrupt_features", "name one (store: NAME)"),
                               ("store: carts, fraction: 0.1", "faults[0].corrupt_features.store",
                                "has no store 'carts'; it has: users, items"),
                               ("store: users, fraction: 0.1, columns: [popularity]",
                                "faults[0].corrupt_features.columns[0]",
                                "hashes 'user:{key}' of pipeline 'recsys' has no column 'popularity'")):
        with pytest.raises(InvalidScenario) as info:
            load_scenario(scenario(tmp_path, fault % params))
        [problem] = info.value.problems
        assert problem.path == where and why in problem.message, problem


def test_artifacts_are_declared_once_and_checked_where_they_are_named(tmp_path):
    reference = load_pipeline(ROOT / "fixtures" / "pipeline")
    assert reference.artifact_named("model").service == "model-server"
    assert reference.docker.artifacts["model"].path.startswith("/model/")
    with pytest.raises(LookupError, match="has no artifact 'weights'; it has: model"):
        reference.artifact_named("weights")
    (tmp_path / "pipeline.yaml").write_text(
        "version: 2\nname: p\nservices: {s: {command: [x]}}\nlinks: {ingress: {from: load, to: s}}\n"
        "artifacts:\n  model: {service: nope, path: /m.pkl}\n"
        "docker:\n  compose: c.yml\n  artifacts:\n    weights: {path: /w.pkl}\n")
    with pytest.raises(InvalidScenario) as info:
        load_pipeline(tmp_path)
    assert [(p.line, p.path) for p in info.value.problems] == [(6, "artifacts.model.service"),
                                                              (10, "docker.artifacts.weights")]
    assert "names unknown service 'nope'; services: s" in info.value.problems[0].message
    assert "names unknown artifact 'weights'; artifacts: model" in info.value.problems[1].message


def test_a_model_swap_on_docker_needs_the_artifacts_place_in_its_container(tmp_path):
    (tmp_path / "pipeline.yaml").write_text(
        "version: 2\nname: p\nservices: {s: {command: [x]}}\nlinks: {ingress: {from: load, to: s}}\n"
        "artifacts: {model: {service: s, path: /m.pkl}}\ndocker: {compose: c.yml}\n")
    (tmp_path / "s.yaml").write_text(f"name: s\npipeline: {tmp_path}\nbackend: docker\nfaults:\n"
                                     "  - {name: f, at: 1s, for: 1s, model_swap: {artifact: model}}\n")
    with pytest.raises(InvalidScenario) as info:
        load_scenario(tmp_path / "s.yaml")
    [problem] = info.value.problems
    assert (problem.line, problem.path) == (5, "faults[0].model_swap.artifact")
    assert "does not say where artifact 'model' is in its containers (docker.artifacts" in problem.message
    load_scenario(tmp_path / "s.yaml", backend="process")
