"""HostedResourcePool, ElementAllocatedFromPool, ResourceAllocationFromPool: both ways, with roles."""

from __future__ import annotations

import pytest
from pywbem import CIM_ERR_FAILED, CIM_ERR_NOT_FOUND, CIMError, CIMInstanceName

from providers.classes import VIRT_NAMESPACE


def pool(kind: str, name: str) -> CIMInstanceName:
    return CIMInstanceName(f"Test_{kind}Pool", {"InstanceID": f"{kind}Pool/{name}"},
                           namespace=VIRT_NAMESPACE)


def device(classname: str, guest: str, ident: str) -> CIMInstanceName:
    return CIMInstanceName(f"Test_{classname}", {
        "SystemCreationClassName": "Test_ComputerSystem", "SystemName": guest,
        "CreationClassName": f"Test_{classname}", "DeviceID": f"{guest}/{ident}"},
        namespace=VIRT_NAMESPACE)


def setting(kind: str, guest: str, ident: str) -> CIMInstanceName:
    return CIMInstanceName(f"Test_{kind}ResourceAllocationSettingData",
                           {"InstanceID": f"{guest}/{ident}"}, namespace=VIRT_NAMESPACE)


def ids(paths) -> set[str]:
    return {p.keybindings.get("InstanceID") or p.keybindings.get("DeviceID") for p in paths}


@pytest.fixture
def pooled_guest(libvirt_conn, rich_xml, guest_name):
    """The rich guest, its vdb disk on a volume of default-pool."""
    volume = libvirt_conn.storagePoolLookupByName("default-pool").createXML(
        "<volume><name>pooled.img</name><capacity>1048576</capacity></volume>")
    xml = rich_xml.replace("</devices>", f"""
      <disk type='file' device='disk'><source file='{volume.path()}'/>
        <target dev='vdb'/></disk>
      <disk type='volume' device='disk'><source pool='default-pool' volume='pooled.img'/>
        <target dev='vdc'/></disk></devices>""")
    libvirt_conn.defineXML(xml)
    yield guest_name
    libvirt_conn.lookupByName(guest_name).undefine()
    volume.delete(0)


def test_host_hosts_every_pool_and_each_pool_names_its_host(cim):
    [host] = cim.names("Test_HostSystem")
    pools = cim.associator_names(host, AssocClass="Test_HostedResourcePool")
    assert ids(pools) == {p["InstanceID"] for p in cim.enumerate("CIM_ResourcePool")}
    back = cim.associator_names(pool("Disk", "default-pool"), AssocClass="CIM_HostedResourcePool",
                                Role="PartComponent")
    assert [p["Name"] for p in back] == [host["Name"]]


def test_devices_come_from_the_pool_of_their_volume_network_or_kind(cim, pooled_guest):
    def pool_of(path):
        found = cim.associator_names(path, AssocClass="Test_ElementAllocatedFromPool",
                                     Role="Dependent", ResultRole="Antecedent")
        return ids(found)

    assert pool_of(device("LogicalDisk", pooled_guest, "vdb")) == {"DiskPool/default-pool"}
    assert pool_of(device("LogicalDisk", pooled_guest, "vdc")) == {"DiskPool/default-pool"}
    assert pool_of(device("LogicalDisk", pooled_guest, "vda")) == {"DiskPool/0"}
    assert pool_of(device("NetworkPort", pooled_guest, "52:54:00:12:34:56")) == {
        "NetworkPool/default"}
    assert pool_of(device("NetworkPort", pooled_guest, "52:54:00:ab:cd:ef")) == {"NetworkPool/0"}
    assert pool_of(device("Memory", pooled_guest, "mem")) == {"MemoryPool/0"}
    assert pool_of(device("Processor", pooled_guest, "0")) == {"ProcessorPool/0"}
    assert pool_of(device("PointingDevice", pooled_guest, "tablet:usb")) == {"InputPool/0"}


def test_a_pool_lists_the_devices_allocated_from_it(cim, pooled_guest):
    found = cim.associator_names(pool("Disk", "default-pool"),
                                 AssocClass="Test_ElementAllocatedFromPool", Role="Antecedent",
                                 ResultClass="CIM_LogicalDevice")
    assert ids(found) == {f"{pooled_guest}/vdb", f"{pooled_guest}/vdc"}
    nics = cim.associator_names(pool("Network", "default"), ResultClass="Test_NetworkPort")
    assert f"{pooled_guest}/52:54:00:12:34:56" in ids(nics)


