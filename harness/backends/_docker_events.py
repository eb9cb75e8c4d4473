"""The Docker engine's events for one run, turned into journal records.

``die`` / ``start`` / ``health_status`` events of the run's containers become
``service_killed`` (a death the plan asked for), ``service_died`` (``cause:
unplanned``), ``service_restarted`` and ``service_healthy`` (after every start, with
the engine's event times). The fault proxy's container dying unplanned is also
``proxy_server_died``, which ends the run. ``on_start(service, container_id)`` is told
of every start, so the backend can refresh what it resolved ahead (a kill's PID).
"""

from __future__ import annotations

import threading
from typing import Callable

from harness.dockerutil import ANSWER_TIMEOUT, run_label
from harness.errors import DriverError
from harness.journal import Journal
from harness.timeline.records import (ProxyServerDied, ServiceDied, ServiceHealthy, ServiceKilled,
                                      ServiceRestarted)

SERVICE_LABEL = "com.docker.compose.service"


class EventWatcher:
    """Turns the engine's die/start/health events for one run into journal records.

    The stream is opened in the watcher's thread (the SDK waits for it without a
    timeout); the constructor waits ``ANSWER_TIMEOUT`` for it to open, else DriverError.
    """

    def __init__(self, client, run_id: str, journal: Journal, *, proxy_service: str,
                 on_start: Callable[[str, str], None] | None = None):
        self.journal, self.proxy_service, self.on_start = journal, proxy_service, on_start
        self.quiet: set[str] = {"setup"}
        """Services whose deaths are deliberate (stop) or expected (the setup job)."""
        self._expected: dict[str, tuple[threading.Event, str]] = {}
        self._down: dict[str, float] = {}
        self._started: dict[str, float] = {}  # service -> start time, until it is healthy
        self._lock = threading.Lock()
        self._stream = None
        self._opened, self._error = threading.Event(), None
        self._thread = threading.Thread(target=self._run, args=(client, run_id), daemon=True,
                                        name=f"docker-events-{run_id}")
        self._thread.start()
        if not self._opened.wait(ANSWER_TIMEOUT) or self._error is not None:
            raise DriverError(f"the Docker engine did not open its event stream within "
                              f"{ANSWER_TIMEOUT:g} s ({self._error or 'no answer'})")

    def expect_death(self, service: str, cause: str) -> threading.Event:
        """Register a deliberate kill; the event is set when the engine reports the death."""
        with self._lock:
            self._expected[service] = (threading.Event(), cause)
            return self._expected[service][0]

    def stop(self) -> None:
        """Close the stream and let the thread go (it is a daemon if the engine hangs)."""
        try:
            if self._stream is not None:
                self._stream.close()
        except Exception:
            pass
        self._thread.join(0.5)

    def _run(self, client, run_id: str) -> None:
        try:
            self._stream = client.events(decode=True, filters={
                "type": "container", "label": [run_label(run_id)],
                "event": ["die", "start", "health_status"]})
        except Exception as exc:
            self._error = exc
        self._opened.set()
        try:
            for event in self._stream or ():
                self._handle(event)
        except Exception:  # the stream closes with an error on stop(); a full journal
            return

    def _handle(self, event: dict) -> None:
        actor = event.get("Actor", {})
        attrs = actor.get("Attributes", {})
        service, at = attrs.get(SERVICE_LABEL, "?"), event.get("timeNano", 0) / 1e9
        action, container = event.get("Action") or event.get("status", ""), attrs.get("name")
        with self._lock:
            if action == "die":
                self._died(service, at, _int(attrs.get("exitCode")), container)
            elif action == "start":
                self._started[service] = at
                if service in self._down:
                    died_at = self._down.pop(service)
                    self.journal.emit(ServiceRestarted(service=service, container=container, died_at=died_at,
                                                       started_at=at, down_s=round(at - died_at, 3)))
            elif action.startswith("health_status") and "unhealthy" not in action and service in self._started:
                started_at = self._started.pop(service)
                self.journal.emit(ServiceHealthy(service=service, container=container, healthy_at=at,
                                                 after_s=round(at - started_at, 3)))
        if action == "start" and self.on_start is not None:
            self.on_start(service, actor.get("ID", ""))

    def _died(self, service: str, at: float, exit_code: int | None, container: str | None) -> None:
        expected = self._expected.pop(service, None)
        self._started.pop(service, None)
        if expected is None and service in self.quiet:
            return
        self._down[service] = at
        if expected:
            self.journal.emit(ServiceKilled(service=service, container=container, died_at=at,
                                            exit_code=exit_code, cause=expected[1]))
            expected[0].set()
            return
        reason = f"exited with code {exit_code}, not by the plan"
        self.journal.emit(ServiceDied(service=service, container=container, died_at=at, exit_code=exit_code,
                                      cause="unplanned", reason=reason))
        if service == self.proxy_service:  # its proxies were in memory: every link is gone
            self.journal.emit(ProxyServerDied(service=service, container=container, died_at=at,
                                              reason=f"container {container} {reason}"))


def _int(text: str | None) -> int | None:
    """The engine's ``exitCode`` attribute (a string) as a number."""
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None
