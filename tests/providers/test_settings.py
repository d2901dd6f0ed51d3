"""VSSD and RASD instances and their associations, through the dispatcher over test:///default."""

from __future__ import annotations

import pytest
from pywbem import CIM_ERR_FAILED, CIM_ERR_NOT_FOUND, CIMError, CIMInstanceName

from providers.classes import VIRT_NAMESPACE
from providers.virt import DomainListing, DomainXML, Hypervisor


@pytest.fixture
def guest(hypervisor, rich_xml, guest_name):
    domain = hypervisor.define(DomainXML.from_string(rich_xml))
    yield domain.name
    hypervisor.domain(domain.name).undefine()


def path(classname, **keys):
    return CIMInstanceName(classname, keys, namespace=VIRT_NAMESPACE)


def test_vssd_of_a_guest_is_found_by_libvirt_cim_instance_id(cim, guest):
    vssd = cim.get(path("Test_VirtualSystemSettingData", InstanceID=f"Test:{guest}"))
    assert vssd["VirtualSystemIdentifier"] == guest and vssd["BootDevices"] == ["cdrom", "hd"]
    ids = [inst["InstanceID"] for inst in cim.enumerate("CIM_VirtualSystemSettingData")]
    assert f"Test:{guest}" in ids


def test_rasds_of_every_kind_are_served(cim, guest):
    disk = cim.get(path("Test_DiskResourceAllocationSettingData", InstanceID=f"{guest}/vda"))
    assert disk["Address"] == "/var/lib/images/web.qcow2" and disk["ResourceType"] == 17
    mem = cim.get(path("Test_MemResourceAllocationSettingData", InstanceID=f"{guest}/mem"))
    assert mem["Limit"] == 524288
    sasd = cim.get(path("Test_StorageAllocationSettingData", InstanceID=f"{guest}/vda"))
    assert "Test_DiskResourceAllocationSettingData" in sasd["Parent"]
    classes = {inst.classname for inst in cim.enumerate("CIM_ResourceAllocationSettingData")
               if inst["InstanceID"].startswith(f"{guest}/")}
    assert {"Test_ProcResourceAllocationSettingData", "Test_NetResourceAllocationSettingData",
            "Test_GraphicsResourceAllocationSettingData", "Test_InputResourceAllocationSettingData",
            "Test_ConsoleResourceAllocationSettingData",
            "Test_ControllerResourceAllocationSettingData",
            "Test_EthernetPortAllocationSettingData"} <= classes


def test_every_resource_setting_class_comes_from_one_walk_over_the_guests(
        cim, guest, monkeypatch):
    walks, network_listings = [], []
    walk, networks = DomainListing.__iter__, Hypervisor.networks
    monkeypatch.setattr(DomainListing, "__iter__", lambda listing: walks.append(1) or walk(listing))
    monkeypatch.setattr(Hypervisor, "networks",
                        lambda hv: network_listings.append(1) or networks(hv))
    deep = cim.enumerate("CIM_ResourceAllocationSettingData")
    assert len(walks) == 1
    deep_network_listings = len(network_listings)
    network_listings.clear()
    cim.enumerate("Test_NetPoolResourceAllocationSettingData")
    assert deep_network_listings == len(network_listings)  # three pool setting classes, one pass
    by_class = {}
    for inst in deep:
        by_class.setdefault(inst.classname, []).append(inst)
    assert len(by_class) >= 10
    for classname, instances in by_class.items():
        assert cim.enumerate(classname) == instances


@pytest.mark.parametrize("classname, instance_id", [
    ("Test_DiskResourceAllocationSettingData", "{guest}/vdz"),
    ("Test_DiskResourceAllocationSettingData", "{guest}/52:54:00:12:34:56"),
    ("Test_DiskResourceAllocationSettingData", "no-such-guest/vda"),
    ("Test_DiskResourceAllocationSettingData", "garbage"),
    ("Test_VirtualSystemSettingData", "KVM:{guest}"),
    ("Test_VirtualSystemSettingData", "Test:no-such-guest"),
])
def test_unknown_settings_are_not_found(cim, guest, classname, instance_id):
    with pytest.raises(CIMError) as error:
        cim.get(path(classname, InstanceID=instance_id.format(guest=guest)))
    assert error.value.status_code == CIM_ERR_NOT_FOUND
    # libvirt-cim named a missing setting by its InstanceID, a missing VSSD by the key.
    named = instance_id.format(guest=guest) if "ResourceAllocation" in classname else "InstanceID"
    assert f"No such instance ({named})" in error.value.status_description


