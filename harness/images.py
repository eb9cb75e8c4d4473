"""``chaos-harness images build``: every image the docker backend needs, built locally.

No registry is reachable on our machines, so nothing is pulled. The chain, in order::

    debootstrap (Debian mirror from the machine's apt sources)   ~1-2 min, once
      └─ chaos-harness/base:local       minbase bookworm + python3, postgresql, curl, tini
           ├─ chaos-harness/postgres:local   PostgreSQL 15, cluster initialised at build
           └─ chaos-harness/runtime:local    /opt/venv from a host-built wheelhouse
                ├─ chaos-harness/proxy:local      harness/ + /toxiproxy, /toxiproxy-cli shims
                └─ chaos-harness/<role>:local     each role of a pipeline's ``docker.images``

The shared images' Dockerfiles and files are shipped in the package
(``harness/docker/``); a pipeline's images are named by its ``pipeline.yaml``
(``docker.images``: role -> Dockerfile) and built with its directory as context, so
an installed harness builds them from anywhere (``chaos-harness images build DIR``).
Wheels are built on the host (``pip wheel`` into ``<work dir>/wheels``) and every step
that runs something in a container does so with ``network_mode="none"``: nothing
inside a build reaches a network. Each Dockerfile is applied as one layer (see
``_Builder.dockerfile`` for why not ``docker build``).

Each image carries the label ``chaos-harness.build-hash``, a digest of its inputs
(parent image id, Dockerfile, files copied in); an image whose label matches is
skipped, so a cached run only hashes a few hundred small files (about 1 s in all).
A replaced image is removed once nothing uses it.
``rebuild=True`` (``--rebuild``) rebuilds everything, debootstrap included.

>>> build_images(log=print)                                    # doctest: +SKIP
[images] base      cached chaos-harness/base:local (a230f6af76d7) 0.0 s
...
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from harness.dockerutil import (DockerfilePlan, add_bytes, image_config, plan_dockerfile, sha256_file,
                                write_tar)
from harness.errors import DriverError, InvalidScenario

PACKAGE_DIR = Path(__file__).resolve().parent
DOCKER_DIR = PACKAGE_DIR / "docker"
"""The shared images' Dockerfiles and files (package data)."""
WORK_DIR = Path(os.environ.get("CHAOS_IMAGES_DIR", Path.home() / ".cache" / "chaos-harness" / "images"))
"""Scratch space: rootfs, apt cache (``debs/``), wheelhouse (``wheels/``)."""

SUITE = "bookworm"
BASE_PACKAGES = ("python3", "python3-venv", "postgresql", "redis-server", "ca-certificates", "curl",
                 "tini", "procps")
HASH_LABEL = "chaos-harness.build-hash"
_BASE_RECIPE, _RECIPE = "1", "2"  # bump to force a rebuild of base / of the other images

OWN_PREFIX = "chaos-harness/"
"""Repository prefix of the images we build: never pulled, always built here."""
IMAGE_TAG = os.environ.get("CHAOS_IMAGE_TAG", "local")
"""The tag of every image we build. A tag that does not exist (``CHAOS_IMAGE_TAG=absent``)
makes the harness and the tests behave as if no image had been built."""
_ROLE_VARIABLES = {"base": "BASE_IMAGE", "postgres": "POSTGRES_IMAGE", "runtime": "RUNTIME_IMAGE",
                   "proxy": "TOXIPROXY_IMAGE"}
IMAGES = {role: os.environ.get(variable, f"{OWN_PREFIX}{role}:{IMAGE_TAG}")
          for role, variable in _ROLE_VARIABLES.items()}
"""The shared images' tags by role; the same variables as the compose files (a role's
variable overrides ``CHAOS_IMAGE_TAG``). A pipeline's roles: :func:`image_tag`."""

_SKIP_DIRS = {"__pycache__", ".cache", ".pytest_cache", ".hypothesis", ".mypy_cache"}
_SKIP_SUFFIXES = (".pyc", ".db", ".db-wal", ".db-shm", ".sqlite")

Log = Callable[[str], None]


def dockerfile_path(key: str) -> Path:
    """The Dockerfile of shared image role ``key`` (``harness/docker/<role>.Dockerfile``)."""
    return DOCKER_DIR / f"{key}.Dockerfile"


