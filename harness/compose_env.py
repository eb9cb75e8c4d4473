"""A scenario's ``env`` on the docker backend: a compose override file in the run directory.

A scenario's ``env: {SERVICE: {VAR: value}}`` runs the same pipeline in another
setting. The process backend merges it into each service's environment; compose reads
no such thing, so the docker backend writes :data:`OVERRIDE_FILE` into the run
directory and passes it after the pipeline's own files (``-f theirs.yml -f
<run>/compose.env.yml``); compose merges each service's ``environment`` key by key::

    version: "3.9"          # the first file's, when it has one (compose v1 insists)
    services:
      model-server:
        environment: {FEATURE_VALIDATION: "off"}

A ``$`` in a value is written ``$$``, so compose takes the value as given.
:func:`compose_services` (the files read as YAML, no engine needed) lets ``validate``
reject an env for a service the compose project does not have.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping

OVERRIDE_FILE = "compose.env.yml"


def _read(path: Path) -> dict:
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not YAML ({exc})") from None
    return data if isinstance(data, dict) else {}


def compose_services(files: Iterable[Path]) -> list[str]:
    """The service names of ``files`` merged as compose merges them (in first-seen order);
    OSError when one cannot be read, ValueError when it is not YAML."""
    names: dict[str, None] = {}
    for path in files:
        services = _read(path).get("services")
        names.update(dict.fromkeys(services if isinstance(services, dict) else ()))
    return list(names)


def write_override(files: Iterable[Path], env: Mapping[str, Mapping[str, str]], run_dir: Path) -> Path:
    """Write the override giving each service of ``env`` its variables (see the module
    docstring) into ``run_dir``; return its path."""
    import yaml

    files = list(files)
    doc: dict = {}
    version = _read(files[0]).get("version") if files else None
    if version is not None:
        doc["version"] = str(version)
    doc["services"] = {service: {"environment": {k: str(v).replace("$", "$$") for k, v in variables.items()}}
                       for service, variables in env.items()}
    path = Path(run_dir) / OVERRIDE_FILE
    path.write_text(yaml.safe_dump(doc, sort_keys=False, default_flow_style=False), encoding="utf-8")
    return path
