"""The Docker engine's events for one run, turned into journal records.

``die`` / ``start`` / ``health_status`` events of the run's containers become
``service_killed`` (a death the plan asked for), ``service_died`` (``cause:
unplanned``), ``service_restarted`` and ``service_healthy``. The fault proxy's
container dying unplanned is also ``proxy_server_died``, which ends the run.
"""

from __future__ import annotations

import threading

from harness.dockerutil import ANSWER_TIMEOUT, run_label
from harness.errors import DriverError
from harness.journal import Journal

SERVICE_LABEL = "com.docker.compose.service"


class EventWatcher:
    """Turns the engine's die/start/health events for one run into journal records.

    The stream is opened in the watcher's thread (the SDK waits for it without a
    timeout); the constructor waits ``ANSWER_TIMEOUT`` for it to open, else DriverError.
    """

    def __init__(self, client, run_id: str, journal: Journal, *, proxy_service: str):
        self.journal, self.proxy_service = journal, proxy_service
        self.quiet: set[str] = {"setup"}
        """Services whose deaths are deliberate (stop) or expected (the setup job)."""
        self._expected: dict[str, tuple[threading.Event, str]] = {}
        self._down: dict[str, float] = {}
        self._restarted: dict[str, tuple[float, float]] = {}
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
        attrs = event.get("Actor", {}).get("Attributes", {})
        service, at = attrs.get(SERVICE_LABEL, "?"), event.get("timeNano", 0) / 1e9
        action, fields = event.get("Action") or event.get("status", ""), {"container": attrs.get("name")}
        with self._lock:
            if action == "die":
                self._died(service, at, attrs.get("exitCode"), fields)
            elif action == "start" and service in self._down:
                died_at = self._down.pop(service)
                self._restarted[service] = (died_at, at)
                self.journal.record("service_restarted", service=service, died_at=died_at, started_at=at,
                                    down_s=round(at - died_at, 3), **fields)
            elif action.startswith("health_status") and "unhealthy" not in action and service in self._restarted:
                died_at, started_at = self._restarted.pop(service)
                self.journal.record("service_healthy", service=service, healthy_at=at,
                                    after_death_s=round(at - died_at, 3), **fields)

    def _died(self, service: str, at: float, exit_code: str | None, fields: dict) -> None:
        expected = self._expected.pop(service, None)
        if expected is None and service in self.quiet:
            return
        self._down[service] = at
        if expected:
            self.journal.record("service_killed", service=service, died_at=at, exit_code=exit_code,
                                cause=expected[1], **fields)
            expected[0].set()
            return
        reason = f"exited with code {exit_code}, not by the plan"
        self.journal.record("service_died", service=service, died_at=at, exit_code=exit_code,
                            cause="unplanned", reason=reason, **fields)
        if service == self.proxy_service:  # its proxies were in memory: every link is gone
            self.journal.record("proxy_server_died", service=service, died_at=at,
                                reason=f"container {fields['container']} {reason}", **fields)
