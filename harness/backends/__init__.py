"""Backends: a registry of small classes that bring a pipeline up and down.

``process`` (the embedded default) runs each service as a supervised local process;
``docker`` runs ``docker-compose.chaos.yml``. ``auto`` picks docker when an engine
answers, else process.
"""

from __future__ import annotations

from importlib import import_module

from harness.backends.base import Backend

_MODULES = {"process": "harness.backends.process", "docker": "harness.backends.docker"}


def backend_names() -> list[str]:
    """Names a scenario or ``--backend`` may use."""
    return [*_MODULES, "auto"]


def get_backend(name: str) -> type[Backend]:
    """The backend class for ``name``; ``auto`` resolves to docker or process."""
    if name == "auto":
        from harness.dockerutil import docker_available

        name = "docker" if docker_available()[0] else "process"
    module = import_module(_MODULES[name])
    return module.BACKEND


__all__ = ["Backend", "backend_names", "get_backend"]
