"""Allocation capabilities, their templates, and templates passed back to DefineSystem as they are."""

from __future__ import annotations

import libvirt
import pytest
from lxml import etree
from pywbem import CIM_ERR_FAILED, CIM_ERR_NOT_FOUND, CIMError, CIMInstance, CIMInstanceName

import providers.capabilities as capabilities_module
from providers.classes import VIRT_NAMESPACE


def capabilities(pool_id: str) -> CIMInstanceName:
    return CIMInstanceName("Test_AllocationCapabilities", {"InstanceID": pool_id},
                           namespace=VIRT_NAMESPACE)


def define_system(cim, name: str, settings: list[CIMInstance]) -> int:
    [service] = cim.names("Test_VirtualSystemManagementService")
    system = CIMInstance("Test_VirtualSystemSettingData",
                         properties={"VirtualSystemIdentifier": name})
    return cim.invoke(service, "DefineSystem", SystemSettings=system,
                      ResourceSettings=settings).return_value


def templates(cim, pool_id: str) -> dict[str, CIMInstance]:
    """A pool's templates by the InstanceID of their paths (their unique keys)."""
    found = cim.associators(capabilities(pool_id), AssocClass="Test_SettingsDefineCapabilities",
                            Role="GroupComponent", ResultRole="PartComponent")
    keyed = {t.path["InstanceID"]: t for t in found}
    assert len(keyed) == len(found)
    return keyed


def by_label(found: dict[str, CIMInstance], label: str) -> list[CIMInstance]:
    """The templates whose InstanceID property is ``label``, as libvirt-cim's clients pick them."""
    return [t for t in found.values() if t["InstanceID"] == label]


def test_one_allocation_capabilities_per_pool_with_its_resource_type(cim):
    pools = {p["InstanceID"]: p for p in cim.enumerate("CIM_ResourcePool")}
    caps = {c["InstanceID"]: c for c in cim.enumerate("Test_AllocationCapabilities")}
    assert set(caps) == set(pools)
    assert all(caps[i]["ResourceType"] == pools[i]["ResourceType"] for i in pools)
    assert cim.get(capabilities("DiskPool/default-pool"))["SharingMode"] == 2


def test_pool_and_capabilities_are_linked_both_ways(cim):
    pool = CIMInstanceName("Test_NetworkPool", {"InstanceID": "NetworkPool/default"},
                           namespace=VIRT_NAMESPACE)
    caps = cim.associator_names(pool, AssocClass="Test_ElementCapabilities")
    assert [c["InstanceID"] for c in caps if c.classname == "Test_AllocationCapabilities"] == [
        "NetworkPool/default"]
    back = cim.associator_names(capabilities("NetworkPool/default"),
                                AssocClass="CIM_ElementCapabilities", Role="Capabilities")
    assert [p["InstanceID"] for p in back] == ["NetworkPool/default"]


def test_memory_templates_bound_the_quantity_with_roles_and_ranges(cim, libvirt_conn):
    links = cim.references(capabilities("MemoryPool/0"),
                           ResultClass="Test_SettingsDefineCapabilities")
    roles = {link["PartComponent"]["InstanceID"]: (link["ValueRole"], link["ValueRange"],
                                                   link["PropertyPolicy"]) for link in links}
    assert roles == {"MemoryPool/0/Default": (0, 0, 0), "MemoryPool/0/Minimum": (3, 1, 0),
                     "MemoryPool/0/Maximum": (3, 2, 0), "MemoryPool/0/Increment": (3, 3, 0)}
    found = templates(cim, "MemoryPool/0")
    quantities = {t["InstanceID"]: t["VirtualQuantity"] for t in found.values()}
    assert quantities == {"Default": 256, "Minimum": 64, "Increment": 1,
                          "Maximum": libvirt_conn.getInfo()[1]}
    assert {t.classname for t in found.values()} == {"Test_MemResourceAllocationSettingData"}
    assert all(t["PoolID"] == "MemoryPool/0" and t["AllocationUnits"] == "byte*2^20"
               for t in found.values())


def test_template_ids_are_unique_across_pools(cim):
    ids = [link["PartComponent"]["InstanceID"]
           for link in cim.enumerate("Test_SettingsDefineCapabilities")]
    assert len(ids) == len(set(ids))
    assert "DiskPool/default-pool/StorageVolume/Default" in ids
    assert "NetworkPool/0/NetPool/nat/eth0/Default" in ids


def test_a_template_keeps_libvirt_cims_word_as_instance_id_and_answers_get_instance(cim):
    found = templates(cim, "DiskPool/default-pool")
    volume = found["DiskPool/default-pool/StorageVolume/Default"]
    assert volume["InstanceID"] == "New Storage Volume Default"
    fetched = cim.get(volume.path)
    assert fetched.path["InstanceID"] == "DiskPool/default-pool/StorageVolume/Default"
    assert fetched["InstanceID"] == "New Storage Volume Default"
    cdrom = found["DiskPool/default-pool/CDROM/Default"]
    assert (cdrom["InstanceID"], cdrom["EmulatedType"], cdrom["VirtualDevice"]) == (
        "Default CDROM", 1, "hdc")
    assert cim.get(cdrom.path)["InstanceID"] == "Default CDROM"


