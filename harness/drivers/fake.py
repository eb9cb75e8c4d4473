"""An in-memory fault proxy: the :class:`~harness.drivers.base.ProxyDriver` protocol,
with Toxiproxy's answers and errors, and a log of every change it was asked for.

It powers the runner's unit tests and ``chaos-harness run --dry-run`` (which prints
``calls``). ``tests/core/test_driver_compliance.py`` holds it to the same assertions as
the real driver on our proxy server.

>>> driver = FakeProxyDriver()
>>> driver.create("features", listen="127.0.0.1:0", upstream="127.0.0.1:9001")
'127.0.0.1:20001'
>>> driver.add_toxic("features", name="slow", type="latency", attributes={"latency": 300})
>>> [(c.action, c.proxy) for c in driver.calls]
[('create', 'features'), ('add_toxic', 'features')]
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.drivers.base import PROXY_NOT_FOUND, no_proxy, refused

if TYPE_CHECKING:
    from harness.clock import Clock

TOXIC_TYPES = frozenset({"latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer",
                         "limit_data", "noop"})
"""The toxic types Toxiproxy 2.12 (and our server) accept."""


@dataclass(frozen=True)
class ProxyCall:
    """One call the fake was asked to make, and when (its clock's epoch seconds)."""

    at: float
    action: str
    proxy: str
    details: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """What was asked, in words (``run --dry-run`` prints it)."""
        d = self.details
        if self.action == "add_toxic":
            attributes = ", ".join(f"{k}={v}" for k, v in d["attributes"].items()) or "no attributes"
            return (f"add toxic {d['name']} to proxy {self.proxy}: {d['type']} ({attributes}), "
                    f"stream {d['stream']}, toxicity {d['toxicity']:g}")
        if self.action == "remove_toxic":
            return f"remove toxic {d['name']} from proxy {self.proxy}"
        if self.action == "set_enabled":
            return f"{'enable' if d['enabled'] else 'disable'} proxy {self.proxy}"
        if self.action == "create":
            return f"create proxy {self.proxy} to {d['upstream']}"
        return f"{self.action.replace('_', ' ')} proxy {self.proxy}".rstrip()


class FakeProxyDriver:
    """Proxies and toxics in a dict; every change is logged in :attr:`calls`.

    ``call_s`` is how long each call takes on ``clock`` (a fake clock advances by it),
    so tests can give a change a known duration.
    """

    def __init__(self, *, prefix: str = "", clock: "Clock | None" = None, call_s: float = 0.0,
                 url: str = "fake://toxiproxy", calls: list | None = None):
        self.url, self.prefix, self.clock, self.call_s = url, prefix, clock, call_s
        self.calls: list = calls if calls is not None else []
        """Every call that changes something (and ``resolve``), in order (a log it may share)."""
        self._proxies: dict[str, dict[str, Any]] = {}
        self._ports = itertools.count(20001)

    def version(self) -> str:
        """A version answer like Toxiproxy's."""
        return '{"version": "fake"}\n'

    def create(self, name: str, *, listen: str, upstream: str) -> str:
        """Create proxy ``name``; a ``:0`` port is given a made-up one."""
        full = self.prefix + name
        if full in self._proxies:
            raise refused(self.url, f"create proxy {name!r}", "proxy already exists")
        host, port = listen.rsplit(":", 1)
        address = f"{host}:{next(self._ports)}" if port == "0" else listen
        self._proxies[full] = {"name": full, "listen": address, "upstream": upstream, "enabled": True,
                               "toxics": []}
        self._log("create", name, listen=address, upstream=upstream)
        return address

    def resolve(self, proxy: str) -> None:
        """Check that ``proxy`` exists."""
        if self.prefix + proxy not in self._proxies:
            raise no_proxy(self.url, proxy)
        self._log("resolve", proxy)

    def add_toxic(self, proxy: str, *, name: str, type: str, stream: str = "downstream",
                  toxicity: float = 1.0, attributes: dict[str, Any] | None = None) -> None:
        """Add a toxic, refused as Toxiproxy refuses it."""
        what = f"add toxic {name!r} to {proxy!r}"
        toxics = self._found(proxy, what)["toxics"]
        if stream not in ("upstream", "downstream"):
            raise refused(self.url, what, "stream was invalid, can be either upstream or downstream")
        if type not in TOXIC_TYPES:
            raise refused(self.url, what, "invalid toxic type")
        if any(t["name"] == name for t in toxics):
            raise refused(self.url, what, "toxic already exists")
        toxic = {"name": name, "type": type, "stream": stream, "toxicity": toxicity,
                 "attributes": dict(attributes or {})}
        toxics.append(toxic)
        self._log("add_toxic", proxy, **toxic)

    def remove_toxic(self, proxy: str, name: str) -> None:
        """Remove a toxic; one that is already gone is not an error."""
        proxied = self._found(proxy, f"remove toxic {name!r} from {proxy!r}")
        proxied["toxics"] = [t for t in proxied["toxics"] if t["name"] != name]
        self._log("remove_toxic", proxy, name=name)

    def set_enabled(self, proxy: str, enabled: bool) -> None:
        """Enable or disable a proxy."""
        self._found(proxy, f"{'enable' if enabled else 'disable'} proxy {proxy!r}")["enabled"] = enabled
        self._log("set_enabled", proxy, enabled=enabled)

    def delete(self, proxy: str) -> None:
        """Delete a proxy; one that is already gone is not an error."""
        self._proxies.pop(self.prefix + proxy, None)
        self._log("delete", proxy)

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        for proxied in self._proxies.values():
            proxied["enabled"], proxied["toxics"] = True, []
        self._log("reset", "")

    def proxies(self) -> dict[str, dict[str, Any]]:
        """Every proxy with its toxics (a copy), keyed by full name."""
        return copy.deepcopy(self._proxies)

    def close(self) -> None:
        """Nothing to let go of."""

    def _found(self, proxy: str, what: str) -> dict[str, Any]:
        found = self._proxies.get(self.prefix + proxy)
        if found is None:
            raise refused(self.url, what, PROXY_NOT_FOUND)
        return found

    def _log(self, action: str, proxy: str, **details: Any) -> None:
        if self.clock is not None and self.call_s:
            self.clock.sleep(self.call_s)
        at = self.clock.time() if self.clock is not None else 0.0
        self.calls.append(ProxyCall(at, action, proxy, details))

