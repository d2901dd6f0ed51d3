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

from tests.http.servers import running_server

pytestmark = [pytest.mark.http]

POOL = "e2e-pool"
GUEST = "e2e-pool-guest"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("pools")) as srv:
        yield srv


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
    templates = {t["InstanceID"]: t for t in conn.Associators(
        capabilities, AssocClass="CIM_SettingsDefineCapabilities", ResultRole="PartComponent")}
    disk = templates[f"DiskPool/{POOL}/Default"]
    assert disk["Address"] == volume_path

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
