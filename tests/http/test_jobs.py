"""Jobs over HTTP: a guest's shutdown returns 4096 and a CIM_ConcreteJob that reports and ends."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import pywbem

from tests.http.indication_listener import Listener, subscribe
from tests.http.servers import driver_guest_path as guest_path
from tests.http.servers import running_server

PORT = 27468
COMPLETED, EXCEPTION = 7, 10


def finished(conn: pywbem.WBEMConnection, job: pywbem.CIMInstanceName) -> pywbem.CIMInstance:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = conn.GetInstance(job)
        if found["JobState"] not in (3, 4):
            return found
        time.sleep(0.05)
    raise AssertionError(f"job {job} still running")


def test_a_shutdown_returns_a_job_that_completes_when_the_guest_is_off(
        server, running_guest, libvirt_conn):
    conn = server.connection()
    listener = Listener(PORT).start()
    sm = pywbem.WBEMSubscriptionManager("jobs")
    server_id = sm.add_server(pywbem.WBEMServer(server.connection("interop")))
    try:
        subscribe(sm, server_id, listener,
                  "SELECT * FROM CIM_InstIndication WHERE SourceInstance ISA CIM_ConcreteJob")
        result, out = conn.InvokeMethod("RequestStateChange", guest_path(running_guest),
                                        RequestedState=pywbem.Uint16(4))
        assert result == 4096
        job = out["Job"]
        assert job.classname == "CIM_ConcreteJob"
        done = finished(conn, job)
        assert done["JobState"] == COMPLETED
        assert done["PercentComplete"] == 100
        assert done["ErrorCode"] is None
        assert done["ElapsedTime"].is_interval
        assert done["DeleteOnCompletion"] is True
        assert not libvirt_conn.lookupByName(running_guest).isActive()
        [affected] = conn.AssociatorNames(job, AssocClass="CIM_AffectedJobElement")
        assert affected.keybindings["Name"] == running_guest
        [owner] = conn.AssociatorNames(job, AssocClass="CIM_OwningJobElement")
        assert owner.keybindings["Name"] == running_guest
        assert job in [found.path for found in conn.EnumerateInstances("CIM_ConcreteJob")] or \
            any(p["InstanceID"] == job["InstanceID"]
                for p in conn.EnumerateInstanceNames("CIM_ConcreteJob"))
        creation = listener.next()
        assert creation.classname == "CIM_InstCreation"
        assert creation["SourceInstance"]["JobState"] == 4
        changed = listener.next()
        assert changed.classname == "CIM_InstModification"
        assert changed["PreviousInstance"]["JobState"] == 4
        assert changed["SourceInstance"]["JobState"] == COMPLETED
        assert conn.InvokeMethod("GetError", job) == (0, {})
        assert conn.InvokeMethod("RequestStateChange", job,
                                 RequestedState=pywbem.Uint16(4))[0] == 4097
        conn.DeleteInstance(job)
        with pytest.raises(pywbem.CIMError) as failure:
            conn.GetInstance(job)
        assert failure.value.status_code == pywbem.CIM_ERR_NOT_FOUND
    finally:
        sm.remove_server(server_id)
        listener.stop()


def test_a_finished_job_goes_after_its_time_before_removal(server, running_guest):
    conn = server.connection()
    _, out = conn.InvokeMethod("RequestStateChange", guest_path(running_guest),
                               RequestedState=pywbem.Uint16(4))
    done = finished(conn, out["Job"])
    done["TimeBeforeRemoval"] = pywbem.CIMDateTime("00000000000001.000000:000")
    conn.ModifyInstance(done, PropertyList=["TimeBeforeRemoval"])
    time.sleep(1.1)
    with pytest.raises(pywbem.CIMError) as failure:
        conn.GetInstance(out["Job"])
    assert failure.value.status_code == pywbem.CIM_ERR_NOT_FOUND


def test_a_job_running_when_the_server_stops_reads_interrupted_after_the_restart(
        tmp_path: Path, running_guest, monkeypatch):
    import providers.computer_system as computer_system

    with running_server(tmp_path) as first:
        conn = first.connection()
        # The test driver shuts a guest down at once; this one "ignores" the request.
        monkeypatch.setattr(computer_system.Domain, "shutdown", lambda self: None)
        result, out = conn.InvokeMethod("RequestStateChange", guest_path(running_guest),
                                        RequestedState=pywbem.Uint16(4))
        assert result == 4096
        assert conn.GetInstance(out["Job"])["JobState"] == 4
    with running_server(tmp_path) as second:
        found = second.connection().GetInstance(out["Job"])
        assert found["JobState"] == EXCEPTION
        assert "interrupted" in found["ErrorDescription"]
        status, error = second.connection().InvokeMethod("GetError", out["Job"])
        assert error["Error"]["Message"] == found["ErrorDescription"]


def test_a_terminated_job_leaves_the_guest_as_libvirt_has_it(server, running_guest,
                                                             libvirt_conn, monkeypatch):
    import providers.computer_system as computer_system

    monkeypatch.setattr(computer_system.Domain, "shutdown", lambda self: None)
    conn = server.connection()
    _, out = conn.InvokeMethod("RequestStateChange", guest_path(running_guest),
                               RequestedState=pywbem.Uint16(4))
    assert conn.GetInstance(out["Job"])["JobState"] == 4
    assert conn.InvokeMethod("RequestStateChange", out["Job"],
                             RequestedState=pywbem.Uint16(4))[0] == 0
    job = conn.GetInstance(out["Job"])
    assert job["JobState"] == 8
    assert "stays as libvirt has it" in job["ErrorDescription"]
    assert libvirt_conn.lookupByName(running_guest).isActive()


def test_a_subclass_s_job_is_found_under_its_class_and_as_a_concrete_job(server, running_guest):
    """Moves are libvirt-cim's <Prefix>_MigrationJob; a client asking for CIM_ConcreteJob
    finds them too, answered as what they are."""
    release = threading.Event()
    guest = guest_path(running_guest)
    job = server.app.jobs.start("Migrate", "root/virt", lambda control: release.wait(10),
                                affected=[guest], classname="Test_MigrationJob")
    conn = server.connection()
    try:
        [found] = [p for p in conn.EnumerateInstanceNames("CIM_ConcreteJob")
                   if p["InstanceID"] == job.instance_id]
        assert found.classname == "Test_MigrationJob"
        assert [i["InstanceID"] for i in conn.EnumerateInstances("Test_MigrationJob")] == [
            job.instance_id]
        assert conn.EnumerateInstances("KVM_MigrationJob") == []
        as_concrete = pywbem.CIMInstanceName("CIM_ConcreteJob", {"InstanceID": job.instance_id},
                                             namespace="root/virt")
        by_superclass = conn.GetInstance(as_concrete)
        assert by_superclass["InstanceID"] == job.instance_id
        assert by_superclass.classname == "Test_MigrationJob"
        with pytest.raises(pywbem.CIMError) as error:
            conn.GetInstance(pywbem.CIMInstanceName(
                "KVM_MigrationJob", {"InstanceID": job.instance_id}, namespace="root/virt"))
        assert error.value.status_code == pywbem.CIM_ERR_NOT_FOUND
        [linked] = [p for p in conn.AssociatorNames(guest, AssocClass="CIM_AffectedJobElement")
                    if p["InstanceID"] == job.instance_id]
        assert linked.classname == "Test_MigrationJob"
    finally:
        release.set()
    assert finished(conn, found)["JobState"] == COMPLETED
