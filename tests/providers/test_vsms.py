"""VirtualSystemManagementService methods through the dispatcher, checked through CIM and libvirt."""

from __future__ import annotations

from unittest import mock

import libvirt
import pytest
from lxml import etree
from pywbem import (
    CIM_ERR_FAILED,
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NOT_FOUND,
    CIMError,
    CIMInstanceName,
)

from providers.classes import VIRT_NAMESPACE
from providers.virt import Domain, DomainXML, Hypervisor
from tests.providers.cim_settings import (
    disk,
    embedded,
    memory,
    nic,
    rasd,
    rasd_ref,
    vssd,
    vssd_ref,
)

QEMU_NS = "{http://libvirt.org/schemas/domain/qemu/1.0}"


def config(hv: Hypervisor, name: str) -> DomainXML:
    """The persistent XML, read straight from libvirt."""
    conn = libvirt.open(hv.uri)
    try:
        text = conn.lookupByName(name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    finally:
        conn.close()
    return DomainXML.from_string(text)


def xml_of(element) -> bytes:
    return etree.tostring(element, with_tail=False)


def exists(hv: Hypervisor, name: str) -> bool:
    return name in [domain.name for domain in hv.domains()]


def status(error) -> int:
    return error.value.status_code


@pytest.fixture
def rich_guest(hypervisor, rich_xml):
    domain = hypervisor.define(DomainXML.from_string(rich_xml))
    yield domain.name
    if exists(hypervisor, domain.name):
        hypervisor.domain(domain.name).undefine()


@pytest.fixture
def defined(cim, hypervisor, guest_name):
    """A guest defined through DefineSystem with one disk, one NIC and 512 MiB."""
    guest_name = f"{guest_name}-defined"
    result = cim.invoke(cim.service(), "DefineSystem", SystemSettings=vssd(guest_name),
                        ResourceSettings=[disk(), nic(), memory()])
    assert result.return_value == 0
    yield guest_name
    if exists(hypervisor, guest_name):
        hypervisor.domain(guest_name).undefine()


# --- the service -----------------------------------------------------------------------------


def test_service_and_capabilities_are_served(cim):
    [service] = cim.enumerate("Test_VirtualSystemManagementService")
    assert service["Name"] == "Management Service"
    assert service["SystemCreationClassName"] == "Test_HostSystem"
    [caps] = cim.enumerate("Test_VirtualSystemManagementCapabilities")
    assert caps["InstanceID"] == "ManagementCapabilities"
    assert set(caps["SynchronousMethodsSupported"]) == {2, 3, 5, 6, 7, 10}
    assert caps["VirtualSystemTypesSupported"] == ["Test"]


def test_service_reports_libvirt_cims_version_properties(cim, libvirt_conn):
    [service] = cim.enumerate("Test_VirtualSystemManagementService")
    version = libvirt_conn.getVersion()
    dotted = f"{version // 1000000}.{version // 1000 % 1000}.{version % 1000}"
    # libvirt's own spelling of the type ("TEST", "QEMU"), not the driver's.
    assert service["Caption"] == f"{libvirt_conn.getType()} {dotted}"
    assert service["Caption"].startswith("TEST ")
    library = libvirt_conn.getLibVersion()
    assert service["LibvirtVersion"] == (
        f"{library // 1000000}.{library // 1000 % 1000}.{library % 1000}")
    assert (service["Revision"], service["Changeset"]) == ("1346", "a5a073c")
    assert service["Release"]


def test_service_and_capabilities_are_got_by_their_paths(cim):
    [service] = cim.names("Test_VirtualSystemManagementService")
    assert cim.get(service)["Name"] == "Management Service"
    [caps] = cim.names("Test_VirtualSystemManagementCapabilities")
    assert cim.get(caps)["InstanceID"] == "ManagementCapabilities"


@pytest.mark.parametrize("classname, key, value", [
    ("Test_VirtualSystemManagementCapabilities", "InstanceID", "INVALID_Instid_KeyValue"),
    ("Test_VirtualSystemManagementService", "Name", "Other Service"),
    ("Test_VirtualSystemManagementService", "SystemName", "elsewhere"),
    ("Test_VirtualSystemManagementService", "CreationClassName", "Test_Nothing"),
])
def test_a_wrong_key_of_the_service_or_capabilities_is_named(cim, classname, key, value):
    [path] = cim.names(classname)
    path.keybindings[key] = value
    with pytest.raises(CIMError) as error:
        cim.get(path)
    assert status(error) == CIM_ERR_NOT_FOUND
    assert f"No such instance ({key})" in error.value.status_description


def test_host_links_to_service_and_capabilities(cim, hypervisor):
    host = CIMInstanceName("Test_HostSystem", {"CreationClassName": "Test_HostSystem",
                                               "Name": hypervisor.hostname},
                           namespace=VIRT_NAMESPACE)
    services = cim.associator_names(host, AssocClass="Test_HostedService")
    assert "Test_VirtualSystemManagementService" in {p.classname for p in services}
    caps = cim.associator_names(host, AssocClass="Test_ElementCapabilities")
    assert "Test_VirtualSystemManagementCapabilities" in {p.classname for p in caps}
    [service] = [p for p in services if p.classname == "Test_VirtualSystemManagementService"]
    from_service = cim.associator_names(service, AssocClass="Test_ElementCapabilities")
    assert [p["InstanceID"] for p in from_service] == ["ManagementCapabilities"]


# --- DefineSystem ----------------------------------------------------------------------------


def test_define_system_defines_the_guest_from_embedded_settings(cim, hypervisor, guest_name):
    result = cim.invoke(cim.service(), "DefineSystem",
                        SystemSettings=vssd(guest_name, BootDevices=["hd"], ClockOffset=1),
                        ResourceSettings=[disk(), nic(), memory(1, "GiB"),
                                          rasd("Proc", VirtualQuantity=2)])
    try:
        assert result.return_value == 0
        assert result.out_params["ResultingSystem"]["Name"] == guest_name
        xml = config(hypervisor, guest_name)
        assert xml.memory_kib == 1048576 and xml.vcpus == 2
        assert [d.source for d in xml.disks()] == ["/images/data.img"]
        assert [(i.type, i.source, i.mac) for i in xml.interfaces()] == [
            ("network", "default", "52:54:00:aa:bb:01")]
        assert xml.clock_offset == "localtime"
        got = cim.get(result.out_params["ResultingSystem"])
        assert got["Name"] == guest_name
    finally:
        hypervisor.domain(guest_name).undefine()


def test_define_system_from_a_reference_keeps_its_unmodelled_xml(cim, hypervisor, rich_guest,
                                                                  guest_name):
    guest_name = f"{guest_name}-copy"
    result = cim.invoke(cim.service(), "DefineSystem", SystemSettings=vssd(guest_name),
                        ResourceSettings=[disk("vda", "/images/own.img")],
                        ReferenceConfiguration=vssd_ref(rich_guest))
    try:
        assert result.return_value == 0
        new, old = config(hypervisor, guest_name), config(hypervisor, rich_guest)
        assert new.uuid != old.uuid
        assert xml_of(new.root.find("metadata")) == xml_of(
            old.root.find("metadata"))
        assert {d.device_id: d.source for d in new.disks()} == {
            "vda": "/images/own.img", "hdc": "/iso/install.iso"}
        assert not {i.mac for i in new.interfaces()} & {i.mac for i in old.interfaces()}
    finally:
        hypervisor.domain(guest_name).undefine()


def test_define_system_defines_nothing_when_the_third_setting_is_invalid(cim, hypervisor,
                                                                          guest_name):
    with pytest.raises(CIMError) as error:
        cim.invoke(cim.service(), "DefineSystem", SystemSettings=vssd(guest_name),
                   ResourceSettings=[disk(), nic(), rasd("Net", NetworkType="carrier-pigeon")])
    assert status(error) == CIM_ERR_INVALID_PARAMETER
    assert "ResourceSettings[2]" in error.value.status_description
    assert "NetworkType" in error.value.status_description
    assert not exists(hypervisor, guest_name)


def test_define_system_rolls_back_when_libvirt_fails_after_defining(cim, hypervisor,
                                                                     guest_name):
    refused = CIMError(CIM_ERR_INVALID_PARAMETER, "autostart refused")
    with mock.patch.object(Domain, "set_autostart", side_effect=refused), \
            pytest.raises(CIMError):
        cim.invoke(cim.service(), "DefineSystem", SystemSettings=vssd(guest_name, AutoStart=1),
                   ResourceSettings=[disk()])
    assert not exists(hypervisor, guest_name)


def test_define_system_refuses_a_name_in_use_and_changes_nothing(cim, hypervisor, rich_guest):
    before = config(hypervisor, rich_guest).to_string()
    with pytest.raises(CIMError) as error:
        cim.invoke(cim.service(), "DefineSystem", SystemSettings=vssd(rich_guest),
                   ResourceSettings=[memory(64)])
    # CIM_ERR_ALREADY_EXISTS is not among DSP0200's codes for InvokeMethod.
    assert status(error) == CIM_ERR_FAILED
    assert repr(rich_guest) in error.value.status_description
    assert config(hypervisor, rich_guest).to_string() == before


def test_define_system_refuses_a_uuid_in_use(cim, hypervisor, rich_guest):
    uuid = hypervisor.domain(rich_guest).uuid
    with pytest.raises(CIMError) as error:
        cim.invoke(cim.service(), "DefineSystem", SystemSettings=vssd("uuid-taken", UUID=uuid),
                   ResourceSettings=[memory(64)])
    assert status(error) == CIM_ERR_FAILED
    assert uuid in error.value.status_description
    assert not exists(hypervisor, "uuid-taken")


@pytest.mark.parametrize("name", ["it's \"quoted\"", "a<b>&c", "x" * 1000])
def test_define_system_takes_hostile_names_literally(cim, hypervisor, name):
    result = cim.invoke(cim.service(), "DefineSystem", SystemSettings=vssd(name),
                        ResourceSettings=[disk(path="/images/a'b<c>&d.img")])
    try:
        assert result.return_value == 0
        assert config(hypervisor, name).name == name
        vssd_instance = cim.get(vssd_ref(name))
        assert vssd_instance["VirtualSystemIdentifier"] == name
        assert config(hypervisor, name).disks()[0].source == "/images/a'b<c>&d.img"
    finally:
        hypervisor.domain(name).undefine()


@pytest.mark.parametrize("name", ["../etc", "a/b", ""])
def test_define_system_refuses_names_that_cannot_be_keys(cim, hypervisor, name):
    with pytest.raises(CIMError) as error:
        cim.invoke(cim.service(), "DefineSystem", SystemSettings=vssd(name), ResourceSettings=[])
    assert status(error) == CIM_ERR_INVALID_PARAMETER


@pytest.mark.parametrize("setting, fragment", [
    (memory(512, "furlongs"), "AllocationUnits"),
    (rasd("Disk", VirtualDevice="vdc", Address="/a", ResourceType=10), "ResourceType"),
    (embedded("KVM_DiskResourceAllocationSettingData",
              {"VirtualDevice": "vdc", "Address": "/a"}), "KVM_Disk"),
    (embedded("Test_ComputerSystem", {"Name": "x"}), "Test_ComputerSystem"),
    (rasd("Disk", Address="/a"), "VirtualDevice"),
])
def test_define_system_names_the_bad_setting_and_property(cim, hypervisor, guest_name, setting,
                                                          fragment):
    with pytest.raises(CIMError) as error:
        cim.invoke(cim.service(), "DefineSystem", SystemSettings=vssd(guest_name),
                   ResourceSettings=[setting])
    assert status(error) == CIM_ERR_INVALID_PARAMETER
    assert fragment in error.value.status_description
    assert not exists(hypervisor, guest_name)


# --- Add / Modify / Remove -------------------------------------------------------------------


def test_define_system_sizes_memory_as_asked_with_no_default_maximum(cim, hypervisor,
                                                                     guest_name):
    mem = rasd("Mem", VirtualQuantity=128, AllocationUnits="MegaBytes")
    cim.invoke(cim.service(), "DefineSystem", SystemSettings=vssd(guest_name),
               ResourceSettings=[mem])
    try:
        xml = config(hypervisor, guest_name)
        assert (xml.current_memory_kib, xml.memory_kib) == (131072, 131072)
        got = cim.get(rasd_ref("Mem", guest_name, "mem"))
        assert (got["VirtualQuantity"], got["Limit"], got["AllocationUnits"]) == (
            131072, 131072, "KiloBytes")
    finally:
        hypervisor.domain(guest_name).undefine()


def test_define_system_takes_a_processor_limit_as_a_cap_not_a_vcpu_count(cim, hypervisor,
                                                                         guest_name):
    proc = rasd("Proc", VirtualQuantity=3, Weight=124, Limit=512)
    cim.invoke(cim.service(), "DefineSystem", SystemSettings=vssd(guest_name),
               ResourceSettings=[proc])
    try:
        xml = config(hypervisor, guest_name)
        assert (xml.vcpus, xml.max_vcpus) == (3, 3)
        got = cim.get(rasd_ref("Proc", guest_name, "proc"))
        assert (got["VirtualQuantity"], got["Weight"], got["Limit"]) == (3, 124, 512)
    finally:
        hypervisor.domain(guest_name).undefine()


def test_define_system_refuses_a_nic_that_names_no_network(cim, hypervisor, guest_name):
    bad = rasd("Net", NetworkType="network", PoolID="NetworkPool/", Address="52:54:00:aa:bb:02")
    with pytest.raises(CIMError) as error:
        cim.invoke(cim.service(), "DefineSystem", SystemSettings=vssd(guest_name),
                   ResourceSettings=[disk(), bad])
    assert status(error) == CIM_ERR_FAILED and "Network not found" in str(error.value)
    assert not exists(hypervisor, guest_name)


def test_define_system_takes_a_nic_on_a_network_that_does_not_exist_as_libvirt_does(
        cim, hypervisor, guest_name):
    later = rasd("Net", NetworkType="network", PoolID="NetworkPool/not-yet",
                 Address="52:54:00:aa:bb:02")
    cim.invoke(cim.service(), "DefineSystem", SystemSettings=vssd(guest_name),
               ResourceSettings=[disk(), later])
    try:
        assert config(hypervisor, guest_name).interfaces()[0].source == "not-yet"
    finally:
        hypervisor.domain(guest_name).undefine()


def test_add_takes_a_nic_on_a_network_that_does_not_exist(cim, hypervisor, rich_guest):
    cim.invoke(cim.service(), "AddResourceSettings", AffectedConfiguration=vssd_ref(rich_guest),
               ResourceSettings=[nic("52:54:00:aa:bb:03", NetworkName="nowhere")])
    assert "nowhere" in {nic.source for nic in config(hypervisor, rich_guest).interfaces()}


@pytest.mark.parametrize("bridge, phrase", [
    ({}, "No Network bridge name specified"), ({"NetworkName": ""}, "Bridge name is empty")])
def test_define_system_refuses_a_bridge_nic_without_a_bridge_as_libvirt_cim_did(
        cim, hypervisor, guest_name, bridge, phrase):
    bad = rasd("Net", NetworkType="bridge", Address="52:54:00:aa:bb:05", **bridge)
    with pytest.raises(CIMError) as error:
        cim.invoke(cim.service(), "DefineSystem", SystemSettings=vssd(guest_name),
                   ResourceSettings=[bad])
    assert status(error) == CIM_ERR_FAILED and phrase in str(error.value)
    assert not exists(hypervisor, guest_name)


def test_define_system_puts_a_nic_naming_no_network_on_the_default_one(cim, hypervisor,
                                                                        guest_name):
    bare = rasd("Net", NetworkType="network", Address="52:54:00:aa:bb:04")
    cim.invoke(cim.service(), "DefineSystem", SystemSettings=vssd(guest_name),
               ResourceSettings=[bare])
    try:
        assert [i.source for i in config(hypervisor, guest_name).interfaces()] == ["default"]
    finally:
        hypervisor.domain(guest_name).undefine()


def test_define_system_takes_libvirt_cims_controller_resource_type(cim, hypervisor, guest_name):
    controller = rasd("Controller", ResourceType=32771, ResourceSubType="usb", Index=0,
                      Model="piix3-uhci", InstanceID=f"{guest_name}/controller:usb:0")
    cim.invoke(cim.service(), "DefineSystem", SystemSettings=vssd(guest_name),
               ResourceSettings=[controller])
    try:
        got = cim.get(rasd_ref("Controller", guest_name, "controller:usb:0"))
        assert (got["ResourceType"], got["OtherResourceType"]) == (1, "controller")
        assert got["Model"] == "piix3-uhci"
    finally:
        hypervisor.domain(guest_name).undefine()


def test_modify_processor_weight_and_limit_of_a_running_guest(cim, hypervisor, rich_guest):
    hypervisor.domain(rich_guest).start()
    cim.invoke(cim.service(), "ModifyResourceSettings", ResourceSettings=[
        rasd("Proc", InstanceID=f"{rich_guest}/proc", Weight=300, Limit=150)])
    persistent = config(hypervisor, rich_guest)
    assert persistent.root.findtext("cputune/shares") == "300"
    assert persistent.root.findtext("cputune/global_quota") == "150000"
    assert (persistent.vcpus, persistent.max_vcpus) == (1, 4)
    hypervisor.domain(rich_guest).destroy()


def test_add_disk_and_nic_keeps_the_rest_byte_for_byte(cim, hypervisor, rich_guest):
    before = config(hypervisor, rich_guest)
    result = cim.invoke(cim.service(), "AddResourceSettings", AffectedConfiguration=vssd_ref(rich_guest),
                        ResourceSettings=[disk("vdc", "/images/extra.img"),
                                          nic("52:54:00:aa:bb:02", NetworkType="user")])
    assert result.return_value == 0
    assert [p["InstanceID"] for p in result.out_params["ResultingResourceSettings"]] == [
        f"{rich_guest}/vdc", f"{rich_guest}/52:54:00:aa:bb:02"]
    after = config(hypervisor, rich_guest)
    assert after.find_device("vdc").find("source").get("file") == "/images/extra.img"
    assert after.find_device("52:54:00:aa:bb:02").get("type") == "user"
    for ident in before.device_ids():
        assert xml_of(after.find_device(ident)) == xml_of(
            before.find_device(ident))
    for tag in ("metadata", "seclabel", "features"):
        assert xml_of(after.root.find(tag)) == xml_of(before.root.find(tag))
    assert cim.get(rasd_ref("Disk", rich_guest, "vdc"))["Address"] == "/images/extra.img"


def test_add_of_an_existing_device_changes_nothing(cim, hypervisor, rich_guest):
    before = config(hypervisor, rich_guest).to_string()
    with pytest.raises(CIMError) as error:
        cim.invoke(cim.service(), "AddResourceSettings", AffectedConfiguration=vssd_ref(rich_guest),
                   ResourceSettings=[disk("vdc"), disk("vda")])
    assert status(error) == CIM_ERR_INVALID_PARAMETER and "ResourceSettings[1]" in str(error.value)
    assert config(hypervisor, rich_guest).to_string() == before


def test_add_to_an_unknown_guest_is_not_found(cim):
    with pytest.raises(CIMError) as error:
        cim.invoke(cim.service(), "AddResourceSettings", AffectedConfiguration=vssd_ref("nobody-here"),
                   ResourceSettings=[disk()])
    assert status(error) == CIM_ERR_NOT_FOUND


def test_modify_disk_and_nic_changes_only_what_is_given(cim, hypervisor, defined):
    result = cim.invoke(cim.service(), "ModifyResourceSettings", ResourceSettings=[
        rasd("Disk", InstanceID=f"{defined}/vdb", Address="/images/new.img"),
        rasd("Net", InstanceID=f"{defined}/52:54:00:aa:bb:01", ResourceSubType="e1000"),
    ])
    assert result.return_value == 0
    xml = config(hypervisor, defined)
    assert xml.disks()[0].source == "/images/new.img" and xml.disks()[0].target_dev == "vdb"
    assert xml.interfaces()[0].model == "e1000" and xml.interfaces()[0].source == "default"


def test_modify_memory_and_vcpus_of_a_running_guest(cim, hypervisor, rich_guest):
    hypervisor.domain(rich_guest).start()
    cim.invoke(cim.service(), "ModifyResourceSettings", ResourceSettings=[
        rasd("Mem", InstanceID=f"{rich_guest}/mem", VirtualQuantity=384,
             AllocationUnits="MiB"),
        rasd("Proc", InstanceID=f"{rich_guest}/proc", VirtualQuantity=3),
    ])
    domain = hypervisor.domain(rich_guest)
    assert domain.xml.current_memory_kib == 384 * 1024 and domain.xml.vcpus == 3
    persistent = config(hypervisor, rich_guest)
    assert persistent.current_memory_kib == 384 * 1024 and persistent.vcpus == 3
    assert cim.get(rasd_ref("Mem", rich_guest, "mem"))["VirtualQuantity"] == 384 * 1024
    domain.destroy()


def test_modify_with_a_wrong_class_for_the_device_changes_nothing(cim, hypervisor, rich_guest):
    before = config(hypervisor, rich_guest).to_string()
    with pytest.raises(CIMError) as error:
        cim.invoke(cim.service(), "ModifyResourceSettings", ResourceSettings=[
            rasd("Disk", InstanceID=f"{rich_guest}/hdc", Address="/iso/other.iso"),
            rasd("Disk", InstanceID=f"{rich_guest}/52:54:00:12:34:56", Address="/x"),
        ])
    assert status(error) == CIM_ERR_INVALID_PARAMETER and "<interface>" in str(error.value)
    assert config(hypervisor, rich_guest).to_string() == before


def test_failed_modify_restores_every_guest_it_changed(cim, hypervisor, rich_guest, defined):
    before = config(hypervisor, rich_guest).to_string()
    real_define = Hypervisor.define
    calls = []

    def define_then_fail(self, xml):
        calls.append(xml)
        if len(calls) == 2:
            raise CIMError(CIM_ERR_INVALID_PARAMETER, "injected failure")
        return real_define(self, xml)

    with mock.patch.object(Hypervisor, "define", define_then_fail), pytest.raises(CIMError):
        cim.invoke(cim.service(), "ModifyResourceSettings", ResourceSettings=[
            rasd("Disk", InstanceID=f"{rich_guest}/vda", Address="/images/changed.img"),
            rasd("Disk", InstanceID=f"{defined}/vdb", Address="/images/changed.img"),
        ])
    assert config(hypervisor, rich_guest).to_string() == before
    assert config(hypervisor, defined).disks()[0].source == "/images/data.img"


def test_remove_disk_and_nic(cim, hypervisor, defined):
    result = cim.invoke(cim.service(), "RemoveResourceSettings", ResourceSettings=[
        rasd_ref("Disk", defined, "vdb"), rasd_ref("Net", defined, "52:54:00:aa:bb:01")])
    assert result.return_value == 0
    xml = config(hypervisor, defined)
    assert xml.disks() == [] and xml.interfaces() == []
    with pytest.raises(CIMError) as error:
        cim.get(rasd_ref("Disk", defined, "vdb"))
    assert status(error) == CIM_ERR_NOT_FOUND


@pytest.mark.parametrize("ref, code", [
    (rasd_ref("Disk", "nobody-here", "vda"), CIM_ERR_NOT_FOUND),
    (rasd_ref("Mem", "{guest}", "mem"), CIM_ERR_INVALID_PARAMETER),
    (rasd_ref("Disk", "{guest}", "vdz"), CIM_ERR_NOT_FOUND),
])
def test_remove_refuses_what_cannot_be_removed(cim, hypervisor, rich_guest, ref, code):
    ref = ref.copy()
    ref["InstanceID"] = ref["InstanceID"].format(guest=rich_guest)
    before = config(hypervisor, rich_guest).to_string()
    with pytest.raises(CIMError) as error:
        cim.invoke(cim.service(), "RemoveResourceSettings",
                   ResourceSettings=[rasd_ref("Disk", rich_guest, "hdc"), ref])
    assert status(error) == code
    if code == CIM_ERR_NOT_FOUND and "nobody" not in ref["InstanceID"]:
        assert f"No such instance ({ref['InstanceID']})" in str(error.value)  # libvirt-cim's words
    assert config(hypervisor, rich_guest).to_string() == before


# --- system settings and destruction ---------------------------------------------------------


def test_modify_system_settings_edits_the_definition_in_place(cim, hypervisor, rich_guest):
    before = config(hypervisor, rich_guest)
    result = cim.invoke(cim.service(), "ModifySystemSettings", SystemSettings=embedded(
        "Test_VirtualSystemSettingData", {
            "InstanceID": f"Test:{rich_guest}", "BootDevices": ["network", "hd"],
            "EnablePAE": True, "AutoStart": 1}))
    assert result.return_value == 0
    after = config(hypervisor, rich_guest)
    assert after.boot_devices == ["network", "hd"] and after.has_feature("pae")
    assert xml_of(after.root.find("features/apic")) == xml_of(
        before.root.find("features/apic"))
    assert xml_of(after.root.find("devices")) == xml_of(
        before.root.find("devices"))
    assert cim.get(vssd_ref(rich_guest))["AutoStart"] == 1


def test_modify_system_settings_refuses_a_new_uuid(cim, hypervisor, rich_guest):
    before = hypervisor.domain(rich_guest).uuid
    with pytest.raises(CIMError) as error:
        cim.invoke(cim.service(), "ModifySystemSettings", SystemSettings=vssd(
            rich_guest, UUID="11111111-2222-3333-4444-555555555555"))
    assert status(error) == CIM_ERR_FAILED
    assert f"'{rich_guest}' is already defined with UUID {before}" in (
        error.value.status_description)
    assert hypervisor.domain(rich_guest).uuid == before


def test_modify_system_settings_names_the_guest_that_has_the_uuid(cim, hypervisor, rich_guest,
                                                                   defined):
    taken = hypervisor.domain(defined).uuid
    with pytest.raises(CIMError) as error:
        cim.invoke(cim.service(), "ModifySystemSettings",
                   SystemSettings=vssd(rich_guest, UUID=taken))
    assert status(error) == CIM_ERR_FAILED
    # libvirt-cim's clients look for the other guest's name in these words.
    assert f"'{defined}' is already defined" in error.value.status_description
    assert hypervisor.domain(rich_guest).uuid != taken


def test_modify_system_settings_cannot_rename(cim, hypervisor, rich_guest):
    settings = vssd("renamed", InstanceID=f"Test:{rich_guest}")
    with pytest.raises(CIMError) as error:
        cim.invoke(cim.service(), "ModifySystemSettings", SystemSettings=settings)
    assert status(error) == CIM_ERR_FAILED
    assert not exists(hypervisor, "renamed")


def test_destroy_system_stops_and_undefines(cim, hypervisor, defined):
    hypervisor.domain(defined).start()
    assert cim.invoke(cim.service(), "DestroySystem", AffectedSystem=cim.guest(defined)
                      ).return_value == 0
    assert not exists(hypervisor, defined)


def test_destroy_of_an_unknown_guest_is_not_found_in_libvirt_cims_words(cim):
    with pytest.raises(CIMError) as error:
        cim.invoke(cim.service(), "DestroySystem", AffectedSystem=cim.guest("nobody-here"))
    assert status(error) == CIM_ERR_NOT_FOUND
    assert "Referenced domain `nobody-here' does not exist: Domain not found" in (
        error.value.status_description)
    assert "test:///default" in error.value.status_description


def test_destroy_of_a_reference_without_a_name_is_not_found_in_libvirt_cims_words(cim):
    path = cim.guest("test")
    del path.keybindings["Name"]
    with pytest.raises(CIMError) as error:
        cim.invoke(cim.service(), "DestroySystem", AffectedSystem=path)
    assert status(error) == CIM_ERR_NOT_FOUND
    assert "Unable to retrieve domain name: Error 0" in error.value.status_description


def test_modify_refuses_a_nic_that_names_no_network_but_not_other_changes(
        cim, hypervisor, rich_guest):
    nic_id = f"{rich_guest}/52:54:00:12:34:56"
    with pytest.raises(CIMError) as error:
        cim.invoke(cim.service(), "ModifyResourceSettings", ResourceSettings=[
            rasd("Net", InstanceID=nic_id, PoolID="NetworkPool/")])
    assert status(error) == CIM_ERR_FAILED and "Network not found" in str(error.value)
    cim.invoke(cim.service(), "ModifyResourceSettings", ResourceSettings=[
        rasd("Net", InstanceID=nic_id, PoolID="NetworkPool/elsewhere", ResourceSubType="e1000")])
    [moved] = [n for n in config(hypervisor, rich_guest).interfaces() if n.source == "elsewhere"]
    assert moved.model == "e1000"
