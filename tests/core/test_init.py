"""``chaos-harness init``: reading compose files, inferring edges and ingress, the override.

Pure logic on small compose texts, plus the project's own two compose files (read, not
run: the docker tier runs them, ``tests/docker/test_init_stacks.py``) and, where
``docker-compose`` is installed, its own merge of the override (``config`` reads files
only; no engine call).
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

from harness.cli import main
from harness.errors import InvalidScenario
from harness.init import init_pipeline
from harness.init.compose import read_compose
from harness.init.edges import infer
from harness.init.override import build_override, plan_links

REPO = Path(__file__).resolve().parents[2]

OTHER_STYLE = """\
services:
  web:
    image: ${RUNTIME_IMAGE:-chaos-harness/runtime:local}
    environment:
      - API_URL=http://api:8000/v1
      - CACHE=cache
      - GREETING=hello api
    depends_on:
      api:
        condition: service_healthy
      cache:
        condition: service_started
      worker:
        condition: service_started
    ports:
      - target: 8080
        protocol: tcp
    healthcheck:
      test: curl -fsS http://localhost:8080/healthz || exit 1
  api:
    image: app
    expose: ["8000"]
    environment:
      DB: postgresql://u:p@db/app
  db:
    image: postgres
    ports: ["127.0.0.1::5432"]
  cache:
    image: memcached
    expose: [11211]
  worker:
    image: app