def pipeline_images(directory: str | Path) -> dict[str, Path]:
    """Role -> Dockerfile of the images the pipeline in ``directory`` declares."""
    from harness.pipeline import load_pipeline

    pipeline = load_pipeline(directory)
    images = pipeline.docker.images if pipeline.docker else {}
    return {role: pipeline.path(dockerfile) for role, dockerfile in images.items()}


# ----------------------------------------------------------------- inputs and hashes

def debian_mirror() -> str:
    """The Debian mirror for debootstrap: ``CHAOS_DEBIAN_MIRROR``, else the first apt
    source serving ``bookworm`` (deb822 ``*.sources`` or one-line ``*.list``)."""
    if os.environ.get("CHAOS_DEBIAN_MIRROR"):
        return os.environ["CHAOS_DEBIAN_MIRROR"]
    apt = Path("/etc/apt")
    files = [apt / "sources.list", *sorted((apt / "sources.list.d").glob("*.list")),
             *sorted((apt / "sources.list.d").glob("*.sources"))]
    for path in files:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for block in re.split(r"\n\s*\n", text):  # deb822 stanzas
            fields = dict(re.findall(r"^(URIs|Suites|Types):\s*(.+)$", block, re.M))
            if "deb" in fields.get("Types", "").split() and SUITE in fields.get("Suites", "").split():
                return fields["URIs"].split()[0]
        for line in text.splitlines():  # one-line format: deb [opts] URI SUITE COMPONENTS
            match = re.match(r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
            if match and match.group(2) == SUITE:
                return match.group(1)
    return "http://deb.debian.org/debian"


def _context_files(base: Path, *roots: str) -> dict[str, Path]:
    """``{archive name: path}`` for every file under ``roots`` (relative to ``base``; none:
    all of ``base``), named relative to ``base``, caches skipped."""
    files: dict[str, Path] = {}
    for root in roots or (".",):
        top = (base / root).resolve()
        if top.is_file():
            files[root] = top
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
            for name in sorted(filenames):
                if name.endswith(_SKIP_SUFFIXES) or name.startswith("."):
                    continue
                path = Path(dirpath) / name
                files[str(path.relative_to(base.resolve()))] = path
    return files


def _digest(*parts: object, files: dict[str, Path] | None = None, recipe: str = _RECIPE) -> str:
    digest = hashlib.sha256(recipe.encode())
    for part in parts:
        digest.update(repr(part).encode() + b"\0")
    for name, path in sorted((files or {}).items()):
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def runtime_requirements() -> list[str]:
    """What ``/opt/venv`` holds: the installed harness's own dependencies (its package
    metadata, extras left out), so the images run what this harness runs."""
    from importlib.metadata import requires

    return [r for r in requires("chaos-harness") or [] if "extra ==" not in r]


# ------------------------------------------------------------------------- the steps

@dataclass
class _Builder:
    client: object
    rebuild: bool
    log: Log

    def existing(self, tag: str, digest: str) -> str | None:
        """The id of ``tag`` if it exists with build hash ``digest``."""
        import docker

        try:
            image = self.client.images.get(tag)
        except docker.errors.ImageNotFound:
            return None
        labels = image.attrs.get("Config", {}).get("Labels") or {}
        return image.id if labels.get(HASH_LABEL) == digest and not self.rebuild else None

    def current_id(self, tag: str) -> list[str]:
        """``[id]`` of the image now tagged ``tag`` (about to be replaced), or ``[]``."""
        import docker

        try:
            return [self.client.images.get(tag).id]
        except docker.errors.ImageNotFound:
            return []

    def remove_if_unused(self, image_id: str) -> None:
        """Remove a replaced image unless a container or a child image still uses it."""
        import docker

        try:
            self.client.images.remove(image_id)
        except docker.errors.APIError:
            pass

    def base(self, digest: str) -> None:
        """debootstrap a minbase rootfs, trim it, ``docker import`` it."""
        if os.geteuid() != 0:
            raise DriverError("debootstrap needs root: run `chaos-harness images build` with sudo")
        if not shutil.which("debootstrap"):
            raise DriverError("debootstrap is not installed. Hint: apt-get install -y debootstrap "
                              "(docker/ci-setup.sh does it)")
        rootfs, debs = WORK_DIR / "rootfs", WORK_DIR / "debs"
        shutil.rmtree(rootfs, ignore_errors=True)
        debs.mkdir(parents=True, exist_ok=True)
        mirror = debian_mirror()
        self.log(f"[images]   debootstrap {SUITE} from {mirror} (apt cache {debs})")
        _run(["debootstrap", "--variant=minbase", f"--cache-dir={debs}",
              f"--include={','.join(BASE_PACKAGES)}", SUITE, str(rootfs), mirror],
             what="debootstrap", logfile=WORK_DIR / "debootstrap.log")
        for pattern in ("var/cache/apt/archives/*.deb", "var/lib/apt/lists/*", "usr/share/doc/*",
                        "usr/share/man/*", "usr/share/info/*", "usr/share/locale/*/LC_MESSAGES"):
            for path in rootfs.glob(pattern):
                shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        tarball = WORK_DIR / "base.tar"
        self.log("[images]   tar + docker import")
        _run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), "."], what="tar")
        repository, tag = IMAGES["base"].rsplit(":", 1)
        changes = [f"LABEL {HASH_LABEL}={digest}", "ENV LANG=C.UTF-8",
                   "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                   'CMD ["/bin/bash"]']
        try:
            self.client.api.import_image_from_file(str(tarball), repository=repository, tag=tag,
                                                   changes=changes)
        finally:
            tarball.unlink(missing_ok=True)
            shutil.rmtree(rootfs, ignore_errors=True)

    def dockerfile(self, key: str, digest: str, files: dict[str, Path], parent: str,
                   dockerfile: Path | None = None) -> None:
        """Apply role ``key``'s Dockerfile (``dockerfile``, else :func:`dockerfile_path`) to
        ``parent`` as ONE new layer, offline.

        Why not ``docker build``: the classic builder commits a layer per instruction,
        and on fuse-overlayfs every commit of a ~1 GB image walks the whole tree (5 s for
        an ENV, 17 s for a small COPY): a 10-line Dockerfile took 45-80 s. So:

        * a ``RUN`` whose outputs are not declared (postgres, runtime): one container
          (COPYs put in, the RUN with ``network_mode="none"``), one ``docker commit``;
        * otherwise (pipeline, proxy): the layer tar is written here (COPYs, plus the
          files a ``RUN`` left in the directories named by ``# outputs: DIR ...`` just
          above it, fetched from a throwaway container) and the image is ``docker
          load``-ed on top of the parent's layers (~1 s; no commit at all).

        The Dockerfiles stay valid for ``docker build``. The subset understood: ARG/FROM,
        COPY (before the only RUN), RUN (at most one), ENV, WORKDIR, USER, EXPOSE,
        ENTRYPOINT, CMD, LABEL, STOPSIGNAL.
        """
        plan = plan_dockerfile(dockerfile or dockerfile_path(key), files)
        parent_attrs = self.client.api.inspect_image(parent)
        if plan.run and not plan.outputs:
            return self._commit(key, digest, plan, parent, parent_attrs["Config"])
        outputs = self._run_for_outputs(key, plan, parent) if plan.run else {}
        self._load(key, digest, plan, parent_attrs, outputs)

    def _container(self, key: str, plan: "DockerfilePlan", parent: str):
        """A stopped container of ``parent`` holding the COPYs, set to run the RUN offline."""
        if (self.client.api.inspect_image(parent)["Config"].get("Entrypoint")):
            raise DriverError(f"{key}: a RUN on a parent image with an ENTRYPOINT is not supported")
        container = self.client.containers.create(
            parent, command=["/bin/sh", "-c", plan.run or "true"], environment=plan.env or None,
            working_dir=plan.workdir, user=plan.user, network_mode="none",
            name=f"chaos-harness-build-{key}-{os.getpid()}")
        with tempfile.TemporaryFile(dir=WORK_DIR) as archive:
            write_tar(archive, plan.copies)
            archive.seek(0)
            container.put_archive("/", archive)
        self.log(f"[images]   RUN {(plan.run or 'true')[:100]}")
        container.start()
        code = container.wait(timeout=1800).get("StatusCode")
        if code != 0:
            output = container.logs().decode(errors="replace")[-3000:]
            container.remove(force=True)
            raise DriverError(f"building {image_tag(key)}: RUN exited {code}:\n{output}")
        return container

    def _commit(self, key: str, digest: str, plan: "DockerfilePlan", parent: str, config: dict) -> None:
        container = self._container(key, plan, parent)
        try:
            changes = list(plan.changes) + [f"LABEL {HASH_LABEL}={digest}"]
            if not any(c.startswith("CMD ") for c in changes):  # the container's command was the RUN
                changes.append(f"CMD {json.dumps(config.get('Cmd') or ['/bin/sh'])}")
            repository, tag = image_tag(key).rsplit(":", 1)
            container.commit(repository=repository, tag=tag, changes=changes,
                             conf={"StopSignal": plan.stop_signal} if plan.stop_signal else None)
        finally:
            container.remove(force=True)

    def _run_for_outputs(self, key: str, plan: "DockerfilePlan", parent: str) -> dict[str, bytes]:
        """Run the RUN in a throwaway container; return the files under ``plan.outputs``."""
        container = self._container(key, plan, parent)
        found: dict[str, bytes] = {}
        try:
            for directory in plan.outputs:
                stream, _ = container.get_archive(directory)
                with tempfile.TemporaryFile(dir=WORK_DIR) as handle:
                    for chunk in stream:
                        handle.write(chunk)
                    handle.seek(0)
                    with tarfile.open(fileobj=handle) as tar:
                        parent_dir = directory.rstrip("/").rsplit("/", 1)[0]
                        for member in tar.getmembers():
                            if member.isfile():
                                found[f"{parent_dir}/{member.name}"] = tar.extractfile(member).read()
        finally:
            container.remove(force=True)
        return found

    def _load(self, key: str, digest: str, plan: "DockerfilePlan", parent: dict, extra: dict[str, bytes]) -> None:
        """``docker load`` an image = the parent's layers + one layer written here."""
        layer_file = WORK_DIR / f"layer-{key}.tar"
        with open(layer_file, "wb") as handle:
            write_tar(handle, plan.copies, extra)
        diff_id = "sha256:" + sha256_file(layer_file)
        config = {"architecture": parent.get("Architecture", "amd64"), "os": parent.get("Os", "linux"),
                  "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  "config": image_config(dict(parent["Config"]), plan, {HASH_LABEL: digest}),
                  "rootfs": {"type": "layers", "diff_ids": [*parent["RootFS"]["Layers"], diff_id]}}
        config_bytes = json.dumps(config).encode()
        config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
        manifest = [{"Config": config_name, "RepoTags": [image_tag(key)],
                     "Layers": [f"{d[7:]}/layer.tar" for d in config["rootfs"]["diff_ids"]]}]
        bundle = WORK_DIR / f"image-{key}.tar"
        try:
            with tarfile.open(bundle, "w") as tar:  # the parent's layers are already loaded
                add_bytes(tar, config_name, config_bytes)
                tar.add(layer_file, arcname=f"{diff_id[7:]}/layer.tar")
                add_bytes(tar, "manifest.json", json.dumps(manifest).encode())
            with open(bundle, "rb") as data:
                for chunk in self.client.api.load_image(data):
                    if "error" in chunk:
                        raise DriverError(f"docker load of {image_tag(key)} failed: {chunk['error']}")
        finally:
            layer_file.unlink(missing_ok=True)
            bundle.unlink(missing_ok=True)


def _run(argv: list[str], *, what: str, logfile: Path | None = None) -> None:
    """Run a host command; on failure raise DriverError with the end of its output."""
    out = open(logfile, "wb") if logfile else subprocess.PIPE
    try:
        proc = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    finally:
        if logfile:
            out.close()
    if proc.returncode != 0:
        text = logfile.read_text(errors="replace") if logfile else (proc.stdout or b"").decode(errors="replace")
        raise DriverError(f"{what} failed (exit {proc.returncode}):\n{text[-3000:]}")


def ensure_wheelhouse(log: Log = print, *, rebuild: bool = False) -> Path:
    """Build (on the host, with network) every wheel the runtime venv needs, once.

    Uses this interpreter's pip, so the host Python must match the image's (3.11 on
    bookworm); ``requirements.txt`` in the wheelhouse records what was built.
    """
    wheels = WORK_DIR / "wheels"
    wanted = "\n".join(runtime_requirements()) + "\n"
    marker = wheels / ".complete"
    if not rebuild and marker.exists() and marker.read_text() == wanted:
        return wheels
    if sys.version_info[:2] != (3, 11):
        raise DriverError(f"wheels for the bookworm images need Python 3.11 on the host "
                          f"(this is {sys.version.split()[0]})")
    wheels.mkdir(parents=True, exist_ok=True)
    (wheels / "requirements.txt").write_text(wanted)
    log(f"[images]   pip wheel -> {wheels}")
    _run([sys.executable, "-m", "pip", "wheel", "--disable-pip-version-check", "-q",
          "--wheel-dir", str(wheels), "--find-links", str(wheels), "-r", str(wheels / "requirements.txt")],
         what="pip wheel", logfile=WORK_DIR / "pip-wheel.log")
    marker.write_text(wanted)
    return wheels


def build_images(pipelines: Iterable[str | Path] = (), *, rebuild: bool = False, log: Log = print) -> dict:
    """Build whatever is missing or stale; return ``{role: {tag, id, built, seconds}}``.

    Order: base, postgres, wheelhouse, runtime, proxy, then each role of each pipeline's
    ``docker.images`` (in ``pipelines``, directories). Raises DriverError (naming the
    step and showing its output) when a step fails.
    """
    wanted_images = {role: (Path(directory).resolve(), dockerfile) for directory in pipelines
                     for role, dockerfile in pipeline_images(directory).items()}
    from harness.dockerutil import docker_client

    WORK_DIR.mkdir(parents=True, exist_ok=True)
    client = docker_client(timeout=600)
    builder = _Builder(client, rebuild, log)
    result: dict = {}
    replaced: list[str] = []
    started = time.perf_counter()

    def step(key: str, digest: str, make: Callable[[], None]) -> str:
        t0 = time.perf_counter()
        image_id = builder.existing(image_tag(key), digest)
        built = image_id is None
        if built:
            log(f"[images] {key:<9} building {image_tag(key)}")
            replaced.extend(builder.current_id(image_tag(key)))
            make()
            image_id = client.images.get(image_tag(key)).id
        seconds = round(time.perf_counter() - t0, 2)
        log(f"[images] {key:<9} {'built' if built else 'cached'} {image_tag(key)} "
            f"({image_id[7:19]}) {seconds:.1f} s")
        result[key] = {"tag": image_tag(key), "id": image_id, "built": built, "seconds": seconds}
        return image_id

    try:
        digest = _digest(SUITE, BASE_PACKAGES, recipe=_BASE_RECIPE)
        base_id = step("base", digest, lambda: builder.base(digest))
        files = _context_files(PACKAGE_DIR, "docker/postgres")
        digest = _digest(base_id, (DOCKER_DIR / "postgres.Dockerfile").read_text(), files=files)
        step("postgres", digest, lambda: builder.dockerfile("postgres", digest, files, IMAGES["base"]))

        wanted = "\n".join(runtime_requirements()) + "\n"
        digest = _digest(base_id, (DOCKER_DIR / "runtime.Dockerfile").read_text(), wanted)

        def runtime() -> None:
            wheels = ensure_wheelhouse(log, rebuild=rebuild)
            files = {f"wheels/{p.name}": p for p in wheels.iterdir() if p.suffix in (".whl", ".txt")}
            builder.dockerfile("runtime", digest, files, IMAGES["base"])

        runtime_id = step("runtime", digest, runtime)
        apps = {"proxy": ({**_context_files(PACKAGE_DIR.parent, "harness"),
                           **_context_files(PACKAGE_DIR, "docker/proxy")}, dockerfile_path("proxy"))}
        apps.update({role: (_context_files(directory), dockerfile)
                     for role, (directory, dockerfile) in wanted_images.items()})
        for key, (files, dockerfile) in apps.items():
            digest = _digest(runtime_id, dockerfile.read_text(), files=files)
            step(key, digest, lambda k=key, f=files, d=digest, p=dockerfile:
                 builder.dockerfile(k, d, f, IMAGES["runtime"], p))
        for old in reversed(replaced):  # children first; images still in use stay
            builder.remove_if_unused(old)
    finally:
        client.close()
    result["total_seconds"] = round(time.perf_counter() - started, 2)
    log(f"[images] done in {result['total_seconds']:.1f} s")
    return result


COMPOSE_ROLES = ("postgres", "proxy")
"""The shared roles a compose file may run besides its pipeline's own images."""


def image_variable(role: str) -> str:
    """The variable a compose file reads role ``role``'s tag from (``<ROLE>_IMAGE``)."""
    return _ROLE_VARIABLES.get(role) or re.sub(r"[^A-Z0-9]", "_", role.upper()) + "_IMAGE"


def image_tag(role: str) -> str:
    """The tag of role ``role``'s image: its variable if set, else ``chaos-harness/<role>:<tag>``."""
    return IMAGES.get(role) or os.environ.get(image_variable(role), f"{OWN_PREFIX}{role}:{IMAGE_TAG}")


def compose_environment(roles: Iterable[str] = ()) -> dict[str, str]:
    """The variables a compose file reads its image tags from: the shared roles' and
    ``roles``' (a pipeline's ``docker.images``), as resolved here."""
    return {image_variable(role): image_tag(role) for role in (*COMPOSE_ROLES, *roles)}


def compose_images(compose_files: Path | Iterable[Path], env: dict[str, str]) -> list[str]:
    """The image tags the services of ``compose_files`` name (a later file's image wins,
    as when compose merges them), ``${VAR:-default}`` resolved from ``env``."""
    import yaml

    def resolve(match: re.Match) -> str:
        return env.get(match[1]) or (match[2] or "")

    images: dict[str, str] = {}
    for compose_file in [compose_files] if isinstance(compose_files, Path) else compose_files:
        spec = yaml.safe_load(Path(compose_file).read_text(encoding="utf-8")) or {}
        for name, service in (spec.get("services") or {}).items():
            if isinstance(service, dict) and "image" in service:
                images[name] = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}", resolve,
                                      str(service["image"]))
    return sorted(set(images.values()))