def test_vssd_component_links_the_vssd_to_each_rasd(cim, guest):
    vssd = path("Test_VirtualSystemSettingData", InstanceID=f"Test:{guest}")
    parts = cim.associator_names(vssd, AssocClass="Test_VirtualSystemSettingDataComponent")
    ids = {(p.classname, p["InstanceID"]) for p in parts}
    assert ("Test_DiskResourceAllocationSettingData", f"{guest}/hdc") in ids
    assert ("Test_ProcResourceAllocationSettingData", f"{guest}/proc") in ids
    disk = path("Test_DiskResourceAllocationSettingData", InstanceID=f"{guest}/hdc")
    back = cim.associator_names(disk, AssocClass="Test_VirtualSystemSettingDataComponent")
    assert [p["InstanceID"] for p in back] == [f"Test:{guest}"]


def test_settings_define_state_links_guest_and_devices_to_settings(cim, guest):
    found = cim.associator_names(cim.guest(guest), AssocClass="Test_SettingsDefineState")
    assert [p["InstanceID"] for p in found] == [f"Test:{guest}"]
    disk_device = path("Test_LogicalDisk", SystemCreationClassName="Test_ComputerSystem",
                       SystemName=guest, CreationClassName="Test_LogicalDisk",
                       DeviceID=f"{guest}/vda")
    settings = cim.associator_names(disk_device, AssocClass="Test_SettingsDefineState")
    assert [(p.classname, p["InstanceID"]) for p in settings] == [
        ("Test_DiskResourceAllocationSettingData", f"{guest}/vda")]
    proc = path("Test_ProcResourceAllocationSettingData", InstanceID=f"{guest}/proc")
    cpus = cim.associator_names(proc, AssocClass="Test_SettingsDefineState")
    assert [p["DeviceID"] for p in cpus] == [f"{guest}/0"]


@pytest.mark.parametrize("result_class", ["Test_VirtualSystemElementSettingData",
                                          "CIM_ElementSettingData"])
def test_element_setting_data_links_guest_to_vssd_the_dmtf_way(cim, guest, result_class):
    links = cim.references(cim.guest(guest), ResultClass=result_class)
    assert len(links) == 1
    link = links[0]
    assert link.classname == "Test_VirtualSystemElementSettingData"
    assert link["SettingData"]["InstanceID"] == f"Test:{guest}"
    assert (link["IsDefault"], link["IsCurrent"], link["IsNext"]) == (1, 2, 1)


@pytest.mark.parametrize("classname, instance_id", [
    ("Test_DiskResourceAllocationSettingData", "{guest}/vda"),
    ("Test_VirtualSystemSettingData", "Test:{guest}"),
])
def test_element_setting_data_links_each_setting_to_itself_only(cim, guest, classname,
                                                                 instance_id):
    setting = path(classname, InstanceID=instance_id.format(guest=guest))
    found = cim.associator_names(setting, AssocClass="Test_ElementSettingData")
    # libvirt-cim's clients expect exactly the setting itself.
    assert [(p.classname, p["InstanceID"]) for p in found] == [
        (classname, instance_id.format(guest=guest))]
    assert cim.references(cim.guest(guest), ResultClass="Test_ElementSettingData") == []