"""


def write(tmp_path: Path, text: str, name: str = "docker-compose.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def topology_of(tmp_path: Path, text: str):
    compose = read_compose(write(tmp_path, text))
    return compose, infer(compose)


def test_reads_every_spelling(tmp_path):
    compose = read_compose(write(tmp_path, OTHER_STYLE))
    web = compose.services["web"]
    assert web.ports == (8080,)
    assert web.environment["API_URL"] == "http://api:8000/v1"
    assert web.env_lines["API_URL"] == 5
    assert web.depends_on == {"api": "service_healthy", "cache": "service_started", "worker": "service_started"}
    assert web.healthcheck == ("CMD-SHELL", "curl -fsS http://localhost:8080/healthz || exit 1")
    assert (web.http_health.port, web.http_health.path) == (8080, "/healthz")
    assert compose.services["api"].ports == (8000,)
    assert compose.services["cache"].ports == (11211,)


def test_edges_from_urls_scheme_ports_and_bare_hosts(tmp_path):
    _, topology = topology_of(tmp_path, OTHER_STYLE)
    edges = {(e.caller, e.target): e for e in topology.edges}
    assert set(edges) == {("web", "api"), ("web", "cache"), ("api", "db")}
    assert edges[("web", "api")].port == 8000            # written
    assert edges[("api", "db")].port == 5432             # postgresql:// default
    assert edges[("web", "cache")].port == 11211         # bare host: the target's only port
    assert edges[("web", "cache")].references[0].bare
    # "hello api" is prose, not an address: only the URL is a reference
    assert [r.variable for r in edges[("web", "api")].references] == ["API_URL"]
    assert topology.ingress == "web" and topology.ingress_port == 8080
    assert any("web depends_on worker" in note for note in topology.notes)


def test_override_rewrites_each_address_to_the_proxy(tmp_path):
    compose, topology = topology_of(tmp_path, OTHER_STYLE)
    plan = plan_links(compose, topology)
    links = {link.name: link for link in plan.links}
    assert plan.service == "chaos-proxy" and plan.new
    assert {n: (l.caller, l.upstream) for n, l in links.items()} == {
        "api": ("web", "api:8000"), "cache": ("web", "cache:11211"), "db": ("api", "db:5432"),
        "ingress": ("load", "web:8080")}
    assert links["cache"].listen == 11211                # a bare host keeps its port
    doc = build_override(compose, plan)
    web, api = doc["services"]["web"], doc["services"]["api"]
    assert web["environment"] == {"API_URL": f"http://chaos-proxy:{links['api'].listen}/v1",
                                  "CACHE": "chaos-proxy"}
    assert api["environment"] == {"DB": f"postgresql://u:p@chaos-proxy:{links['db'].listen}/app"}
    assert web["depends_on"] == {"chaos-proxy": {"condition": "service_started"}}
    proxy = doc["services"]["chaos-proxy"]
    assert proxy["image"] == "${TOXIPROXY_IMAGE:-chaos-harness/proxy:local}"
    assert set(proxy["ports"]) == {f"127.0.0.1::{p}" for p in [8474, *(l.listen for l in plan.links)]}
    assert all("chaos-harness.run-id" in s["labels"] for s in doc["services"].values())
    assert "version" not in doc                          # theirs has none


def test_a_port_taken_by_a_bare_host_edge_is_reported(tmp_path):
    compose, topology = topology_of(tmp_path, """\
        services:
          a: {image: x, ports: ["80"], environment: {R1: r}}
          b: {image: x, environment: {R2: r}}
          r: {image: redis, expose: [6379]}
        """)
    plan = plan_links(compose, topology)
    assert [l.name for l in plan.links if l.caller != "load"] == ["a-r"]
    assert any("port 6379 is taken" in note for note in plan.notes)


def test_our_compose_file_keeps_its_proxy_and_finds_what_is_behind_it():
    compose = read_compose(REPO / "docker-compose.chaos.yml")
    topology = infer(compose)
    plan = plan_links(compose, topology)
    assert topology.proxy == "toxiproxy" and not plan.new
    assert topology.ingress == "model-server"
    assert {(l.caller, l.upstream) for l in plan.links} == {
        ("model-server", "feature-server:8000"), ("feature-server", "postgres:5432"), ("load", "model-server:8000")}
    listens = {l.upstream: l.listen for l in plan.links}
    assert (listens["feature-server:8000"], listens["postgres:5432"]) == (8001, 15432)   # its own ports
    doc = build_override(compose, plan)
    assert not any("environment" in s for s in doc["services"].values())   # already routed


def test_x_chaos_links_name_the_links_behind_an_existing_proxy(tmp_path):
    compose, topology = topology_of(tmp_path, """\
        x-chaos-links:
          ingress: {listen: "0.0.0.0:8002", upstream: "front:8000"}
          store: {listen: "0.0.0.0:8001", upstream: "back:9000"}
        services:
          front: {image: x, expose: [8000], environment: {BACK: "http://toxiproxy:8001"}}
          back: {image: x, expose: [9000]}
          toxiproxy: {image: "chaos-harness/proxy:local", ports: ["127.0.0.1::8474", "127.0.0.1::8001", "127.0.0.1::8002"]}
        """)
    plan = plan_links(compose, topology)
    assert {l.name: (l.caller, l.upstream, l.listen) for l in plan.links} == {
        "store": ("front", "back:9000", 8001), "ingress": ("load", "front:8000", 8002)}
    assert not [note for note in topology.notes if "toxiproxy" in note]       # nothing guessed
    assert list(build_override(compose, plan)["services"]["toxiproxy"]) == ["labels"]   # nothing to add


def test_recsys_compose_file_finds_the_upstream_behind_its_proxy():
    compose = read_compose(REPO / "fixtures/recsys/docker/compose.yml")
    topology = infer(compose)
    plan = plan_links(compose, topology)
    assert {l.name: (l.caller, l.upstream, l.listen) for l in plan.links} == {
        "redis": ("recommender", "redis:6379", 16379), "ingress": ("load", "recommender:8000", 20000)}
    assert build_override(compose, plan)["services"]["toxiproxy"]["ports"] == ["127.0.0.1::20000"]


@pytest.mark.parametrize("text, where", [
    ("- a\n- b\n", ":1: services: not a compose file"),
    ("version: '3'\nvolumes: {}\n", ":1: services: not a compose file"),
    ("services:\n  web:\n    image: x\n    ports: [\"abc\"]\n", ":4: services.web.ports[0]: cannot read"),
    ("services:\n  web:\n    image: x\n    ports: [{published: 80}]\n", ":4: services.web.ports[0].target: must be"),
    ("services:\n  web:\n    image: x\n    depends_on: [db]\n", ":4: services.web.depends_on.db: names unknown"),
    ("services:\n  web:\n    image: x\n    environment: [\"=x\"]\n", ":4: services.web.environment[0]: must be"),
    ("services:\n  web: [1]\n", ":2: services.web: must be a mapping"),
    ("services:\n  web:\n    image: x\n    ports: [\"80-90\"]\n", ":4: services.web.ports[0]: port ranges"),
    ("services: {a: {image: x}}\nservices: {}\n", ":2:"),
])
def test_bad_input_exits_2_with_file_line_and_field(tmp_path, capsys, text, where):
    path = write(tmp_path, text)
    out = tmp_path / "out"
    assert main(["init", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{path}{where}" in err, err
    assert not out.exists()


def test_unreadable_and_no_ingress_exit_2(tmp_path, capsys):
    assert main(["init", str(tmp_path / "missing.yml")]) == 2
    assert "missing.yml: cannot read file" in capsys.readouterr().err
    assert main(["init", str(tmp_path)]) == 2
    assert "not a regular file" in capsys.readouterr().err
    path = write(tmp_path, "services:\n  job: {image: x}\n")
    assert main(["init", str(path), "--out", str(tmp_path / "out")]) == 2
    assert "no ingress" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_never_overwrites(tmp_path, capsys):
    path = write(tmp_path, OTHER_STYLE)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "pipeline.yaml").write_text("mine")
    assert main(["init", str(path), "--out", str(tmp_path / "out")]) == 2
    assert (tmp_path / "out" / "pipeline.yaml").read_text() == "mine"
    assert "never overwrites" in capsys.readouterr().err


def test_cli_writes_the_directory_and_says_what_it_could_not_infer(tmp_path, capsys):
    path = write(tmp_path, OTHER_STYLE)
    before = path.read_bytes()
    assert main(["init", str(path)]) == 0
    out = capsys.readouterr().out
    assert "could not infer (or only guessed):" in out and "web depends_on worker" in out
    assert "link api: web -> api:8000" in out
    written = sorted(p.name for p in (tmp_path / "chaos").iterdir())
    assert written == ["compose.override.yml", "locustfile.py", "pipeline.yaml", "starter-scenario.yaml"]
    assert path.read_bytes() == before                   # their file untouched
    pipeline = yaml.safe_load((tmp_path / "chaos" / "pipeline.yaml").read_text())
    assert pipeline["docker"]["compose"] == ["../docker-compose.yml", "compose.override.yml"]
    assert pipeline["probe"]["path"] == "/healthz"
    assert pipeline["links"]["ingress"] == {"from": "load", "to": "web"}
    assert pipeline["docker"]["services"] == {"web": {"port": 8080}}  # its health check's port; api has none
    compile((tmp_path / "chaos" / "locustfile.py").read_text(), "locustfile.py", "exec")


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_compose_itself_merges_the_override(tmp_path):
    """docker-compose's own merge: their list-form environment + our mapping, ports appended."""
    path = write(tmp_path, OTHER_STYLE)
    result = init_pipeline(path)
    merged = subprocess.run(["docker-compose", "-f", str(path), "-f", str(result.out_dir / "compose.override.yml"),
                             "config"], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                            env={"PATH": "/usr/bin:/bin", "DOCKER_HOST": "unix:///nonexistent"})
    assert merged.returncode == 0, merged.stderr
    services = yaml.safe_load(merged.stdout)["services"]
    links = {link.name: link.listen for link in result.plan.links}
    assert services["web"]["environment"]["API_URL"] == f"http://chaos-proxy:{links['api']}/v1"
    assert services["web"]["environment"]["GREETING"] == "hello api"
    assert set(services["web"]["depends_on"]) == {"api", "cache", "worker", "chaos-proxy"}
    assert services["chaos-proxy"]["image"] == "chaos-harness/proxy:local"


