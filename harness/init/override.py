"""The compose override ``chaos-harness init`` writes: every inferred edge through a proxy.

The team's file is never edited. Compose merges the override over it
(``-f theirs.yml -f compose.override.yml``), and the override

* adds a Toxiproxy-API service (``chaos-proxy``, image ``${TOXIPROXY_IMAGE}``, default
  ``chaos-harness/proxy:local``), unless the file already has one, which is then used;
* publishes its API port and every link's listen port on 127.0.0.1, on ephemeral host ports;
* rewrites, in each caller's ``environment``, the ``host[:port]`` of each edge to the
  proxy's listen port for it (a bare host name keeps its port: that link listens on
  the target's own port), and makes the caller depend on the proxy;
* labels every service, the default network and every network and volume the file
  defines (not ``external`` ones) with the run id and owner, so ``down`` and
  ``chaos-harness cleanup`` find them (each definition repeated whole: compose v1
  replaces a repeated top-level definition rather than merging it).

Each link's proxy is created by the harness through the Toxiproxy API at ``up``.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.init.compose import ComposeFile
from harness.init.edges import Edge, Topology

PROXY_NAME, PROXY_API_PORT = "chaos-proxy", 8474
FIRST_LISTEN_PORT = 20000
LABELS = {"chaos-harness.run-id": "${CHAOS_RUN_ID:-manual}",
          "chaos-harness.owner-pid": "${CHAOS_OWNER_PID:-0}",
          "chaos-harness.owner-start": "${CHAOS_OWNER_START:-}",
          "chaos-harness.owner-host": "${CHAOS_OWNER_HOST:-}"}
"""The labels the docker backend and ``cleanup`` find a run's containers by."""
_HEALTH = {"test": ["CMD", "/toxiproxy-cli", "list"], "interval": "1s", "timeout": "3s", "retries": 5,
           "start_period": "60s"}


@dataclass(frozen=True)
class Link:
    """One proxy: ``caller`` (a service or ``load``) reaches ``upstream`` via ``listen``."""

    name: str
    caller: str
    target: str
    upstream: str
    listen: int
    edge: Edge | None
    """The edge it routes (None for the ingress); its references are rewritten."""

    @property
    def rewired(self) -> bool:
        """Whether the override points the caller at the proxy (not already so in the file)."""
        return self.edge is not None and all(r.via is None for r in self.edge.references)


@dataclass(frozen=True)
class ProxyPlan:
    """The proxy service, its links, and the edges left out for want of a port."""

    service: str
    new: bool
    links: tuple[Link, ...]
    notes: tuple[str, ...]


def plan_links(compose: ComposeFile, topology: Topology) -> ProxyPlan:
    """Name every link and give it a listen port on the proxy service."""
    service = topology.proxy or _free_name(compose, PROXY_NAME)
    used = {PROXY_API_PORT} | {int(ls.rsplit(":", 1)[1]) for ls, _ in compose.chaos_links.values()}
    used |= {r.port for e in topology.edges for r in e.references if r.via is not None and r.port}
    names = set(compose.chaos_links)
    links: list[Link] = []
    notes: list[str] = []
    callers_of: dict[str, int] = {}
    for edge in topology.edges:
        callers_of[edge.target] = callers_of.get(edge.target, 0) + 1
    for edge in topology.edges:
        via = [r.via for r in edge.references if r.via]
        if via:
            listen = int(via[0].rsplit(":", 1)[1])
        elif any(r.bare for r in edge.references):
            listen = edge.port
            if listen in used:
                notes.append(f"{edge.caller} -> {edge.target}: {edge.caller} names {edge.target} by host "
                             f"alone (port {edge.port} set elsewhere) and the proxy's port {listen} is "
                             f"taken: not routed")
                continue
        else:
            listen = _free_port(used)
        used.add(listen)
        name = edge.link or _free_link(names, edge.target if callers_of[edge.target] == 1
                                       else f"{edge.caller}-{edge.target}")
        names.add(name)
        links.append(Link(name, edge.caller, edge.target, f"{edge.target}:{edge.port}", listen, edge))
    if topology.ingress is not None:
        links.append(_ingress_link(compose, topology, links, names, used))
    return ProxyPlan(service, topology.proxy is None, tuple(links), tuple(notes))


