"""The pipeline declaration (``pipeline.yaml``): everything specific to one pipeline.

Declared once, in the pipeline's own directory, so that the harness stays generic:
backends, faults, the load and the reports all speak of the names declared here.

* ``services``: how to start each one and how to know it is ready (``health``: an
  HTTP path, or ``{tcp: true}`` for a service without HTTP).
* ``links``: proxied edges ``from`` a service (or ``load``) ``to`` a service. The
  harness creates one Toxiproxy proxy per link and points the caller at it, so network
  faults name a link. A link listed for some ``backends`` only exists there, and may
  end at a dependency only those backends run.
* ``stores``: the data stores data faults may touch, by name: a SQLite file, a
  PostgreSQL table or Redis hashes (``harness.stores``).
* ``artifacts``: files a service serves that faults may swap (``model_swap``), by
  name: the ``service``, the ``path`` (placeholders and a glob matching one file) and
  where its ``older`` versions are; ``docker.artifacts`` says where the same file is
  inside the service's container.
* ``probe``: the request that proves the whole pipeline answers (through the load's
  link) before the load starts; ``load``: the locustfile and its user class.
* ``answers``: ``flags`` (answer fields that are ``true`` when an answer is degraded;
  each becomes a ``<flag>_rate`` metric) and ``values`` (numeric answer fields).
* ``golden``: where the pipeline's golden requests are (carried for the analysis).
* ``docker``: the compose file, the images to build, the proxy service, the links'
  listen/upstream addresses, where the stores are published and the container port
  of each service the harness reaches directly (``services``: its ``/metrics``).

Version 1 files (no ``version``, one ``feature_store`` table) still load: the table
becomes the store ``features``.

Strings in ``command``, ``env``, ``setup`` and store addresses may hold placeholders
filled in by the process backend: ``{python}`` (this interpreter), ``{dir}`` (the
pipeline directory), ``{run_dir}``, ``{cache}`` (a cache directory kept across runs),
``{port}`` (the service's own port), ``{ports.NAME}`` (another service's port),
``{seed}`` and ``{links.NAME}`` (``host:port`` of a link's proxy).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness.errors import InvalidScenario
from harness.located import not_a_mapping, problem_at, problems_of
from harness.units import Identifier
from harness.yamlfile import read_yaml

PIPELINE_FILE = "pipeline.yaml"
DEFAULT_STORE = "features"
"""The name a version-1 ``feature_store`` gets."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, allow_inf_nan=False)


class HealthSpec(_Frozen):
    """Readiness of one service: an HTTP ``path`` answering 200, or a ``tcp`` connect."""

    path: str | None = "/health"
    tcp: bool = False

    @model_validator(mode="before")
    @classmethod
    def _from_path(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"path": data}
        if isinstance(data, dict) and data.get("tcp"):
            return {"path": None, **data}
        return data


class ServiceSpec(_Frozen):
    """One service: how to start it and how to know it is healthy."""

    command: tuple[str, ...] = ()
    """Empty: the docker backend's compose file starts it; the process backend cannot."""
    env: dict[str, str] = {}
    health: HealthSpec = HealthSpec()
    """``/health`` (a path answering 200) or ``{tcp: true}`` (the port accepts)."""
    restart_delay: float = Field(0.5, ge=0)
    """Seconds the supervisor waits before restarting a killed service."""


class LinkSpec(_Frozen):
    """A proxied edge: callers of ``to`` (``from``) reach it through a proxy."""

    from_: str = Field(alias="from")
    to: str
    backends: tuple[str, ...] = ()
    """Backends that have this link; empty means every backend."""
    upstream: str | None = Field(None, pattern=r"^[A-Za-z0-9_.:\[\]-]+:\d{1,5}$")
    """``host:port`` of a dependency the harness does not start (``to`` is then its name).
    Off loopback it must be listed in the scenario's ``allowed_hosts`` (blast radius)."""

    @property
    def upstream_host(self) -> str | None:
        """The host of ``upstream`` (brackets of an IPv6 address removed), or None."""
        if self.upstream is None:
            return None
        return self.upstream.rsplit(":", 1)[0].strip("[]")

    def on(self, backend: str) -> bool:
        """Whether ``backend`` creates this link (``auto`` may pick any backend)."""
        return not self.backends or backend == "auto" or backend in self.backends


class RedisSpec(_Frozen):
    """Where a Redis store is: ``url`` (``redis://host:port/db``, placeholders allowed)."""

    url: str


