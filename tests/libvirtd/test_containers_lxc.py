"""Containers through the same providers: lxc:/// gives the LXC prefix.

Starting a container needs the host's cgroup layout, which not every machine
that runs these tests has, so this defines, reads and destroys only.
"""

from __future__ import annotations

import libvirt
import pytest
import pywbem

from tests.http.servers import running_server

LXC_URI = "lxc:///"


@pytest.fixture
def lxc_conn(qemu_conn):
    """The daemon the tests start also serves containers when its LXC driver is installed."""
    try:
        conn = libvirt.open(LXC_URI)
    except libvirt.libvirtError as error:
        pytest.skip(f"libvirtd has no LXC driver here: {error}")
    yield conn
    conn.close()


@pytest.fixture
def container_name(lxc_conn):
    name = "virtcim-test-container"
    yield name
    try:
        domain = lxc_conn.lookupByName(name)
    except libvirt.libvirtError:
        return
    if domain.isActive():
        domain.destroy()
    domain.undefine()


def define_container(conn: pywbem.WBEMConnection, name: str, *settings: pywbem.CIMInstance,
                     ) -> tuple[pywbem.CIMInstanceName, pywbem.CIMInstanceName]:
    """DefineSystem of a container running ``/bin/sh``: the service and the new guest."""
    (service,) = conn.EnumerateInstanceNames("LXC_VirtualSystemManagementService")
    vssd = pywbem.CIMInstance("LXC_VirtualSystemSettingData", properties={
        "VirtualSystemIdentifier": name, "InitPath": "/bin/sh"})
    rv, out = conn.InvokeMethod("DefineSystem", service, SystemSettings=vssd,
                                ResourceSettings=list(settings))
    assert rv == 0
    return service, out["ResultingSystem"]


def test_a_container_is_defined_read_and_destroyed_through_cim(tmp_path, lxc_conn, container_name):
    with running_server(tmp_path, uris=(LXC_URI,)) as server:
        conn = server.connection()
        memory = pywbem.CIMInstance("LXC_MemResourceAllocationSettingData", properties={
            "VirtualQuantity": pywbem.Uint64(64), "AllocationUnits": "MegaBytes"})
        service, path = define_container(conn, container_name, memory)
        assert path.classname == "LXC_ComputerSystem"

        xml = lxc_conn.lookupByName(container_name).XMLDesc()
        assert "<init>/bin/sh</init>" in xml and "<console type='pty'" in xml
        (settings,) = conn.Associators(path, AssocClass="CIM_SettingsDefineState")
        assert settings["InitPath"] == "/bin/sh"
        assert conn.GetInstance(path)["EnabledState"] == 3
        # the LXC driver has no snapshots: a container has none, and its settings are listed
        assert not conn.AssociatorNames(path, AssocClass="CIM_SnapshotOfVirtualSystem")
        assert [s["InstanceID"] for s in conn.EnumerateInstances(
            "CIM_VirtualSystemSettingData")] == [f"LXC:{container_name}"]

        rv, _ = conn.InvokeMethod("DestroySystem", service, AffectedSystem=path)
        assert rv == 0
        assert container_name not in lxc_conn.listDefinedDomains()


def test_a_containers_mounts_are_disk_settings_as_libvirt_cims_lxc_clients_send_them(
        tmp_path, lxc_conn, container_name):
    mounted = tmp_path / "shared"
    mounted.mkdir()
    with running_server(tmp_path, uris=(LXC_URI,)) as server:
        conn = server.connection()
        # libvirt-cim's LXC clients: no ResourceType, no VirtualDevice; MountPoint and Address
        mount = pywbem.CIMInstance("LXC_DiskResourceAllocationSettingData", properties={
            "InstanceID": f"{container_name}//tmp", "MountPoint": "/tmp", "Address": str(mounted)})
        graphics = pywbem.CIMInstance("LXC_GraphicsResourceAllocationSettingData", properties={
            "ResourceType": pywbem.Uint16(24), "ResourceSubType": "vnc"})
        service, path = define_container(conn, container_name, mount, graphics)
        xml = lxc_conn.lookupByName(container_name).XMLDesc()
        assert f"<source dir='{mounted}'/>" in xml and "<target dir='/tmp'/>" in xml
        assert "<model type='none'" in xml  # libvirt takes a container's graphics so only

        settings = conn.GetInstance(pywbem.CIMInstanceName(
            "LXC_DiskResourceAllocationSettingData", {"InstanceID": f"{container_name}//tmp"},
            namespace="root/virt"))
        assert (settings["MountPoint"], settings["VirtualDevice"], settings["Address"],
                settings["EmulatedType"], settings["ResourceType"]) == (
            "/tmp", "/tmp", str(mounted), 3, 17)
        (logical,) = conn.EnumerateInstances("LXC_LogicalDisk")
        assert (logical["DeviceID"], logical["Name"]) == (f"{container_name}//tmp", "/tmp")

        second = pywbem.CIMInstance("LXC_DiskResourceAllocationSettingData", properties={
            "MountPoint": "/mnt/data", "Address": str(mounted), "readonly": True})
        (vssd_path,) = conn.AssociatorNames(path, AssocClass="CIM_SettingsDefineState")
        rv, out = conn.InvokeMethod("AddResourceSettings", service,
                                    AffectedConfiguration=vssd_path, ResourceSettings=[second])
        assert rv == 0
        assert "<target dir='/mnt/data'/>" in lxc_conn.lookupByName(container_name).XMLDesc()
        rv, _ = conn.InvokeMethod("RemoveResourceSettings", service,
                                  ResourceSettings=out["ResultingResourceSettings"])
        assert rv == 0
        assert "/mnt/data" not in lxc_conn.lookupByName(container_name).XMLDesc()

        rv, _ = conn.InvokeMethod("DestroySystem", service, AffectedSystem=path)
        assert rv == 0
