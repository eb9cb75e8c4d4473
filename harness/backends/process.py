"""The embedded backend: every service a supervised local process on a loopback port.

``up`` in order: proxy server -> a proxy per link -> setup commands -> services in
dependency order, each health-checked. ``kill`` is a real signal to the service's
process group; the supervisor restarts it after ``restart_delay`` like a restart
policy would. ``pause``/``resume`` are SIGSTOP/SIGCONT. Logs go to ``<run>/logs/``.
A scenario's ``env`` is merged over each named service's declared ``env`` (journaled
``env_overridden``).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar, Mapping

from harness.backends._proxy import FaultProxy
from harness.backends.base import env_overrides
from harness.errors import DriverError
from harness.files import Artifact, LocalFiles
from harness.journal import Journal
from harness.pipeline import Pipeline
from harness.probes import HttpProbe, TcpProbe, free_port
from harness.stores.base import FeatureStore
from harness.supervisor import SupervisedProcess
from harness.timeline.records import (EnvOverridden, PipelineDown, PipelineUp, ServiceKilled, ServicePaused,
                                      ServiceResumed, SetupStarted)

_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_.-]+)\}")
CACHE_DIR = Path(os.environ.get("CHAOS_CACHE_DIR", Path.home() / ".cache" / "chaos-harness"))


class ProcessBackend:
    """Runs the pipeline as local processes; see the module docstring."""

    name: ClassVar[str] = "process"

    def __init__(self, *, pipeline: Pipeline, run_dir: Path, journal: Journal, seed: int = 0,
                 env: Mapping[str, Mapping[str, str]] | None = None):
        self.pipeline, self.run_dir, self.journal, self.seed = pipeline, Path(run_dir), journal, seed
        self.env = env_overrides(env, pipeline.services, f"pipeline {pipeline.name!r}")
        """The scenario's environment overrides, by service."""
        self.ports = {name: free_port() for name in pipeline.services}
        self.links: dict[str, str] = {}
        self.services: dict[str, SupervisedProcess] = {}
        self._proxy = FaultProxy(run_id=self.run_dir.name, run_dir=self.run_dir, journal=journal, seed=seed)
        self.proxies = None

    def up(self) -> None:
        """Proxy server, link proxies, setup commands, then services (health-checked)."""
        (self.run_dir / "logs").mkdir(parents=True, exist_ok=True)
        self.proxies = self._proxy.start()
        for link, spec in self.pipeline.links.items():
            if not spec.on(self.name):
                continue
            upstream = spec.upstream or f"127.0.0.1:{self.ports[spec.to]}"
            self.links[link] = self._proxy.create(link, listen="127.0.0.1:0", upstream=upstream)
        if self.env:
            self.journal.emit(EnvOverridden(backend=self.name, services=self.env))
        for command in self.pipeline.setup:
            self._run_setup([self._fill(part) for part in command])
        for name in self.pipeline.start_order():
            self._start_service(name)
        self.journal.emit(PipelineUp(backend=self.name, links=self.links, services={
            n: {"pid": s.pid, "port": self.ports[n]} for n, s in self.services.items()}))

    def fill(self, text: str) -> str:
        """``text`` with the pipeline's placeholders filled (``{cache}``, ``{run_dir}``, ``{seed}``...)."""
        return self._fill(text)

    def _fill(self, text: str, service: str | None = None) -> str:
        values = {"python": sys.executable, "dir": str(self.pipeline.dir), "run_dir": str(self.run_dir),
                  "cache": str(CACHE_DIR), "seed": str(self.seed),
                  **{f"links.{k}": v for k, v in self.links.items()},
                  **{f"ports.{k}": str(v) for k, v in self.ports.items()}}
        if service:
            values["port"] = str(self.ports[service])

        def lookup(match: re.Match) -> str:
            if match[1] not in values:
                raise DriverError(f"pipeline {self.pipeline.name!r}: unknown placeholder {{{match[1]}}}")
            return values[match[1]]

        return _PLACEHOLDER.sub(lookup, text)

    def _run_setup(self, command: list[str]) -> None:
        self.journal.emit(SetupStarted(command=command))
        with open(self.run_dir / "logs" / "setup.log", "ab") as log:
            code = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   cwd=self.pipeline.dir)
        if code != 0:
            raise DriverError(f"pipeline setup {command} exited {code}; see {self.run_dir / 'logs' / 'setup.log'}")

    def _health_probe(self, name: str) -> HttpProbe | TcpProbe:
        health, hint = self.pipeline.services[name].health, f"see {self.run_dir / 'logs' / (name + '.log')}"
        if health.tcp:
            return TcpProbe("127.0.0.1", self.ports[name]).with_hint(hint)
        return HttpProbe(f"http://127.0.0.1:{self.ports[name]}{health.path}").with_hint(hint)

    def _start_service(self, name: str) -> None:
        spec = self.pipeline.services[name]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "CHAOS_SEED": str(self.seed),
               **{k: self._fill(v, name) for k, v in {**spec.env, **self.env.get(name, {})}.items()}}
        probe = self._health_probe(name)
        service = SupervisedProcess(
            name=name, command=[self._fill(part, name) for part in spec.command], env=env,
            log_path=self.run_dir / "logs" / f"{name}.log", journal=self.journal,
            restart_delay=spec.restart_delay, health=probe.check_once, cwd=self.pipeline.dir)
        self.services[name] = service
        service.start()
        probe.with_timeout(60).wait()
        self.journal.emit(service.healthy())

    def link_url(self, link: str) -> str:
        """``http://127.0.0.1:PORT`` of the link's proxy."""
        return f"http://{self.links[link]}"

    def service_urls(self) -> dict[str, str]:
        """``http://127.0.0.1:PORT`` of every service (its own loopback port, no proxy)."""
        return {name: f"http://127.0.0.1:{port}" for name, port in self.ports.items()}

    def _service(self, name: str) -> SupervisedProcess:
        if name not in self.services:
            raise DriverError(f"no running service {name!r}; services: {', '.join(self.services)}")
        return self.services[name]

    def resolve(self, service: str) -> None:
        """Make sure ``service`` runs here (DriverError naming the services otherwise)."""
        self._service(service)

    def kill(self, service: str, signal_name: str = "SIGKILL") -> float:
        """Signal the service's process group (a planned death); the supervisor restarts it.
        Returns when the signal was sent (epoch seconds)."""
        target = self._service(service)
        target.expect_exit(f"{signal_name} from the plan")
        pid = target.pid
        target.signal(getattr(signal, signal_name))
        sent = time.time()
        self.journal.emit(ServiceKilled(service=service, pid=pid, signal=signal_name, sent_at=sent))
        return sent

    def pause(self, service: str) -> float:
        """SIGSTOP the service; returns when it was sent."""
        target = self._service(service)
        target.signal(signal.SIGSTOP)
        sent = time.time()
        self.journal.emit(ServicePaused(service=service, pid=target.pid))
        return sent

    def resume(self, service: str) -> float:
        """SIGCONT the service; returns when it was sent."""
        target = self._service(service)
        target.signal(signal.SIGCONT)
        sent = time.time()
        self.journal.emit(ServiceResumed(service=service, pid=target.pid))
        return sent

    def store(self, name: str | None = None) -> FeatureStore:
        """The declared store ``name`` (None: the only one), its address's placeholders filled."""
        from harness.stores.declared import open_declared

        try:
            _, spec = self.pipeline.store_named(name)
        except LookupError as exc:
            raise DriverError(str(exc)) from None
        return open_declared(spec, address=self._fill(spec.sqlite or spec.postgres or spec.redis.url),
                             snapshot_dir=self.run_dir)

    def artifact(self, name: str) -> Artifact:
        """The declared artifact ``name``: local files, its path's placeholders filled."""
        try:
            spec = self.pipeline.artifact_named(name)
        except LookupError as exc:
            raise DriverError(str(exc)) from None
        return Artifact(name=name, service=spec.service, files=LocalFiles(), pattern=self._fill(spec.path),
                        older=spec.older)

    def golden_file(self) -> Path:
        """The pipeline's ``golden`` path, its placeholders filled; DriverError when absent."""
        if self.pipeline.golden is None:
            raise DriverError(f"pipeline {self.pipeline.name!r} declares no golden set")
        path = Path(self._fill(self.pipeline.golden))
        if not path.is_file():
            raise DriverError(f"pipeline {self.pipeline.name!r}: golden set {path} does not exist")
        return path

    def down(self) -> None:
        """Stop every service (no restart), then the proxies; idempotent."""
        for name in reversed(list(self.services)):
            self.services[name].stop()
        self.services.clear()
        self._proxy.stop()
        self.proxies = None
        self.journal.emit(PipelineDown(backend=self.name))


BACKEND = ProcessBackend
