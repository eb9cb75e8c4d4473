"""Small Docker helpers shared by the images, the docker backend, faults and cleanup.

Nothing here imports ``docker`` at module level: ``harness.backends`` imports
:func:`docker_available` to resolve ``backend: auto``, and that must stay cheap.

Every container, network and volume the harness creates carries the label
``chaos-harness.run-id=<run id>`` (:data:`RUN_LABEL`), so :func:`cleanup_docker` can
find and remove what a crashed run left behind::

    >>> cleanup_docker("20250101-120000-ab12")        # doctest: +SKIP
    ['container chaos-20250101-120000-ab12-model-server-1', 'network ...']
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from harness.errors import DriverError
from harness.procgroup import identity, identity_state

if TYPE_CHECKING:
    import docker

RUN_LABEL = "chaos-harness.run-id"
"""Label carried by every container, network and volume the harness creates."""

OWNER_LABEL = "chaos-harness.owner-pid"
"""PID of the process that created the object (a harness run, a pytest session)."""
OWNER_START_LABEL = "chaos-harness.owner-start"
"""That process's start time (``/proc/PID/stat`` field 22): a recycled PID has another."""
OWNER_HOST_LABEL = "chaos-harness.owner-host"
"""Boot id and PID namespace where that PID means something (see ``procgroup.host_id``)."""


def owner_labels(run_id: str) -> dict[str, str]:
    """The labels of an object created now by this process for ``run_id``."""
    owner = identity()
    return {RUN_LABEL: run_id, OWNER_LABEL: str(owner["pid"]), OWNER_START_LABEL: str(owner["start_time"]),
            OWNER_HOST_LABEL: str(owner["host"])}


def owner_env() -> dict[str, str]:
    """The environment ``docker-compose.chaos.yml`` turns into the owner labels."""
    labels = owner_labels("")
    return {"CHAOS_OWNER_PID": labels[OWNER_LABEL], "CHAOS_OWNER_START": labels[OWNER_START_LABEL],
            "CHAOS_OWNER_HOST": labels[OWNER_HOST_LABEL]}


def removable(labels: dict[str, str] | None, *, orphans_only: bool) -> bool:
    """May cleanup remove an object with these labels?

    Objects of this process are; of a live owner never; of a known-dead owner always
    (an orphan). Objects whose owner cannot be known here (none recorded, or a PID of
    another machine, boot or PID namespace) only when asked for by run id
    (``orphans_only=False``): never by a cleanup of everything.
    """
    labels = labels or {}
    owner = {"pid": labels.get(OWNER_LABEL), "start_time": labels.get(OWNER_START_LABEL),
             "host": labels.get(OWNER_HOST_LABEL)}
    mine = owner_labels("")
    if owner["pid"] == mine[OWNER_LABEL] and owner["host"] in (None, mine[OWNER_HOST_LABEL]):
        return True
    state = identity_state(owner)
    return state == "dead" or (state == "unknown" and not orphans_only)

PROJECT_PREFIX = "chaos-"
"""Compose project names are ``chaos-<run id>``."""


def project_name(run_id: str) -> str:
    """The compose project name of a run (lower case, as compose requires).

    >>> project_name("20250101-120000-AB12")
    'chaos-20250101-120000-ab12'
    """
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in run_id.lower())
    return f"{PROJECT_PREFIX}{safe}"


ANSWER_TIMEOUT = 10.0
"""Seconds the engine has to answer the first request of a client (its ``/version``):
an engine that accepts connections but never answers fails here, not after minutes."""


def docker_client(timeout: int = 60, *, answer_timeout: float = ANSWER_TIMEOUT) -> "docker.DockerClient":
    """A client for the engine named by ``DOCKER_HOST`` (default: the local socket).

    Every request it makes gives up after ``timeout`` seconds; the engine must answer
    the first one within ``answer_timeout`` (DriverError otherwise).
    """
    import docker

    try:
        client = docker.from_env(timeout=answer_timeout)  # asks /version at once
    except docker.errors.DockerException as exc:
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        raise DriverError(f"no Docker engine answers at {where} within {answer_timeout:g} s "
                          f"({exc}). Hint: is dockerd running (and not hung), and may this user "
                          "open its socket?") from exc
    client.api.timeout = timeout
    return client


def docker_available() -> tuple[bool, str]:
    """``(True, "Docker engine 20.10.24 ...")`` when an engine answers, else ``(False, why)``.

    Never raises; takes at most ~3 s when nothing answers.
    """
    try:
        import docker
    except ImportError as exc:  # pragma: no cover - docker is a hard dependency
        return False, f"the docker SDK is not installed ({exc})"
    try:
        client = docker.from_env(timeout=3)
        try:
            version = client.version()
        finally:
            client.close()
    except Exception as exc:  # any failure means "not available", with the reason
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        return False, f"no Docker engine answers at {where}: {exc}"
    return True, (f"Docker engine {version.get('Version', '?')} (API {version.get('ApiVersion', '?')}, "
                  f"{version.get('Os', '?')}/{version.get('Arch', '?')})")


