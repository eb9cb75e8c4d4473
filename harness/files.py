"""A service's files, reached the same way wherever the service runs.

Faults that change a file a service serves (``model_swap``) speak only this small
protocol, :class:`ServiceFiles`; each backend provides it for a service:

* process backend: :class:`LocalFiles`, the files on this machine;
* docker backend: ``harness.backends._docker_files.ContainerFiles``, the files inside
  the service's running container (Docker SDK: ``exec_run``, ``put_archive``,
  ``get_archive``);
* fake backend: :class:`MemoryFiles`, a dict, every call logged.

``replace`` is atomic everywhere: the bytes go to a temporary file in the same
directory, which is then renamed over the target, so a reader sees the old file or
the new one, never half of one. ``tests/docker/test_files_compliance.py`` holds the
implementations to the same assertions.

An :class:`Artifact` is a declared artifact (``pipeline.yaml`` ``artifacts``) as one
backend reaches it: its files, its path pattern with the placeholders filled.
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from harness.clock import Clock
from harness.errors import DriverError


@runtime_checkable
class ServiceFiles(Protocol):
    """Files of one service. Paths are absolute, as the service sees them."""

    where: str
    """Where the files are, in words (``local``, ``container chaos-r1-model-server-1``)."""

    def glob(self, pattern: str) -> list[str]:
        """Existing paths matching the glob ``pattern``, sorted."""

    def read(self, path: str) -> bytes:
        """The file's bytes; DriverError when it cannot be read."""

    def replace(self, path: str, data: bytes) -> None:
        """Atomically make ``path`` hold ``data`` (temp file in its directory, then rename)."""

    def sha256(self, path: str) -> str:
        """The file's SHA-256, hex; DriverError when it cannot be read."""

    def remove(self, path: str) -> None:
        """Remove the file; nothing happens when it is already gone."""


def sha256_of(data: bytes) -> str:
    """SHA-256 of ``data``, hex."""
    return hashlib.sha256(data).hexdigest()


class LocalFiles:
    """Files on this machine (the process backend's services)."""

    where = "local"

    def glob(self, pattern: str) -> list[str]:
        """Existing paths matching ``pattern``, sorted."""
        return sorted(glob.glob(pattern))

    def read(self, path: str) -> bytes:
        """The file's bytes."""
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise DriverError(f"cannot read {path}: {exc}") from None

    def replace(self, path: str, data: bytes) -> None:
        """Write a temp file beside ``path`` (keeping its mode), then rename it over ``path``."""
        target = Path(path)
        tmp = target.with_name(f".{target.name}.chaos-tmp-{os.getpid()}")
        try:
            tmp.write_bytes(data)
            if target.exists():
                os.chmod(tmp, target.stat().st_mode & 0o7777)
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise DriverError(f"cannot replace {path}: {exc}") from None

    def sha256(self, path: str) -> str:
        """The file's SHA-256, read in blocks."""
        digest = hashlib.sha256()
        try:
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        except OSError as exc:
            raise DriverError(f"cannot read {path}: {exc}") from None
        return digest.hexdigest()

    def remove(self, path: str) -> None:
        """Unlink ``path`` if it exists."""
        Path(path).unlink(missing_ok=True)


@dataclass(frozen=True)
class FileCall:
    """One call made to :class:`MemoryFiles` (the dry run prints it)."""

    at: float
    action: str
    path: str

    def describe(self) -> str:
        """What was asked, in words."""
        return f"{self.action} file {self.path}"


@dataclass
class MemoryFiles:
    """Files in a dict (the fake backend's services); every change is logged in ``calls``."""

    files: dict[str, bytes] = field(default_factory=dict)
    calls: list = field(default_factory=list)
    clock: Clock | None = None
    """Times the calls (the fake backend's clock); None: 0."""
    where: str = "memory"

    def _log(self, action: str, path: str) -> None:
        self.calls.append(FileCall(self.clock.time() if self.clock else 0.0, action, path))

    def glob(self, pattern: str) -> list[str]:
        """Paths matching ``pattern`` part by part, as a shell glob (``*`` never crosses ``/``)."""
        parts = pattern.split("/")
        return sorted(p for p in self.files if len(p.split("/")) == len(parts)
                      and all(fnmatch.fnmatchcase(a, b) for a, b in zip(p.split("/"), parts)))

    def read(self, path: str) -> bytes:
        """The file's bytes."""
        if path not in self.files:
            raise DriverError(f"cannot read {path}: no such file")
        return self.files[path]

    def replace(self, path: str, data: bytes) -> None:
        """Set the file's bytes (one assignment: atomic)."""
        self._log("replace", path)
        self.files[path] = bytes(data)

    def sha256(self, path: str) -> str:
        """The file's SHA-256."""
        return sha256_of(self.read(path))

    def remove(self, path: str) -> None:
        """Forget the file."""
        self._log("remove", path)
        self.files.pop(path, None)


@dataclass(frozen=True)
class Artifact:
    """A declared artifact as a backend reaches it: ``files`` of its ``service``, the
    ``pattern`` (placeholders filled, a glob that must match one file) and ``older``
    (where its other versions are, a glob relative to its directory)."""

    name: str
    service: str
    files: ServiceFiles
    pattern: str
    older: str

    def path(self) -> str:
        """The one file ``pattern`` matches; DriverError when it matches none or several."""
        found = self.files.glob(self.pattern)
        if len(found) != 1:
            raise DriverError(f"artifact {self.name!r}: {self.pattern!r} matches {len(found)} files "
                              f"({self.files.where}), not one: {found[:5]}")
        return found[0]
