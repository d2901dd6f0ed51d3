"""Console redirection (DSP1076) through the dispatcher on the test driver.

The test driver's guests listen on nothing, and ``test:///default`` is a
local hypervisor, so a console's sessions come from this host's TCP tables:
the tests listen on, and connect to, the port a guest's console names.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import libvirt
import pytest
from lxml import etree
from lxml.builder import E
from pywbem import CIM_ERR_FAILED, CIM_ERR_NOT_FOUND, CIMError, CIMInstanceName

from providers.classes import VIRT_NAMESPACE

SAP = "Test_KVMRedirectionSAP"
SERVICE = "Test_ConsoleRedirectionService"
CAPABILITIES = "Test_ConsoleRedirectionServiceCapabilities"


def guest_xml(name: str, *graphics: etree._Element) -> str:
    domain = E.domain(
        E.name(name), E.memory("65536"), E.vcpu("1"), E.os(E.type("hvm")),
        E.devices(E.input(type="tablet", bus="usb"), E.controller(type="usb", index="0"),
                  *graphics),
        type="test",
    )
    return etree.tostring(domain, encoding="unicode")


def vnc(port: int | None = None, **attributes: str) -> etree._Element:
    if port is None:
        return E.graphics(type="vnc", port="-1", autoport="yes", **attributes)
    return E.graphics(type="vnc", port=str(port), autoport="no", listen="127.0.0.1", **attributes)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A socket listening on a free loopback port, as a guest's VNC server would."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server
    server.close()


@pytest.fixture
def vnc_guest(
    libvirt_conn: libvirt.virConnect, guest_name: str, listener: socket.socket
) -> Callable[..., libvirt.virDomain]:
    """``vnc_guest(start=True)``: a guest whose VNC console is at the listener's port."""

    def define(start: bool = True) -> libvirt.virDomain:
        domain = libvirt_conn.defineXML(guest_xml(guest_name, vnc(port(listener))))
        if start:
            domain.create()
        return domain

    return define


