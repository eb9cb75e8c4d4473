"""A scenario's ``env`` on each backend: the compose override the docker backend writes
(read back, and merged by ``docker-compose config`` itself where it is installed), the
unknown-service errors of every backend, and ``docker.services`` in pipeline.yaml."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from harness.backends.docker import DockerBackend
from harness.backends.fake import FakeBackend
from harness.backends.process import ProcessBackend
from harness.compose_env import OVERRIDE_FILE, compose_services, write_override
from harness.errors import DriverError, InvalidScenario
from harness.journal import Journal
from harness.pipeline import load_pipeline

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.chaos.yml"
ENV = {"model-server": {"FEATURE_VALIDATION": "off", "PRICE": "$5"}}


def test_the_override_sets_each_variable_and_keeps_the_first_files_version(tmp_path):
    path = write_override([COMPOSE], ENV, tmp_path)
    assert path == tmp_path / OVERRIDE_FILE
    doc = yaml.safe_load(path.read_text())
    assert doc == {"version": "3.9", "services": {"model-server": {"environment": {
        "FEATURE_VALIDATION": "off", "PRICE": "$$5"}}}}  # compose reads $$ as one $


def test_compose_services_merges_the_files_in_order(tmp_path):
    extra = tmp_path / "extra.yml"
    extra.write_text("services: {exporter: {image: x}, model-server: {environment: {A: b}}}\n")
    assert compose_services([COMPOSE, extra]) == ["postgres", "setup", "feature-server", "model-server",
                                                  "toxiproxy", "exporter"]


def test_a_compose_file_that_is_not_yaml_is_a_value_error(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("services: [unclosed\n")
    with pytest.raises(ValueError, match="broken.yml: not YAML"):
        compose_services([broken])


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_compose_itself_merges_the_override_over_the_files_environment(tmp_path):
    override = write_override([COMPOSE], ENV, tmp_path)
    merged = subprocess.run(["docker-compose", "-f", str(COMPOSE), "-f", str(override), "config"],
                            capture_output=True, text=True, timeout=60, cwd=ROOT,
                            env={"PATH": "/usr/bin:/bin", "DOCKER_HOST": "unix:///nonexistent"})
    assert merged.returncode == 0, merged.stderr
    environment = yaml.safe_load(merged.stdout)["services"]["model-server"]["environment"]
    assert environment["FEATURE_VALIDATION"] == "off"
    assert environment["PRICE"] == "$$5"  # `config` prints compose again: $$ is one literal $, not ${5}
    assert environment["FEATURE_URL"] == "http://toxiproxy:8001"  # the file's own variables stay


@pytest.mark.parametrize("backend, message", [
    (ProcessBackend, "pipeline 'fraud-scoring' has no service 'postgres' to set env on; "
                     "it has: feature-server, model-server"),
    (FakeBackend, "pipeline 'fraud-scoring' has no service 'postgres' to set env on"),
    (DockerBackend, "the compose project of pipeline 'fraud-scoring' has no service 'model-srv' to set env on; "
                    "it has: postgres, setup, feature-server, model-server, toxiproxy"),
])
def test_each_backend_refuses_env_for_a_service_it_does_not_run(tmp_path, backend, message):
    """Before anything starts (the loader says it first, located; this is the backend's own guard)."""
    pipeline = load_pipeline(ROOT / "fixtures" / "pipeline")
    service = "model-srv" if backend is DockerBackend else "postgres"
    with Journal(tmp_path / "journal.jsonl") as journal, pytest.raises(DriverError) as info:
        backend(pipeline=pipeline, run_dir=tmp_path, journal=journal, env={service: {"A": "b"}})
    assert message in str(info.value)
    assert not (tmp_path / OVERRIDE_FILE).exists()


def test_docker_env_may_name_a_compose_service_the_pipeline_does_not_declare(tmp_path):
    pipeline = load_pipeline(ROOT / "fixtures" / "pipeline")
    with Journal(tmp_path / "journal.jsonl") as journal:
        backend = DockerBackend(pipeline=pipeline, run_dir=tmp_path, journal=journal,
                                env={"postgres": {"PGTZ": "UTC"}})
    assert backend.env == {"postgres": {"PGTZ": "UTC"}}


def test_docker_services_declares_ports_of_known_services_only(tmp_path):
    reference = load_pipeline(ROOT / "fixtures" / "pipeline")
    assert {n: s.port for n, s in reference.docker.services.items()} == {"model-server": 8000,
                                                                         "feature-server": 8000}
    text = (ROOT / "fixtures" / "pipeline" / "pipeline.yaml").read_text()
    (tmp_path / "pipeline.yaml").write_text(text.replace("services: {model-server: {port: 8000}",
                                                         "services: {model-srv: {port: 8000}"))
    with pytest.raises(InvalidScenario, match="docker.services names unknown service 'model-srv'"):
        load_pipeline(tmp_path)