def absent_images(tags: list[str], client=None) -> list[str]:
    """Which of ``tags`` the engine lacks (asked through ``client`` when given, else
    through a client of its own)."""
    import docker

    from harness.dockerutil import docker_client

    own = client is None
    client = client or docker_client()
    try:
        absent = []
        for tag in tags:
            try:
                client.images.get(tag)
            except docker.errors.ImageNotFound:
                absent.append(tag)
        return absent
    finally:
        if own:
            client.close()


def missing_images(roles: tuple[str, ...] = COMPOSE_ROLES, client=None) -> list[str]:
    """Tags of the images of ``roles`` (default: those compose runs) that the engine lacks."""
    return absent_images([image_tag(role) for role in roles], client)


def require_built(tag: str) -> None:
    """Raise DriverError when ``tag`` is one of ours and absent: ours are built, never pulled."""
    if tag.startswith(OWN_PREFIX) and absent_images([tag]):
        raise DriverError(f"image {tag} is missing (it is built here, never pulled). "
                          "Hint: chaos-harness images build (or docker/ci-setup.sh)")


def default_pipelines(cwd: Path | None = None) -> list[Path]:
    """Pipelines ``images build`` builds when none is named: every ``fixtures/*`` directory
    of the current directory whose ``pipeline.yaml`` declares images."""
    found = sorted(p.parent for p in (cwd or Path.cwd()).glob("fixtures/*/pipeline.yaml"))
    return [d for d in found if pipeline_images(d)]