def test_a_template_leads_back_to_its_capabilities(cim):
    template = CIMInstanceName("Test_ProcResourceAllocationSettingData",
                               {"InstanceID": "ProcessorPool/0/Maximum"}, namespace=VIRT_NAMESPACE)
    back = cim.associator_names(template, AssocClass="Test_SettingsDefineCapabilities")
    assert [c["InstanceID"] for c in back] == ["ProcessorPool/0"]


def test_templates_of_a_pool_that_is_gone_are_not_found(cim):
    with pytest.raises(CIMError) as error:
        cim.get(CIMInstanceName("Test_DiskResourceAllocationSettingData",
                                {"InstanceID": "DiskPool/gone/Default"}))
    assert error.value.status_code == CIM_ERR_NOT_FOUND


def test_the_primordial_network_pool_offers_a_network_setting_per_forward_mode(cim):
    found = templates(cim, "NetworkPool/0")
    assert {t.classname for t in found.values()} == {"Test_NetPoolResourceAllocationSettingData"}
    for label in ("Default", "Minimum", "Maximum", "Increment"):
        chosen = by_label(found, label)
        assert sorted((t["ForwardMode"], t["ForwardDevice"] or "") for t in chosen) == [
            (0, ""), (1, ""), (1, "eth0"), (2, ""), (2, "eth0")]
        assert {(t["Address"], t["Netmask"], t["IPRangeStart"], t["IPRangeEnd"], t["PoolID"],
                 t["ResourceType"]) for t in chosen} == {
            ("192.168.122.1", "255.255.255.0", "192.168.122.2", "192.168.122.254",
             "NetworkPool/0", 10)}


def test_the_primordial_disk_pool_offers_a_storage_pool_setting_per_pool_type(cim):
    found = templates(cim, "DiskPool/0")
    assert {t.classname for t in found.values()} == {
        "Test_DiskPoolResourceAllocationSettingData"}
    assert len(found) == 28
    chosen = by_label(found, "Default")
    assert sorted(t["Type"] for t in chosen) == [1, 2, 3, 4, 5, 6, 7]
    assert {t["Autostart"] for t in chosen} == {0}
    assert {t["Autostart"] for t in by_label(found, "Maximum")} == {1}
    assert type(chosen[0]["Autostart"]).__name__ == "Uint16"
    examples = {t["Type"]: (t["Path"], t["DevicePaths"], t["Host"], t["SourceDirectory"])
                for t in by_label(found, "Increment")}
    assert examples == {
        1: ("/dev/null", None, None, None),
        2: ("/dev/null", ["/dev/sda100"], None, None),
        3: ("/dev/null", None, "host_sys.domain.com", "/var/lib/images"),
        4: ("/dev/null", ["/dev/VolGroup00/LogVol100"], None, None),
        5: ("/dev/null", ["iscsi-target"], "host_sys.domain.com", None),
        6: ("/dev/null", None, None, None),
        7: ("/dev/disk/by-id", None, None, None)}


def test_a_network_offers_interfaces_of_every_type_on_it(cim):
    found = templates(cim, "NetworkPool/default")
    assert len(found) == 40
    chosen = by_label(found, "Default")
    assert sorted(t["NetworkType"] for t in chosen) == [
        "bridge", "bridge", "direct", "direct", "direct", "direct", "network", "network",
        "user", "user"]
    assert {t["NetworkName"] for t in chosen if t["NetworkType"] == "network"} == {"default"}
    assert {t["ResourceType"] for t in found.values()} == {10}


@pytest.fixture
def volume(libvirt_conn):
    made = libvirt_conn.storagePoolLookupByName("default-pool").createXML(
        "<volume><name>template.img</name><capacity>2097152</capacity></volume>")
    yield made.path()
    made.delete(0)


