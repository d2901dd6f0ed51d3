"""Jobs on QEMU: a guest that takes its time to shut down gives a job that runs, then ends."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import pywbem

from tests.http.servers import running_server

pytestmark = [pytest.mark.http]

SHUT_DOWN, TERMINATE = 4, 4
RUNNING, COMPLETED, TERMINATED = 4, 7, 8


def job_state(conn: pywbem.WBEMConnection, job: pywbem.CIMInstanceName, until: int) -> int:
    deadline = time.monotonic() + 10
    state = conn.GetInstance(job)["JobState"]
    while state != until and time.monotonic() < deadline:
        time.sleep(0.05)
        state = conn.GetInstance(job)["JobState"]
    return int(state)


def test_a_slow_shutdown_is_a_job_running_until_the_guest_is_off_and_cancelled_jobs_say_so(
        qemu_uri, qemu_conn, tiny_guest_xml, scratch_guest_name, tmp_path: Path):
    name = scratch_guest_name()
    qemu_conn.defineXML(tiny_guest_xml(name)).create()
    with running_server(tmp_path, uris=(qemu_uri,)) as server:
        conn = server.connection()
        guest = pywbem.CIMInstanceName("KVM_ComputerSystem", {
            "CreationClassName": "KVM_ComputerSystem", "Name": name}, namespace="root/virt")
        # The tiny guest runs no operating system: it ignores the request to shut down.
        result, out = conn.InvokeMethod("RequestStateChange", guest,
                                        RequestedState=pywbem.Uint16(SHUT_DOWN))
        assert result == 4096
        first = out["Job"]
        time.sleep(0.5)
        assert conn.GetInstance(first)["JobState"] == RUNNING
        assert conn.InvokeMethod("RequestStateChange", first,
                                 RequestedState=pywbem.Uint16(TERMINATE))[0] == 0
        cancelled = conn.GetInstance(first)
        assert cancelled["JobState"] == TERMINATED
        assert "as libvirt has it" in cancelled["ErrorDescription"]
        assert qemu_conn.lookupByName(name).isActive()

        _, out = conn.InvokeMethod("RequestStateChange", guest,
                                   RequestedState=pywbem.Uint16(SHUT_DOWN))
        second = out["Job"]
        assert conn.GetInstance(second)["JobState"] == RUNNING
        subprocess.run(["virsh", "-c", qemu_uri, "destroy", name], check=True,
                       capture_output=True, timeout=60)
        assert job_state(conn, second, COMPLETED) == COMPLETED
        assert conn.GetInstance(second)["PercentComplete"] == 100
