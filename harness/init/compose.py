"""Reading a team's compose file for ``chaos-harness init``: services as found, located.

Only what ``init`` needs is read, in every spelling compose accepts: ``ports`` (short
``"8000"``, ``"127.0.0.1::8000"``, ``"8080:80/tcp"`` or long ``{target: 80}``) and
``expose``, ``environment`` (mapping or ``KEY=VALUE`` list), ``depends_on`` (list or
mapping with ``condition``), ``healthcheck`` (``CMD``, ``CMD-SHELL``, a string, or
``disable``), ``image``, ``build``, ``restart``, ``container_name`` and the
``x-chaos-links`` extension of a file that already has a Toxiproxy. A file that is not
a compose file, or a field that cannot be read, is an
:class:`~harness.errors.InvalidScenario` with ``file:line: field: what``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import InvalidScenario, Problem
from harness.located import problem_at
from harness.yamlfile import Loc, YamlDocument, read_yaml

_PORT = re.compile(r"^(?:(?:\[[^\]]*\]|[^:\[\]]*):)?(?:(\d*)(?:-\d+)?:)?(\d+)(-\d+)?(?:/(tcp|udp|sctp))?$")
"""``[IP:][HOST[-HOST]:]CONTAINER[-CONTAINER][/PROTO]``; group 2 the container port, 3 a range."""
_HEALTH_URL = re.compile(r"https?://(?:127\.0\.0\.1|localhost|0\.0\.0\.0|\[::1\])(?::(\d+))?(/[^\s'\"]*)?")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_PROXY_IMAGE = re.compile(r"toxiproxy|chaos-harness/proxy", re.IGNORECASE)


@dataclass(frozen=True)
class HttpHealth:
    """An HTTP URL on the service itself found in its health check."""

    port: int | None
    path: str


@dataclass(frozen=True)
class ComposeService:
    """One service of the compose file, reduced to what ``init`` reasons about."""

    name: str
    image: str | None = None
    build: bool = False
    ports: tuple[int, ...] = ()
    """TCP container ports: published, exposed, then the one its HTTP health check asks."""
    healthcheck: tuple[str, ...] | None = None
    """The health check's ``test`` as found (``("CMD", "curl", ...)``); None: none or disabled."""
    http_health: HttpHealth | None = None
    environment: dict[str, str] = field(default_factory=dict)
    env_lines: dict[str, int | None] = field(default_factory=dict)
    depends_on: dict[str, str] = field(default_factory=dict)
    """Service -> condition (``service_started`` for the list form)."""
    restart: str | None = None
    container_name: str | None = None

    @property
    def is_proxy(self) -> bool:
        """Whether this service is a Toxiproxy-API server (by name or image)."""
        return self.name == "toxiproxy" or bool(self.image and _PROXY_IMAGE.search(self.image))


@dataclass(frozen=True)
class ComposeFile:
    """The services of one compose file and its declared chaos links, if any."""

    path: Path
    name: str | None
    """The file's top-level ``name``, if any."""
    version: str | None
    services: dict[str, ComposeService]
    chaos_links: dict[str, tuple[str, str]] = field(default_factory=dict)
    """``x-chaos-links``: link -> (listen, upstream) of a file that already has a proxy."""
    networks: dict[str, dict] = field(default_factory=dict)
    """Top-level ``networks`` as written (an empty mapping for ``name:`` alone)."""
    volumes: dict[str, dict] = field(default_factory=dict)
    """Top-level ``volumes`` as written."""

    def jobs(self) -> set[str]:
        """One-shot services: awaited with ``service_completed_successfully``, or
        ``restart: "no"`` with no port."""
        awaited = {name for s in self.services.values() for name, cond in s.depends_on.items()
                   if cond == "service_completed_successfully"}
        quiet = {s.name for s in self.services.values() if s.restart in ("no", "false") and not s.ports}
        return awaited | quiet


