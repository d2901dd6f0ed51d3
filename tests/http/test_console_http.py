"""Console redirection (DSP1076) over HTTP with pywbem, as libvirt-cim's clients walk it.

The server serves the test driver, a local hypervisor: a console's sessions come
from this host's TCP tables, so the test listens on, and connects to, the port
its guest's VNC console names.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import libvirt
import pytest
from pywbem import CIM_ERR_NOT_FOUND, CIMError, CIMInstanceName, WBEMServer

from tests.http.servers import RunningServer

SAP = "Test_KVMRedirectionSAP"
SERVICE = "Test_ConsoleRedirectionService"


@pytest.fixture
def console(libvirt_conn: libvirt.virConnect) -> Iterator[tuple[str, socket.socket]]:
    """A running guest whose VNC console port a socket of this test listens on."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    name = f"console-{uuid.uuid4().hex[:8]}"
    domain = libvirt_conn.defineXML(
        f"<domain type='test'><name>{name}</name><memory>65536</memory><os><type>hvm</type>"
        f"</os><devices><input type='mouse' bus='ps2'/><graphics type='vnc' "
        f"port='{listener.getsockname()[1]}' listen='127.0.0.1'/></devices></domain>")
    domain.create()
    yield name, listener
    domain.destroy()
    domain.undefine()
    listener.close()


def my_sap(conn, name: str):
    [sap] = [sap for sap in conn.EnumerateInstances(SAP) if sap["SystemName"] == name]
    return sap


def test_a_client_session_shows_in_the_console_and_its_path_keeps_working(conn, console):
    name, listener = console
    port = listener.getsockname()[1]
    sap = my_sap(conn, name)
    assert (sap["Name"], sap["EnabledState"], sap["KVMProtocol"]) == (f"{port}:0", 6, 4)
    with socket.create_connection(("127.0.0.1", port)) as client:
        now = my_sap(conn, name)
        assert (now["Name"], now["EnabledState"]) == (f"{port}:{client.getsockname()[1]}", 2)
        assert conn.GetInstance(sap.path)["EnabledState"] == 2


def test_a_client_walks_from_the_service_to_the_guest_and_back(conn, console):
    name, _ = console
    [service] = conn.EnumerateInstanceNames(SERVICE)
    saps = conn.AssociatorNames(service, AssocClass="Test_ServiceAccessBySAP")
    [sap] = [path for path in saps if path["SystemName"] == name]
    [guest] = conn.AssociatorNames(sap, AssocClass="Test_SAPAvailableForElement")
    assert guest["Name"] == name
    affecting = conn.Associators(guest, AssocClass="Test_ServiceAffectsElement")
    assert [inst["Name"] for inst in affecting] == ["ConsoleRedirectionService"]
    affected = [path.classname for path in conn.AssociatorNames(
        service, AssocClass="Test_ServiceAffectsElement") if name in str(path)]
    assert affected == ["Test_ComputerSystem", "Test_PointingDevice", "Test_DisplayController"]


def test_a_console_that_is_not_there_is_not_found_by_an_association(conn, console):
    name, _ = console
    path = CIMInstanceName(SAP, {"SystemCreationClassName": "Test_ComputerSystem",
                                 "SystemName": name, "CreationClassName": SAP,
                                 "Name": "1:0"})
    with pytest.raises(CIMError) as error:
        conn.AssociatorNames(path, AssocClass="Test_HostedAccessPoint")
    assert error.value.status_code == CIM_ERR_NOT_FOUND


def test_pywbem_finds_the_kvm_redirection_profile_and_its_consoles(server: RunningServer,
                                                                    console):
    name, _ = console
    wbem = WBEMServer(server.connection("interop"))
    [registered] = wbem.get_selected_profiles("DMTF", "KVM Redirection")
    assert registered["RegisteredVersion"] == "1.0.0"
    centrals = wbem.get_central_instances(registered.path, "CIM_KVMRedirectionSAP")
    assert name in [path["SystemName"] for path in centrals]
