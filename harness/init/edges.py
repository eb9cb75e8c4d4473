"""Inferring a compose file's dependency edges and its ingress, for ``chaos-harness init``.

An **edge** is one service calling another. It is found where the caller's
``environment`` names the other service: a URL (``http://api:8000/v1``,
``redis://cache/0``), a ``host:port`` or a value that is the host name alone
(``DB_HOST: db``); a name inside prose (``"hello api"``) is no address. Its port is
the one written, else the scheme's (``postgres://`` 5432, ...), else the target's only
port. A ``depends_on`` entry with no such reference is an edge ``init`` cannot route:
where the caller gets that address is not in the file, so it is reported, never
proxied (a fault on it would change nothing). One-shot jobs (see
:meth:`~harness.init.compose.ComposeFile.jobs`) are no edges.

A file that already runs a Toxiproxy-API service keeps it: a reference to it is an
edge to the upstream that its ``x-chaos-links`` entry names, or else to the one service
that fits (see :func:`_through_proxy`; that guess is noted). The **ingress** is the long-running service
with a port that no edge ends at (the one with an HTTP health check, then the first,
when several qualify).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.init.compose import ComposeFile, ComposeService

SCHEME_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "redis": 6379, "rediss": 6379,
                "postgres": 5432, "postgresql": 5432, "mysql": 3306, "mariadb": 3306, "amqp": 5672,
                "mongodb": 27017, "nats": 4222, "memcached": 11211, "grpc": 50051}
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://(?:[^@/\s]*@)?$")


@dataclass(frozen=True)
class Reference:
    """One mention of a service in a caller's environment variable."""

    caller: str
    variable: str
    line: int | None
    target: str
    port: int | None
    """The port the caller reaches (None: not known)."""
    span: tuple[int, int]
    """Where ``host[:port]`` sits in the value: what a rewrite replaces."""
    bare: bool
    """The whole value is the host name (the port is configured elsewhere)."""
    via: str | None = None
    """``listen`` of an existing proxy link the caller already goes through."""


@dataclass(frozen=True)
class Edge:
    """A caller reaching a target on one port, with every reference that says so."""

    caller: str
    target: str
    port: int
    references: tuple[Reference, ...]
    link: str | None = None
    """The existing ``x-chaos-links`` name of an edge already behind the proxy."""


@dataclass(frozen=True)
class Topology:
    """What ``init`` inferred: edges, ingress, and every thing it could not infer."""

    edges: tuple[Edge, ...]
    ingress: str | None
    ingress_port: int | None
    proxy: str | None
    """The file's own Toxiproxy-API service, if it has one."""
    notes: tuple[str, ...]


def references(compose: ComposeFile, caller: ComposeService) -> list[Reference]:
    """Every mention of another service (longest names first) in ``caller``'s environment."""
    names = sorted((n for n in compose.services if n != caller.name), key=len, reverse=True)
    found = []
    for variable, value in caller.environment.items():
        taken: list[tuple[int, int]] = []
        for name in names:
            pattern = re.compile(r"(?:^|(?<=//)|(?<=@)|(?<=[=,;\s]))" + re.escape(name) + r"(?::(\d+))?(?=$|[/?,;#\s])")
            for match in pattern.finditer(value):
                bare = match.span() == (0, len(value))
                after_scheme = value[:match.start()].endswith(("//", "@"))
                if any(a < match.end() and match.start() < b for a, b in taken) or not (
                        bare or after_scheme or match.group(1)):
                    continue  # prose ("hello api"), not an address
                taken.append(match.span())
                scheme = _SCHEME.search(value[:match.start()])
                port = int(match.group(1)) if match.group(1) else (
                    SCHEME_PORTS.get(scheme.group(1).lower()) if scheme else None)
                target = compose.services[name]
                if port is None and len(target.ports) == 1:
                    port = target.ports[0]
                found.append(Reference(caller.name, variable, caller.env_lines.get(variable), name, port,
                                       match.span(), bare=bare))
    return found


def infer(compose: ComposeFile) -> Topology:
    """Edges, ingress and notes of ``compose`` (see the module docstring).

    >>> infer(read_compose("docker-compose.yml")).ingress  # doctest: +SKIP
    'web'
    """
    jobs = compose.jobs()
    proxy = next((s.name for s in compose.services.values() if s.is_proxy), None)
    servers = [s for s in compose.services.values() if s.name not in jobs and s.name != proxy]
    notes: list[str] = []
    edges = _edges(compose, servers, jobs, proxy, notes)
    routed = {(e.caller, e.target) for e in edges}
    for caller in servers:
        for target in caller.depends_on:
            if target not in jobs and target != proxy and (caller.name, target) not in routed:
                notes.append(f"{caller.name} depends_on {target}, but nothing in {caller.name}'s environment "
                             f"names {target}: where it gets that address is not in the file, so this edge "
                             f"is not routed through the proxy (point that address at the proxy to add it)")
    ingress, port = _ingress(compose, edges, jobs, proxy, notes)
    for service in servers:
        notes += _service_notes(service)
    return Topology(tuple(edges), ingress, port, proxy, tuple(notes))


