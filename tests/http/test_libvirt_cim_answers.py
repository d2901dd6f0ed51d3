"""What libvirt-cim's clients read and compare, over HTTP with pywbem.

Guest states and their requests, the management service's version
properties, and the codes and words of failures, as libvirt-cim answered
them (its clients compare them) within what DSP0200 allows for each
operation. The server runs in this process on ``test:///default``.
"""

from __future__ import annotations

import libvirt
import pytest
import pywbem
from lxml import etree
from pywbem import CIMInstance, CIMInstanceName, Uint16

pytestmark = [pytest.mark.http]


@pytest.fixture
def guest_name(request, libvirt_conn):
    """A shut-off guest with VNC graphics on an automatic port, defined through libvirt."""
    name = f"answers-{request.node.name[:40]}".replace("[", "-").replace("]", "")
    domain = etree.Element("domain", type="test")
    etree.SubElement(domain, "name").text = name
    etree.SubElement(domain, "memory").text = "65536"
    os = etree.SubElement(domain, "os")
    etree.SubElement(os, "type").text = "hvm"
    devices = etree.SubElement(domain, "devices")
    etree.SubElement(devices, "graphics", type="vnc", port="-1", autoport="yes")
    libvirt_conn.defineXML(etree.tostring(domain, encoding="unicode"))
    yield name
    try:
        found = libvirt_conn.lookupByName(name)
    except libvirt.libvirtError:
        return
    if found.isActive():
        found.destroy()
    found.undefine()


def guest(name: str) -> CIMInstanceName:
    return CIMInstanceName("Test_ComputerSystem",
                           {"CreationClassName": "Test_ComputerSystem", "Name": name},
                           namespace="root/virt")


def service(conn) -> CIMInstanceName:
    (path,) = conn.EnumerateInstanceNames("Test_VirtualSystemManagementService")
    return path


def request(conn, name: str, state: int) -> int:
    rv, _ = conn.InvokeMethod("RequestStateChange", guest(name), RequestedState=Uint16(state))
    return rv


def failure(call) -> pywbem.CIMError:
    with pytest.raises(pywbem.CIMError) as error:
        call()
    return error.value


# -- guest states ------------------------------------------------------------------------------


def test_requested_state_is_unknown_until_asked_then_the_last_request(conn, guest_name):
    assert conn.GetInstance(guest(guest_name))["RequestedState"] == 0
    for state in (2, 9, 11):
        assert request(conn, guest_name, state) == 0
        cs = conn.GetInstance(guest(guest_name))
        assert cs["RequestedState"] == state
    # Reset (11) of the paused guest ends with it running.
    assert cs["EnabledState"] == 2


def test_an_invalid_transition_fails_and_keeps_the_last_request(conn, libvirt_conn, guest_name):
    assert request(conn, guest_name, 2) == 0
    assert request(conn, guest_name, 9) == 0
    error = failure(lambda: request(conn, guest_name, 9))
    assert error.status_code == pywbem.CIM_ERR_FAILED
    assert "Invalid state transition" in error.status_description
    assert guest_name in error.status_description
    assert libvirt_conn.lookupByName(guest_name).state()[0] == libvirt.VIR_DOMAIN_PAUSED
    assert conn.GetInstance(guest(guest_name))["RequestedState"] == 9


def test_an_unknown_guest_is_not_found_in_libvirt_cims_words(conn):
    error = failure(lambda: conn.GetInstance(guest("nobody-at-all")))
    assert error.status_code == pywbem.CIM_ERR_NOT_FOUND
    assert "Referenced domain `nobody-at-all' does not exist: Domain not found" in (
        error.status_description)
    error = failure(lambda: request(conn, "nobody-at-all", 2))
    assert error.status_code == pywbem.CIM_ERR_NOT_FOUND


def test_video_processor_of_a_stopped_guest_has_libvirt_cims_form(conn, guest_name):
    displays = [inst for inst in conn.EnumerateInstances("Test_DisplayController")
                if inst["SystemName"] == guest_name]
    assert [inst["VideoProcessor"] for inst in displays] == ["vnc/127.0.0.1:-1"]


# -- the management service --------------------------------------------------------------------


def test_the_service_reports_libvirt_cims_version_properties(conn, libvirt_conn):
    (inst,) = conn.EnumerateInstances("Test_VirtualSystemManagementService")
    assert inst["Revision"] == "1346" and inst["Changeset"] == "a5a073c"
    assert inst["Caption"].split(" ")[0] == libvirt_conn.getType()
    assert inst["LibvirtVersion"].count(".") == 2 and inst["Release"]
    assert conn.GetInstance(inst.path)["Revision"] == "1346"


def test_define_system_of_a_name_in_use_fails_without_already_exists(conn, guest_name):
    vssd = CIMInstance("Test_VirtualSystemSettingData",
                       properties={"VirtualSystemIdentifier": guest_name})
    error = failure(lambda: conn.InvokeMethod("DefineSystem", service(conn), SystemSettings=vssd,
                                              ResourceSettings=[]))
    assert error.status_code == pywbem.CIM_ERR_FAILED
    assert guest_name in error.status_description


def test_a_setting_that_is_no_instance_is_unable_to_parse_embedded_object(conn):
    error = failure(lambda: conn.InvokeMethod("DefineSystem", service(conn),
                                              SystemSettings="wrong", ResourceSettings=[]))
    assert error.status_code == pywbem.CIM_ERR_FAILED
    assert "Unable to parse embedded object" in error.status_description


def test_destroy_system_of_an_unknown_guest_is_not_found_in_libvirt_cims_words(conn):
    error = failure(lambda: conn.InvokeMethod("DestroySystem", service(conn),
                                              AffectedSystem=guest("##@@!!nobody")))
    assert error.status_code == pywbem.CIM_ERR_NOT_FOUND
    assert "Referenced domain `##@@!!nobody' does not exist: Domain not found" in (
        error.status_description)
    nameless = CIMInstanceName("Test_ComputerSystem",
                               {"CreationClassName": "Test_ComputerSystem"})
    error = failure(lambda: conn.InvokeMethod("DestroySystem", service(conn),
                                              AffectedSystem=nameless))
    assert error.status_code == pywbem.CIM_ERR_NOT_FOUND
    assert "Unable to retrieve domain name: Error 0" in error.status_description


@pytest.mark.parametrize("classname, keys, named", [
    ("Test_VirtualSystemManagementCapabilities", {"InstanceID": "INVALID_Instid_KeyValue"},
     "InstanceID"),
    ("Test_EnabledLogicalElementCapabilities", {"InstanceID": "INVALID_Instid_KeyValue"},
     "InstanceID"),
    ("Test_ComputerSystem", {"CreationClassName": "invalid_ccname", "Name": "test"},
     "CreationClassName"),
])
def test_get_instance_of_nothing_names_the_key(conn, classname, keys, named):
    path = CIMInstanceName(classname, keys, namespace="root/virt")
    error = failure(lambda: conn.GetInstance(path))
    assert error.status_code == pywbem.CIM_ERR_NOT_FOUND
    assert f"No such instance ({named})" in error.status_description
