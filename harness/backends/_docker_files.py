"""A service's files inside its running container (:class:`harness.files.ServiceFiles`).

Through the Docker SDK only, so the engine may be remote: ``get_archive`` reads a
file, ``put_archive`` writes one, ``exec_run`` globs (``sh``), renames (``mv``) and
removes (``rm``). The container needs ``sh``, ``mv`` and ``rm`` (any Debian or
Alpine based image has them).

``replace`` is atomic as on the process backend: the bytes are unpacked as a temp file
in the target's directory, then ``mv -f`` renames it over the target (one
``rename(2)`` on one filesystem). The glob pattern is expanded by ``sh`` from a
positional argument with field splitting off, so it is never parsed as shell code.
"""

from __future__ import annotations

import io
import os
import tarfile
import time
from typing import Any, Callable

from harness.errors import DriverError
from harness.files import sha256_of

_GLOB = 'IFS=; for f in $1; do [ -e "$f" ] && printf "%s\\0" "$f"; done; true'


class ContainerFiles:
    """Files of the container ``container()`` returns (looked up at each call: a
    restarted service keeps its container, a recreated one gets a new one)."""

    def __init__(self, container: Callable[[], Any], name: str) -> None:
        self._container = container
        self.where = f"container {name}"

    def _exec(self, *argv: str) -> bytes:
        code, output = self._container().exec_run(list(argv), stdout=True, stderr=True)
        if code != 0:
            raise DriverError(f"{self.where}: `{' '.join(argv)}` exited {code}: "
                              f"{output.decode(errors='replace').strip()[:300]}")
        return output

    def glob(self, pattern: str) -> list[str]:
        """Existing paths matching ``pattern`` in the container, sorted."""
        out = self._exec("sh", "-c", _GLOB, "sh", pattern)
        found = out.decode(errors="surrogateescape").split("\0")
        return sorted(p for p in found if p and os.path.basename(p) not in (".", ".."))  # as Python's glob

    def read(self, path: str) -> bytes:
        """The file's bytes (``get_archive``)."""
        try:
            stream, _ = self._container().get_archive(path)
            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
                member = tar.next()
                handle = tar.extractfile(member) if member is not None and member.isfile() else None
                if handle is None:
                    raise DriverError("not a regular file")
                return handle.read()
        except Exception as exc:  # the SDK's NotFound / APIError, a broken stream, not a file
            raise DriverError(f"{self.where}: cannot read {path}: {exc}") from None

    def replace(self, path: str, data: bytes) -> None:
        """Unpack ``data`` as a temp file beside ``path`` (``put_archive``), then ``mv -f`` it over."""
        directory, name = os.path.split(path)
        tmp = f".{name}.chaos-tmp-{os.getpid()}"
        info = tarfile.TarInfo(tmp)
        info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            tar.addfile(info, io.BytesIO(data))
        try:
            ok = self._container().put_archive(directory or "/", buffer.getvalue())
        except Exception as exc:
            raise DriverError(f"{self.where}: cannot write {path}: {exc}") from None
        if not ok:
            raise DriverError(f"{self.where}: the engine refused to write {path}")
        try:
            self._exec("mv", "-f", os.path.join(directory, tmp), path)
        except DriverError:
            self._exec("rm", "-f", "--", os.path.join(directory, tmp))
            raise

    def sha256(self, path: str) -> str:
        """The file's SHA-256, of the bytes read out (no tool needed in the container)."""
        return sha256_of(self.read(path))

    def remove(self, path: str) -> None:
        """``rm -f`` the file."""
        self._exec("rm", "-f", "--", path)
