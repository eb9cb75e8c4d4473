"""Image build: idempotent, cached run fast; plus the Dockerfile subset (no engine needed)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness import dockerutil, images
from imagesupport import decide

ROOT = Path(__file__).resolve().parents[2]
PIPELINES = [ROOT / "fixtures" / "pipeline", ROOT / "fixtures" / "recsys"]


@pytest.mark.docker
def test_build_is_idempotent_and_a_cached_run_takes_under_2s(docker_images):
    first = images.build_images(PIPELINES, log=lambda line: None)  # rebuilds whatever is stale
    started = time.perf_counter()
    second = images.build_images(PIPELINES, log=lambda line: None)
    elapsed = time.perf_counter() - started
    roles = ("base", "postgres", "runtime", "proxy", "pipeline", "recsys")
    assert [second[r]["built"] for r in roles] == [False] * 6
    assert {r: second[r]["id"] for r in roles} == {r: first[r]["id"] for r in roles}
    assert elapsed <= 2.0, f"cached build took {elapsed:.2f} s (target <= 2 s)"
    assert images.missing_images() == []


def test_every_dockerfile_stays_inside_the_applied_subset():
    package = images.PACKAGE_DIR
    for key, files in (("postgres", images._context_files(package, "docker/postgres")),
                       ("runtime", {"wheels/requirements.txt": Path(__file__)}),
                       ("proxy", {**images._context_files(package.parent, "harness"),
                                  **images._context_files(package, "docker/proxy")})):
        plan = dockerutil.plan_dockerfile(images.dockerfile_path(key), files)
        assert plan.copies, key
    named = {role: path for directory in PIPELINES for role, path in images.pipeline_images(directory).items()}
    assert sorted(named) == ["pipeline", "recsys"]
    pipeline = dockerutil.plan_dockerfile(named["pipeline"], images._context_files(PIPELINES[0]))
    assert pipeline.outputs == ("/model",) and pipeline.run and "seed.py" in pipeline.run
    assert "/app/fixtures/pipeline/docker/seed.py" in pipeline.copies
    recsys = dockerutil.plan_dockerfile(named["recsys"], images._context_files(PIPELINES[1]))
    assert recsys.outputs == ("/model",) and "/app/fixtures/recsys/recommender.py" in recsys.copies


def test_the_shared_dockerfiles_ship_in_the_package_and_the_pipelines_are_found_here():
    assert {p.name for p in images.DOCKER_DIR.glob("*.Dockerfile")} == {
        "postgres.Dockerfile", "runtime.Dockerfile", "proxy.Dockerfile"}
    assert images.default_pipelines(ROOT) == PIPELINES
    assert "pydantic>=2.5" in images.runtime_requirements()
    assert not [r for r in images.runtime_requirements() if "extra ==" in r]


def test_metadata_instructions_become_the_image_config():
    plan = dockerutil.DockerfilePlan(changes=['ENV A=1 B="two words"', "WORKDIR /app", "EXPOSE 8474",
                                 'ENTRYPOINT ["/toxiproxy"]', "CMD -host=0.0.0.0", "LABEL x=y"],
                        stop_signal="SIGINT")
    config = dockerutil.image_config({"Env": ["PATH=/bin", "A=0"], "Labels": None}, plan, {images.HASH_LABEL: "abc"})
    assert config["Env"] == ["PATH=/bin", "A=1", "B=two words"]
    assert config["Entrypoint"] == ["/toxiproxy"] and config["Cmd"] == ["/bin/sh", "-c", "-host=0.0.0.0"]
    assert config["ExposedPorts"] == {"8474/tcp": {}} and config["WorkingDir"] == "/app"
    assert config["Labels"] == {"x": "y", images.HASH_LABEL: "abc"} and config["StopSignal"] == "SIGINT"


def test_copy_of_a_directory_copies_its_contents():
    files = {"docker/proxy/toxiproxy": Path("a"), "harness/x/y.py": Path("b")}
    assert dockerutil.copy_targets("harness/", "/app/harness/", files) == {"/app/harness/x/y.py": Path("b")}
    assert dockerutil.copy_targets("docker/proxy/toxiproxy", "/", files) == {"/toxiproxy": Path("a")}
    assert dockerutil.copy_targets(".", "/app/p/", files) == {"/app/p/docker/proxy/toxiproxy": Path("a"),
                                                              "/app/p/harness/x/y.py": Path("b")}


def test_the_debian_mirror_comes_from_the_apt_sources(monkeypatch):
    monkeypatch.setenv("CHAOS_DEBIAN_MIRROR", "http://mirror.example/debian")
    assert images.debian_mirror() == "http://mirror.example/debian"
    monkeypatch.delenv("CHAOS_DEBIAN_MIRROR")
    assert images.debian_mirror().startswith("http")


def _decide(**facts):
    known = dict(engine=(True, "engine"), missing=["chaos-harness/proxy:local"], mode="build",
                 root=True, debootstrap=False, apt=True)
    return decide(**{**known, **facts})


def test_missing_images_are_built_only_where_the_machine_can_build_them():
    assert _decide().action == "build" and "apt-get install debootstrap" in _decide().reason
    assert _decide(missing=[]).action == "ready"
    assert _decide(apt=False, debootstrap=True).action == "build"
    for facts, why in (({"engine": (False, "refused")}, "no Docker engine: refused"),
                       ({"mode": "skip"}, "CHAOS_IMAGES=skip"),
                       ({"mode": "maybe"}, "neither 'build' nor 'skip'"),
                       ({"root": False}, "needs root"),
                       ({"apt": False}, "no apt-get")):
        plan = _decide(**facts)
        assert plan.action == "skip" and why in plan.reason, (facts, plan)


def test_an_image_tag_setting_points_every_role_at_it(monkeypatch):
    import importlib

    for variable in ("BASE_IMAGE", "POSTGRES_IMAGE", "RUNTIME_IMAGE", "PIPELINE_IMAGE", "TOXIPROXY_IMAGE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("CHAOS_IMAGE_TAG", "absent")
    monkeypatch.setenv("TOXIPROXY_IMAGE", "ghcr.io/shopify/toxiproxy:2.12.0")
    try:
        reloaded = importlib.reload(images)
        assert reloaded.IMAGES["postgres"] == "chaos-harness/postgres:absent"
        assert reloaded.IMAGES["proxy"] == "ghcr.io/shopify/toxiproxy:2.12.0"  # a role's own variable wins
        assert reloaded.compose_environment(["pipeline"])["PIPELINE_IMAGE"] == "chaos-harness/pipeline:absent"
    finally:
        monkeypatch.undo()
        importlib.reload(images)
