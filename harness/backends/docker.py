"""The docker backend: the pipeline from its compose file, one project per run.

Everything it needs is in the pipeline's ``docker`` section (``harness.pipeline``):
the compose file (relative to the pipeline directory), the proxy service and its API
port, each link's proxy listen/upstream address, and where each store is published.

``up`` in order:

1. check the local images exist (``chaos-harness images build``),
2. subscribe to the engine's events for this run (die / start / health),
3. ``compose -p chaos-<run id> up -d`` (postgres, setup job, services, proxy server);
   a scenario's ``env`` goes in as one more file, the override ``harness.compose_env``
   writes into the run directory (journaled ``env_overridden``),
4. meanwhile, as soon as the proxy server answers: one proxy per ``docker.links``
   entry through the Toxiproxy HTTP API (``harness.drivers.toxiproxy``),
5. wait until every service's health check passes; journal ``pipeline_up``.

``kill`` signals the container's main process the way a crash or the OOM killer would
(from the host when the engine is local, else ``docker exec``), not with ``docker
kill``: the engine treats ``docker kill`` as a manual stop and would skip the restart
policy. Each service's container and main PID are resolved ahead (once healthy, and
again on every start event), so a kill is one ``os.kill`` and a pause one API call. The engine's own events give the journal ``service_killed`` (``died_at``),
``service_restarted`` (``started_at``) and ``service_healthy`` (``healthy_at``); a
death nobody planned is ``service_died`` (``cause: unplanned``), and the proxy
container's is ``proxy_server_died`` too, which ends the run.
``service_urls`` gives the harness a way in to each service ``docker.services`` declares
a port for: the loopback port compose publishes it on, else the container's address on
the project's network (Linux routes the host to it).
``down`` saves each container's log to ``<run>/logs/`` and force-removes every
container, network and volume labelled with the run id or the project (idempotent).

Every call to the engine is bounded: the SDK client's requests give up after 60 s, the
engine must answer a new client (and the event stream) within ``ANSWER_TIMEOUT``,
compose runs under ``up_timeout``. ``down`` first pings the engine (``PING_TIMEOUT``):
one that does not answer (hung) is not waited for; the journal and the error say what
may remain and that ``chaos-harness cleanup --run-id`` removes it later.

>>> backend = DockerBackend(pipeline=p, run_dir=Path("reports/r1"), journal=j)  # doctest: +SKIP
>>> backend.up(); backend.kill("recommender"); backend.down()
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, ClassVar, Mapping

from harness.backends._docker_events import SERVICE_LABEL, EventWatcher
from harness.backends._docker_targets import ResolvedService, signal_container
from harness.backends.base import env_overrides
from harness.compose_env import compose_services, write_override
from harness.dockerutil import compose_command, docker_client, owner_env, project_name, remove_labelled, run_label
from harness.errors import DriverError, ProbeTimeout
from harness.files import Artifact
from harness.journal import Journal
from harness.pipeline import Pipeline
from harness.timeline.records import (EnvOverridden, PipelineDown, PipelineStarting, PipelineUp, ProxyCreated,
                                      ProxyServerFound, ServicePartitioned, ServicePaused,
                                      ServiceReconnected, ServiceRestarting, ServiceResumed,
                                      ServiceStarted, ServiceStopped)

PING_TIMEOUT = 1.0
"""Seconds ``down`` waits for the engine's ``/_ping`` before giving up on a hung engine."""
_PROJECT_LABEL = "com.docker.compose.project"


