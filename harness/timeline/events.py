"""One event bus for a run, with every event documented in one class (after Locust's
``event.py``).

Anything that reacts while a run goes on — the console lines, the pytest plugin, the
stop on a dead proxy, later a live view, runbook triggers and ``abort_if`` — is a
listener on :class:`Events`, never a poller of files::

    events = Events()

    @events.record.add_listener
    def show(record, **_):
        print(record.kind)

A listener that raises is logged (``harness.timeline`` logger, with its traceback) and
the others still run; ``KeyboardInterrupt``, ``SystemExit`` and ``RunAborted`` pass
through, because they are how a run is stopped (a signal, or another thread's abort,
can land in the main thread while a listener runs there).
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from harness.errors import RunAborted

log = logging.getLogger("harness.timeline")

Handler = Callable[..., None]


class EventHook:
    """A list of handlers called with keyword arguments by :meth:`fire`."""

    def __init__(self) -> None:
        self._handlers: list[Handler] = []

    def add_listener(self, handler: Handler) -> Handler:
        """Call ``handler(**kwargs)`` on every fire; returns it (usable as a decorator)."""
        self._handlers.append(handler)
        return handler

    def remove_listener(self, handler: Handler) -> None:
        """Stop calling ``handler``."""
        self._handlers.remove(handler)

    def fire(self, **kwargs: Any) -> None:
        """Call every handler; a failing one is logged, not fatal, and not swallowed."""
        for handler in list(self._handlers):
            try:
                handler(**kwargs)
            except (KeyboardInterrupt, SystemExit, RunAborted):
                raise
            except Exception:
                log.exception("listener %s failed on %s", getattr(handler, "__qualname__", handler),
                              ", ".join(sorted(kwargs)))

    @contextmanager
    def measure(self, name: str) -> Iterator[None]:
        """Fire once the block ends, with ``name``, ``seconds`` and ``error`` (or None)."""
        started, error = time.perf_counter(), None
        try:
            yield
        except BaseException as exc:
            error = exc
            raise
        finally:
            self.fire(name=name, seconds=time.perf_counter() - started, error=error)


class Events:
    """The events of one run. Each attribute is an :class:`EventHook`."""

    record: EventHook
    """Fired after a journal record is durable on disk.

    :param record: the :class:`~harness.timeline.records.Record` just written.
    """

    request: EventHook
    """Fired for every request record of the load as the harness receives it.

    :param request: the :class:`~harness.timeline.records.Request`.
    """

    def __init__(self) -> None:
        for name in self.__annotations__:
            setattr(self, name, EventHook())