def test_default_templates_define_a_guest_unchanged(cim, libvirt_conn, volume, guest_name):
    chosen = [templates(cim, pool)[f"{pool}/Default"] for pool in (
        "MemoryPool/0", "ProcessorPool/0", "GraphicsPool/0", "InputPool/0", "ControllerPool/0")]
    chosen.append(templates(cim, "DiskPool/default-pool")[
        "DiskPool/default-pool/Disk/template.img/Default"])
    chosen.append(templates(cim, "NetworkPool/default")["NetworkPool/default/network/Default"])
    assert define_system(cim, guest_name, chosen) == 0
    domain = libvirt_conn.lookupByName(guest_name)
    try:
        xml = etree.fromstring(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        assert xml.findtext("currentMemory") == str(256 * 1024)
        assert xml.xpath("devices/disk[target/@dev='vda']/source/@file") == [volume]
        assert xml.find("devices/interface/source").get("network") == "default"
        assert xml.find("devices/graphics").get("type") == "vnc"
        assert xml.find("devices/input[@type='tablet']").get("bus") == "usb"
        assert xml.find("devices/controller[@type='scsi']").get("model") == "virtio-scsi"
    finally:
        domain.undefine()


def test_a_storage_pool_offers_an_empty_cdrom_and_floppy(cim, libvirt_conn, guest_name):
    found = templates(cim, "DiskPool/default-pool")
    [floppy] = by_label(found, "Default floppy")
    assert (floppy["EmulatedType"], floppy["VirtualDevice"]) == (2, "fda")
    [cdrom] = by_label(found, "Default CDROM")
    assert define_system(cim, guest_name, [cdrom]) == 0
    domain = libvirt_conn.lookupByName(guest_name)
    try:
        xml = etree.fromstring(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        [disk] = xml.findall("devices/disk")
        assert (disk.get("device"), disk.find("target").get("dev"), disk.find("source")) == (
            "cdrom", "hdc", None)
    finally:
        domain.undefine()


def test_a_storage_pool_offers_four_disk_templates_per_volume_and_two_new_volume_sets(
        cim, libvirt_conn, volume):
    found = templates(cim, "DiskPool/default-pool")
    disks = [t for t in found.values() if t.get("Address") == volume]
    assert sorted(t["InstanceID"] for t in disks) == ["Default", "Increment", "Maximum", "Minimum"]
    assert {(t["ResourceType"], t["PoolID"]) for t in disks} == {(17, "DiskPool/default-pool")}
    volumes = [t for t in found.values()
               if t.classname == "Test_StorageVolumeResourceAllocationSettingData"]
    assert len(volumes) == 8
    assert {t["ResourceType"] for t in volumes} == {32768}
    assert sorted(t["AllocationUnits"] for t in by_label(found, "New Storage Volume Default")) == [
        "byte*2^20", "byte*2^30"]
    pool_path = etree.fromstring(libvirt_conn.storagePoolLookupByName(
        "default-pool").XMLDesc(0)).findtext("target/path")
    assert {t["Path"] for t in volumes} == {pool_path}



@pytest.mark.parametrize("instance_id", ["MemoryPool/invalid_id", "DiskPool/gone", "invalid_id"])
def test_capabilities_of_no_pool_are_not_found_in_libvirt_cims_words(cim, instance_id):
    with pytest.raises(CIMError) as error:
        cim.get(capabilities(instance_id))
    assert error.value.status_code == CIM_ERR_NOT_FOUND
    assert "Instance not found" in error.value.status_description


def test_templates_of_capabilities_named_by_a_wrong_key_fail_as_libvirt_cim_failed(cim):
    wrong_key = CIMInstanceName("Test_AllocationCapabilities", {"Wrong": "MemoryPool/0"},
                                namespace=VIRT_NAMESPACE)
    with pytest.raises(CIMError) as error:
        cim.associator_names(wrong_key, AssocClass="Test_SettingsDefineCapabilities")
    assert error.value.status_code == CIM_ERR_FAILED
    assert "Missing InstanceID" in error.value.status_description
    with pytest.raises(CIMError) as error:
        cim.associator_names(capabilities("INVALID_InstID_KeyValue"),
                             AssocClass="Test_SettingsDefineCapabilities")
    assert error.value.status_code == CIM_ERR_NOT_FOUND
    assert "No such instance" in error.value.status_description


def test_templates_are_fetched_but_not_enumerated_as_libvirt_cim_did(cim, volume):
    assert cim.enumerate("Test_NetPoolResourceAllocationSettingData") == []
    assert cim.enumerate("Test_DiskPoolResourceAllocationSettingData") == []
    volumes = cim.enumerate("Test_StorageVolumeResourceAllocationSettingData")
    assert [v["InstanceID"] for v in volumes] == [volume]
    [template] = by_label(templates(cim, "NetworkPool/0"), "Default")[:1]
    assert cim.get(template.path)["InstanceID"] == "Default"


def test_a_volume_deleted_while_its_pool_is_read_is_passed_over(cim, libvirt_conn, volume,
                                                                 monkeypatch):
    """Another client deletes a volume between the listing of its pool and the reading of it:
    the enumeration and the pool's templates answer without it rather than fail."""
    pool = libvirt_conn.storagePoolLookupByName("default-pool")
    gone = pool.createXML("<volume><name>gone.img</name><capacity>1024</capacity></volume>")
    gone.delete(0)
    listed = capabilities_module.volumes
    monkeypatch.setattr(capabilities_module, "volumes",
                        lambda hv, storage: [*listed(hv, storage), gone])
    volumes = cim.enumerate("Test_StorageVolumeResourceAllocationSettingData")
    assert [v["InstanceID"] for v in volumes] == [volume]
    addresses = {t.get("Address") for t in templates(cim, "DiskPool/default-pool").values()}
    assert volume in addresses
    assert not any(str(a).endswith("gone.img") for a in addresses)
