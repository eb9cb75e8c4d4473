"""CPU priority for fault timing: real-time only inside the block, the proxy's own priority."""

import os
import subprocess
import sys

import pytest

from harness.priority import PROXY_NICE, SWITCH_S, raise_priority, time_critical


def _may_raise_priority() -> bool:
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    except OSError:
        return False
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    return True


def test_time_critical_is_real_time_inside_and_normal_after():
    before = os.sched_getscheduler(0)
    with time_critical():
        inside = os.sched_getscheduler(0)
        child = subprocess.run([sys.executable, "-c", "import os; print(os.sched_getscheduler(0))"],
                               capture_output=True, text=True, check=True)
    assert os.sched_getscheduler(0) == before == os.SCHED_OTHER
    assert int(child.stdout) == os.SCHED_OTHER  # a process started inside does not inherit it
    if _may_raise_priority():
        assert inside & ~os.SCHED_RESET_ON_FORK == os.SCHED_FIFO
    else:  # without privilege: nothing changes, nothing fails
        assert inside == before


def test_time_critical_restores_on_an_exception():
    interval = sys.getswitchinterval()
    with pytest.raises(KeyError), time_critical():
        assert sys.getswitchinterval() == pytest.approx(SWITCH_S)
        raise KeyError("x")
    assert os.sched_getscheduler(0) == os.SCHED_OTHER
    assert sys.getswitchinterval() == interval


def test_raise_priority_gives_a_started_process_and_its_autogroup_a_lower_nice():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    try:
        raised = raise_priority(child.pid)
        if not _may_raise_priority():
            pytest.skip("no privilege to raise a priority here")
        assert raised and os.getpriority(os.PRIO_PROCESS, child.pid) == PROXY_NICE
        if os.path.exists(f"/proc/{child.pid}/autogroup"):  # kernels with autogroups
            with open(f"/proc/{child.pid}/autogroup") as autogroup:
                assert autogroup.read().split()[-1] == str(PROXY_NICE)
    finally:
        child.kill()
        child.wait()
    assert raise_priority(child.pid) is False  # gone: nothing to raise
