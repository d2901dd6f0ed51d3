"""Allocation capabilities, their templates, and templates passed back to DefineSystem as they are."""

from __future__ import annotations

import libvirt
import pytest
from lxml import etree
from pywbem import CIM_ERR_NOT_FOUND, CIMError, CIMInstance, CIMInstanceName

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
    found = cim.associators(capabilities(pool_id), AssocClass="Test_SettingsDefineCapabilities",
                            Role="GroupComponent", ResultRole="PartComponent")
    return {t["InstanceID"]: t for t in found}


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
    quantities = {i.rsplit("/", 1)[1]: t["VirtualQuantity"] for i, t in found.items()}
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
    assert "NetworkPool/0/NetPool/Default" in ids


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


def test_the_network_pool_setting_template_avoids_every_used_range(cim):
    [template] = [t for t in templates(cim, "NetworkPool/0").values()
                  if t.classname == "Test_NetPoolResourceAllocationSettingData"]
    assert template["Address"] == "192.168.100.1"
    assert (template["IPRangeStart"], template["IPRangeEnd"]) == ("192.168.100.2",
                                                                  "192.168.100.254")


@pytest.fixture
def volume(libvirt_conn):
    made = libvirt_conn.storagePoolLookupByName("default-pool").createXML(
        "<volume><name>template.img</name><capacity>2097152</capacity></volume>")
    yield made.path()
    made.delete(0)


def test_default_templates_define_a_guest_unchanged(cim, libvirt_conn, volume, guest_name):
    chosen = [templates(cim, pool)[f"{pool}/Default"] for pool in (
        "MemoryPool/0", "ProcessorPool/0", "DiskPool/default-pool", "NetworkPool/default",
        "GraphicsPool/0", "InputPool/0", "ControllerPool/0")]
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


def test_a_pool_without_volumes_offers_an_empty_cdrom(cim, libvirt_conn, guest_name):
    cdrom = templates(cim, "DiskPool/0")["DiskPool/0/Default"]
    assert define_system(cim, guest_name, [cdrom]) == 0
    domain = libvirt_conn.lookupByName(guest_name)
    try:
        xml = etree.fromstring(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        [disk] = xml.findall("devices/disk")
        assert (disk.get("device"), disk.find("target").get("dev"), disk.find("source")) == (
            "cdrom", "hdc", None)
    finally:
        domain.undefine()