def test_the_dmtf_1_1_forms_are_components_through_their_own_association(cim, guest):
    vssd = path("Test_VirtualSystemSettingData", InstanceID=f"Test:{guest}")
    libvirt_cims = cim.associator_names(vssd, AssocClass="Test_VirtualSystemSettingDataComponent")
    assert not any(p.classname in ("Test_StorageAllocationSettingData",
                                   "Test_EthernetPortAllocationSettingData")
                   for p in libvirt_cims)
    own = {(p.classname, p["InstanceID"])
           for p in cim.names("Test_ResourceAllocationSettingData")
           if p["InstanceID"].startswith(f"{guest}/")}
    # libvirt-cim's clients count these links against the prefix's resource settings.
    assert {(p.classname, p["InstanceID"]) for p in libvirt_cims} == own
    forms = cim.associator_names(vssd, AssocClass="Test_AllocationSettingDataComponent")
    assert ("Test_StorageAllocationSettingData", f"{guest}/hdc") in {
        (p.classname, p["InstanceID"]) for p in forms}
    assert {p.classname for p in forms} <= {"Test_StorageAllocationSettingData",
                                            "Test_EthernetPortAllocationSettingData"}
    every = cim.associator_names(vssd, AssocClass="CIM_VirtualSystemSettingDataComponent")
    assert len(every) == len(libvirt_cims) + len(forms)
    storage = path("Test_StorageAllocationSettingData", InstanceID=f"{guest}/hdc")
    back = cim.associator_names(storage, AssocClass="CIM_VirtualSystemSettingDataComponent")
    assert [p["InstanceID"] for p in back] == [f"Test:{guest}"]


def test_a_disk_reports_its_volume_size_in_bytes_and_its_storage_pool(cim, hypervisor,
                                                                      rich_xml, guest_name):
    volume_xml = (f"<volume><name>{guest_name}.img</name>"
                  "<capacity unit='bytes'>125952</capacity></volume>")
    volume = hypervisor.run("pool", lambda conn: conn.storagePoolLookupByName(
        "default-pool").createXML(volume_xml))
    xml = DomainXML.from_string(rich_xml)
    xml.find_device("vda").find("source").set("file", volume.path())
    domain = hypervisor.define(xml)
    try:
        disk = cim.get(path("Test_DiskResourceAllocationSettingData", InstanceID=f"{guest_name}/vda"))
        assert (disk["VirtualQuantity"], disk["AllocationUnits"]) == (125952, "Bytes")
        assert disk["PoolID"] == "DiskPool/default-pool"
    finally:
        domain.undefine()
        volume.delete()


def test_a_disk_outside_any_pool_reports_libvirts_block_info(cim, guest):
    disk = cim.get(path("Test_DiskResourceAllocationSettingData", InstanceID=f"{guest}/vda"))
    capacity = cim.hypervisor.domain(guest).disk_size("vda", "/var/lib/images/web.qcow2")
    assert capacity is not None and disk["VirtualQuantity"] == capacity[0] > 0
    assert disk["AllocationUnits"] == "Bytes" and disk["PoolID"] is None


def test_an_empty_drive_holds_no_bytes(cim, hypervisor, rich_xml):
    xml = DomainXML.from_string(rich_xml)
    cdrom = xml.find_device("hdc")
    cdrom.remove(cdrom.find("source"))
    domain = hypervisor.define(xml)
    try:
        drive = cim.get(path("Test_DiskResourceAllocationSettingData",
                             InstanceID=f"{domain.name}/hdc"))
        assert drive["VirtualQuantity"] == 0 and drive["EmulatedType"] == 1
    finally:
        domain.undefine()


@pytest.mark.parametrize("classname, code", [
    ("Test_DiskResourceAllocationSettingData", CIM_ERR_FAILED),
    ("Test_VirtualSystemSettingData", CIM_ERR_NOT_FOUND),
])
def test_a_path_without_instance_id_fails_or_finds_nothing_as_libvirt_cim_answered(
        cim, guest, classname, code):
    """libvirt-cim read a guest and a device out of a setting's InstanceID; not a VSSD's."""
    with pytest.raises(CIMError) as err:
        cim.get(path(classname, Instance_ID=f"{guest}/vda"))
    assert err.value.status_code == code
    expected = "Missing InstanceID" if code == CIM_ERR_FAILED else "No such instance (InstanceID)"
    assert expected in err.value.status_description
