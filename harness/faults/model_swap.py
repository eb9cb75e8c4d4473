"""``model_swap``: the file a service serves (its model) replaced, then restored exactly.

``artifact`` names one of the pipeline's declared ``artifacts`` (``pipeline.yaml``):
the service, the path (matching exactly one file) and where its older versions are,
declared once per backend, so the scenario is the same on every backend.
``replace_with: corrupt`` writes seeded random bytes of the same size; ``older``
copies the first file (sorted) matching the artifact's ``older`` glob beside it whose
checksum differs (another version of the model). The file is reached through the
backend's :class:`~harness.files.ServiceFiles` (local files, or inside the service's
container), and every write is atomic (a temporary file renamed over the artifact),
so the service never reads half a file.

Before anything changes the journal says where the original is kept (a copy beside
it) and its SHA-256 (``artifact_swapping``); the undo puts the original back the same
way and verifies the checksum (``artifact_restored``, a mismatch is a
FaultRevertError). After a SIGKILL, ``chaos-harness cleanup`` does the same from the
journal. Two ``model_swap`` faults may not overlap on one artifact.
"""

from __future__ import annotations

import posixpath
from typing import ClassVar, Literal

from harness.errors import DriverError, FaultRevertError
from harness.faults.base import Fault, FaultContext, Params, Undo
from harness.faults.registry import register
from harness.files import Artifact, sha256_of
from harness.timeline.records import ArtifactRestored, ArtifactSwapped, ArtifactSwapping
from harness.units import Identifier


class ModelSwapParams(Params):
    artifact: Identifier
    """The declared artifact (``pipeline.yaml`` ``artifacts``): the fault's target."""
    replace_with: Literal["corrupt", "older"] = "corrupt"


@register
class ModelSwapFault(Fault):
    """Replace a served artifact by corrupt bytes or an older version; restore it."""

    kind, Params = "model_swap", ModelSwapParams
    excludes = frozenset({"model_swap"})

    def target(self) -> str:
        return self.params.artifact

    def prepare(self, ctx: FaultContext) -> None:
        ctx.backend.artifact(self.params.artifact).path()

    def _replacement(self, artifact: Artifact, path: str, original: bytes,
                     ctx: FaultContext) -> tuple[bytes, str | None]:
        if self.params.replace_with == "corrupt":
            return ctx.rng.randbytes(max(64, len(original))), None
        before = sha256_of(original)
        for other in artifact.files.glob(posixpath.join(posixpath.dirname(path), artifact.older)):
            data = artifact.files.read(other)
            if sha256_of(data) != before:
                return data, other
        raise DriverError(f"model_swap: no other version matches {artifact.older!r} beside {path} "
                          f"({artifact.files.where})")

    def inject(self, ctx: FaultContext) -> Undo:
        artifact = ctx.backend.artifact(self.params.artifact)
        files, path = artifact.files, artifact.path()
        original = files.read(path)
        before = sha256_of(original)
        backup = f"{path}.chaos-orig-{ctx.rng.getrandbits(32):08x}"
        common = dict(fault=ctx.fault_name, fault_kind=self.kind, target=self.target())
        ctx.journal.emit(ArtifactSwapping(**common, path=path, backup=backup, checksum=before,
                                          replace_with=self.params.replace_with, artifact=artifact.name,
                                          where=files.where))
        files.replace(backup, original)

        def undo() -> None:
            files.replace(path, original)
            after = files.sha256(path)
            ctx.journal.emit(ArtifactRestored(**common, path=path, checksum=after, ok=after == before, backup=backup))
            if after != before:
                raise FaultRevertError(f"{path}: checksum {after} != {before} after restore (kept {backup})")
            files.remove(backup)

        try:
            data, source = self._replacement(artifact, path, original, ctx)
            files.replace(path, data)
        except BaseException:
            undo()
            raise
        ctx.journal.emit(ArtifactSwapped(**common, path=path, checksum=sha256_of(data), source=source))
        return undo
