"""The job registry: what closing it does to jobs still running."""

from __future__ import annotations

import threading

from virtcim.jobs import JobRegistry
from virtcim.state import StateStore


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