class _Reader:
    def __init__(self, doc: YamlDocument):
        self.doc = doc
        self.problems: list[Problem] = []

    def problem(self, loc: Loc, text: str) -> None:
        self.problems.append(problem_at(self.doc, loc, text))

    def mapping(self, value: Any, loc: Loc, what: str) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(loc, f"must be a mapping of {what} (got {type(value).__name__})")
            return {}
        return value

    def service(self, name: Any, spec: Any) -> ComposeService | None:
        loc: Loc = ("services", name)
        if not isinstance(name, str) or not _NAME.match(name):
            self.problem(loc, f"not a compose service name (got {name!r})")
            return None
        if not isinstance(spec, dict):
            self.problem(loc, f"must be a mapping (got {type(spec).__name__})")
            return None
        health = self.healthcheck(spec.get("healthcheck"), loc + ("healthcheck",))
        env, env_lines = self.environment(spec.get("environment"), loc + ("environment",))
        image = spec.get("image")
        if image is not None and not isinstance(image, str):
            self.problem(loc + ("image",), f"must be a string (got {image!r})")
            image = None
        http_health = _http_health(health)
        ports = self.ports(spec.get("ports"), spec.get("expose"), loc)
        if http_health and http_health.port and http_health.port not in ports:
            ports += (http_health.port,)  # a server reached only on the compose network
        return ComposeService(
            name=name, image=image, build="build" in spec, ports=ports,
            healthcheck=health, http_health=http_health, environment=env, env_lines=env_lines,
            depends_on=self.depends_on(spec.get("depends_on"), loc + ("depends_on",)),
            restart=_text(spec.get("restart")), container_name=_text(spec.get("container_name")))

    def ports(self, ports: Any, expose: Any, loc: Loc) -> tuple[int, ...]:
        found: list[int] = []
        for key, entries in (("ports", ports), ("expose", expose)):
            if entries is None:
                continue
            if not isinstance(entries, list):
                self.problem(loc + (key,), f"must be a list (got {type(entries).__name__})")
                continue
            for i, entry in enumerate(entries):
                port = self.port(entry, loc + (key, i))
                if port is not None and port not in found:
                    found.append(port)
        return tuple(found)

    def port(self, entry: Any, loc: Loc) -> int | None:
        if isinstance(entry, dict):
            target, protocol = entry.get("target"), entry.get("protocol", "tcp")
            if not isinstance(target, int) or isinstance(target, bool) or not 0 < target < 65536:
                self.problem(loc + ("target",), f"must be a port number 1-65535 (got {target!r})")
                return None
            return target if protocol == "tcp" else None
        if isinstance(entry, int) and not isinstance(entry, bool):
            entry = str(entry)
        match = _PORT.match(entry) if isinstance(entry, str) else None
        if match is None or not 0 < int(match.group(2)) < 65536:
            self.problem(loc, f"cannot read this port mapping (got {entry!r}); expected "
                              f"[IP:][HOST:]PORT[/PROTOCOL] or {{target: PORT}}")
            return None
        if match.group(3):
            self.problem(loc, f"port ranges are not supported by init (got {entry!r}); "
                              f"list the ports one by one")
            return None
        return int(match.group(2)) if match.group(4) in (None, "tcp") else None

    def healthcheck(self, spec: Any, loc: Loc) -> tuple[str, ...] | None:
        spec = self.mapping(spec, loc, "health check options")
        if not spec or spec.get("disable") is True:
            return None
        test = spec.get("test")
        if isinstance(test, str):
            return ("CMD-SHELL", test)
        if isinstance(test, list) and test and all(isinstance(t, str) for t in test):
            return None if test[0] == "NONE" else tuple(test)
        if test is not None:
            self.problem(loc + ("test",), f"must be a string or a list of strings (got {test!r})")
        return None

    def environment(self, spec: Any, loc: Loc) -> tuple[dict[str, str], dict[str, int | None]]:
        values: dict[str, str] = {}
        lines: dict[str, int | None] = {}
        if isinstance(spec, list):
            for i, entry in enumerate(spec):
                if not isinstance(entry, str) or not entry or entry.startswith("="):
                    self.problem(loc + (i,), f"must be KEY=VALUE or KEY (got {entry!r})")
                elif "=" in entry:
                    key, value = entry.split("=", 1)
                    values[key], lines[key] = value, self.doc.line_of(loc + (i,))
            return values, lines
        for key, value in self.mapping(spec, loc, "variables").items():
            if value is None:
                continue  # taken from the shell: nothing to read here
            if isinstance(value, (dict, list)):
                self.problem(loc + (key,), f"must be a string, number or boolean (got {value!r})")
                continue
            text = str(value).lower() if isinstance(value, bool) else str(value)
            values[str(key)], lines[str(key)] = text, self.doc.line_of(loc + (key,))
        return values, lines

    def depends_on(self, spec: Any, loc: Loc) -> dict[str, str]:
        if isinstance(spec, list):
            names = {}
            for i, entry in enumerate(spec):
                if isinstance(entry, str):
                    names[entry] = "service_started"
                else:
                    self.problem(loc + (i,), f"must be a service name (got {entry!r})")
            return names
        found = {}
        for name, options in self.mapping(spec, loc, "services to their conditions").items():
            condition = (options or {}).get("condition", "service_started") if isinstance(options, dict) else None
            if not isinstance(condition, str):
                self.problem(loc + (name,), f"must be a mapping with a condition (got {options!r})")
                continue
            found[str(name)] = condition
        return found

    def chaos_links(self, spec: Any) -> dict[str, tuple[str, str]]:
        links = {}
        for name, link in self.mapping(spec, ("x-chaos-links",), "links").items():
            if not (isinstance(link, dict) and isinstance(link.get("listen"), str)
                    and isinstance(link.get("upstream"), str)):
                self.problem(("x-chaos-links", name), f"must be {{listen: HOST:PORT, upstream: "
                                                      f"SERVICE:PORT}} (got {link!r})")
                continue
            links[str(name)] = (link["listen"], link["upstream"])
        return links