@functools.lru_cache(maxsize=1)
def compose_command() -> tuple[str, ...]:
    """The compose CLI to drive: ``("docker", "compose")`` (v2) or ``("docker-compose",)`` (v1).

    v2 is preferred when both exist (v1 is end-of-life, but both read our file the
    same way); ``CHAOS_COMPOSE`` overrides, e.g. ``CHAOS_COMPOSE=docker-compose``.
    """
    override = os.environ.get("CHAOS_COMPOSE")
    if override:
        return tuple(override.split())
    candidates: list[tuple[str, ...]] = []
    if shutil.which("docker"):
        candidates.append(("docker", "compose"))
    if shutil.which("docker-compose"):
        candidates.append(("docker-compose",))
    for command in candidates:
        try:
            probe = subprocess.run([*command, "version"], capture_output=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return command
    raise DriverError("neither `docker compose` (v2) nor `docker-compose` (v1) works here. "
                      "Hint: apt-get install docker-compose, or install the compose v2 plugin.")


def run_label(run_id: str | None = None) -> str:
    """The label filter for one run's objects (``key=value``), or every harness object (``key``)."""
    return RUN_LABEL if run_id is None else f"{RUN_LABEL}={run_id}"


def label_filter(run_id: str | None = None) -> dict[str, list[str]]:
    """The SDK ``filters`` matching one run's objects, or every harness object."""
    return {"label": [run_label(run_id)]}


def labelled_objects(run_id: str | None = None) -> dict[str, list[str]]:
    """Names of the containers, networks and volumes labelled for ``run_id`` (or any run)."""
    client = docker_client()
    try:
        flt = label_filter(run_id)
        return {"containers": [_name(c) for c in client.containers.list(all=True, sparse=True, filters=flt)],
                "networks": [n.name for n in client.networks.list(filters=flt)],
                "volumes": [v.name for v in client.volumes.list(filters=flt)]}
    finally:
        client.close()


def _name(container) -> str:
    """A container's name from a sparse listing (no per-container inspect, so no race)."""
    names = container.attrs.get("Names") or [container.id[:12]]
    return names[0].lstrip("/")


def cleanup_docker(run_id: str | None = None) -> list[str]:
    """Remove the harness-labelled containers, networks and volumes left behind; return what went.

    ``run_id=None`` (``chaos-harness cleanup``) removes orphans only: objects whose owner
    is known to be dead. With a run id, that run's objects unless their owner is alive.
    A live run's objects are never touched. Images are kept.
    """
    return remove_labelled(run_label(run_id), orphans_only=run_id is None)


def remove_labelled(label: str, client: "docker.DockerClient | None" = None, *,
                    orphans_only: bool = False) -> list[str]:
    """Force-remove containers (with anonymous volumes), then networks, then volumes
    matching the label filter ``label`` (``key`` or ``key=value``); return what went.

    Only objects :func:`removable` allows go (a live run's never). Objects that vanish
    meanwhile are not errors. ``client`` is used (and left open) when given, else one
    is opened and closed.
    """
    import docker

    own = client is None
    client = client or docker_client()
    removed: list[str] = []
    flt = {"label": [label]}

    def gone(kind: str, name: str, action: Callable[[], object]) -> None:
        try:
            action()
            removed.append(f"{kind} {name}")
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if exc.status_code == 409 and "already in progress" in str(exc):
                return
            raise DriverError(f"could not remove {kind} {name}: {exc.explanation or exc}") from exc

    def live(obj) -> bool:
        return not removable(obj.attrs.get("Labels"), orphans_only=orphans_only)

    try:
        for container in client.containers.list(all=True, sparse=True, filters=flt):
            if not live(container):
                gone("container", _name(container), lambda c=container: c.remove(force=True, v=True))
        for network in client.networks.list(filters=flt):
            if not live(network):
                gone("network", network.name, network.remove)
        for volume in client.volumes.list(filters=flt):
            if not live(volume):
                gone("volume", volume.name, lambda v=volume: v.remove(force=True))
    finally:
        if own:
            client.close()
    return removed


# ---------------------------------------------------------------- the Dockerfile subset
# harness.images applies Dockerfiles without `docker build` (one layer per image, see
# there why); these helpers read the subset it understands and write layer tarballs.

@dataclass
class DockerfilePlan:
    """What ``plan_dockerfile`` read: the files to copy in, the one RUN, the metadata."""

    copies: dict[str, Path] = field(default_factory=dict)
    """Absolute destination path in the image -> host file."""
    changes: list[str] = field(default_factory=list)
    """Metadata instructions, as ``docker commit --change`` takes them."""
    env: dict[str, str] = field(default_factory=dict)
    workdir: str | None = None
    user: str | None = None
    run: str | None = None
    outputs: tuple[str, ...] = ()
    stop_signal: str | None = None


_META_INSTRUCTIONS = ("ENV", "WORKDIR", "USER", "EXPOSE", "ENTRYPOINT", "CMD", "LABEL")


def plan_dockerfile(dockerfile: Path, files: dict[str, Path]) -> DockerfilePlan:
    """Read the Dockerfile subset ``harness.images`` applies (see ``_Builder.dockerfile`` there)."""
    plan, outputs = DockerfilePlan(), ()
    for line in re.sub(r"\\\n", " ", dockerfile.read_text()).splitlines():
        line = line.strip()
        if line.startswith("# outputs:"):
            outputs = tuple(line.split(":", 1)[1].split())
        if not line or line.startswith("#"):
            continue
        op, _, rest = line.partition(" ")
        op, rest = op.upper(), rest.strip()
        if op in ("ARG", "FROM"):
            continue
        if op == "COPY" and plan.run is None:
            *sources, dest = shlex.split(rest)
            for source in sources:
                plan.copies.update(copy_targets(source, dest, files))
        elif op == "RUN" and plan.run is None:
            plan.run, plan.outputs = rest, outputs
        elif op == "STOPSIGNAL":  # not a valid `docker commit --change`
            plan.stop_signal = rest
        elif op in _META_INSTRUCTIONS:
            plan.changes.append(f"{op} {rest}")
            if plan.run is None and op == "ENV":
                plan.env.update(env_pairs(rest))
            elif plan.run is None and op in ("WORKDIR", "USER"):
                setattr(plan, op.lower(), rest)
        else:
            raise DriverError(f"{dockerfile.name}: `{op}` here is outside the subset harness.images "
                              "applies (COPYs, then at most one RUN, then metadata)")
    return plan


def image_config(config: dict, plan: DockerfilePlan, labels: dict[str, str]) -> dict:
    """The parent's container config with the Dockerfile's metadata instructions applied."""
    env = dict(item.split("=", 1) for item in config.get("Env") or [])
    labels = {**(config.get("Labels") or {}), **labels}
    for change in plan.changes:
        op, rest = change.split(" ", 1)
        if op == "ENV":
            env.update(env_pairs(rest))
        elif op == "LABEL":
            labels.update(env_pairs(rest))
        elif op == "EXPOSE":
            config["ExposedPorts"] = {**(config.get("ExposedPorts") or {}),
                                      **{(p if "/" in p else f"{p}/tcp"): {} for p in rest.split()}}
        elif op in ("ENTRYPOINT", "CMD"):
            value = json.loads(rest) if rest.startswith("[") else ["/bin/sh", "-c", rest]
            config["Entrypoint" if op == "ENTRYPOINT" else "Cmd"] = value
        else:  # WORKDIR, USER
            config["WorkingDir" if op == "WORKDIR" else "User"] = rest
    config.update(Env=[f"{k}={v}" for k, v in env.items()], Labels=labels)
    if plan.stop_signal:
        config["StopSignal"] = plan.stop_signal
    return config


def env_pairs(rest: str) -> dict[str, str]:
    """``KEY=value ...`` (or the legacy ``KEY value with spaces``) of an ENV or LABEL line."""
    parts = shlex.split(rest)
    if parts and "=" not in parts[0]:  # legacy form: ENV KEY value with spaces
        return {parts[0]: " ".join(parts[1:])}
    return dict(part.split("=", 1) for part in parts)


def copy_targets(source: str, dest: str, files: dict[str, Path]) -> dict[str, Path]:
    """Where ``COPY source dest`` puts each context file (a directory copies its contents)."""
    source = source.rstrip("/")
    if source in ("", "."):  # the whole context
        return {f"{dest.rstrip('/')}/{name}": path for name, path in files.items()}
    if source in files:
        target = f"{dest.rstrip('/')}/{Path(source).name}" if dest.endswith("/") else dest
        return {target: files[source]}
    inside = {name[len(source) + 1:]: path for name, path in files.items() if name.startswith(source + "/")}
    if not inside:
        raise DriverError(f"COPY {source}: no such file or directory in the build context")
    return {f"{dest.rstrip('/')}/{name}": path for name, path in inside.items()}


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    """Add a regular file ``name`` holding ``data`` to ``tar``."""
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, int(time.time())
    tar.addfile(info, io.BytesIO(data))


def write_tar(handle, copies: dict[str, Path], extra: dict[str, bytes] | None = None) -> None:
    """A tar rooted at ``/`` of ``copies`` (host files) and ``extra`` (bytes), with parents."""
    with tarfile.open(fileobj=handle, mode="w") as tar:
        names = sorted({*copies, *(extra or {})})
        dirs: set[str] = set()
        for target in names:
            parts = target.strip("/").split("/")
            for depth in range(1, len(parts)):
                name = "/".join(parts[:depth])
                if name not in dirs:
                    dirs.add(name)
                    info = tarfile.TarInfo(name)
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, int(time.time())
                    tar.addfile(info)
        for target in names:
            if target in copies:
                info = tar.gettarinfo(str(copies[target]), arcname=target.strip("/"))
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                with open(copies[target], "rb") as data:
                    tar.addfile(info, data)
            else:
                add_bytes(tar, target.strip("/"), extra[target])


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks (layer tarballs are large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
