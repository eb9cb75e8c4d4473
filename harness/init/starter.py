"""The starter files ``chaos-harness init`` writes: pipeline.yaml, locustfile, scenario.

Each is text with comments saying where each value came from, so the team can see
what was inferred and edit it. The starter load asks the ingress for the path of its
health check (or ``/``), the starter scenario adds 200 ms on one link for 5 s under
light load: the first dependency link, else the ingress.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from harness.init.compose import ComposeFile
from harness.init.edges import Topology
from harness.init.override import PROXY_API_PORT, ProxyPlan

USER_CLASS = "PipelineUser"
FAULT_AT_S, FAULT_FOR_S, LOAD_S, LATENCY_MS = 6, 5, 18, 200


def _flow(value) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=1000, sort_keys=False)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def probe_path(compose: ComposeFile, topology: Topology) -> str:
    """The ingress's health check path, else ``/``."""
    health = compose.services[topology.ingress].http_health
    return health.path if health else "/"


def starter_link(plan: ProxyPlan) -> str:
    """The link the starter scenario slows down: the first dependency link, else the ingress."""
    inner = [link.name for link in plan.links if link.caller != "load"]
    return inner[0] if inner else next(link.name for link in plan.links if link.caller == "load")


def http_ports(compose: ComposeFile, plan: ProxyPlan) -> dict[str, int]:
    """Service -> the container port it serves HTTP on, as far as the file tells: the port
    its HTTP health check asks, else (the ingress's target) the ingress link's upstream port."""
    ports = {s.name: s.http_health.port for s in compose.services.values()
             if s.http_health and s.http_health.port and s.name != plan.service}
    ingress = next(link for link in plan.links if link.caller == "load")
    ports.setdefault(ingress.target, int(ingress.upstream.rsplit(":", 1)[1]))
    return {name: ports[name] for name in compose.services if name in ports}


def pipeline_yaml(*, name: str, compose: ComposeFile, topology: Topology, plan: ProxyPlan,
                  out_dir: Path, override_file: str) -> str:
    """``pipeline.yaml`` text for a docker-only pipeline over the team's compose file."""
    jobs = compose.jobs()
    ingress = next(link for link in plan.links if link.caller == "load")
    relative = os.path.relpath(compose.path.resolve(), out_dir.resolve())
    lines = [f"# Written by `chaos-harness init {compose.path.name}`: a starter pipeline over your own",
             "# compose file, which is never edited. Each link is one proxy; the override routes it.",
             "# Check every inferred value below, then: chaos-harness validate starter-scenario.yaml",
             "version: 2", f"name: {_flow(name)}", "", "# Services as found (the targets of kill, pause, ...); no command: compose starts them.",
             "services:"]
    for service in compose.services.values():
        if service.name in jobs or service.name == plan.service:
            continue
        lines.append(f"  # ports {list(service.ports) or 'none'}; health check: "
                     f"{_flow(list(service.healthcheck)) if service.healthcheck else 'none'}")
        lines.append(f"  {service.name}: {{}}")
    lines += ["", "# One proxy per inferred edge (and the ingress, for load).", "links:"]
    for link in plan.links:
        how = ("ingress" if link.caller == "load" else
               ", ".join(f"{r.variable} (line {r.line}" + (f", via {r.via})" if r.via else ")")
                         for r in link.edge.references))
        lines.append(f"  {link.name}: {_flow({'from': link.caller, 'to': link.target})}   # {how}")
    lines += ["", "# Ready when the ingress answers this through its link.",
              f"probe: {_flow({'method': 'GET', 'path': probe_path(compose, topology), 'expect': {'status': 200}})}",
              "", f"load: {_flow({'locustfile': 'locustfile.py', 'user_class': USER_CLASS, 'link': ingress.name})}",
              "", "docker:", f"  compose: {_flow([relative, override_file])}",
              f"  proxy: {_flow({'service': plan.service, 'api_port': PROXY_API_PORT})}", "  links:"]
    for link in plan.links:
        lines.append(f"    {link.name}: {_flow({'listen': f'0.0.0.0:{link.listen}', 'upstream': link.upstream})}")
    lines += ["  # The container port each serves HTTP on (its health check's; the ingress's upstream):",
              "  # the harness reads /metrics there for expect.metrics.",
              f"  services: {_flow({n: {'port': p} for n, p in http_ports(compose, plan).items()})}"]
    return "\n".join(lines) + "\n"


def locustfile(*, name: str, path: str, ingress: str) -> str:
    """A starter locustfile: one ``GET path`` per task on the ingress."""
    return f'''"""Starter load for {name}: one GET {path} on {ingress} per task.

Written by `chaos-harness init`. Make it ask what your users ask. The harness wraps
this class: it paces the users, shapes the load and records every request, so define
no wait_time, shape or listeners here.
"""

from locust import FastHttpUser, task


class {USER_CLASS}(FastHttpUser):
    """One user of {ingress}."""

    @task
    def visit(self) -> None:
        self.client.get({path!r}, name={path!r})
'''


def scenario_yaml(*, name: str, link: str) -> str:
    """The starter scenario: light load, 200 ms on ``link`` for 5 s, SLOs that should hold."""
    fault = f"slow-{link}"
    return f"""# Starter scenario written by `chaos-harness init`: light load through the ingress,
# {LATENCY_MS} ms more on the `{link}` link for {FAULT_FOR_S} s. Run: chaos-harness run starter-scenario.yaml
name: {_flow(f"{name}-starter")}
description: {LATENCY_MS} ms on {link} for {FAULT_FOR_S} s under light load; errors stay low, the steady state comes back.
pipeline: .
backend: docker
seed: 1
load: {{users: 8, spawn_rate: 8, duration: {LOAD_S}s, rate_per_user: 2}}
steady_state:
  window: 3s
  slo: {{error_rate: "< 1%"}}
faults:
  - name: {fault}
    at: {FAULT_AT_S}s
    for: {FAULT_FOR_S}s
    latency: {{link: {link}, latency_ms: {LATENCY_MS}}}
expect:
  overall: {{error_rate: "< 5%"}}
  during: {{{fault}: {{error_rate: "< 5%"}}}}
  recovery_time: "< 10s"
"""