def port(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


def saps_of(cim, name: str) -> list:
    return [sap for sap in cim.enumerate(SAP) if sap["SystemName"] == name]


def sap_path(name: str, sap_name: str, **changes: str) -> CIMInstanceName:
    keys = {"SystemCreationClassName": "Test_ComputerSystem", "SystemName": name,
            "CreationClassName": SAP, "Name": sap_name, **changes}
    return CIMInstanceName(SAP, keys, namespace=VIRT_NAMESPACE)


# --- the service and its capabilities ---------------------------------------------------------


def test_service_has_libvirt_cims_keys_and_values(cim, hypervisor):
    [service] = cim.enumerate(SERVICE)
    assert service.path.keybindings == {
        "SystemCreationClassName": "Test_HostSystem", "SystemName": hypervisor.hostname,
        "CreationClassName": SERVICE, "Name": "ConsoleRedirectionService"}
    assert (service["ElementName"], service["RedirectionServiceType"],
            service["MaxCurrentEnabledSAPs"], service["SharingMode"]) == (
        "ConsoleRedirectionService", [3], 65535, 3)
    assert (service["EnabledState"], service["EnabledDefault"], service["RequestedState"]) == (
        2, 2, 12)


def test_capabilities_share_consoles(cim):
    [caps] = cim.enumerate(CAPABILITIES)
    assert (caps["InstanceID"], caps["ElementName"], caps["SharingModeSupported"]) == (
        "ConsoleRedirectionCapabilities", "ConsoleRedirectionCapabilities", [3])


@pytest.mark.parametrize("classname", [SERVICE, CAPABILITIES])
def test_service_and_capabilities_are_got_by_their_paths(cim, classname):
    [path] = cim.names(classname)
    assert cim.get(path).path.keybindings == path.keybindings


# --- the access points -----------------------------------------------------------------------


def test_a_guest_that_is_off_has_a_disabled_console_at_its_port(cim, vnc_guest, guest_name,
                                                                 listener):
    vnc_guest(start=False)
    [sap] = saps_of(cim, guest_name)
    assert sap.path.keybindings == {
        "SystemCreationClassName": "Test_ComputerSystem", "SystemName": guest_name,
        "CreationClassName": SAP, "Name": f"{port(listener)}:-1"}
    assert (sap["ElementName"], sap["KVMProtocol"], sap["EnabledState"]) == (
        f"{port(listener)}:-1", 4, 3)


def test_a_listening_console_is_available_and_a_connected_one_enabled(cim, vnc_guest, guest_name,
                                                                      listener):
    vnc_guest()
    [sap] = saps_of(cim, guest_name)
    assert (sap["Name"], sap["EnabledState"]) == (f"{port(listener)}:0", 6)
    with socket.create_connection(("127.0.0.1", port(listener))) as client:
        [sap] = saps_of(cim, guest_name)
        assert (sap["Name"], sap["EnabledState"]) == (
            f"{port(listener)}:{client.getsockname()[1]}", 2)


def test_a_running_console_nothing_listens_on_is_disabled(cim, vnc_guest, guest_name, listener):
    vnc_guest()
    listener.close()
    [sap] = saps_of(cim, guest_name)
    assert sap["EnabledState"] == 3 and sap["Name"].endswith(":-1")


def test_an_automatic_port_is_minus_one_until_chosen(cim, libvirt_conn, guest_name):
    libvirt_conn.defineXML(guest_xml(guest_name, vnc()))
    [sap] = saps_of(cim, guest_name)
    assert (sap["Name"], sap["EnabledState"]) == ("-1:-1", 3)


@pytest.mark.parametrize("graphics", [
    None,
    E.graphics(type="sdl", display=":0"),
    E.graphics(E.listen(type="socket", socket="/run/vnc.sock"), type="vnc"),
], ids=["none", "sdl", "unix-socket"])
def test_a_guest_without_a_vnc_console_on_a_port_has_no_access_point(cim, libvirt_conn,
                                                                      guest_name, graphics):
    libvirt_conn.defineXML(guest_xml(guest_name, *([graphics] if graphics is not None else [])))
    assert saps_of(cim, guest_name) == []


def test_a_path_from_an_earlier_enumeration_finds_the_console_after_a_client_came(
        cim, vnc_guest, guest_name, listener):
    vnc_guest()
    [before] = cim.names(SAP)
    with socket.create_connection(("127.0.0.1", port(listener))) as client:
        found = cim.get(before)
        assert found["Name"] == f"{port(listener)}:{client.getsockname()[1]}"
        assert found["EnabledState"] == 2


def test_a_path_taken_before_an_automatic_port_was_chosen_finds_the_console(cim, libvirt_conn,
                                                                           guest_name):
    libvirt_conn.defineXML(guest_xml(guest_name, vnc()))
    assert cim.get(sap_path(guest_name, "-1:7"))["Name"] == "-1:-1"


@pytest.mark.parametrize(("key", "value", "code", "words"), [
    ("CreationClassName", "Test_Other", CIM_ERR_NOT_FOUND, "No such instance (CreationClassName)"),
    ("SystemCreationClassName", "Test_HostSystem", CIM_ERR_NOT_FOUND,
     "No such instance (SystemCreationClassName)"),
    ("SystemName", "no-such-guest", CIM_ERR_NOT_FOUND, "No such instance (SystemName)"),
    ("Name", "5999:0", CIM_ERR_NOT_FOUND, "No such instance (Name)"),
    ("Name", "console", CIM_ERR_FAILED, "Unable to determine console port for guest"),
])
def test_a_path_naming_no_console_is_refused_in_libvirt_cims_words(cim, vnc_guest, guest_name,
                                                                    key, value, code, words):
    vnc_guest(start=False)
    [path] = cim.names(SAP)
    path.keybindings[key] = value
    with pytest.raises(CIMError) as error:
        cim.get(path)
    assert error.value.status_code == code
    assert words in error.value.status_description


def test_a_guest_without_a_console_has_no_access_point_to_get(cim, libvirt_conn, guest_name):
    libvirt_conn.defineXML(guest_xml(guest_name))
    with pytest.raises(CIMError) as error:
        cim.get(sap_path(guest_name, "-1:-1"))
    assert error.value.status_code == CIM_ERR_NOT_FOUND


# --- associations ----------------------------------------------------------------------------


def host_path(hypervisor) -> CIMInstanceName:
    return CIMInstanceName("Test_HostSystem", {"CreationClassName": "Test_HostSystem",
                                               "Name": hypervisor.hostname},
                           namespace=VIRT_NAMESPACE)


def keys(paths) -> list[tuple[str, str]]:
    return [(path.classname, path.keybindings.get("Name") or path.keybindings.get("DeviceID")
             or path.keybindings.get("InstanceID")) for path in paths]


def test_the_host_hosts_each_console_and_the_service(cim, hypervisor, vnc_guest, listener):
    vnc_guest()
    [sap] = cim.names(SAP)
    host = host_path(hypervisor)
    assert keys(cim.associator_names(host, AssocClass="Test_HostedAccessPoint")) == [
        (SAP, f"{port(listener)}:0")]
    assert keys(cim.associator_names(sap, AssocClass="Test_HostedAccessPoint")) == [
        ("Test_HostSystem", hypervisor.hostname)]
    assert (SERVICE, "ConsoleRedirectionService") in keys(
        cim.associator_names(host, AssocClass="Test_HostedService"))


def test_the_service_gives_access_through_each_console(cim, vnc_guest, guest_name, listener):
    vnc_guest(start=False)
    [service] = cim.names(SERVICE)
    [sap] = cim.names(SAP)
    assert keys(cim.associator_names(service, AssocClass="Test_ServiceAccessBySAP")) == [
        (SAP, f"{port(listener)}:-1")]
    assert keys(cim.associator_names(sap, AssocClass="Test_ServiceAccessBySAP")) == [
        (SERVICE, "ConsoleRedirectionService")]


def test_a_guest_and_its_console_lead_to_each_other(cim, vnc_guest, guest_name, listener):
    vnc_guest()
    [sap] = cim.names(SAP)
    assert keys(cim.associator_names(cim.guest(guest_name),
                                     AssocClass="Test_SAPAvailableForElement")) == [
        (SAP, f"{port(listener)}:0")]
    assert keys(cim.associator_names(sap, AssocClass="Test_SAPAvailableForElement")) == [
        ("Test_ComputerSystem", guest_name)]
    assert cim.associator_names(cim.guest("test"), AssocClass="Test_SAPAvailableForElement") == []


def test_the_service_affects_each_guest_its_pointing_devices_and_displays(cim, vnc_guest,
                                                                          guest_name):
    vnc_guest(start=False)
    [service] = cim.names(SERVICE)
    found = cim.associators(service, AssocClass="Test_ServiceAffectsElement")
    mine = [(classname, key) for classname, key in keys(inst.path for inst in found)
            if key.split("/")[0] == guest_name]
    assert mine == [("Test_ComputerSystem", guest_name),
                    ("Test_PointingDevice", f"{guest_name}/tablet:usb"),
                    ("Test_DisplayController", f"{guest_name}/vnc")]
    pointing = CIMInstanceName("Test_PointingDevice", {
        "SystemCreationClassName": "Test_ComputerSystem", "SystemName": guest_name,
        "CreationClassName": "Test_PointingDevice", "DeviceID": f"{guest_name}/tablet:usb"},
        namespace=VIRT_NAMESPACE)
    assert keys(cim.associator_names(pointing, AssocClass="Test_ServiceAffectsElement")) == [
        (SERVICE, "ConsoleRedirectionService")]


def test_controllers_are_not_affected(cim, vnc_guest, guest_name):
    vnc_guest(start=False)
    controller = CIMInstanceName("Test_Controller", {
        "SystemCreationClassName": "Test_ComputerSystem", "SystemName": guest_name,
        "CreationClassName": "Test_Controller", "DeviceID": f"{guest_name}/controller:usb:0"},
        namespace=VIRT_NAMESPACE)
    assert cim.associator_names(controller, AssocClass="Test_ServiceAffectsElement") == []


def test_host_and_service_have_the_capabilities_the_host_by_default(cim, hypervisor):
    [service] = cim.names(SERVICE)
    [caps] = cim.names(CAPABILITIES)
    host_links = [link for link in cim.references(host_path(hypervisor),
                                                  ResultClass="Test_ElementCapabilities")
                  if link["Capabilities"].classname == CAPABILITIES]
    assert [link["Characteristics"] for link in host_links] == [[2]]
    assert keys(cim.associator_names(service, AssocClass="Test_ElementCapabilities")) == [
        (CAPABILITIES, "ConsoleRedirectionCapabilities")]
    assert (SERVICE, "ConsoleRedirectionService") in keys(
        cim.associator_names(caps, AssocClass="Test_ElementCapabilities"))


@pytest.mark.parametrize("association", [
    "Test_HostedAccessPoint", "Test_ServiceAccessBySAP", "Test_SAPAvailableForElement"])
def test_associations_from_a_console_that_is_not_there_are_not_found(cim, vnc_guest,
                                                                    guest_name, association):
    vnc_guest(start=False)
    with pytest.raises(CIMError) as error:
        cim.associator_names(sap_path(guest_name, "5999:0"), AssocClass=association)
    assert error.value.status_code == CIM_ERR_NOT_FOUND