def _edges(compose: ComposeFile, servers: list[ComposeService], jobs: set[str], proxy: str | None,
           notes: list[str]) -> list[Edge]:
    """One edge per (caller, target, port), from every reference that can be routed."""
    grouped: dict[tuple[str, str, int], list[Reference]] = {}
    existing: dict[tuple[str, str, int], str] = {}
    for caller in servers:
        for ref in references(compose, caller):
            where = f"{caller.name}: environment {ref.variable}"
            name = None
            if ref.target in jobs:
                continue
            if ref.target == proxy:
                resolved = _through_proxy(compose, caller, ref, jobs, proxy, notes)
                if resolved is None:
                    notes.append(f"{where}: goes through {proxy}:{ref.port}, but to which service "
                                 f"is not known (no x-chaos-links entry for that port, and no one "
                                 f"service fits): not a link")
                    continue
                ref, name = resolved
            elif ref.port is None:
                notes.append(f"{where}: names {ref.target} but its port is not known (no port written, "
                             f"no scheme, and {ref.target} has {len(compose.services[ref.target].ports)} "
                             f"ports): not routed")
                continue
            key = (caller.name, ref.target, ref.port)
            grouped.setdefault(key, []).append(ref)
            if name:
                existing[key] = name
    return [Edge(c, t, p, tuple(refs), existing.get((c, t, p))) for (c, t, p), refs in grouped.items()]


def _service_notes(service: ComposeService) -> list[str]:
    """What in one service's entry limits the runs (health, build, fixed name)."""
    notes = []
    if service.healthcheck is None:
        notes.append(f"{service.name}: no health check; the docker backend waits only until it runs")
    if service.build and not service.image:
        notes.append(f"{service.name}: `build:` without `image:`; runs use `up --no-build`, so give it "
                     f"an `image:` name and build it before the run")
    if service.container_name:
        notes.append(f"{service.name}: container_name {service.container_name!r} is fixed, so two runs "
                     f"cannot overlap and a killed run's container blocks the next one")
    return notes


def _through_proxy(compose: ComposeFile, caller: ComposeService, ref: Reference, jobs: set[str],
                   proxy: str, notes: list[str]) -> tuple[Reference, str | None] | None:
    """The reference to the file's own proxy, turned into one to the service behind it:
    the ``x-chaos-links`` entry for its port, else the first of these that holds exactly
    one service (the guess is noted): the caller's dependencies serving the scheme's
    port, its only dependency, any service serving that port, for ``http(s)`` the only
    other service with an HTTP health check."""
    for name, (listen, upstream) in compose.chaos_links.items():
        if _port_of(listen) == ref.port and ":" in upstream:
            host, port = upstream.rsplit(":", 1)
            if host in compose.services and port.isdigit():
                return _retarget(ref, host, int(port)), name
    scheme = _SCHEME.search(caller.environment[ref.variable][:ref.span[0]])
    scheme = scheme.group(1).lower() if scheme else None
    default = SCHEME_PORTS.get(scheme or "")
    others = [s for s in compose.services.values()
              if s.name not in jobs and s.name != proxy and s.name != caller.name and s.ports]
    deps = [s for s in others if s.name in caller.depends_on]
    pools = (("a dependency serving the scheme's port", [s for s in deps if default in s.ports]),
             ("its only dependency", deps),
             ("the only service serving the scheme's port", [s for s in others if default in s.ports]),
             ("the only other HTTP service", [s for s in others if s.http_health] if scheme in ("http", "https")
              else []))
    for why, pool in pools:
        if len(pool) > 1:
            return None
        if len(pool) == 1:
            target = pool[0]
            port = default if default in target.ports else target.ports[0]
            notes.append(f"{caller.name}: environment {ref.variable} goes through {proxy}:{ref.port}; "
                         f"guessed it leads to {target.name}:{port} ({why}); check docker.links")
            return _retarget(ref, target.name, port), None
    return None


def _retarget(ref: Reference, target: str, port: int) -> Reference:
    return Reference(ref.caller, ref.variable, ref.line, target, port, ref.span, ref.bare,
                     via=f"{ref.target}:{ref.port}")


def _ingress(compose: ComposeFile, edges: list[Edge], jobs: set[str], proxy: str | None,
             notes: list[str]) -> tuple[str | None, int | None]:
    called = {e.target for e in edges} | {t for s in compose.services.values() if s.name not in jobs
                                          for t in s.depends_on}
    servers = [s for s in compose.services.values()
               if s.name not in jobs and s.name != proxy and s.ports]
    candidates = [s for s in servers if s.name not in called] or servers
    if not candidates:
        notes.append("ingress: no long-running service has a port (ports or expose), so there is "
                     "nothing for load to reach")
        return None, None
    best = [s for s in candidates if s.http_health] or candidates
    chosen = best[0]
    if len(candidates) > 1:
        notes.append(f"ingress: guessed {chosen.name} among {', '.join(s.name for s in candidates)} "
                     f"(nothing calls them); change links.ingress in pipeline.yaml if another one "
                     f"takes your users' requests")
    health = chosen.http_health
    port = health.port if health and health.port in chosen.ports else chosen.ports[0]
    if health is None:
        notes.append(f"ingress {chosen.name}: no HTTP URL in its health check, so the probe and the "
                     f"starter load ask for `/`")
    return chosen.name, port


def _port_of(address: str) -> int | None:
    tail = address.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None
