"""Journal records: the fault proxy."""

from __future__ import annotations

from harness.timeline.records.base import Record, kind


@kind("proxy_server_started")
class ProxyServerStarted(Record):
    """The embedded Toxiproxy-API server was started (cleanup finds it by pid + command)."""

    url: str
    pid: int
    command: list[str]


@kind("proxy_server_found")
class ProxyServerFound(Record):
    """An existing Toxiproxy-API server is used (external, or the docker proxy container).

    ``prefix`` is prepended to every proxy name this run creates: cleanup deletes
    exactly those, on exactly this ``url``.
    """

    url: str
    version: str | None = None
    prefix: str = ""


@kind("proxy_server_stopped")
class ProxyServerStopped(Record):
    """The embedded proxy server was stopped by the run."""

    pid: int


@kind("proxy_server_died")
class ProxyServerDied(Record):
    """The fault proxy went away mid-run, not by the run's hand: the run ends at once."""

    reason: str
    url: str | None = None
    service: str | None = None
    container: str | None = None
    died_at: float | None = None
    pid: int | None = None
    returncode: int | None = None


@kind("proxy_created")
class ProxyCreated(Record):
    """A link's proxy exists: callers of ``link`` reach ``upstream`` through ``listen``."""

    link: str
    listen: str
    upstream: str
    published: str | None = None
    """Docker: the ``127.0.0.1:PORT`` published on the host for ``listen``."""


@kind("proxies_deleted")
class ProxiesDeleted(Record):
    """Cleanup deleted a dead run's proxies (and their toxics) on ``url``."""

    url: str
    prefix: str
    proxies: list[str]
