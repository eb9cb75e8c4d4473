"""A minimal Redis client (RESP2 over TCP): pipelined commands, replies as Python values.

Enough for the Redis store's SCAN, HGETALL, HSET, HDEL, DEL and MULTI/EXEC; no
dependency beyond the standard library.

>>> with RespClient.from_url("redis://127.0.0.1:6379/0") as r:  # doctest: +SKIP
...     r.call("PING")
'PONG'
"""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit


class RedisError(Exception):
    """An error reply from Redis (``-ERR ...``)."""


class RespClient:
    """One connection; ``pipeline`` sends many commands, then reads every reply."""

    def __init__(self, host: str, port: int, db: int = 0, timeout: float = 10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.reader = self.sock.makefile("rb")
        if db:
            self.call("SELECT", db)

    @classmethod
    def from_url(cls, url: str, timeout: float = 10.0) -> "RespClient":
        """Connect to ``redis://host:port/db``."""
        parts = urlsplit(url)
        if parts.scheme != "redis":
            raise ValueError(f"not a redis:// URL: {url!r}")
        db = int(parts.path.strip("/") or 0)
        return cls(parts.hostname or "127.0.0.1", parts.port or 6379, db, timeout)

    def __enter__(self) -> "RespClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self.reader.close()
        self.sock.close()

    def call(self, *args: Any) -> Any:
        """One command; its reply (RedisError for an error reply)."""
        return self.pipeline([args])[0]

    def pipeline(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """Send every command at once, then read their replies in order; raise the first
        error reply after reading them all."""
        self.sock.sendall(b"".join(_encode(c) for c in commands))
        replies = [self._read() for _ in commands]
        for reply in replies:
            if isinstance(reply, RedisError):
                raise reply
        return replies

    def _read(self) -> Any:
        line = self.reader.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RedisError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = self.reader.read(size + 2)
            return data[:-2].decode(errors="surrogateescape")
        if kind == b"*":
            count = int(rest)
            return None if count < 0 else [self._read() for _ in range(count)]
        raise ConnectionError(f"not a RESP reply: {line[:40]!r}")


def _encode(args: tuple[Any, ...]) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode(errors="surrogateescape")
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)
