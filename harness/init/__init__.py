"""``chaos-harness init COMPOSE_FILE``: a starter pipeline directory over a team's compose file.

One module per step: :mod:`~harness.init.compose` reads the file (located errors),
:mod:`~harness.init.edges` infers the edges and the ingress,
:mod:`~harness.init.override` names the links and writes the compose override that
routes them through a Toxiproxy-API proxy, :mod:`~harness.init.starter` writes
``pipeline.yaml``, ``locustfile.py`` and ``starter-scenario.yaml``. The team's file is
read, never written; what could not be inferred comes back as notes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.errors import InvalidScenario, Problem
from harness.init.compose import read_compose
from harness.init.edges import infer
from harness.init.override import ProxyPlan, build_override, plan_links
from harness.init.starter import locustfile, pipeline_yaml, probe_path, scenario_yaml, starter_link

OVERRIDE_FILE, SCENARIO_FILE = "compose.override.yml", "starter-scenario.yaml"
_GENERIC_DIRS = {"docker", "compose", "deploy", "deployment", "infra", "ops"}


@dataclass(frozen=True)
class InitResult:
    """What ``init`` wrote and what it could not infer."""

    out_dir: Path
    files: tuple[Path, ...]
    plan: ProxyPlan
    ingress: str
    notes: tuple[str, ...]


def default_out(compose_file: Path) -> Path:
    """``chaos/`` beside the compose file."""
    return compose_file.parent / "chaos"


def init_pipeline(compose_file: str | Path, out_dir: str | Path | None = None) -> InitResult:
    """Read ``compose_file``, write the starter pipeline into ``out_dir`` (new or empty).

    Raises InvalidScenario (exit code 2, nothing written) for a file that is not a
    compose file, a field that cannot be read, no possible ingress, or an ``out_dir``
    that holds files already.
    """
    compose_file = Path(compose_file)
    out = Path(out_dir) if out_dir is not None else default_out(compose_file)
    compose = read_compose(compose_file)
    topology = infer(compose)
    if topology.ingress is None:
        raise InvalidScenario([Problem(str(compose_file), None, "services",
                                       "no long-running service has a port (ports or expose): there "
                                       "is no ingress for the load to reach")])
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InvalidScenario([Problem(str(out), None, "", "--out must be a new or empty directory; "
                                                           "init never overwrites files")])
    plan = plan_links(compose, topology)
    name = _name(compose.name, compose_file)
    ingress = next(link for link in plan.links if link.caller == "load")
    texts = {
        "pipeline.yaml": pipeline_yaml(name=name, compose=compose, topology=topology, plan=plan,
                                       out_dir=out, override_file=OVERRIDE_FILE),
        OVERRIDE_FILE: _override_text(compose_file, build_override(compose, plan)),
        "locustfile.py": locustfile(name=name, path=probe_path(compose, topology), ingress=topology.ingress),
        SCENARIO_FILE: scenario_yaml(name=name, link=starter_link(plan)),
    }
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for file_name, text in texts.items():
        (out / file_name).write_text(text, encoding="utf-8")
        files.append(out / file_name)
    return InitResult(out, tuple(files), plan, ingress.target, topology.notes + plan.notes)


def _name(declared: str | None, compose_file: Path) -> str:
    """The compose file's ``name``, else its directory's (above a ``docker/``-like one)."""
    folder = compose_file.resolve().parent
    while folder.name in _GENERIC_DIRS and folder.parent != folder:
        folder = folder.parent
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", declared or folder.name).strip("-.")[:80] or "pipeline"


def _override_text(compose_file: Path, doc: dict) -> str:
    head = (f"# Written by `chaos-harness init`: merged over {compose_file.name} (never edited) by\n"
            f"# `docker-compose -f {compose_file.name} -f {OVERRIDE_FILE}`. It adds the proxy, points each\n"
            f"# caller's address of a dependency at the proxy, and labels the run's containers.\n")
    return head + yaml.safe_dump(doc, sort_keys=False, width=100)
