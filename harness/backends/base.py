"""What a backend is: the thing that brings a pipeline up and lets faults reach it.

A backend owns the pipeline's services and the fault proxy in front of every link.
Faults reach the system only through the backend's small surface:

* ``proxies`` — a :class:`~harness.drivers.base.ProxyDriver` (network faults),
* ``resolve`` ahead of a fault, then ``kill / pause / resume`` on a named service
  (process and container faults): each one system call or API call, returning when
  it took effect,
* ``service_urls()`` — where the harness reaches each service directly (its ``/metrics``),
* ``store(name)`` — a declared store as a :class:`~harness.stores.base.FeatureStore`
  (data faults),
* ``artifact(name)`` — a declared artifact as a :class:`~harness.files.Artifact`: the
  service's files (local, in its container, in memory) and the filled path (``model_swap``).

Lifecycle, always in this order (the runner owns it)::

    backend = get_backend(name)(pipeline=..., run_dir=..., journal=..., seed=...)
    backend.up()        # proxy server, one proxy per link, services started + healthy
    ...                 # load, faults
    backend.down()      # idempotent; every process/container/proxy it started is gone
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Iterable, Mapping, Protocol, runtime_checkable

if TYPE_CHECKING:
    from harness.drivers.base import ProxyDriver
    from harness.files import Artifact
    from harness.journal import Journal
    from harness.pipeline import Pipeline
    from harness.stores.base import FeatureStore


@runtime_checkable
class Backend(Protocol):
    """The protocol every backend implements (process, docker, fakes)."""

    name: ClassVar[str]
    proxies: "ProxyDriver"

    def __init__(self, *, pipeline: "Pipeline", run_dir: Path, journal: "Journal",
                 seed: int = 0, env: "Mapping[str, Mapping[str, str]] | None" = None) -> None:
        """``env``: the scenario's environment overrides by service (DriverError naming
        the services when it names one this backend does not run)."""

    def up(self) -> None:
        """Start the proxy, create one proxy per link, start services, wait for health."""

    def down(self) -> None:
        """Stop everything this backend started; safe to call twice or after a failed up."""

    def link_url(self, link: str) -> str:
        """``http://host:port`` through which callers reach the link's target."""

    def service_urls(self) -> dict[str, str]:
        """Service -> ``http://host:port`` where the harness reaches it directly (no
        proxy), on loopback or in the backend's own containers; a service it cannot
        reach is left out."""

    def resolve(self, service: str) -> None:
        """Look the service up ahead of a fault on it (DriverError naming the services if unknown)."""

    def kill(self, service: str, signal: str = "SIGKILL") -> float | None:
        """Kill the service; its restart policy brings it back (journaled). Returns when
        the signal was sent (epoch seconds), or None: when the call returned."""

    def pause(self, service: str) -> float | None:
        """Freeze the service (SIGSTOP / docker pause); returns when, like ``kill``."""

    def resume(self, service: str) -> float | None:
        """Unfreeze a paused service; returns when, like ``kill``."""

    def store(self, name: str | None = None) -> "FeatureStore":
        """The pipeline's store ``name`` (None: its only store), for data faults;
        DriverError when it declares no such store."""

    def artifact(self, name: str) -> "Artifact":
        """The pipeline's artifact ``name``, reachable through its service's files;
        DriverError when it declares no such artifact (or not for this backend)."""

    def golden_file(self) -> "Path":
        """A local copy (or the path) of the golden set the pipeline's setup wrote
        (``golden``); DriverError when it declares none or it is not there."""


def env_overrides(env: "Mapping[str, Mapping[str, str]] | None", services: "Iterable[str]",
                  owner: str) -> dict[str, dict[str, str]]:
    """A copy of a scenario's ``env``; DriverError when it names a service not among
    ``services`` (``owner`` says whose: ``pipeline 'x'``, ``the compose project of ...``)."""
    from harness.errors import DriverError

    env, services = {s: dict(v) for s, v in (env or {}).items()}, list(services)
    unknown = [service for service in env if service not in services]
    if unknown:
        raise DriverError(f"{owner} has no service {unknown[0]!r} to set env on; it has: {', '.join(services)}")
    return env