@pytest.mark.parametrize("compose", ["docker-compose.chaos.yml", "fixtures/recsys/docker/compose.yml", None])
def test_validate_accepts_the_starter_scenario_on_docker_only(tmp_path, compose):
    """The starter scenario loads on docker; on process it is refused (no commands), exit 2."""
    from harness.loader import load_scenario

    path = REPO / compose if compose else write(tmp_path, OTHER_STYLE)
    result = init_pipeline(path, tmp_path / "out")
    scenario = load_scenario(result.out_dir / "starter-scenario.yaml")
    assert scenario.backend == "docker" and len(scenario.faults) == 1
    with pytest.raises(InvalidScenario, match="runs on the docker backend only"):
        load_scenario(result.out_dir / "starter-scenario.yaml", backend="process")


def test_docker_compose_may_list_files_and_a_later_image_wins(tmp_path):
    """pipeline.yaml's docker.compose: one file or a list; the images checked are the merged ones."""
    from harness.images import compose_images
    from harness.pipeline import DockerSpec

    assert DockerSpec(compose="a.yml").compose == ("a.yml",)
    assert DockerSpec(compose=["a.yml", "b.yml"]).compose == ("a.yml", "b.yml")
    first = write(tmp_path, "services:\n  a: {image: one}\n  b: {image: '${B_IMAGE:-two}'}\n", "a.yml")
    second = write(tmp_path, "services:\n  a: {image: three}\n  c: {image: four}\n", "b.yml")
    assert compose_images([first, second], {}) == ["four", "three", "two"]
    assert compose_images(first, {"B_IMAGE": "mine"}) == ["mine", "one"]


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_networks_and_volumes_keep_their_definition_and_get_the_run_labels(tmp_path):
    """cleanup finds a killed run's networks and volumes by label; compose v1 replaces a
    repeated definition, so the override repeats it whole. External ones are left alone."""
    path = write(tmp_path, """\
        services:
          x: {image: busybox, volumes: ["data:/d"], networks: [default, back], expose: [80]}
        networks:
          back: {driver: bridge, internal: true, labels: [team=a]}
          ext: {external: true}
        volumes:
          data: {driver: local, driver_opts: {type: tmpfs, device: tmpfs}}
        """)
    result = init_pipeline(path)
    merged = subprocess.run(["docker-compose", "-f", str(path), "-f", str(result.out_dir / "compose.override.yml"),
                             "config"], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                            env={"PATH": "/usr/bin:/bin", "DOCKER_HOST": "unix:///nonexistent",
                                 "CHAOS_RUN_ID": "r1"})
    assert merged.returncode == 0, merged.stderr
    doc = yaml.safe_load(merged.stdout)
    back, default, data = doc["networks"]["back"], doc["networks"]["default"], doc["volumes"]["data"]
    assert (back["driver"], back["internal"], back["labels"]["team"]) == ("bridge", True, "a")
    assert data["driver_opts"] == {"type": "tmpfs", "device": "tmpfs"}
    assert back["labels"]["chaos-harness.run-id"] == default["labels"]["chaos-harness.run-id"] == "r1"
    assert data["labels"]["chaos-harness.run-id"] == "r1"
    assert "labels" not in doc["networks"]["ext"]
