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
    kinds = [r["kind"] for r in read_jsonl(journal.path)]
    assert kinds == ["service_started", "service_exited", "service_started", "service_restarted", "service_healthy"]


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
