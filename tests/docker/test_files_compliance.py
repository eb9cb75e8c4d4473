"""One set of assertions for every :class:`harness.files.ServiceFiles`: local files
(process backend), files in memory (fake backend) and files inside a running
container through the Docker SDK (docker backend; ``docker``-marked, a throwaway
container of ``chaos-harness/base``). What ``model_swap`` relies on: glob, read,
atomic replace, checksum, remove."""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from typing import Callable

import pytest

from harness.errors import DriverError
from harness.files import LocalFiles, MemoryFiles, ServiceFiles

PAYLOAD = bytes(range(256)) * 40 + b"\n\0 end"


@dataclass
class Place:
    """Files to test, a directory with a space in its name, and how to make directories
    (the protocol has no mkdir: a service's directories exist)."""

    fs: ServiceFiles
    dir: str
    mkdir: Callable[[str], None]


@pytest.fixture(params=["local", "memory", pytest.param("container", marks=pytest.mark.docker)])
def place(request, tmp_path):
    if request.param == "local":
        yield Place(LocalFiles(), str(tmp_path / "my files"), lambda d: os.makedirs(d, exist_ok=True))
    elif request.param == "memory":
        yield Place(MemoryFiles(), "/srv/my files", lambda d: None)
    else:
        yield from _in_a_container(request)


def _in_a_container(request):
    request.getfixturevalue("docker_images")
    from harness.backends._docker_files import ContainerFiles
    from harness.dockerutil import docker_client
    from harness.images import image_tag

    client = docker_client()
    container = client.containers.run(image_tag("base"), ["sleep", "300"], detach=True, init=True,
                                      name=f"chaos-files-{secrets.token_hex(4)}")
    try:
        def mkdir(d: str) -> None:
            assert container.exec_run(["mkdir", "-p", d]).exit_code == 0

        yield Place(ContainerFiles(lambda: container, container.name), "/srv/my files", mkdir)
    finally:
        container.remove(force=True)
        client.close()


def test_replace_then_read_and_checksum_give_the_bytes_back(place):
    fs, d = place.fs, place.dir
    place.mkdir(d)
    assert isinstance(fs, ServiceFiles)
    fs.replace(f"{d}/model.pkl", b"first")
    fs.replace(f"{d}/model.pkl", PAYLOAD)
    assert fs.read(f"{d}/model.pkl") == PAYLOAD
    assert fs.sha256(f"{d}/model.pkl") == hashlib.sha256(PAYLOAD).hexdigest()
    assert fs.glob(f"{d}/*") == [f"{d}/model.pkl"]
    assert fs.glob(f"{d}/.*") == []  # no temp file left beside it


def test_glob_matches_like_a_shell_and_never_runs_the_pattern(place):
    fs, d = place.fs, place.dir
    for sub in ("m_1", "m_1/versions", "other"):
        place.mkdir(f"{d}/{sub}")
    for path in ("m_1/model.pkl", "m_1/versions/b.pkl", "m_1/versions/a.pkl", "other/model.pkl"):
        fs.replace(f"{d}/{path}", path.encode())
    assert fs.glob(f"{d}/m_*/model.pkl") == [f"{d}/m_1/model.pkl"]
    assert fs.glob(f"{d}/m_1/versions/*") == [f"{d}/m_1/versions/a.pkl", f"{d}/m_1/versions/b.pkl"]
    assert fs.glob(f"{d}/*/model.pkl") == [f"{d}/m_1/model.pkl", f"{d}/other/model.pkl"]
    assert fs.glob(f"{d}/nothing_*") == []
    assert fs.glob(f"{d}/$(touch {d}/pwned)*; touch {d}/pwned2") == []
    assert fs.glob(f"{d}/pwned*") == []


def test_remove_is_idempotent_and_a_missing_file_is_a_driver_error(place):
    fs, d = place.fs, place.dir
    place.mkdir(d)
    fs.replace(f"{d}/gone.bin", b"x")
    fs.remove(f"{d}/gone.bin")
    fs.remove(f"{d}/gone.bin")
    assert fs.glob(f"{d}/gone.*") == []
    with pytest.raises(DriverError, match="gone.bin"):
        fs.read(f"{d}/gone.bin")
    with pytest.raises(DriverError, match="gone.bin"):
        fs.sha256(f"{d}/gone.bin")