def test_concrete_pools_are_allocated_from_their_primordial_pool(cim):
    children = cim.associator_names(pool("Disk", "0"), AssocClass="Test_ElementAllocatedFromPool",
                                    Role="Antecedent", ResultClass="Test_DiskPool")
    assert ids(children) == {"DiskPool/default-pool"}
    parent = cim.associator_names(pool("Network", "default"),
                                  AssocClass="Test_ElementAllocatedFromPool", Role="Dependent",
                                  ResultClass="CIM_ResourcePool")
    assert ids(parent) == {"NetworkPool/0"}
    assert cim.associator_names(pool("Network", "default"), Role="Antecedent",
                                ResultClass="CIM_ResourcePool") == []


def test_settings_come_from_the_same_pools_as_their_devices(cim, pooled_guest):
    references = cim.references(setting("Disk", pooled_guest, "vdb"),
                                ResultClass="Test_ResourceAllocationFromPool")
    assert [r["Antecedent"]["InstanceID"] for r in references] == ["DiskPool/default-pool"]
    from_pool = cim.associator_names(pool("Memory", "0"),
                                     AssocClass="Test_ResourceAllocationFromPool")
    assert f"{pooled_guest}/mem" in ids(from_pool)
    nets = cim.associator_names(pool("Network", "default"),
                                ResultClass="Test_EthernetPortAllocationSettingData")
    assert f"{pooled_guest}/52:54:00:12:34:56" in ids(nets)


@pytest.mark.parametrize("source", [
    pool("Disk", "gone"),
    device("LogicalDisk", "no-such-guest", "vda"),
    setting("Disk", "no-such-guest", "vda"),
], ids=["pool", "device", "setting"])
def test_links_from_unknown_objects_are_not_found(cim, source):
    with pytest.raises(CIMError) as err:
        cim.references(source)
    assert err.value.status_code == CIM_ERR_NOT_FOUND


def test_an_association_instance_can_be_fetched_by_its_keys(cim, pooled_guest):
    [link] = cim.references(device("LogicalDisk", pooled_guest, "vdb"),
                            ResultClass="Test_ElementAllocatedFromPool")
    assert cim.get(link.path)["Antecedent"]["InstanceID"] == "DiskPool/default-pool"


@pytest.mark.parametrize("key", ["CreationClassName", "Name"])
def test_pools_of_a_host_that_is_not_there_name_the_wrong_key(cim, key):
    [host] = cim.names("Test_HostSystem")
    wrong = host.copy()
    wrong.keybindings[key] = "wrong"
    with pytest.raises(CIMError) as error:
        cim.associator_names(wrong, AssocClass="Test_HostedResourcePool")
    assert error.value.status_code == CIM_ERR_NOT_FOUND
    assert f"No such instance ({key})" in error.value.status_description


@pytest.mark.parametrize("kind", ["Mem", "Proc", "Disk", "Net"])
def test_the_pool_of_a_setting_that_is_not_there_is_no_such_instance(cim, kind):
    wrong = CIMInstanceName(f"Test_{kind}ResourceAllocationSettingData", {"InstanceID": "wrong"},
                            namespace=VIRT_NAMESPACE)
    with pytest.raises(CIMError) as error:
        cim.associator_names(wrong, AssocClass="Test_ResourceAllocationFromPool")
    assert error.value.status_code == CIM_ERR_NOT_FOUND
    assert "No such instance" in error.value.status_description


def test_an_interface_on_a_network_that_does_not_exist_comes_from_no_pool(
        cim, libvirt_conn, rich_xml, guest_name):
    """libvirt defines such a guest; libvirt-cim's clients expect it linked to no pool."""
    libvirt_conn.defineXML(rich_xml.replace("<source network='default'/>",
                                            "<source network='gone'/>"))
    try:
        mac = "52:54:00:12:34:56"
        for source, association in ((setting("Net", guest_name, mac),
                                     "Test_ResourceAllocationFromPool"),
                                    (device("NetworkPort", guest_name, mac),
                                     "Test_ElementAllocatedFromPool")):
            with pytest.raises(CIMError) as err:
                cim.associator_names(source, AssocClass=association)
            assert err.value.status_code == CIM_ERR_FAILED
            assert f"Unable to determine pool of `{guest_name}/{mac}'" in (
                err.value.status_description)
        allocated = cim.enumerate("Test_ResourceAllocationFromPool")
        assert f"{guest_name}/52:54:00:ab:cd:ef" in {link["Dependent"]["InstanceID"]
                                                    for link in allocated}
        assert f"{guest_name}/{mac}" not in {link["Dependent"]["InstanceID"]
                                             for link in allocated}
        primordial = cim.associator_names(pool("Network", "0"),
                                          AssocClass="Test_ResourceAllocationFromPool")
        assert f"{guest_name}/{mac}" not in ids(primordial)
    finally:
        libvirt_conn.lookupByName(guest_name).undefine()
