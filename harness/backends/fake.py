"""A backend that starts nothing: the :class:`~harness.backends.base.Backend` protocol in
memory, for the runner's unit tests and ``chaos-harness run --dry-run``.

It answers as the process backend does (the same links, the same unknown-service
error), journals the same records, and logs every call it is asked to make in
:attr:`FakeBackend.calls`; its proxies are a :class:`~harness.drivers.fake.FakeProxyDriver`,
its feature store a :class:`~harness.stores.memory.MemoryFeatureStore` and its artifacts'
files :class:`~harness.files.MemoryFiles`. It is not offered to users
(``backend_names()`` does not list it).

``fail={"kill": DriverError("boom")}`` makes a call raise (any of ``up``, ``down`` and
the service calls), so a test can break a run at a chosen step; ``step_s`` is how long
each call takes on the clock.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Mapping

from harness.backends.base import env_overrides
from harness.clock import Clock, FakeClock
from harness.drivers.fake import FakeProxyDriver
from harness.errors import DriverError
from harness.files import Artifact, MemoryFiles
from harness.journal import Journal
from harness.pipeline import Pipeline
from harness.stores.memory import MemoryFeatureStore
from harness.timeline.records import (EnvOverridden, PipelineDown, PipelineUp, ServiceKilled, ServicePartitioned,
                                      ServicePaused, ServiceReconnected, ServiceRestarting, ServiceResumed,
                                      ServiceStarted, ServiceStopped)


@dataclass(frozen=True)
class BackendCall:
    """One call the fake backend was asked to make, and when (its clock's epoch seconds)."""

    at: float
    action: str
    service: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """What was asked, in words (``run --dry-run`` prints it)."""
        extra = ", ".join(f"{k} {v}" for k, v in self.details.items())
        return " ".join(part for part in (self.action, self.service, extra and f"({extra})") if part)


class FakeBackend:
    """Every service "runs", every link is a fake proxy; see the module docstring."""

    name: ClassVar[str] = "fake"

    def __init__(self, *, pipeline: Pipeline, run_dir: Path | None, journal: Journal, seed: int = 0,
                 clock: Clock | None = None, mimics: str = "process", step_s: float = 0.0,
                 fail: dict[str, BaseException] | None = None, env: Mapping[str, Mapping[str, str]] | None = None):
        self.pipeline, self.journal, self.seed = pipeline, journal, seed
        self.env = env_overrides(env, pipeline.services, f"pipeline {pipeline.name!r}")
        """The scenario's environment overrides (journaled at ``up``, applied to nothing)."""
        self.clock = clock if clock is not None else FakeClock()
        self.mimics, self.step_s, self.fail = mimics, step_s, dict(fail or {})
        self.calls: list = []
        """Every call made to this backend, its proxies and its store, in order
        (:class:`BackendCall`, ``ProxyCall``, ``StoreCall``)."""
        self.proxies = FakeProxyDriver(clock=self.clock, calls=self.calls)
        self.stores = {name: MemoryFeatureStore(columns=tuple(spec.columns or ("feature",)),
                                                table=spec.table, key=spec.key, calls=self.calls)
                       for name, spec in pipeline.stores.items()}
        """One in-memory table per declared store."""
        self.artifacts: dict[str, MemoryFiles] = {}
        """Each declared artifact's files, made on first use."""
        self.links: dict[str, str] = {}
        self.up_done = self.down_done = False

    def _call(self, action: str, service: str = "", **details: Any) -> float:
        """Log the call (after ``step_s`` on the clock); raise what ``fail`` holds for it."""
        self.clock.sleep(self.step_s)
        at = self.clock.time()
        self.calls.append(BackendCall(at, action, service, details))
        if action in self.fail:
            raise self.fail.pop(action)
        return at

    def up(self) -> None:
        """Create a fake proxy for every link this backend would have; journal ``pipeline_up``."""
        self._call("up")
        if self.env:
            self.journal.emit(EnvOverridden(backend=self.name, services=self.env))
        for link, spec in self.pipeline.links.items():
            if spec.on(self.mimics):
                self.links[link] = self.proxies.create(link, listen="127.0.0.1:0", upstream=f"{spec.to}:0")
        self.up_done = True
        self.journal.emit(PipelineUp(backend=self.name, links=dict(self.links),
                                     services={name: {} for name in self.pipeline.start_order()}))

    def down(self) -> None:
        """Journal ``pipeline_down``; safe to call twice, like every backend's."""
        self.down_done = True
        self._call("down")
        self.journal.emit(PipelineDown(backend=self.name))

    def link_url(self, link: str) -> str:
        """``http://`` and the link's fake proxy address."""
        if link not in self.links:
            raise DriverError(f"no link {link!r}; links: {', '.join(self.links) or 'none (is it up?)'}")
        return f"http://{self.links[link]}"

    def service_urls(self) -> dict[str, str]:
        """Empty: nothing runs here to be reached."""
        return {}

    def resolve(self, service: str) -> None:
        """DriverError for a service the pipeline does not declare (as the process backend says it)."""
        if service not in self.pipeline.services:
            raise DriverError(f"no running service {service!r}; services: {', '.join(self.pipeline.services)}")

    def kill(self, service: str, signal: str = "SIGKILL") -> float:
        """Log the kill; returns when it was "sent"."""
        self.resolve(service)
        at = self._call("kill", service, signal=signal)
        self.journal.emit(ServiceKilled(service=service, signal=signal, sent_at=at))
        return at

    def pause(self, service: str) -> float:
        """Log the pause."""
        self.resolve(service)
        at = self._call("pause", service)
        self.journal.emit(ServicePaused(service=service))
        return at

    def resume(self, service: str) -> float:
        """Log the resume."""
        at = self._call("resume", service)
        self.journal.emit(ServiceResumed(service=service))
        return at

    def stop_service(self, service: str, timeout: float = 10) -> None:
        """Log ``docker stop``."""
        self._call("stop", service, timeout_s=timeout)
        self.journal.emit(ServiceStopped(service=service))

    def start_service(self, service: str) -> None:
        """Log ``docker start``."""
        self._call("start", service)
        self.journal.emit(ServiceStarted(service=service))

    def restart_service(self, service: str, timeout: float = 10) -> None:
        """Log ``docker restart``."""
        self.journal.emit(ServiceRestarting(service=service))
        self._call("restart", service, timeout_s=timeout)

    def disconnect(self, service: str) -> list[str]:
        """Log the partition; the service "was" on one network."""
        networks = ["default"]
        self._call("disconnect", service, networks=networks)
        self.journal.emit(ServicePartitioned(service=service, networks=networks))
        return networks

    def reconnect(self, service: str, networks: list[str]) -> None:
        """Log the reconnection."""
        self._call("reconnect", service, networks=list(networks))
        self.journal.emit(ServiceReconnected(service=service, networks=list(networks)))

    def artifact(self, name: str) -> Artifact:
        """The declared artifact ``name`` in memory: one file matching its path (``*`` read as
        ``0``; the ``docker.artifacts`` one when mimicking docker), one older version beside
        it; placeholders are left as they are."""
        try:
            spec = self.pipeline.artifact_named(name)
        except LookupError as exc:
            raise DriverError(str(exc)) from None
        docker = self.pipeline.docker.artifacts.get(name) if self.pipeline.docker else None
        pattern = docker.path if docker is not None and self.mimics == "docker" else spec.path
        if name not in self.artifacts:
            path = pattern.replace("*", "0").replace("?", "0")
            older = posixpath.join(posixpath.dirname(path), spec.older.replace("*", "older").replace("?", "0"))
            self.artifacts[name] = MemoryFiles({path: b"served version", older: b"older version"},
                                               calls=self.calls, clock=self.clock)
        return Artifact(name=name, service=spec.service, files=self.artifacts[name], pattern=pattern,
                        older=spec.older)

    def golden_file(self) -> Path:
        """Refused: nothing runs the pipeline's setup here, so there is no golden set."""
        raise DriverError(f"the fake backend runs no setup: pipeline {self.pipeline.name!r} has no golden set here")

    def store(self, name: str | None = None) -> MemoryFeatureStore:
        """The in-memory table (DriverError if the pipeline declares none, as on the process backend)."""
        try:
            return self.stores[self.pipeline.store_named(name)[0]]
        except LookupError as exc:
            raise DriverError(str(exc)) from None
