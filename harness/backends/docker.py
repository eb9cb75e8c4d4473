"""The docker backend: the pipeline from ``docker-compose.chaos.yml``, one project per run.

``up`` in order:

1. check the local images exist (``chaos-harness images build``),
2. subscribe to the engine's events for this run (die / start / health),
3. ``compose -p chaos-<run id> up -d`` (postgres, setup job, services, proxy server),
4. meanwhile, as soon as the proxy server answers: one proxy per ``x-chaos-links``
   entry through the Toxiproxy HTTP API (``harness.drivers.toxiproxy``),
5. wait until every service's health check passes; journal ``pipeline_up``.

``kill`` signals the container's main process the way a crash or the OOM killer would
(from the host when the engine is local, else ``docker exec``), not with ``docker
kill``: the engine treats ``docker kill`` as a manual stop and would skip the restart
policy. The engine's own events give the journal ``service_killed`` (``died_at``),
``service_restarted`` (``started_at``) and ``service_healthy`` (``healthy_at``); a
death nobody planned is ``service_died`` (``cause: unplanned``), and the proxy
container's is ``proxy_server_died`` too, which ends the run.
``down`` saves each container's log to ``<run>/logs/`` and force-removes every
container, network and volume labelled with the run id or the project (idempotent).

Every call to the engine is bounded: the SDK client's requests give up after 60 s, the
engine must answer a new client (and the event stream) within ``ANSWER_TIMEOUT``,
compose runs under ``up_timeout``. ``down`` first pings the engine (``PING_TIMEOUT``):
one that does not answer (hung) is not waited for; the journal and the error say what
may remain and that ``chaos-harness cleanup --run-id`` removes it later.

>>> backend = DockerBackend(pipeline=p, run_dir=Path("reports/r1"), journal=j)  # doctest: +SKIP
>>> backend.up(); backend.kill("model-server"); backend.down()
"""

from __future__ import annotations

import os
import signal as signals
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import yaml

from harness.backends._docker_events import SERVICE_LABEL, EventWatcher
from harness.dockerutil import compose_command, docker_client, owner_env, project_name, remove_labelled, run_label
from harness.errors import DriverError, ProbeTimeout
from harness.journal import Journal
from harness.pipeline import Pipeline

COMPOSE_FILE = Path(os.environ.get("CHAOS_COMPOSE_FILE",
                                   Path(__file__).resolve().parents[2] / "docker-compose.chaos.yml"))
PROXY_SERVICE, PROXY_API_PORT = "toxiproxy", 8474
PING_TIMEOUT = 1.0
"""Seconds ``down`` waits for the engine's ``/_ping`` before giving up on a hung engine."""
_PROJECT_LABEL = "com.docker.compose.project"