class DockerBackend:
    """Runs the pipeline with compose; see the module docstring."""

    name: ClassVar[str] = "docker"

    def __init__(self, *, pipeline: Pipeline, run_dir: Path, journal: Journal, seed: int = 0,
                 env: Mapping[str, Mapping[str, str]] | None = None,
                 compose_file: Path | None = None, up_timeout: float = 120.0):
        self.pipeline, self.run_dir, self.journal, self.seed = pipeline, Path(run_dir), journal, seed
        self.run_id = self.run_dir.name
        self.project = project_name(self.run_id)
        if pipeline.docker is None:
            raise DriverError(f"pipeline {pipeline.name!r} has no docker section (compose file, links): "
                              f"it runs on the process backend only")
        self.docker = pipeline.docker
        self.compose_files = [Path(compose_file)] if compose_file else [pipeline.path(f) for f in self.docker.compose]
        self.compose_file = self.compose_files[0]
        """The first compose file: its directory is the project's (relative paths in every file)."""
        for path in self.compose_files:
            if not path.is_file():
                raise DriverError(f"pipeline {pipeline.name!r}: compose file {path} does not exist")
        self.env = env_overrides(env, compose_services(self.compose_files) if env else (),
                                 f"the compose project of pipeline {pipeline.name!r}")
        """The scenario's environment overrides, by compose service."""
        self.up_timeout = up_timeout
        self.link_specs = self.docker.links
        missing = [name for name, link in pipeline.links.items() if link.on(self.name) and name not in self.link_specs]
        if missing:
            raise DriverError(f"pipeline {pipeline.name!r}: docker.links lacks link(s) {missing} "
                              f"that its links declare")
        self.proxies = None
        self.links: dict[str, str] = {}
        """Link name -> ``127.0.0.1:PORT`` published for its proxy."""
        self._client = None
        self._resolved: dict[str, ResolvedService] = {}
        """Service -> its container and main PID, looked up ahead of the faults."""
        self._events: EventWatcher | None = None
        self._composed = False  # compose up was started: there may be objects to remove

    # ------------------------------------------------------------------ lifecycle
    @property
    def client(self):
        """The Docker SDK client, opened on first use and closed by ``down``."""
        if self._client is None:
            self._client = docker_client()
        return self._client

    def _compose(self, *args: str) -> list[str]:
        files = [part for path in self.compose_files for part in ("-f", str(path))]
        return [*compose_command(), *files, "-p", self.project, *args]

    def up(self) -> None:
        """Compose up, proxies through the API, wait for health (see module docstring)."""
        from harness.images import OWN_PREFIX, absent_images, compose_environment, compose_images

        started = time.monotonic()
        (self.run_dir / "logs").mkdir(parents=True, exist_ok=True)
        variables = compose_environment(self.docker.images)
        wanted = compose_images(self.compose_files, {**os.environ, **variables})
        ours = [t for t in absent_images(wanted, self.client) if t.startswith(OWN_PREFIX)]  # never pulled
        if ours:
            raise DriverError(f"missing image(s) {', '.join(ours)}. Hint: chaos-harness images build "
                              f"{self.pipeline.dir}")
        if self.env:
            override = write_override(self.compose_files, self.env, self.run_dir)
            self.compose_files = [*self.compose_files, override]
            self.journal.emit(EnvOverridden(backend=self.name, services=self.env, file=str(override)))
        env = {**os.environ, **variables, "CHAOS_RUN_ID": self.run_id,
               "CHAOS_SEED": str(self.seed), **owner_env()}
        command = self._compose("up", "-d", "--no-build", "--no-color")
        self.journal.emit(PipelineStarting(backend=self.name, project=self.project, command=command,
                                           compose_file=str(self.compose_file)))
        self._events = EventWatcher(self.client, self.run_id, self.journal, proxy_service=self.docker.proxy.service,
                                    on_start=self._on_start)
        log = open(self.run_dir / "logs" / "compose.log", "ab")
        self._composed = True
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=self.compose_file.parent)
        log.close()
        deadline = started + self.up_timeout
        try:
            self._create_proxies(deadline, proc)
            code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        except BaseException:  # Ctrl-C or a proxy error: compose must not go on creating
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            raise
        if code != 0:
            raise DriverError(f"`{' '.join(command)}` exited {code}; see {self.run_dir / 'logs' / 'compose.log'}")
        self._wait_healthy(deadline)
        containers = self._containers()
        for service, container in containers.items():
            self._resolved[service] = ResolvedService.of(container)
        self.journal.emit(PipelineUp(backend=self.name, project=self.project, links=self.links,
                                     services={s: c.name for s, c in containers.items()},
                                     up_s=round(time.monotonic() - started, 3)))

    def _create_proxies(self, deadline: float, proc: subprocess.Popen) -> None:
        from harness.drivers.toxiproxy import ToxiproxyDriver

        api = self._wait_published(self.docker.proxy.service, self.docker.proxy.api_port, deadline, proc)
        driver = ToxiproxyDriver(f"http://{api}")
        while True:
            try:
                version = driver.version()
                break
            except DriverError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.journal.emit(ProxyServerFound(url=driver.url, version=version.strip()))
        for link, spec in self.link_specs.items():
            driver.create(link, listen=spec.listen, upstream=spec.upstream)
            port = int(spec.listen.rsplit(":", 1)[1])
            self.links[link] = self._wait_published(self.docker.proxy.service, port, deadline, proc)
            self.journal.emit(ProxyCreated(link=link, listen=spec.listen, upstream=spec.upstream,
                                           published=self.links[link]))
        self.proxies = driver

    def _wait_published(self, service: str, port: int, deadline: float,
                        proc: subprocess.Popen | None = None) -> str:
        """``127.0.0.1:HOSTPORT`` published for ``service``'s ``port`` (waits for the container)."""
        while True:
            container = self._containers().get(service)
            if container is not None:
                bindings = (container.attrs["NetworkSettings"]["Ports"] or {}).get(f"{port}/tcp") or []
                if bindings:
                    return f"127.0.0.1:{bindings[0]['HostPort']}"
            if time.monotonic() > deadline or (proc is not None and proc.poll() not in (None, 0)):
                raise DriverError(f"service {service!r} never published port {port} "
                                  f"(see {self.run_dir / 'logs' / 'compose.log'})")
            time.sleep(0.1)

    def _wait_healthy(self, deadline: float) -> None:
        """Every long-running service healthy (or running, if it has no health check)."""
        while True:
            states = {}
            for service, container in self._containers().items():
                state = container.attrs["State"]
                if state.get("Status") == "exited" and state.get("ExitCode") == 0:
                    continue  # the one-shot setup job, done
                states[service] = (state.get("Health") or {}).get("Status") or state.get("Status")
            if states and all(s in ("healthy", "running") for s in states.values()):
                return
            if time.monotonic() > deadline:
                raise ProbeTimeout(f"project {self.project}: services not healthy after "
                                   f"{self.up_timeout:g}s: {states}. Hint: see the container "
                                   f"logs (docker logs) or {self.run_dir / 'logs'}")
            time.sleep(0.2)

    def down(self) -> None:
        """Save logs, then force-remove the run's containers, networks, volumes; idempotent.

        An engine that does not answer its ping is not waited for (see the module docstring).
        """
        started = time.monotonic()
        if self._events is not None:
            self._events.stop()
            self._events = None
        hung = self._composed and self._hung()
        try:
            removed = self._remove_all() if self._composed and not hung else []
        finally:
            if self.proxies is not None:
                self.proxies.close()
            self.proxies, self.links = None, {}
            self._resolved.clear()
            if self._client is not None:
                self._client.close()
                self._client = None
        self.journal.emit(PipelineDown(backend=self.name, project=self.project, removed=removed,
                                       ok=not hung, error=hung, down_s=round(time.monotonic() - started, 3)))
        if hung:
            raise DriverError(f"{hung}: the containers, networks and volumes of project "
                              f"{self.project} may remain. Hint: `chaos-harness cleanup --run-id "
                              f"{self.run_id}` once the engine answers again")

    def _hung(self) -> str | None:
        """Why the engine counts as hung (no answer to a ping), or None when it answers."""
        try:
            if self._client is None:
                self._client = docker_client(answer_timeout=PING_TIMEOUT)
            api, timeout = self._client.api, self._client.api.timeout
            api.timeout = PING_TIMEOUT
            try:
                api.ping()
            finally:
                api.timeout = timeout
        except Exception as exc:  # DriverError, requests' timeouts, API errors
            return f"the Docker engine did not answer a ping within {PING_TIMEOUT:g} s ({exc})"
        return None

    def _remove_all(self) -> list[str]:
        try:
            self._save_logs()
        except Exception:  # logs are a courtesy; removal must still happen
            pass
        return (remove_labelled(run_label(self.run_id), self.client)
                + remove_labelled(f"{_PROJECT_LABEL}={self.project}", self.client))

    def _save_logs(self) -> None:
        logs = self.run_dir / "logs"
        if not logs.is_dir():
            return
        for service, container in self._containers().items():
            (logs / f"docker-{service}.log").write_bytes(container.logs(timestamps=True, tail=5000))

    # ------------------------------------------------------------------ lookups
    def _containers(self) -> dict[str, Any]:
        """Service name -> container of this project (stopped ones included), freshly inspected.

        Listed sparse, then inspected one by one: a container compose is still creating
        (or replacing) can vanish between the two, and is then simply left out.
        """
        import docker

        found = {}
        for container in self.client.containers.list(
                all=True, sparse=True, filters={"label": [f"{_PROJECT_LABEL}={self.project}"]}):
            labels = container.attrs.get("Labels") or {}
            if labels.get("com.docker.compose.oneoff", "False") != "False":
                continue
            try:
                container.reload()
            except docker.errors.NotFound:
                continue
            found[labels.get(SERVICE_LABEL, container.name)] = container
        return found

    def container(self, service: str):
        """The container running ``service``; DriverError naming the services when unknown."""
        found = self._containers()
        if service not in found:
            raise DriverError(f"project {self.project} has no service {service!r}; "
                              f"services: {', '.join(sorted(found)) or 'none (is it up?)'}")
        return found[service]

    def link_url(self, link: str) -> str:
        """``http://127.0.0.1:PORT`` of the link's proxy, published on loopback."""
        if link not in self.links:
            raise DriverError(f"no link {link!r}; links: {', '.join(self.links) or 'none (is it up?)'}")
        return f"http://{self.links[link]}"

    def service_urls(self) -> dict[str, str]:
        """``http://host:port`` of each service ``docker.services`` declares a port for and
        that has a container: on loopback where compose publishes that port, else at the
        container's address on the project's network."""
        urls = {}
        containers = self._containers()
        for service, spec in self.docker.services.items():
            container = containers.get(service)
            address = container and (_published(container, spec.port) or self._on_network(container, spec.port))
            if address:
                urls[service] = f"http://{address}"
        return urls

    def _on_network(self, container, port: int) -> str | None:
        """``IP:port`` of the container on the project's default network (else on any of its own)."""
        networks = container.attrs["NetworkSettings"].get("Networks") or {}
        ordered = sorted(networks.items(), key=lambda item: item[0] != f"{self.project}_default")
        return next((f"{n['IPAddress']}:{port}" for _, n in ordered if n.get("IPAddress")), None)

    def store(self, name: str | None = None):
        """The declared store ``name`` (None: the only one), reached directly on the port
        its service publishes on loopback (``docker.stores``)."""
        from harness.stores.declared import open_declared

        try:
            name, spec = self.pipeline.store_named(name)
        except LookupError as exc:
            raise DriverError(str(exc)) from None
        where = self.docker.stores.get(name)
        if where is None:
            raise DriverError(f"pipeline {self.pipeline.name!r}: docker.stores has no entry for store {name!r}")
        host, published = self._wait_published(where.service, where.port, time.monotonic() + 10).rsplit(":", 1)
        if where.dsn is not None:
            kind, address = "postgres", where.dsn
        else:
            kind, address = spec.kind, where.url or "redis://{host}:{port}/0"
        return open_declared(spec, address=address.format(host=host, port=published),
                             snapshot_dir=self.run_dir, kind=kind)

    def artifact(self, name: str) -> Artifact:
        """The declared artifact ``name`` inside its service's container (``docker.artifacts``;
        ``{seed}`` filled), reached through the Docker SDK."""
        from harness.backends._docker_files import ContainerFiles

        try:
            spec = self.pipeline.artifact_named(name)
        except LookupError as exc:
            raise DriverError(str(exc)) from None
        where = self.docker.artifacts.get(name)
        if where is None:
            raise DriverError(f"pipeline {self.pipeline.name!r}: docker.artifacts has no entry for artifact {name!r}")
        container = self._target(spec.service).container
        files = ContainerFiles(lambda: self._target(spec.service).container, container.name)
        return Artifact(name=name, service=spec.service, files=files,
                        pattern=where.path.replace("{seed}", str(self.seed)), older=spec.older)

    def golden_file(self) -> Path:
        """The golden set copied out of its container (``docker.golden``) into the run directory."""
        import io
        import tarfile

        where = self.docker.golden
        if where is None:
            raise DriverError(f"pipeline {self.pipeline.name!r}: docker.golden says no container holds a golden set")
        try:
            stream, _ = self.container(where.service).get_archive(where.path)
            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
                member = tar.extractfile(tar.getmembers()[0])
                data = member.read() if member else b""
        except Exception as exc:
            raise DriverError(f"golden set {where.service}:{where.path}: {exc}") from None
        target = self.run_dir / "golden-cases.jsonl"
        target.write_bytes(data)
        return target

    # ------------------------------------------------------------------ service faults
    def resolve(self, service: str) -> None:
        """Resolve ``service``'s container and main PID ahead of a fault (DriverError if unknown)."""
        self._target(service)

    def _target(self, service: str) -> ResolvedService:
        """The resolved container of ``service``, looked up again if its PID is stale."""
        resolved = self._resolved.get(service)
        if resolved is None or not resolved.current():
            resolved = self._resolved[service] = ResolvedService.of(self.container(service))
        return resolved

    def _on_start(self, service: str, container_id: str) -> None:
        """The event watcher saw ``service`` start: its main PID changed; resolve it again."""
        import docker

        try:
            self._resolved[service] = ResolvedService.of(self.client.containers.get(container_id))
        except (docker.errors.DockerException, KeyError, ValueError):
            self._resolved.pop(service, None)  # resolved again on first use

    def kill(self, service: str, signal: str = "SIGKILL") -> float:
        """Signal the container's main process; returns once the engine saw it die.
        Returns when the signal was sent (epoch seconds)."""
        target = self._target(service)
        died = self._events.expect_death(service, signal) if self._events else threading.Event()
        how, sent = signal_container(target, signal)
        if not died.wait(15):
            raise DriverError(f"{service} ({target.container.name}) did not die within 15 s of {signal} via {how}")
        return sent

    def pause(self, service: str) -> float:
        """``docker pause`` (cgroup freezer): the process keeps its sockets, answers nothing."""
        container = self._target(service).container
        container.pause()
        done = time.time()
        self.journal.emit(ServicePaused(service=service, container=container.name))
        return done

    def resume(self, service: str) -> float:
        """``docker unpause``."""
        container = self._target(service).container
        container.unpause()
        done = time.time()
        self.journal.emit(ServiceResumed(service=service, container=container.name))
        return done

    def stop_service(self, service: str, timeout: float = 10) -> None:
        """``docker stop`` (a manual stop: the restart policy does not bring it back)."""
        container = self._target(service).container
        if self._events:
            self._events.quiet.add(service)
        container.stop(timeout=int(timeout))
        self.journal.emit(ServiceStopped(service=service, container=container.name))

    def start_service(self, service: str) -> None:
        """``docker start`` after :meth:`stop_service`."""
        container = self._target(service).container
        container.start()
        if self._events:
            self._events.quiet.discard(service)
        self.journal.emit(ServiceStarted(service=service, container=container.name))

    def restart_service(self, service: str, timeout: float = 10) -> None:
        """``docker restart`` (SIGTERM, then start again)."""
        container = self._target(service).container
        self.journal.emit(ServiceRestarting(service=service, container=container.name))
        if self._events:
            self._events.expect_death(service, "restart")
        container.restart(timeout=int(timeout))

    def disconnect(self, service: str) -> list[str]:
        """Take the container off every network it is on; return those networks' names."""
        container = self._target(service).container
        names = list(container.attrs["NetworkSettings"]["Networks"])
        for name in names:
            self.client.networks.get(name).disconnect(container, force=True)
        self.journal.emit(ServicePartitioned(service=service, container=container.name, networks=names))
        return names

    def reconnect(self, service: str, networks: list[str]) -> None:
        """Put the container back on ``networks``, with its service name as DNS alias."""
        container = self._target(service).container
        for name in networks:
            self.client.networks.get(name).connect(container, aliases=[service])
        self.journal.emit(ServiceReconnected(service=service, container=container.name, networks=networks))


def _published(container, port: int) -> str | None:
    """``127.0.0.1:HOSTPORT`` when ``port`` is published on loopback (or on every address), else None."""
    for binding in (container.attrs["NetworkSettings"].get("Ports") or {}).get(f"{port}/tcp") or []:
        if binding.get("HostIp") in ("", "0.0.0.0", "127.0.0.1", "::") and binding.get("HostPort"):
            return f"127.0.0.1:{binding['HostPort']}"
    return None


BACKEND = DockerBackend
