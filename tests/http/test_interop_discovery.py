"""How clients find the interop namespace and the profiles, over HTTP.

pywbem's WBEMServer and pywbemcli on the DMTF side (each profile once, no
warning about the interop namespace); libvirt-cim's class names on the
other (``Test_RegisteredProfile`` and the links its clients follow).
"""

from __future__ import annotations

import warnings

import pytest
import pywbem
from pywbem import CIMInstanceName

from tests.http.servers import pywbemcli

pytestmark = [pytest.mark.http]

VIRTUAL_SYSTEM_ID = "CIM:DSP1057-VirtualSystem-1.0.0a"


def test_pywbem_finds_the_interop_namespace_among_the_namespaces_without_warning(server):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wbem = pywbem.WBEMServer(server.connection())
        namespaces = wbem.namespaces
        interop = wbem.interop_ns
    assert [w for w in caught if issubclass(w.category, pywbem.ToleratedServerIssueWarning)] == []
    assert interop == "interop"
    # Each namespace once: the interop namespace under the name pywbem found it by.
    assert sorted(namespaces) == ["interop", "root/virt"]


def test_a_client_naming_root_interop_sees_it_under_that_name(server):
    conn = server.connection("root/interop")
    names = sorted(inst["Name"] for inst in conn.EnumerateInstances("CIM_Namespace"))
    assert names == ["root/interop", "root/virt"]


def test_openpegasus_s_interop_name_is_answered_for_libvirt_cim_s_clients(server):
    conn = server.connection("root/PG_InterOp")
    names = sorted(inst["Name"] for inst in conn.EnumerateInstances("CIM_Namespace"))
    assert names == ["root/PG_InterOp", "root/virt"]
    assert conn.EnumerateInstances("CIM_IndicationService")


def test_pywbem_profile_discovery_sees_each_profile_once(server):
    wbem = pywbem.WBEMServer(server.connection())
    ids = [inst["InstanceID"] for inst in wbem.profiles]
    assert len(ids) == len(set(ids))
    assert {inst.classname for inst in wbem.profiles} == {"CIM_RegisteredProfile"}
    (profile,) = wbem.get_selected_profiles("DMTF", "Virtual System")
    assert profile["RegisteredVersion"] == "1.0.0"
    central = wbem.get_central_instances(profile.path, "CIM_ComputerSystem", "CIM_System",
                                         ["CIM_SystemDevice"])
    names = [(path.classname, path["Name"]) for path in central]
    assert names == [("Test_ComputerSystem", "test")]


@pytest.mark.clients
def test_pywbemcli_lists_each_profile_once(server):
    result = pywbemcli(server, "profile", "list")
    assert result.returncode == 0, result.stderr + result.stdout
    rows = result.stdout.splitlines()
    assert len([row for row in rows if "System Virtualization" in row]) == 1
    assert len([row for row in rows if "Virtual System  " in row]) == 1
    assert len([row for row in rows if "Virtual System Migration" in row]) == 1
    assert not any("Virtual System Profile" in row for row in rows)


def test_libvirt_cims_profile_class_leads_to_the_guest(server):
    conn = server.connection("root/interop")
    profiles = {inst["InstanceID"]: inst for inst in conn.EnumerateInstances(
        "Test_RegisteredProfile")}
    virtual_system = profiles[VIRTUAL_SYSTEM_ID]
    assert (virtual_system["RegisteredName"], virtual_system["RegisteredVersion"]) == (
        "Virtual System Profile", "1.0.0a")
    source = CIMInstanceName("Test_RegisteredProfile", {"InstanceID": VIRTUAL_SYSTEM_ID})
    guests = conn.Associators(source, AssocClass="Test_ElementConformsToProfile")
    assert [(inst.classname, inst["Name"]) for inst in guests] == [("Test_ComputerSystem", "test")]
    back = server.connection().Associators(guests[0].path,
                                           AssocClass="Test_ElementConformsToProfile")
    assert [(inst.classname, inst["RegisteredName"]) for inst in back] == [
        ("Test_RegisteredProfile", "Virtual System Profile")]
    referenced = conn.AssociatorNames(
        CIMInstanceName("Test_RegisteredProfile",
                        {"InstanceID": "CIM:DSP1042-SystemVirtualization-1.0.0"}),
        AssocClass="Test_ReferencedProfile")
    assert referenced[0]["InstanceID"] == VIRTUAL_SYSTEM_ID


def test_the_prefix_resource_setting_class_enumerates_every_setting(server):
    conn = server.connection()
    found = conn.EnumerateInstances("Test_ResourceAllocationSettingData")
    kinds = {inst.classname for inst in found if inst["InstanceID"].startswith("test/")}
    assert {"Test_ProcResourceAllocationSettingData", "Test_MemResourceAllocationSettingData",
            "Test_DiskResourceAllocationSettingData"} <= kinds
    assert "Test_StorageAllocationSettingData" not in kinds
