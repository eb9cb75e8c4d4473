"""What a fault proxy driver is: the protocol the real Toxiproxy client and the fake share.

Network faults and backends speak to the fault proxy only through this surface. Two
implementations: :class:`~harness.drivers.toxiproxy.ToxiproxyDriver` (the HTTP API of a
real Toxiproxy or of our embedded server) and :class:`~harness.drivers.fake.FakeProxyDriver`
(in memory, for fast tests and ``run --dry-run``). Both raise the same
:class:`~harness.errors.DriverError` texts, built here; ``tests/core/test_driver_compliance.py``
runs one set of assertions against both.

Each change a fault makes is ONE call (``add_toxic``, ``remove_toxic``, ``set_enabled``);
``resolve`` is the look-up done ahead of it, while there is time.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from harness.errors import DriverError

PROXY_NOT_FOUND = "proxy not found"
TOXIC_NOT_FOUND = "toxic not found"
"""Toxiproxy's own error messages (``api.go``), which the fake reproduces."""


@runtime_checkable
class ProxyDriver(Protocol):
    """Creates proxies and changes their toxics through the Toxiproxy API."""

    url: str
    prefix: str
    """Prepended to every proxy name, so runs sharing one server do not collide."""

    def version(self) -> str:
        """The server's version answer; DriverError when it does not answer."""

    def create(self, name: str, *, listen: str, upstream: str) -> str:
        """Create proxy ``name``; return the address it really listens on."""

    def resolve(self, proxy: str) -> None:
        """Look ``proxy`` up ahead of a change (DriverError if it does not exist)."""

    def add_toxic(self, proxy: str, *, name: str, type: str, stream: str = "downstream",
                  toxicity: float = 1.0, attributes: dict[str, Any] | None = None) -> None:
        """Add a toxic to ``proxy`` (one call)."""

    def remove_toxic(self, proxy: str, name: str) -> None:
        """Remove a toxic (one call); a toxic that is already gone is not an error."""

    def set_enabled(self, proxy: str, enabled: bool) -> None:
        """Enable or disable (``down``) a proxy (one call)."""

    def delete(self, proxy: str) -> None:
        """Delete a proxy; a proxy that is already gone is not an error."""

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""

    def proxies(self) -> dict[str, dict[str, Any]]:
        """Every proxy (full names) with its toxics, as the API lists them."""

    def close(self) -> None:
        """Let go of the connection (the driver reconnects if used again)."""


def refused(url: str, what: str, message: str) -> DriverError:
    """The error for a call the server answered with an error."""
    return DriverError(f"Toxiproxy at {url} refused to {what}: {message}")


def unreachable(url: str, what: str, cause: object) -> DriverError:
    """The error for a call that got no answer."""
    return DriverError(f"Toxiproxy at {url} unreachable while trying to {what}: {cause}")


def no_proxy(url: str, proxy: str) -> DriverError:
    """The error of :meth:`ProxyDriver.resolve` for a proxy that does not exist."""
    return DriverError(f"Toxiproxy at {url} has no proxy {proxy!r}")
