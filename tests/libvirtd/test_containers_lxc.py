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


def test_a_container_is_defined_read_and_destroyed_through_cim(tmp_path, lxc_conn, container_name):
    with running_server(tmp_path, uris=(LXC_URI,)) as server:
        conn = server.connection()
        (service,) = conn.EnumerateInstanceNames("LXC_VirtualSystemManagementService")
        vssd = pywbem.CIMInstance("LXC_VirtualSystemSettingData", properties={
            "VirtualSystemIdentifier": container_name, "InitPath": "/bin/sh"})
        memory = pywbem.CIMInstance("LXC_MemResourceAllocationSettingData", properties={
            "VirtualQuantity": pywbem.Uint64(64), "AllocationUnits": "MegaBytes"})
        rv, out = conn.InvokeMethod("DefineSystem", service, SystemSettings=vssd,
                                    ResourceSettings=[memory])
        assert rv == 0
        path = out["ResultingSystem"]
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
