"""The job registry: what closing it does to jobs still running."""

from __future__ import annotations

import threading

from pywbem import CIM_ERR_FAILED, CIMError

from virtcim.jobs import JobRegistry
from virtcim.state import StateStore
from virtcim.valuemaps import JobState


def test_closing_cancels_running_jobs_and_waits_for_their_threads(repository):
    """A job waiting on its own event (as a shutdown waits for libvirt's) is woken by
    its cancel callback, so no job thread outlives the server's libvirt connections."""
    registry = JobRegistry(repository, StateStore(None))
    wake = threading.Event()
    started = threading.Event()

    def wait_for_wake(control):
        started.set()
        wake.wait(120)
        control.check()

    registry.start("Wait", "root/virt", wait_for_wake, cancel=wake.set)
    assert started.wait(10)
    registry.close()
    assert not [t for t in threading.enumerate() if t.name == "job Wait"]


def test_a_job_run_at_once_is_finished_when_run_returns(repository):
    """What a method that completes before returning hands its client: the job as it ended."""
    registry = JobRegistry(repository, StateStore(None))
    callers = []
    done = registry.run("Quick", "root/virt", lambda control: callers.append(threading.current_thread()))
    assert callers == [threading.current_thread()]
    assert (done.state, done.percent, done.error_code) == (JobState.COMPLETED, 100, None)
    assert registry.jobs() == [done]


def test_a_job_run_at_once_that_fails_ends_in_exception_with_the_error(repository):
    registry = JobRegistry(repository, StateStore(None))

    def refuse(control):
        raise CIMError(CIM_ERR_FAILED, "libvirt said no")

    failed = registry.run("Refused", "root/virt", refuse)
    assert failed.state == JobState.EXCEPTION
    assert (failed.error_code, failed.error_description) == (CIM_ERR_FAILED, "libvirt said no")
    assert not registry.terminate(failed.instance_id)
