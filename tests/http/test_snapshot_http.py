"""The VirtualSystemSnapshotService over HTTP, called as libvirt-cim's clients call it."""

from __future__ import annotations

from collections.abc import Iterator

import libvirt
import pytest
import pywbem

from tests.http.servers import driver_guest_path as guest_path

GUEST = "snap-http"
COMPLETED = 7


@pytest.fixture
def running(libvirt_conn: libvirt.virConnect) -> Iterator[libvirt.virDomain]:
    domain = libvirt_conn.defineXML(f"<domain type='test'><name>{GUEST}</name>"
                                    "<memory>65536</memory><os><type>hvm</type></os></domain>")
    domain.create()
    yield domain
    if domain.isActive():
        domain.destroy()
    domain.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)


def service(conn: pywbem.WBEMConnection) -> pywbem.CIMInstanceName:
    [path] = conn.EnumerateInstanceNames("Test_VirtualSystemSnapshotService")
    return path


def capabilities_mof(conn: pywbem.WBEMConnection) -> str:
    """The capabilities as MOF, lists emptied: what cimtest sends as SnapshotSettings."""
    [caps] = conn.EnumerateInstances("Test_VirtualSystemSnapshotServiceCapabilities")
    for name in ("SynchronousMethodsSupported", "AynchronousMethodsSupported",
                 "SnapshotTypesSupported"):
        caps.properties[name].value = None
    return caps.tomof()


def test_create_apply_and_destroy_a_snapshot(conn, running):
    result, out = conn.InvokeMethod(
        "CreateSnapshot", service(conn), AffectedSystem=guest_path(GUEST),
        SnapshotSettings=capabilities_mof(conn), SnapshotType=pywbem.Uint16(32769))
    assert result == 0
    assert conn.GetInstance(out["Job"])["JobState"] == COMPLETED
    snapshot = out["ResultingSnapshot"]
    assert conn.GetInstance(snapshot)["VirtualSystemIdentifier"] == GUEST
    assert not running.isActive() and running.hasManagedSaveImage(0)

    assert conn.InvokeMethod("ApplySnapshot", service(conn), Snapshot=snapshot) == (0, {})
    assert running.isActive() and not running.hasManagedSaveImage(0)

    conn.InvokeMethod("CreateSnapshot", service(conn), AffectedSystem=guest_path(GUEST),
                      SnapshotType=pywbem.Uint16(32769))
    assert conn.InvokeMethod("DestroySnapshot", service(conn),
                             AffectedSnapshot=snapshot) == (0, {})
    assert not running.isActive() and not running.hasManagedSaveImage(0)


def test_keeping_the_guest_running_is_not_supported(conn, running):
    result, out = conn.InvokeMethod("CreateSnapshot", service(conn),
                                    AffectedSystem=guest_path(GUEST),
                                    SnapshotType=pywbem.Uint16(32768))
    assert (result, out) == (1, {})
    assert running.isActive() and not running.hasManagedSaveImage(0)


def test_a_missing_guest_is_an_invalid_parameter(conn):
    with pytest.raises(pywbem.CIMError) as error:
        conn.InvokeMethod("CreateSnapshot", service(conn), SnapshotType=pywbem.Uint16(32769))
    assert error.value.status_code == pywbem.CIM_ERR_INVALID_PARAMETER