class DockerBackend:
    """Runs the pipeline with compose; see the module docstring."""

    name: ClassVar[str] = "docker"

    def __init__(self, *, pipeline: Pipeline, run_dir: Path, journal: Journal, seed: int = 0,
                 compose_file: Path | None = None, up_timeout: float = 120.0):
        self.pipeline, self.run_dir, self.journal, self.seed = pipeline, Path(run_dir), journal, seed
        self.run_id = self.run_dir.name
        self.project = project_name(self.run_id)
        self.compose_file = Path(compose_file or COMPOSE_FILE)
        self.up_timeout = up_timeout
        with open(self.compose_file, encoding="utf-8") as handle:
            spec = yaml.safe_load(handle)
        self.link_specs: dict[str, dict[str, str]] = spec.get("x-chaos-links", {})
        self.store_spec: dict[str, Any] = spec.get("x-chaos-feature-store", {})
        missing = [name for name, link in pipeline.links.items() if link.on(self.name) and name not in self.link_specs]
        if missing:
            raise DriverError(f"{self.compose_file} x-chaos-links lacks link(s) {missing} "
                              f"that pipeline {pipeline.name!r} declares")
        self.proxies = None
        self.links: dict[str, str] = {}
        """Link name -> ``127.0.0.1:PORT`` published for its proxy."""
        self._client = None
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
        return [*compose_command(), "-f", str(self.compose_file), "-p", self.project, *args]

    def up(self) -> None:
        """Compose up, proxies through the API, wait for health (see module docstring)."""
        from harness.images import OWN_PREFIX, compose_environment, missing_images

        started = time.monotonic()
        (self.run_dir / "logs").mkdir(parents=True, exist_ok=True)
        ours = [tag for tag in missing_images(client=self.client) if tag.startswith(OWN_PREFIX)]  # never pulled
        if ours:
            raise DriverError(f"missing image(s) {', '.join(ours)}. Hint: chaos-harness images build")
        env = {**os.environ, **compose_environment(), "CHAOS_RUN_ID": self.run_id,
               "CHAOS_SEED": str(self.seed), **owner_env()}
        command = self._compose("up", "-d", "--no-build", "--no-color")
        self.journal.record("pipeline_starting", backend=self.name, project=self.project,
                            command=command, compose_file=str(self.compose_file))
        self._events = EventWatcher(self.client, self.run_id, self.journal, proxy_service=PROXY_SERVICE)
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
        self.journal.record("pipeline_up", backend=self.name, project=self.project, links=self.links,
                            services={s: c.name for s, c in self._containers().items()},
                            up_s=round(time.monotonic() - started, 3))

    def _create_proxies(self, deadline: float, proc: subprocess.Popen) -> None:
        from harness.drivers.toxiproxy import ProxyDriver

        api = self._wait_published(PROXY_SERVICE, PROXY_API_PORT, deadline, proc)
        driver = ProxyDriver(f"http://{api}")
        while True:
            try:
                version = driver.version()
                break
            except DriverError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.journal.record("proxy_server_found", url=driver.url, version=version.strip())
        for link, spec in self.link_specs.items():
            driver.create(link, listen=spec["listen"], upstream=spec["upstream"])
            port = int(spec["listen"].rsplit(":", 1)[1])
            self.links[link] = self._wait_published(PROXY_SERVICE, port, deadline, proc)
            self.journal.record("proxy_created", link=link, listen=spec["listen"],
                                upstream=spec["upstream"], published=self.links[link])
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
            self.proxies, self.links = None, {}
            if self._client is not None:
                self._client.close()
                self._client = None
        self.journal.record("pipeline_down", backend=self.name, project=self.project, removed=removed,
                            ok=not hung, error=hung, down_s=round(time.monotonic() - started, 3))
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

    def feature_store(self):
        """The PostgreSQL feature table, reached directly on its published loopback port."""
        from harness.stores.postgres import PostgresFeatureStore

        spec = self.pipeline.feature_store
        service, port = self.store_spec.get("service", "postgres"), int(self.store_spec.get("port", 5432))
        host_port = self._wait_published(service, port, time.monotonic() + 10)
        host, published = host_port.rsplit(":", 1)
        dsn = self.store_spec.get("dsn", "postgresql://chaos:chaos@{host}:{port}/features")
        return PostgresFeatureStore(dsn.format(host=host, port=published),
                                    table=spec.table if spec else "features",
                                    key=spec.key if spec else "entity_id")

    # ------------------------------------------------------------------ service faults
    def kill(self, service: str, signal: str = "SIGKILL") -> None:
        """Signal the container's main process; returns once the engine saw it die."""
        container = self.container(service)
        died = self._events.expect_death(service, signal) if self._events else threading.Event()
        how = _signal_container(container, signal)
        if not died.wait(15):
            raise DriverError(f"{service} ({container.name}) did not die within 15 s of {signal} via {how}")

    def pause(self, service: str) -> None:
        """``docker pause`` (cgroup freezer): the process keeps its sockets, answers nothing."""
        container = self.container(service)
        container.pause()
        self.journal.record("service_paused", service=service, container=container.name)

    def resume(self, service: str) -> None:
        """``docker unpause``."""
        container = self.container(service)
        container.unpause()
        self.journal.record("service_resumed", service=service, container=container.name)

    def stop_service(self, service: str, timeout: float = 10) -> None:
        """``docker stop`` (a manual stop: the restart policy does not bring it back)."""
        container = self.container(service)
        if self._events:
            self._events.quiet.add(service)
        container.stop(timeout=int(timeout))
        self.journal.record("service_stopped", service=service, container=container.name)

    def start_service(self, service: str) -> None:
        """``docker start`` after :meth:`stop_service`."""
        container = self.container(service)
        container.start()
        if self._events:
            self._events.quiet.discard(service)
        self.journal.record("service_started", service=service, container=container.name)

    def restart_service(self, service: str, timeout: float = 10) -> None:
        """``docker restart`` (SIGTERM, then start again)."""
        container = self.container(service)
        self.journal.record("service_restarting", service=service, container=container.name)
        if self._events:
            self._events.expect_death(service, "restart")
        container.restart(timeout=int(timeout))

    def disconnect(self, service: str) -> list[str]:
        """Take the container off every network it is on; return those networks' names."""
        container = self.container(service)
        names = list(container.attrs["NetworkSettings"]["Networks"])
        for name in names:
            self.client.networks.get(name).disconnect(container, force=True)
        self.journal.record("service_partitioned", service=service, networks=names)
        return names

    def reconnect(self, service: str, networks: list[str]) -> None:
        """Put the container back on ``networks``, with its service name as DNS alias."""
        container = self.container(service)
        for name in networks:
            self.client.networks.get(name).connect(container, aliases=[service])
        self.journal.record("service_reconnected", service=service, networks=networks)


def _signal_container(container, signal_name: str) -> str:
    """Send ``signal_name`` to the container's main process as a crash would; say how."""
    number = int(getattr(signals, signal_name))
    pid = int(container.attrs["State"].get("Pid") or 0)
    local = os.environ.get("DOCKER_HOST", "unix://").startswith("unix://")
    if local and pid > 0 and os.path.exists(f"/proc/{pid}"):
        try:
            os.kill(pid, number)
            return "host"
        except PermissionError:
            pass
    result = container.exec_run(["bash", "-c", f"kill -{signal_name.removeprefix('SIG')} -1"])
    if result.exit_code not in (0, None, -1, 137):
        raise DriverError(f"could not signal {container.name}: neither from the host (pid {pid}) "
                          f"nor with docker exec: {result.output!r}. Hint: run the harness as root, "
                          "or use an image with bash")
    return "exec"


BACKEND = DockerBackend
