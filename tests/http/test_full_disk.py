"""A full disk under the state folder: every change that must be stored is refused with
``CIM_ERR_FAILED`` naming the folder and the cause, the stored state is as before, and the
server goes on serving (and storing, once there is room again)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import pywbem

from tests.full_disk import SmallDisk, small_disk
from tests.http.servers import RunningServer, running_server
from tests.http.servers import driver_guest_path as guest_path
from virtcim.state import StateStore

QUERY = "SELECT * FROM CIM_InstCreation"
#: A listener nobody answers: nothing is delivered in these tests.
NOWHERE = "http://127.0.0.1:9/"


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    with small_disk(tmp_path / "disk") as mounted:
        yield mounted


@pytest.fixture
def server(disk: SmallDisk, tmp_path: Path) -> Iterator[RunningServer]:
    with running_server(tmp_path, state_dir=disk.path / "state") as running:
        yield running


def stored(disk: SmallDisk) -> dict[str, list]:
    """What the state file holds, read through a connection of its own."""
    store = StateStore(disk.path / "state" / "state.sqlite")
    try:
        return {kind: list(store.records(kind))
                for kind in ("filter", "destination", "subscription", "setting", "job")}
    finally:
        store.close()


def destination(name: str) -> pywbem.CIMInstance:
    return pywbem.CIMInstance("CIM_ListenerDestinationCIMXML",
                              properties={"Name": name, "Destination": NOWHERE})


def indication_filter(name: str) -> pywbem.CIMInstance:
    return pywbem.CIMInstance("CIM_IndicationFilter",
                              properties={"Name": name, "Query": QUERY, "QueryLanguage": "WQL"})


def subscription(found: pywbem.CIMInstanceName,
                 handler: pywbem.CIMInstanceName) -> pywbem.CIMInstance:
    return pywbem.CIMInstance("CIM_IndicationSubscription",
                              properties={"Filter": found, "Handler": handler})


def refused(disk: SmallDisk, call, *args, **kwargs) -> str:
    """The message of the ``CIM_ERR_FAILED`` that ``call`` must answer for lack of room."""
    with pytest.raises(pywbem.CIMError) as failure:
        call(*args, **kwargs)
    assert failure.value.status_code == pywbem.CIM_ERR_FAILED
    message = failure.value.status_description
    assert f"in the state folder {disk.path / 'state'}: database or disk is full" in message
    return message


def test_subscriptions_are_refused_clearly_and_stored_state_is_kept(server, disk):
    interop = server.connection("interop")
    kept_filter = interop.CreateInstance(indication_filter("kept"))
    kept_destination = interop.CreateInstance(destination("kept"))
    interop.CreateInstance(subscription(kept_filter, kept_destination))
    spare_filter = interop.CreateInstance(indication_filter("spare"))
    spare_destination = interop.CreateInstance(destination("spare"))
    [service] = interop.EnumerateInstanceNames("CIM_IndicationService")
    before = stored(disk)
    served = {classname: interop.EnumerateInstances(classname) for classname in (
        "CIM_IndicationFilter", "CIM_ListenerDestination", "CIM_IndicationSubscription")}

    disk.fill()
    assert "filter 'new'" in refused(disk, interop.CreateInstance, indication_filter("new"))
    assert "destination 'new'" in refused(disk, interop.CreateInstance, destination("new"))
    refused(disk, interop.CreateInstance, subscription(spare_filter, spare_destination))
    changed = pywbem.CIMInstance(service.classname, path=service,
                                 properties={"DeliveryRetryAttempts": pywbem.Uint16(7)})
    refused(disk, interop.ModifyInstance, changed, PropertyList=["DeliveryRetryAttempts"])

    # Nothing half done: the server shows, and the file holds, what they did before.
    assert {classname: interop.EnumerateInstances(classname) for classname in served} == served
    assert interop.GetInstance(service)["DeliveryRetryAttempts"] == 3
    assert stored(disk) == before
    assert server.connection().EnumerateInstanceNames("CIM_ComputerSystem")

    disk.free()
    interop.CreateInstance(indication_filter("new"))
    interop.CreateInstance(subscription(spare_filter, spare_destination))
    assert len(interop.EnumerateInstances("CIM_IndicationSubscription")) == 2
    after = stored(disk)
    assert [name for name, _ in after["filter"]] == ["kept", "spare", "new"]
    assert len(after["subscription"]) == 2


def test_a_job_that_cannot_be_stored_is_refused_clearly_and_leaves_no_job(
        server, disk, running_guest):
    conn = server.connection()
    guest = guest_path(running_guest)
    before = stored(disk)
    disk.fill()
    message = refused(disk, conn.InvokeMethod, "RequestStateChange", guest,
                      RequestedState=pywbem.Uint16(4))
    assert message.startswith(f"guest '{running_guest}' on test:///default was asked to shut "
                              f"down, but job 'Shut down {running_guest}' not started")
    assert conn.EnumerateInstances("CIM_ConcreteJob") == []
    assert stored(disk) == before
    disk.free()
    conn.InvokeMethod("RequestStateChange", guest, RequestedState=pywbem.Uint16(2))
    result, out = conn.InvokeMethod("RequestStateChange", guest, RequestedState=pywbem.Uint16(4))
    assert result == 4096
    assert [job["InstanceID"] for job in conn.EnumerateInstances("CIM_ConcreteJob")] == [
        out["Job"]["InstanceID"]]
    assert [name for name, _ in stored(disk)["job"]] == [out["Job"]["InstanceID"]]
