"""Resource pools over the test driver: every kind, keys, capacities, lookups."""

from __future__ import annotations

import pytest
from pywbem import CIM_ERR_NOT_FOUND, CIMError, CIMInstanceName

from providers import SYSTEM_VIRTUALIZATION_PROFILE_ID, register_providers
from providers.classes import VIRT_NAMESPACE
from virtcim.interop import ProfileRegistry
from virtcim.provider import ProviderRegistry

POOL_CLASSES = ["Memory", "Processor", "Disk", "Network", "Graphics", "Input", "Controller"]


def pool(kind: str, name: str) -> CIMInstanceName:
    return CIMInstanceName(f"Test_{kind}Pool", {"InstanceID": f"{kind}Pool/{name}"},
                           namespace=VIRT_NAMESPACE)


@pytest.mark.parametrize("kind", POOL_CLASSES)
def test_each_kind_has_a_primordial_pool_keyed_by_instance_id(cim, kind):
    pools = {p["InstanceID"]: p for p in cim.enumerate(f"Test_{kind}Pool")}
    primordial = pools[f"{kind}Pool/0"]
    assert primordial["Primordial"] is True
    assert primordial["PoolID"] == primordial["InstanceID"]
    assert list(primordial.path.keybindings) == ["InstanceID"]
    assert cim.get(primordial.path)["InstanceID"] == f"{kind}Pool/0"


def test_each_storage_pool_and_network_is_a_concrete_pool(cim, libvirt_conn):
    disks = {p["InstanceID"]: p for p in cim.enumerate("Test_DiskPool")}
    networks = {p["InstanceID"] for p in cim.enumerate("Test_NetworkPool")}
    assert set(disks) == {"DiskPool/0"} | {
        f"DiskPool/{p.name()}" for p in libvirt_conn.listAllStoragePools()}
    assert networks == {"NetworkPool/0"} | {
        f"NetworkPool/{n.name()}" for n in libvirt_conn.listAllNetworks()}
    default = disks["DiskPool/default-pool"]
    assert default["Primordial"] is False
    assert default["Path"] == "/default-pool"
    assert default["OtherResourceType"] == "dir"
    assert default["ResourceType"] == 17


def test_memory_pool_holds_the_host_memory_and_reserves_running_guests(cim, libvirt_conn):
    [memory] = cim.enumerate("Test_MemoryPool")
    host_kib = libvirt_conn.getInfo()[1] * 1024
    running = sum(d.info()[2] for d in libvirt_conn.listAllDomains() if d.isActive())
    assert (memory["Capacity"], memory["Reserved"]) == (host_kib, running)
    assert memory["AllocationUnits"] == "byte*2^10"
    assert memory["ResourceType"] == 4


def test_processor_pool_counts_host_cpus_in_count_units(cim, libvirt_conn):
    [processors] = cim.enumerate("Test_ProcessorPool")
    assert processors["Capacity"] == libvirt_conn.getInfo()[2]
    assert processors["AllocationUnits"] == "count"


def test_disk_pool_capacity_is_the_storage_pool_size_in_mebibytes(cim, libvirt_conn):
    _, capacity, allocation, _ = libvirt_conn.storagePoolLookupByName("default-pool").info()
    got = cim.get(pool("Disk", "default-pool"))
    assert (got["Capacity"], got["Reserved"]) == (capacity // 2**20, -(-allocation // 2**20))
    assert got["AllocationUnits"] == "byte*2^20"


@pytest.mark.parametrize("path", [
    pool("Disk", "no-such-pool"),
    pool("Network", "no-such-network"),
    pool("Memory", "1"),
    CIMInstanceName("Test_DiskPool", {"InstanceID": "NetworkPool/default"}),
    CIMInstanceName("Test_DiskPool", {"InstanceID": "garbage"}),
])
def test_unknown_pools_are_not_found(cim, path):
    with pytest.raises(CIMError) as error:
        cim.get(path)
    assert error.value.status_code == CIM_ERR_NOT_FOUND


def test_a_generic_enumeration_finds_every_pool(cim):
    found = {p["InstanceID"] for p in cim.enumerate("CIM_ResourcePool")}
    assert {f"{kind}Pool/0" for kind in POOL_CLASSES} <= found
    assert {"DiskPool/default-pool", "NetworkPool/default"} <= found


def test_resource_profiles_are_registered_as_components_of_system_virtualization(
        repository, hypervisor):
    profiles = ProfileRegistry()
    register_providers(ProviderRegistry(), repository, [hypervisor], profiles)
    expected = {"CIM:DSP1043-AllocationCapabilities-1.0.0a",
                "CIM:DSP1045-MemoryResourceVirtualization-1.0.0",
                *(f"CIM:DSP1041-ResourceAllocation-1.1.0c_{s}" for s in "dnpm"),
                *(f"CIM:DSP1059-GenericDeviceResourceVirtualization-1.0.0_{s}" for s in "dnp")}
    assert all(profiles.get(instance_id) is not None for instance_id in expected)
    assert expected <= set(profiles.get(SYSTEM_VIRTUALIZATION_PROFILE_ID).references)
    disk = profiles.get("CIM:DSP1041-ResourceAllocation-1.1.0c_d")
    assert [central.classname for central in disk.central_classes] == ["Virt_DiskPool"]


@pytest.mark.parametrize(("classname", "instance_id", "words"), [
    ("Test_MemoryPool", "wrong", "No such instance (wrong) - resource pool type mismatch"),
    ("Test_MemoryPool", "DiskPool/default-pool", "resource pool type mismatch"),
    ("Test_MemoryPool", "MemoryPool/invalid_id", "No such instance (MemoryPool/invalid_id)"),
    ("Test_DiskPool", "DiskPool/gone", "No such instance (DiskPool/gone)"),
])
def test_a_pool_that_is_not_there_is_not_found_in_libvirt_cims_words(cim, classname,
                                                                     instance_id, words):
    with pytest.raises(CIMError) as error:
        cim.get(CIMInstanceName(classname, {"InstanceID": instance_id},
                                namespace=VIRT_NAMESPACE))
    assert error.value.status_code == CIM_ERR_NOT_FOUND
    assert words in error.value.status_description