def build_main(argv: list[str] | None = None) -> int:
    """``chaos-harness images build [PIPELINE_DIR ...] [--rebuild] [--json]``; exit 0 ok, 3 on failure."""
    parser = argparse.ArgumentParser(prog="chaos-harness images build",
                                     description="Build the docker backend's images locally: the shared "
                                                 "ones and those each pipeline's docker.images names.")
    parser.add_argument("pipelines", nargs="*", type=Path, metavar="PIPELINE_DIR",
                        help="pipeline directories whose images to build (default: fixtures/*/ here)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild every image, even cached ones")
    parser.add_argument("--json", action="store_true", help="print the result as JSON at the end")
    args = parser.parse_args(argv)
    try:
        pipelines = args.pipelines or default_pipelines()
        result = build_images(pipelines, rebuild=args.rebuild, log=lambda line: print(line, flush=True))
    except (DriverError, InvalidScenario) as exc:  # a pipeline.yaml that does not load: exit 2
        print(f"chaos-harness images build: {exc}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # docker.errors.APIError and friends: name them, exit 3
        print(f"chaos-harness images build: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 3
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


__all__ = ["COMPOSE_ROLES", "IMAGES", "IMAGE_TAG", "OWN_PREFIX", "absent_images", "build_images", "build_main",
           "compose_environment", "compose_images", "image_tag", "image_variable", "debian_mirror", "default_pipelines",
           "dockerfile_path", "pipeline_images", "ensure_wheelhouse", "missing_images",
           "require_built", "runtime_requirements"]

