"""Container faults refuse backends without container controls (no engine needed)."""

from __future__ import annotations

import random

import pytest

from harness.errors import FaultApplyError
from harness.faults.base import FaultContext
from harness.faults.container import (ContainerControl, PartitionFault, RestartFault, ServiceParams,
                                      StopFault, StopParams)


class ProcessLike:
    name = "process"

    def kill(self, service, signal="SIGKILL"): ...


@pytest.mark.parametrize("fault", [StopFault(StopParams(service="model-server")),
                                   RestartFault(StopParams(service="model-server")),
                                   PartitionFault(ServiceParams(service="feature-server"))])
def test_container_faults_fail_clearly_on_the_process_backend(fault):
    ctx = FaultContext(backend=ProcessLike(), journal=None, rng=random.Random(0), fault_name="f")
    with pytest.raises(FaultApplyError, match="needs the docker backend; this run uses 'process'"):
        fault.inject(ctx)
    assert fault.backends == ("docker",)


def test_the_docker_backend_offers_container_controls():
    from harness.backends.docker import DockerBackend

    assert all(callable(getattr(DockerBackend, name, None)) for name in
               ("stop_service", "start_service", "restart_service", "disconnect", "reconnect"))
    assert issubclass(DockerBackend, ContainerControl)