def read_compose(path: str | Path) -> ComposeFile:
    """Read one compose file; InvalidScenario with every problem found, each located."""
    doc = read_yaml(Path(path))
    where = str(doc.path)
    if not isinstance(doc.data, dict):
        raise InvalidScenario([Problem(where, 1, "services", f"not a compose file: expected a mapping "
                                                             f"with `services`, got {type(doc.data).__name__}")])
    if not isinstance(doc.data.get("services"), dict) or not doc.data["services"]:
        got = "no such key" if "services" not in doc.data else f"got {doc.data['services']!r}"[:80]
        raise InvalidScenario([Problem(where, doc.line_of(("services",)) or 1, "services",
                                       f"not a compose file: expected a non-empty mapping of "
                                       f"services ({got})")])
    reader = _Reader(doc)
    services = {}
    for name, spec in doc.data["services"].items():
        service = reader.service(name, spec)
        if service is not None:
            services[service.name] = service
    for service in services.values():
        for other in service.depends_on:
            if other not in services:
                reader.problem(("services", service.name, "depends_on", other),
                               f"names unknown service {other!r}")
    links = reader.chaos_links(doc.data.get("x-chaos-links"))
    tops = {key: {name: reader.mapping(spec, (key, name), "options")
                  for name, spec in reader.mapping(doc.data.get(key), (key,), key).items()}
            for key in ("networks", "volumes")}
    if reader.problems:
        raise InvalidScenario(reader.problems)
    version = doc.data.get("version")
    name = doc.data.get("name")
    return ComposeFile(path=doc.path, name=name if isinstance(name, str) else None, version=None if version is None else str(version),
                       services=services, chaos_links=links, networks=tops["networks"], volumes=tops["volumes"])


def _http_health(test: tuple[str, ...] | None) -> HttpHealth | None:
    match = _HEALTH_URL.search(" ".join(test)) if test else None
    if match is None:
        return None
    return HttpHealth(int(match.group(1)) if match.group(1) else None, match.group(2) or "/")


def _text(value: Any) -> str | None:
    return None if value is None else str(value).lower() if isinstance(value, bool) else str(value)