def _ingress_link(compose: ComposeFile, topology: Topology, links: list[Link], names: set[str],
                  used: set[int]) -> Link:
    """The load's link: an ``x-chaos-links`` entry that already leads to the ingress, else a new one."""
    upstream = f"{topology.ingress}:{topology.ingress_port}"
    for name, (listen, up) in compose.chaos_links.items():
        if up == upstream and name not in {link.name for link in links}:
            return Link(name, "load", topology.ingress, upstream, int(listen.rsplit(":", 1)[1]), None)
    return Link(_free_link(names, "ingress"), "load", topology.ingress, upstream, _free_port(used), None)


def build_override(compose: ComposeFile, plan: ProxyPlan) -> dict:
    """The override document (see the module docstring) as plain data, ready to dump."""
    proxy_ports = [] if not plan.new else [f"127.0.0.1::{PROXY_API_PORT}"]
    published = set(compose.services[plan.service].ports) if not plan.new else set()
    for port in [PROXY_API_PORT, *(link.listen for link in plan.links)]:
        if port not in published and f"127.0.0.1::{port}" not in proxy_ports:
            proxy_ports.append(f"127.0.0.1::{port}")
    services: dict[str, dict] = {}
    if plan.new:
        services[plan.service] = {"image": "${TOXIPROXY_IMAGE:-chaos-harness/proxy:local}",
                                  "command": ["-host=0.0.0.0", f"-port={PROXY_API_PORT}"],
                                  "ports": proxy_ports, "healthcheck": dict(_HEALTH),
                                  "restart": "unless-stopped"}
    elif proxy_ports:
        services[plan.service] = {"ports": proxy_ports}
    for link in plan.links:
        if link.rewired:
            services[link.caller] = {"environment": _rewritten(compose, plan, link.caller),
                                     "depends_on": {plan.service: {"condition": "service_started"}}}
    for name in compose.services:
        services.setdefault(name, {})["labels"] = dict(LABELS)
    if plan.new:
        services[plan.service]["labels"] = dict(LABELS)
    doc: dict = {"version": compose.version} if compose.version else {}
    doc["services"] = services
    for key, found in (("networks", {"default": {}, **compose.networks}), ("volumes", compose.volumes)):
        labelled = {name: _labelled(spec) for name, spec in found.items() if not spec.get("external")}
        if labelled:
            doc[key] = labelled
    return doc


def _labelled(spec: dict) -> dict:
    """A network's or volume's definition as written, with the run's labels added.

    Compose v1 replaces a top-level definition that a later file repeats, so the whole
    definition is repeated here, not only the labels."""
    labels = spec.get("labels") or {}
    if isinstance(labels, list):
        labels = dict(item.split("=", 1) if "=" in item else (item, "") for item in labels)
    return {**spec, "labels": {**labels, **LABELS}}


def _rewritten(compose: ComposeFile, plan: ProxyPlan, caller: str) -> dict[str, str]:
    """``caller``'s rewritten variables: each edge's ``host[:port]`` -> the proxy's."""
    spans: dict[str, list[tuple[int, int, str]]] = {}
    for link in plan.links:
        if link.rewired and link.caller == caller:
            for ref in link.edge.references:
                new = plan.service if ref.bare else f"{plan.service}:{link.listen}"
                spans.setdefault(ref.variable, []).append((*ref.span, new))
    env = {}
    for variable, edits in spans.items():
        value = compose.services[caller].environment[variable]
        for start, end, new in sorted(edits, reverse=True):
            value = value[:start] + new + value[end:]
        env[variable] = value
    return env


def _free_name(compose: ComposeFile, name: str) -> str:
    candidate, n = name, 1
    while candidate in compose.services:
        n += 1
        candidate = f"{name}-{n}"
    return candidate


def _free_link(names: set[str], name: str) -> str:
    candidate, n = name, 1
    while candidate in names:
        n += 1
        candidate = f"{name}-{n}"
    return candidate


def _free_port(used: set[int]) -> int:
    port = FIRST_LISTEN_PORT
    while port in used:
        port += 1
    used.add(port)
    return port
