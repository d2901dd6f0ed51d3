"""Pools end to end over HTTP with pywbem: create storage, take a template, define a guest.

The server runs in this process on ``test:///default``, so libvirt is read
directly to see what each call did.
"""

from __future__ import annotations

import libvirt
import pytest
import pywbem
from lxml import etree
from pywbem import CIMInstance, CIMInstanceName

pytestmark = [pytest.mark.http]

POOL = "e2e-pool"
GUEST = "e2e-pool-guest"


@pytest.fixture
def libvirt_conn():
    conn = libvirt.open("test:///default")
    yield conn
    for name in (GUEST,):
        if name in conn.listDefinedDomains():
            conn.lookupByName(name).undefine()
    if POOL in conn.listStoragePools() + conn.listDefinedStoragePools():
        pool = conn.storagePoolLookupByName(POOL)
        if pool.isActive():
            pool.destroy()
        pool.undefine()
    conn.close()


def only(paths) -> CIMInstanceName:
    (path,) = paths
    return path


def test_storage_from_creation_to_a_guest_and_back(server, libvirt_conn, tmp_path):
    conn = server.connection()
    rpcs = only(conn.EnumerateInstanceNames("Test_ResourcePoolConfigurationService"))
    vsms = only(conn.EnumerateInstanceNames("Test_VirtualSystemManagementService"))

    pool_settings = CIMInstance("Test_DiskPoolResourceAllocationSettingData", properties={
        "Type": pywbem.Uint16(1), "Path": str(tmp_path / "images")})
    rv, out = conn.InvokeMethod("CreateChildResourcePool", rpcs, ElementName=POOL,
                                Settings=[pool_settings])
    assert rv == 0
    pool = out["Pool"]
    assert pool["InstanceID"] == f"DiskPool/{POOL}"
    assert libvirt_conn.storagePoolLookupByName(POOL).isActive()

    volume = CIMInstance("Test_StorageVolumeResourceAllocationSettingData", properties={
        "VolumeName": "root.qcow2", "FormatType": pywbem.Uint16(2),
        "Capacity": pywbem.Uint64(2), "AllocationUnits": "GigaBytes"})
    rv, out = conn.InvokeMethod("CreateResourceInPool", rpcs, Pool=pool, Settings=volume)
    assert rv == 0
    volume_path = str(tmp_path / "images" / "root.qcow2")
    assert libvirt_conn.storagePoolLookupByName(POOL).storageVolLookupByName(
        "root.qcow2").info()[1] == 2 * 2**30

    capabilities = only(conn.AssociatorNames(pool, AssocClass="CIM_ElementCapabilities",
                                             ResultClass="CIM_AllocationCapabilities"))
    templates = {t.path["InstanceID"]: t for t in conn.Associators(
        capabilities, AssocClass="CIM_SettingsDefineCapabilities", ResultRole="PartComponent")}
    disk = templates[f"DiskPool/{POOL}/Disk/root.qcow2/Default"]
    assert (disk["InstanceID"], disk["Address"]) == ("Default", volume_path)

    vssd = CIMInstance("Test_VirtualSystemSettingData",
                       properties={"VirtualSystemIdentifier": GUEST})
    rv, out = conn.InvokeMethod("DefineSystem", vsms, SystemSettings=vssd,
                                ResourceSettings=[disk])  # the template, unchanged
    assert rv == 0
    xml = etree.fromstring(libvirt_conn.lookupByName(GUEST).XMLDesc(0).encode())
    assert xml.xpath("devices/disk/source/@file") == [volume_path]

    settings = conn.AssociatorNames(pool, AssocClass="CIM_ResourceAllocationFromPool")
    assert f"{GUEST}/vda" in {path["InstanceID"] for path in settings}
    assert conn.InvokeMethod("DeleteResourcePool", rpcs, Pool=pool)[0] == 6  # In Use

    assert conn.InvokeMethod("DestroySystem", vsms, AffectedSystem=out["ResultingSystem"])[0] == 0
    stored = only(v for v in conn.EnumerateInstances(
        "Test_StorageVolumeResourceAllocationSettingData") if v["InstanceID"] == volume_path)
    assert conn.InvokeMethod("DeleteResourceInPool", rpcs, Pool=pool, Resource=stored)[0] == 0
    assert conn.InvokeMethod("DeleteResourcePool", rpcs, Pool=pool)[0] == 0
    assert POOL not in libvirt_conn.listStoragePools() + libvirt_conn.listDefinedStoragePools()


def test_templates_are_picked_fetched_and_passed_back_as_libvirt_cims_clients_do(
        server, libvirt_conn, tmp_path):
    conn = server.connection()
    rpcs = only(conn.EnumerateInstanceNames("Test_ResourcePoolConfigurationService"))
    caps = conn.GetInstance(CIMInstanceName("Test_AllocationCapabilities",
                                            {"InstanceID": "DiskPool/0"}))
    found = conn.Associators(caps.path, AssocClass="Test_SettingsDefineCapabilities")
    assert len({t.path["InstanceID"] for t in found}) == len(found) == 28
    [template] = [t for t in found if t["InstanceID"] == "Default" and t["Type"] == 1]
    fetched = conn.GetInstance(template.path)
    assert (fetched["InstanceID"], fetched.path["InstanceID"]) == (
        "Default", "DiskPool/0/DiskPool/dir/Default")
    links = conn.References(template.path, ResultClass="Test_SettingsDefineCapabilities")
    assert [(link["ValueRole"], link["ValueRange"]) for link in links] == [(0, 0)]

    template["PoolID"] = f"DiskPool/{POOL}"
    template["Path"] = str(tmp_path)
    template["Autostart"] = pywbem.Uint16(1)
    text = template.tomof()
    assert "Autostart = 1;" in text and 'InstanceID = "Default";' in text
    rv, out = conn.InvokeMethod("CreateChildResourcePool", rpcs, ElementName=POOL,
                                Settings=[text])
    assert rv == 0
    assert libvirt_conn.storagePoolLookupByName(POOL).autostart() == 1
    pool = conn.GetInstance(out["Pool"])
    assert (pool["Autostart"], type(pool["Autostart"])) == (1, pywbem.Uint16)

    caps = conn.GetInstance(CIMInstanceName("Test_AllocationCapabilities",
                                            {"InstanceID": f"DiskPool/{POOL}"}))
    found = conn.Associators(caps.path, AssocClass="Test_SettingsDefineCapabilities")
    [volume] = [t for t in found if t["ResourceType"] == 32768 and "Default" in t["InstanceID"]
                and t["AllocationUnits"] == "byte*2^20"]
    volume["Path"] = str(tmp_path)
    volume["VolumeName"] = "from-template.img"
    rv, out = conn.InvokeMethod("CreateResourceInPool", rpcs, Pool=out["Pool"],
                                Settings=volume.tomof())
    assert rv == 0
    assert out["Resource"]["InstanceID"] == str(tmp_path / "from-template.img")
    assert "from-template.img" in libvirt_conn.storagePoolLookupByName(POOL).listVolumes()


@pytest.mark.parametrize("method", ["CreateResourcePool", "AddResourcesToResourcePool",
                                    "RemoveResourcesFromResourcePool"])
def test_the_methods_libvirt_cim_left_out_are_not_supported_on_the_class_too(server, method):
    conn = server.connection()
    with pytest.raises(pywbem.CIMError) as error:
        conn.InvokeMethod(method, "Test_ResourcePoolConfigurationService")
    assert error.value.status_code == pywbem.CIM_ERR_NOT_SUPPORTED
