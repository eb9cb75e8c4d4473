"""The process backend's supervisor kills for real and restarts like a restart policy."""

import os
import signal
import sys
import time

from harness.journal import Journal, read_jsonl
from harness.supervisor import SupervisedProcess


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def state(pid):
    """The process state letter from /proc (R, S, T stopped, Z zombie...)."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return state(pid) != "Z"


def test_sigkill_is_followed_by_a_restart_and_stop_leaves_nothing(tmp_path):
    journal = Journal(tmp_path / "journal.jsonl")
    service = SupervisedProcess(name="sleeper", command=[sys.executable, "-c", "import time; time.sleep(60)"],
                                env=dict(os.environ), log_path=tmp_path / "sleeper.log", journal=journal,
                                restart_delay=0.2, health=lambda: True)
    service.start()
    first = service.pid
    service.signal(signal.SIGKILL)
    assert wait_for(lambda: service.restarts == 1 and service.pid != first)
    assert wait_for(lambda: "service_healthy" in journal.path.read_text())
    assert not alive(first)
    second = service.pid
    assert alive(second)
    service.stop()
    assert not alive(second)
    time.sleep(0.5)  # longer than restart_delay: no restart may sneak in after stop
    assert service.restarts == 1
    records = list(read_jsonl(journal.path))
    kinds = [r["kind"] for r in records]
    assert kinds == ["service_started", "service_died", "service_started", "service_restarted", "service_healthy"]
    assert records[1]["cause"] == "unplanned" and records[1]["pid"] == first
    assert records[1]["reason"] == "killed by SIGKILL, not by the plan"


def test_a_death_marked_as_planned_is_journaled_as_planned(tmp_path):
    journal = Journal(tmp_path / "journal.jsonl")
    service = SupervisedProcess(name="sleeper", command=[sys.executable, "-c", "import time; time.sleep(60)"],
                                env=dict(os.environ), log_path=tmp_path / "sleeper.log", journal=journal,
                                restart_delay=0.1, health=lambda: True)
    service.start()
    try:
        service.expect_exit("SIGKILL from the plan")
        service.signal(signal.SIGKILL)
        assert wait_for(lambda: "service_healthy" in journal.path.read_text())
        service.signal(signal.SIGTERM)  # the next death is nobody's plan
        assert wait_for(lambda: journal.path.read_text().count("service_healthy") == 2)
    finally:
        service.stop()
    deaths = [r for r in read_jsonl(journal.path) if r["kind"] in ("service_exited", "service_died")]
    assert [(r["kind"], r.get("planned"), r["cause"]) for r in deaths] == [
        ("service_exited", True, "SIGKILL from the plan"), ("service_died", None, "unplanned")]
    assert deaths[1]["reason"] == "killed by SIGTERM, not by the plan"


def test_pause_freezes_the_process(tmp_path):
    journal = Journal(tmp_path / "journal.jsonl")
    service = SupervisedProcess(name="ticker", command=[sys.executable, "-u", "-c",
                                "import time\nwhile True: print(time.time(), flush=True); time.sleep(0.02)"],
                                env=dict(os.environ), log_path=tmp_path / "ticker.log", journal=journal,
                                restart_delay=0.2, health=lambda: True)
    service.start()
    try:
        assert wait_for(lambda: (tmp_path / "ticker.log").stat().st_size > 0)
        service.signal(signal.SIGSTOP)
        assert wait_for(lambda: state(service.pid) == "T")  # the kernel says it is stopped
        size = (tmp_path / "ticker.log").stat().st_size
        time.sleep(0.4)
        assert (tmp_path / "ticker.log").stat().st_size == size
        service.signal(signal.SIGCONT)
        assert wait_for(lambda: (tmp_path / "ticker.log").stat().st_size > size, 3)
    finally:
        service.stop()
    assert service.restarts == 0
