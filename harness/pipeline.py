"""The pipeline declaration (``pipeline.yaml``): services, links and the feature store.

Declared once so that backends, faults and scenarios speak of the same names. A
**link** is a proxied edge ``from`` a service (or ``load``) ``to`` a service: the
harness creates one Toxiproxy proxy per link and points the caller at it, so network
faults name a link (``features``, ``ingress``). A link listed for some ``backends``
only exists there, and may end at a dependency only those backends run (the docker
backend's ``feature-db`` link to PostgreSQL).

Strings in ``command``, ``env`` and ``setup`` may hold placeholders filled in by the
process backend: ``{python}`` (this interpreter), ``{dir}`` (the pipeline directory),
``{run_dir}``, ``{cache}`` (a cache directory kept across runs), ``{port}`` (the
service's own port), ``{seed}`` and ``{links.NAME}`` (``host:port`` of a link's proxy).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness.errors import InvalidScenario
from harness.located import not_a_mapping, problems_of
from harness.units import Identifier
from harness.yamlfile import read_yaml

PIPELINE_FILE = "pipeline.yaml"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, allow_inf_nan=False)


class ServiceSpec(_Frozen):
    """One service: how to start it and how to know it is healthy."""

    command: tuple[str, ...]
    env: dict[str, str] = {}
    health: str = "/health"
    """HTTP path that answers 200 when the service is ready."""
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


class FeatureStoreSpec(_Frozen):
    """Where the feature table lives (the data faults' target).

    Table, key and column names are SQL identifiers (``^[A-Za-z_][A-Za-z0-9_]*$``): the
    stores build statements from them, so nothing else may reach SQL.
    """

    sqlite: str
    table: Identifier = "features"
    key: Identifier = "entity_id"
    service: str = "feature-server"
    columns: tuple[Identifier, ...] | None = None
    """The feature columns (key and ``updated_at`` excluded); when given, data faults
    may name only these, and ``validate`` says so before anything starts."""


class LoadTargetSpec(_Frozen):
    """How Locust reaches the pipeline."""

    locustfile: str = "locustfile.py"
    link: str = "ingress"


class Pipeline(_Frozen):
    """A whole pipeline declaration; ``dir`` is where it was read from."""

    name: str
    dir: Path = Path(".")
    setup: tuple[tuple[str, ...], ...] = ()
    services: dict[str, ServiceSpec]
    links: dict[str, LinkSpec] = {}
    feature_store: FeatureStoreSpec | None = None
    load: LoadTargetSpec = LoadTargetSpec()

    @model_validator(mode="after")
    def _links_name_services(self) -> "Pipeline":
        for name, link in self.links.items():
            ends = (link.from_,) if link.backends or link.upstream else (link.from_, link.to)
            for end in ends:
                if end != "load" and end not in self.services:
                    raise ValueError(f"link {name!r} names unknown service {end!r}")
        store = self.feature_store
        if store is not None and store.service not in self.services:
            raise ValueError(f"feature_store names unknown service {store.service!r}")
        return self

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


def load_pipeline(directory: str | Path) -> Pipeline:
    """Read ``<directory>/pipeline.yaml``; InvalidScenario lists its problems by line."""
    directory = Path(directory).resolve()
    doc = read_yaml(directory / PIPELINE_FILE)
    if not isinstance(doc.data, dict):
        raise InvalidScenario([not_a_mapping(doc, "pipeline keys")])
    try:
        return Pipeline.model_validate({**doc.data, "dir": directory})
    except ValidationError as exc:
        raise InvalidScenario(problems_of(exc, doc)) from None
