"""pipeline.yaml (v2 draft) and docker/compose.yml say what the code does.

The harness cannot load a v2 declaration yet, so these checks hold it to the code:
the stores' columns are the hashes' fields, the flags and values are the answer's,
the load's user class exists, the probe passes on a live recommender, and the docker
section names services, ports and settings that compose.yml really has.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

from answer_fields import FLAGS, VALUES
from recsys_data import ITEM_FIELDS, ITEM_KEY, UPDATED_FIELD, USER_FIELDS, USER_KEY

from .conftest import RECSYS_DIR, Recommender

PLACEHOLDERS = {"python", "dir", "run_dir", "cache", "port", "seed", "links.features", "links.ingress",
                "ports.redis", "key"}


def _declaration() -> dict:
    return yaml.safe_load((RECSYS_DIR / "pipeline.yaml").read_text())


def _strings(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return []


def test_the_declaration_uses_only_known_placeholders_and_existing_files():
    spec = _declaration()
    assert spec["version"] == 2 and spec["name"] == "recsys"
    used = {m for s in _strings(spec) for m in re.findall(r"\{([a-z_.]+)\}", s)}
    assert used <= PLACEHOLDERS, used - PLACEHOLDERS
    assert set(spec["services"]) == {"redis", "recommender"}
    assert spec["services"]["redis"]["health"] == {"tcp": True}
    scripts = [part.replace("{dir}/", "") for cmd in spec["setup"] for part in cmd if part.startswith("{dir}/")]
    assert scripts and all((RECSYS_DIR / s).is_file() for s in scripts)
    app = next(p for p in spec["services"]["recommender"]["command"] if p.endswith(":app"))
    assert (RECSYS_DIR / f"{app.split(':')[0]}.py").is_file()
    for name, link in spec["links"].items():
        assert link["to"] in spec["services"] and (link["from"] == "load" or link["from"] in spec["services"]), name


def test_the_stores_flags_and_values_are_the_code_s():
    spec = _declaration()
    users, items = spec["stores"]["users"], spec["stores"]["items"]
    assert tuple(users["columns"]) == USER_FIELDS and tuple(items["columns"]) == ITEM_FIELDS
    assert users["key_pattern"].replace("{key}", "{}") == USER_KEY and items["key_pattern"].replace("{key}", "{}") == ITEM_KEY
    assert users["freshness_field"] == items["freshness_field"] == UPDATED_FIELD
    limit = spec["services"]["recommender"]["env"]["FEATURE_MAX_AGE_S"]
    assert users["freshness_limit_s"] == items["freshness_limit_s"] == limit
    assert tuple(spec["answers"]["flags"]) == FLAGS and tuple(spec["answers"]["values"]) == VALUES


def test_the_load_names_a_user_class_of_its_locustfile():
    load = _declaration()["load"]
    tree = ast.parse((RECSYS_DIR / load["locustfile"]).read_text())
    assert load["user_class"] in {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    assert load["link"] in _declaration()["links"]


def test_the_probe_passes_on_a_live_recommender(recommender: Recommender):
    probe = _declaration()["probe"]
    with recommender.http() as http:
        resp = http.request(probe["method"], probe["path"])
    assert resp.status_code == probe["expect"]["status"]
    assert all(key in resp.json() for key in probe["expect"]["json_has"])


def test_the_docker_section_matches_the_compose_file():
    spec = _declaration()
    docker = spec["docker"]
    compose = yaml.safe_load((RECSYS_DIR / docker["compose"]).read_text())
    services = compose["services"]
    assert all((RECSYS_DIR / path).is_file() for path in docker["images"].values())
    proxy = services[docker["proxy"]["service"]]
    published = {p.rsplit(":", 1)[-1] for p in proxy["ports"]}
    assert str(docker["proxy"]["api_port"]) in published
    for name, link in docker["links"].items():
        assert name in spec["links"] and link["listen"].rsplit(":", 1)[1] in published, name
        host, port = link["upstream"].split(":")
        assert host in services and spec["links"][name]["to"] == host
        assert port in " ".join(services[host]["command"]) or port == "8000", name
    for name, store in docker["stores"].items():
        assert name in spec["stores"] and f"127.0.0.1::{store['port']}" in services[store["service"]]["ports"]
    assert services["recommender"]["environment"]["REDIS_URL"] == "redis://toxiproxy:16379/0"
    process_env = spec["services"]["recommender"]["env"]
    for key in ("STORE_TIMEOUT_MS", "FEATURE_MAX_AGE_S", "FEATURE_VALIDATION", "CACHE_TTL_S"):
        assert services["recommender"]["environment"][key] == process_env[key], key
    assert Path(docker["golden"]["path"]).parent.as_posix() == services["recommender"]["environment"]["MODEL_DIR"]
