"""``model_swap``: the file a service serves (its model) replaced, then restored exactly.

``path`` names the served artifact with the pipeline's placeholders and glob
characters (``{cache}/model/<name>_seed-{seed}_*/model.pkl``); it must match exactly
one file. ``replace_with: corrupt`` writes seeded random bytes of the same size;
``older`` copies the first file (sorted) matching ``older`` beside it whose checksum
differs (another version of the model). Every write is atomic (a temporary file
renamed over the artifact), so the service never reads half a file.

Before anything changes the journal says where the original is kept and its SHA-256
(``artifact_swapping``); the undo puts the original back the same way and verifies the
checksum (``artifact_restored``, a mismatch is a FaultRevertError). Process backend:
the path is on this machine (the backend fills the placeholders).
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
from pathlib import Path
from typing import ClassVar, Literal

from harness.errors import DriverError, FaultRevertError
from harness.faults.base import Fault, FaultContext, Params, Undo
from harness.faults.registry import register
from harness.timeline.records import ArtifactRestored, ArtifactSwapped, ArtifactSwapping


class ModelSwapParams(Params):
    service: str
    """The service that serves the file (the fault's target)."""
    path: str
    """The served file: placeholders and a glob matching exactly one file."""
    replace_with: Literal["corrupt", "older"] = "corrupt"
    older: str = "versions/*"
    """``older``: where the other versions are, a glob relative to the artifact's directory."""


def sha256(path: Path) -> str:
    """The file's SHA-256, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _replace(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.chaos-tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


@register
class ModelSwapFault(Fault):
    """Replace a served model artifact by corrupt bytes or an older version; restore it."""

    kind, Params = "model_swap", ModelSwapParams
    backends: ClassVar[tuple[str, ...]] = ("process",)

    def _artifact(self, ctx: FaultContext) -> Path:
        fill = getattr(ctx.backend, "fill", None)
        if fill is None:
            raise DriverError("model_swap needs a backend that fills placeholders (process)")
        found = sorted(glob.glob(fill(self.params.path)))
        if len(found) != 1:
            raise DriverError(f"model_swap: {self.params.path!r} matches {len(found)} files, not one: {found[:5]}")
        return Path(found[0])

    def prepare(self, ctx: FaultContext) -> None:
        self._artifact(ctx)

    def _replacement(self, path: Path, before: str, ctx: FaultContext) -> tuple[bytes, str | None]:
        if self.params.replace_with == "corrupt":
            return ctx.rng.randbytes(max(64, path.stat().st_size)), None
        for other in sorted(glob.glob(str(path.parent / self.params.older))):
            if Path(other).is_file() and sha256(Path(other)) != before:
                return Path(other).read_bytes(), other
        raise DriverError(f"model_swap: no other version matches {self.params.older!r} beside {path}")

    def inject(self, ctx: FaultContext) -> Undo:
        path = self._artifact(ctx)
        before = sha256(path)
        backup = path.with_name(f"{path.name}.chaos-orig-{ctx.rng.getrandbits(32):08x}")
        common = dict(fault=ctx.fault_name, fault_kind=self.kind, target=self.target())
        ctx.journal.emit(ArtifactSwapping(**common, path=str(path), backup=str(backup), checksum=before,
                                          replace_with=self.params.replace_with))
        shutil.copy2(path, backup)
        data, source = self._replacement(path, before, ctx)

        def undo() -> None:
            _replace(path, backup.read_bytes())
            after = sha256(path)
            ctx.journal.emit(ArtifactRestored(**common, path=str(path), checksum=after, ok=after == before))
            if after != before:
                raise FaultRevertError(f"{path}: checksum {after} != {before} after restore (kept {backup})")
            backup.unlink()

        try:
            _replace(path, data)
        except BaseException:
            undo()
            raise
        ctx.journal.emit(ArtifactSwapped(**common, path=str(path), checksum=hashlib.sha256(data).hexdigest(),
                                         source=source))
        return undo
