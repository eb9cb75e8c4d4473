"""Docker cleanup removes only what is its own: without a run id, objects whose owner is
known dead; with one, that run's objects unless their owner lives. Volumes stand for
every kind of object (containers and networks go through the same check), so no image
is needed; every object carries a run id unique to the test."""

from __future__ import annotations

import secrets
import subprocess

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.timeout(120)]


def test_cleanup_without_run_id_removes_only_known_orphans():
    import docker

    from harness.dockerutil import RUN_LABEL, cleanup_docker, labelled_objects, owner_labels, remove_labelled, run_label
    from harness.procgroup import identity

    run_id = f"tc-orphans-{secrets.token_hex(4)}"
    live, gone = subprocess.Popen(["sleep", "120"]), subprocess.Popen(["sleep", "120"])
    gone_owner = identity(gone.pid)
    gone.kill()
    gone.wait()

    def owned_by(owner: dict) -> dict[str, str]:
        return {RUN_LABEL: run_id, "chaos-harness.owner-pid": str(owner["pid"]),
                "chaos-harness.owner-start": str(owner["start_time"]), "chaos-harness.owner-host": str(owner["host"])}

    owners = {"live": owned_by(identity(live.pid)),
              "dead": owned_by(gone_owner),
              "recycled": owned_by({**identity(live.pid), "start_time": 1}),
              "foreign": owned_by({**identity(live.pid), "host": "another-boot/pid:[1]"}),
              "unlabelled": {RUN_LABEL: run_id}}
    client = docker.from_env()
    try:
        for name, labels in owners.items():
            client.volumes.create(f"{run_id}-{name}", labels=labels)
        assert owner_labels(run_id)[RUN_LABEL] == run_id
        # what `cleanup` without --run-id does, restricted to this test's objects:
        orphans = remove_labelled(run_label(run_id), orphans_only=True)
        assert sorted(orphans) == [f"volume {run_id}-dead", f"volume {run_id}-recycled"]
        # `cleanup --run-id`: also owners it cannot know, never a live one
        assert sorted(cleanup_docker(run_id)) == [f"volume {run_id}-foreign", f"volume {run_id}-unlabelled"]
        assert labelled_objects(run_id)["volumes"] == [f"{run_id}-live"]
        live.kill()
        live.wait()
        assert cleanup_docker(run_id) == [f"volume {run_id}-live"]
    finally:
        live.kill()
        for volume in client.volumes.list(filters={"label": [run_label(run_id)]}):
            volume.remove(force=True)
        client.close()