class StoreSpec(_Frozen):
    """A data store data faults may change: exactly one of ``sqlite`` (a file path),
    ``postgres`` (a DSN) or ``redis`` (hashes under ``key_pattern``).

    Table, key and column names are identifiers (``^[A-Za-z_][A-Za-z0-9_]*$``): the
    SQL stores build statements from them, so nothing else may reach SQL. For Redis the
    columns are hash fields and ``key_pattern`` holds ``{key}`` (``user:{key}``).
    """

    sqlite: str | None = None
    postgres: str | None = None
    redis: RedisSpec | None = None
    table: Identifier = "features"
    key: Identifier = "entity_id"
    key_pattern: str | None = None
    service: str | None = None
    """The service that reads the store (checked to exist)."""
    columns: tuple[Identifier, ...] | None = None
    """The feature columns (key and freshness field excluded); when given, data faults
    may name only these, and ``validate`` says so before anything starts."""
    freshness_field: Identifier = "updated_at"
    freshness_limit_s: float | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _one_kind(self) -> "StoreSpec":
        kinds = [k for k in ("sqlite", "postgres", "redis") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("give exactly one of sqlite, postgres or redis")
        if self.redis is not None and (self.key_pattern is None or "{key}" not in self.key_pattern):
            raise ValueError("a redis store needs key_pattern holding {key}, e.g. 'user:{key}'")
        return self

    @property
    def kind(self) -> str:
        """``sqlite``, ``postgres`` or ``redis``."""
        return next(k for k in ("sqlite", "postgres", "redis") if getattr(self, k) is not None)


class ArtifactSpec(_Frozen):
    """A file a service serves (a model), which ``model_swap`` may replace and restores."""

    service: str
    path: str = Field(min_length=1)
    """Placeholders and a glob that matches exactly one file at run time."""
    older: str = Field("versions/*", min_length=1)
    """Where its other versions are: a glob relative to the artifact's directory."""


class ProbeExpect(_Frozen):
    """What a good probe answer is: its status, and top-level JSON keys it must hold."""

    status: int = Field(200, ge=100, le=599)
    json_has: tuple[str, ...] = ()


class ProbeSpec(_Frozen):
    """The request that proves the pipeline answers, sent through the load's link."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    path: str = Field("/", pattern=r"^/")
    body: Any = None
    """JSON body (sent as ``application/json``), or none."""
    expect: ProbeExpect = ProbeExpect()
    timeout_s: float = Field(20.0, gt=0, le=600)


class LoadTargetSpec(_Frozen):
    """How Locust reaches the pipeline: the locustfile, its user class and the link."""

    locustfile: str = "locustfile.py"
    user_class: str = Field("PipelineUser", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    link: str = "ingress"


class AnswersSpec(_Frozen):
    """What the pipeline's answers carry: boolean ``flags`` and numeric ``values``."""

    flags: tuple[Identifier, ...] = ()
    """Answer fields that are ``true`` when the answer is degraded (or notable); each
    becomes the metric ``<flag>_rate``."""
    values: tuple[Identifier, ...] = ()
    """Numeric answer fields (may be null in a degraded answer)."""


class DockerLink(_Frozen):
    """A link in the compose project: where its proxy listens, what it forwards to."""

    listen: str
    upstream: str


class DockerStore(_Frozen):
    """Where a store is reached in the compose project: a ``service`` publishing ``port``
    on loopback; ``dsn``/``url`` with ``{host}`` and ``{port}`` (the published ones)."""

    service: str
    port: int = Field(ge=1, le=65535)
    dsn: str | None = None
    """PostgreSQL DSN (the store is PostgreSQL here whatever it is elsewhere)."""
    url: str | None = None
    """Redis URL (default ``redis://{host}:{port}/0`` for a redis store)."""


class DockerProxy(_Frozen):
    """The compose service running the Toxiproxy-API server, and its API port."""

    service: str = "toxiproxy"
    api_port: int = Field(8474, ge=1, le=65535)


class DockerGolden(_Frozen):
    """Where the golden set is inside the compose project."""

    service: str
    path: str


class DockerArtifact(_Frozen):
    """Where a declared artifact is inside its service's container: an absolute ``path``
    (a glob; ``{seed}`` is the run's seed)."""

    path: str = Field(pattern=r"^/")


class DockerService(_Frozen):
    """A service in the compose project: the container ``port`` it serves HTTP on
    (its ``/metrics`` is scraped there, on loopback when compose publishes it)."""

    port: int = Field(ge=1, le=65535)


class DockerSpec(_Frozen):
    """The pipeline in containers: compose file and images relative to the pipeline dir."""

    compose: tuple[str, ...]
    """The compose file, or several merged in order (``-f a -f b``): e.g. a team's own
    file and the override ``chaos-harness init`` wrote beside this declaration."""
    images: dict[str, str] = {}
    """Image role -> Dockerfile; built on ``chaos-harness/runtime`` with the pipeline
    directory as context by ``chaos-harness images build``."""
    proxy: DockerProxy = DockerProxy()
    links: dict[str, DockerLink] = {}
    stores: dict[str, DockerStore] = {}
    golden: DockerGolden | None = None
    artifacts: dict[str, DockerArtifact] = {}
    services: dict[str, DockerService] = {}
    """Service -> the container port the harness reaches it on (``backend.service_urls``)."""

    @model_validator(mode="before")
    @classmethod
    def _one_file(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("compose"), str):
            return {**data, "compose": (data["compose"],)}
        return data


class Pipeline(_Frozen):
    """A whole pipeline declaration; ``dir`` is where it was read from."""

    version: Literal[1, 2] = 1
    name: str
    dir: Path = Path(".")
    setup: tuple[tuple[str, ...], ...] = ()
    services: dict[str, ServiceSpec]
    links: dict[str, LinkSpec] = {}
    stores: dict[str, StoreSpec] = {}
    artifacts: dict[Identifier, ArtifactSpec] = {}
    probe: ProbeSpec | None = None
    """None: the services' health checks are all the readiness there is."""
    load: LoadTargetSpec = LoadTargetSpec()
    answers: AnswersSpec = AnswersSpec()
    golden: str | None = None
    docker: DockerSpec | None = None

    @model_validator(mode="before")
    @classmethod
    def _version_1(cls, data: Any) -> Any:
        """A version-1 ``feature_store`` is the store ``features``."""
        if isinstance(data, dict) and "feature_store" in data:
            if data.get("version", 1) != 1 or "stores" in data:
                raise ValueError("feature_store is version 1; version 2 declares stores")
            store = data["feature_store"]
            data = {k: v for k, v in data.items() if k != "feature_store"}
            data["stores"] = {DEFAULT_STORE: store}
        return data

    @model_validator(mode="after")
    def _names_known(self) -> "Pipeline":
        for name, link in self.links.items():
            ends = (link.from_,) if link.backends or link.upstream else (link.from_, link.to)
            for end in ends:
                if end != "load" and end not in self.services:
                    raise ValueError(f"link {name!r} names unknown service {end!r}")
        for name, store in self.stores.items():
            if store.service is not None and store.service not in self.services:
                raise ValueError(f"store {name!r} names unknown service {store.service!r}")
        if self.load.link not in self.links:
            raise ValueError(f"load.link names unknown link {self.load.link!r}")
        if self.docker is not None:
            for name in self.docker.stores:
                if name not in self.stores:
                    raise ValueError(f"docker.stores names unknown store {name!r}")
            for name in self.docker.services:
                if name not in self.services:
                    raise ValueError(f"docker.services names unknown service {name!r}")
        return self

    def store_named(self, name: str | None) -> tuple[str, StoreSpec]:
        """``(name, spec)`` of store ``name``, or of the only store when ``name`` is None.

        Raises LookupError saying what is declared."""
        if name is None:
            if len(self.stores) == 1:
                return next(iter(self.stores.items()))
            if not self.stores:
                raise LookupError(f"pipeline {self.name!r} declares no stores")
            raise LookupError(f"pipeline {self.name!r} declares stores {', '.join(self.stores)}: "
                              f"name one (store: NAME)")
        if name not in self.stores:
            raise LookupError(f"pipeline {self.name!r} has no store {name!r}; "
                              f"it has: {', '.join(self.stores) or 'none'}")
        return name, self.stores[name]

    def artifact_named(self, name: str) -> ArtifactSpec:
        """The declared artifact ``name``; LookupError saying what is declared."""
        if name not in self.artifacts:
            raise LookupError(f"pipeline {self.name!r} has no artifact {name!r}; "
                              f"it has: {', '.join(self.artifacts) or 'none'}")
        return self.artifacts[name]

    def start_order(self) -> list[str]:
        """Services ordered so that each starts after the services it calls."""
        order: list[str] = []
        def visit(name: str, seen: tuple[str, ...] = ()) -> None:
            if name in order or name in seen:
                return
            for link in self.links.values():
                if link.from_ == name and link.to in self.services:
                    visit(link.to, seen + (name,))
            order.append(name)
        for name in self.services:
            visit(name)
        return order

    def docker_only(self) -> list[str]:
        """Services without a ``command``: only the docker backend can run them."""
        return [name for name, spec in self.services.items() if not spec.command]

    def path(self, relative: str) -> Path:
        """``relative`` (a file the declaration names) resolved against the pipeline dir."""
        return (self.dir / relative).resolve()


def load_pipeline(directory: str | Path) -> Pipeline:
    """Read ``<directory>/pipeline.yaml``; InvalidScenario lists its problems by line."""
    directory = Path(directory).resolve()
    doc = read_yaml(directory / PIPELINE_FILE)
    if not isinstance(doc.data, dict):
        raise InvalidScenario([not_a_mapping(doc, "pipeline keys")])
    try:
        pipeline = Pipeline.model_validate({**doc.data, "dir": directory})
    except ValidationError as exc:
        raise InvalidScenario(problems_of(exc, doc)) from None
    problems = [problem_at(doc, loc, message) for loc, message in _artifact_problems(pipeline)]
    if problems:
        raise InvalidScenario(problems)
    return pipeline


def _artifact_problems(pipeline: Pipeline) -> list[tuple[tuple, str]]:
    """``(key path, message)`` for each artifact naming an unknown service, and each
    ``docker.artifacts`` entry naming an undeclared artifact."""
    problems = [(("artifacts", name, "service"), f"names unknown service {spec.service!r}; "
                 f"services: {', '.join(pipeline.services)}")
                for name, spec in pipeline.artifacts.items() if spec.service not in pipeline.services]
    for name in pipeline.docker.artifacts if pipeline.docker else ():
        if name not in pipeline.artifacts:
            problems.append((("docker", "artifacts", name), f"names unknown artifact {name!r}; "
                             f"artifacts: {', '.join(pipeline.artifacts) or 'none'} (declare it in artifacts first)"))
    return problems
