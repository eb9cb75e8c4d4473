"""The fault proxy a backend talks to: an external Toxiproxy or our embedded server.

``TOXIPROXY_URL`` set: use that server (proxy names get a per-run prefix so runs
sharing it do not collide; the journal records the URL and the prefix, so ``cleanup``
can delete a killed run's proxies there without the variable). Otherwise start
``python -m harness.proxy`` on a free loopback port as a child process, and stop it at the end.

Every link passes through this server, so it is watched for the whole run: the
embedded process by a thread waiting on it, an external server by polling its API
(``/version``, every ``POLL_S``; ``MISSES`` misses in a row). A death before ``stop``
is journaled as ``proxy_server_died`` (with a ``reason``), which ends the run at once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from harness.drivers.toxiproxy import ToxiproxyDriver
from harness.errors import DriverError, JournalWriteError
from harness.journal import Journal
from harness.probes import HttpProbe, free_port
from harness.priority import raise_priority
from harness.procgroup import describe_exit, stop_group
from harness.timeline.records import (ProxyCreated, ProxyServerDied, ProxyServerFound, ProxyServerStarted,
                                      ProxyServerStopped)

POLL_S, MISSES = 0.5, 2
"""An external proxy server is polled every ``POLL_S`` s; ``MISSES`` failures in a row is a death."""


class FaultProxy:
    """Owns the proxy server's lifetime and the driver that speaks to it."""

    def __init__(self, *, run_id: str, run_dir: Path, journal: Journal, seed: int):
        self.run_id, self.run_dir, self.journal, self.seed = run_id, run_dir, journal, seed
        self.process: subprocess.Popen | None = None
        self.driver: ToxiproxyDriver | None = None
        self.created: list[str] = []
        """Names of the proxies this run created (deleted again by ``stop``)."""
        self._stopping = threading.Event()

    def start(self) -> ToxiproxyDriver:
        """Reach or start the server; return its driver."""
        external = os.environ.get("TOXIPROXY_URL")
        if external:
            self.driver = ToxiproxyDriver(external, prefix=f"chaos-{self.run_id}-")
            self.driver.version()
            self.journal.emit(ProxyServerFound(url=external, prefix=self.driver.prefix))
            self._watch(self._poll_api)
            return self.driver
        port = free_port()
        log = open(self.run_dir / "logs" / "proxy.log", "ab")
        command = [sys.executable, "-m", "harness.proxy", "--host", "127.0.0.1", "--port", str(port),
                   "--seed", str(self.seed)]
        self.process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        raise_priority(self.process.pid)  # it must answer a fault's call at once (harness.priority)
        url = f"http://127.0.0.1:{port}"
        self.journal.emit(ProxyServerStarted(url=url, pid=self.process.pid, command=command))
        HttpProbe(f"{url}/version").with_timeout(15).with_hint(
            f"see {self.run_dir / 'logs' / 'proxy.log'}").wait()
        self.driver = ToxiproxyDriver(url)
        self._watch(self._wait_process)
        return self.driver

    def _watch(self, target) -> None:
        threading.Thread(target=target, name=f"watch-proxy-{self.run_id}", daemon=True).start()

    def _wait_process(self) -> None:
        code = self.process.wait()
        if not self._stopping.is_set():
            self._died(pid=self.process.pid, returncode=code,
                       reason=f"embedded proxy server pid {self.process.pid} at {self.driver.url} "
                              f"{describe_exit(code)}")

    def _poll_api(self) -> None:
        own = ToxiproxyDriver(self.driver.url)  # its own connection: never in the way of a fault's call
        misses = 0
        while not self._stopping.wait(POLL_S):
            try:
                own.version()
                misses = 0
            except DriverError as exc:
                misses += 1
                if misses >= MISSES and not self._stopping.is_set():
                    self._died(reason=f"Toxiproxy at {self.driver.url} stopped answering: {exc}")
                    break
        own.close()

    def _died(self, **fields) -> None:
        try:
            self.journal.emit(ProxyServerDied(url=self.driver.url, **fields))
        except JournalWriteError:  # the runner sees journal.failure and ends the run
            pass

    def create(self, link: str, *, listen: str, upstream: str) -> str:
        """Create the proxy for ``link``; return its real listen address."""
        address = self.driver.create(link, listen=listen, upstream=upstream)
        self.created.append(link)
        self.journal.emit(ProxyCreated(link=link, listen=address, upstream=upstream))
        return address

    def stop(self) -> None:
        """Delete our proxies on an external server, or stop the embedded one."""
        self._stopping.set()
        if self.process is None:
            for link in reversed(self.created):
                self.driver.delete(link)
            self.created.clear()
            self.driver.close()
            return
        if self.driver is not None:
            self.driver.close()
        if stop_group(self.process, 5):
            self.journal.emit(ProxyServerStopped(pid=self.process.pid))
