"""VSMS and RPCS methods failing at each libvirt call on QEMU leave libvirt as it was.

The calls the test driver has not (hot-plugging a device into a running
guest, its scheduler, a dir pool's folder) are failed one after another here
as in ``tests/providers/test_method_atomicity.py``. A failed run must leave
the guest's live and persistent XML, the pool and its volumes as they were,
so each run starts where the last one left; the objects are the test's own.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import libvirt
import pytest
from pywbem import CIMInstance, CIMInstanceName

from providers import register_providers
from providers.classes import VIRT_NAMESPACE
from providers.virt import Hypervisor
from tests.libvirt_faults import Faults, counted_connections, fail_each_call, libvirt_state
from virtcim.cimxml.messages import ExtrinsicCall, ParamValue
from virtcim.interop import ProfileRegistry
from virtcim.operations import Dispatcher
from virtcim.provider import ProviderRegistry

PREFIX = "KVM"


def setting(kind: str, **values: object) -> CIMInstance:
    return CIMInstance(f"{PREFIX}_{kind}", properties={
        k: [str(v) for v in value] if isinstance(value, list) else str(value)
        for k, value in values.items()})


class Services:
    """The two services of one hypervisor, called through the dispatcher."""

    def __init__(self, hv: Hypervisor, repository) -> None:
        registry = ProviderRegistry()
        register_providers(registry, repository, [hv], ProfileRegistry())
        self.dispatcher = Dispatcher(repository, registry)
        self.hv = hv

    def call(self, service: str, name: str, method: str, **params: Any) -> Callable[[], object]:
        def invoke() -> object:
            classname = f"{PREFIX}_{service}"
            path = CIMInstanceName(classname, {
                "SystemCreationClassName": f"{PREFIX}_HostSystem", "SystemName": self.hv.hostname,
                "CreationClassName": classname, "Name": name}, namespace=VIRT_NAMESPACE)
            values = {key: ParamValue(key, value) for key, value in params.items()}
            return self.dispatcher.extrinsic(ExtrinsicCall("1", method, path, values))
        return invoke

    def vsms(self, method: str, **params: Any) -> Callable[[], object]:
        return self.call("VirtualSystemManagementService", "Management Service", method, **params)

    def rpcs(self, method: str, **params: Any) -> Callable[[], object]:
        return self.call("ResourcePoolConfigurationService", "RPCS", method, **params)


@pytest.fixture
def faults(qemu_conn, qemu_uri, monkeypatch) -> Iterator[Faults]:
    counted = Faults()
    with counted_connections(monkeypatch, counted, qemu_uri):
        yield counted


@pytest.fixture
def services(faults, qemu_uri, repository) -> Iterator[Services]:
    hv = Hypervisor(qemu_uri)
    hv.node_info()  # connected before any call is failed
    made = Services(hv, repository)
    yield made
    made.dispatcher.close()
    hv.close()


@pytest.fixture
def running_guest(qemu_conn, scratch_guest_name, tiny_guest_xml) -> str:
    """A tiny running guest with a USB controller to hot-plug into."""
    name = scratch_guest_name()
    xml = tiny_guest_xml(name).replace(
        "<devices>", "<devices><controller type='usb' model='qemu-xhci'/>")
    qemu_conn.defineXML(xml).create()
    return name


def state_of(conn: libvirt.virConnect, *names: str) -> Callable[[], dict[str, Any]]:
    return lambda: libvirt_state(conn, only=lambda name: name in names)


def vssd_ref(name: str) -> CIMInstanceName:
    return CIMInstanceName(f"{PREFIX}_VirtualSystemSettingData", {"InstanceID": f"KVM:{name}"},
                           namespace=VIRT_NAMESPACE)


def test_hot_plugging_fails_at_any_call_without_a_trace(services, faults, qemu_conn,
                                                        running_guest, pool_dir):
    os.makedirs(pool_dir)
    os.chmod(os.path.dirname(pool_dir), 0o755)
    image = os.path.join(pool_dir, "extra.raw")
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", image, "1M"], check=True)
    # USB devices: QEMU lets go of them on unplug with no guest OS to agree
    seen = fail_each_call(faults, services.vsms(
        "AddResourceSettings", AffectedConfiguration=vssd_ref(running_guest), ResourceSettings=[
            setting("DiskResourceAllocationSettingData", VirtualDevice="sdb", Address=image,
                    BusType="usb", DriverType="raw"),
            setting("NetResourceAllocationSettingData", NetworkType="user",
                    Address="52:54:00:5e:00:43", ResourceSubType="usb-net",
                    AddressProperties=["type", "bus", "port"], AddressValues=["usb", "0", "2"])]),
        state_of(qemu_conn, running_guest))
    assert seen.calls.count("virDomain.attachDeviceFlags") == 2
    live = qemu_conn.lookupByName(running_guest).XMLDesc(0)
    assert "extra.raw" in live and "52:54:00:5e:00:43" in live


def test_a_live_scheduler_change_fails_at_any_call_without_a_trace(services, faults, qemu_conn,
                                                                   running_guest):
    seen = fail_each_call(faults, services.vsms("ModifyResourceSettings", ResourceSettings=[
        setting("ProcResourceAllocationSettingData", InstanceID=f"{running_guest}/proc",
                Weight=300, Limit=150)]), state_of(qemu_conn, running_guest))
    assert "virDomain.setSchedulerParametersFlags" in seen.calls
    assert qemu_conn.lookupByName(running_guest).schedulerParameters()["cpu_shares"] == 300


def test_destroying_a_running_guest_fails_at_any_call_without_a_trace(services, faults,
                                                                     qemu_conn, running_guest):
    qemu_conn.lookupByName(running_guest).setAutostart(1)
    guest = CIMInstanceName(f"{PREFIX}_ComputerSystem", {
        "CreationClassName": f"{PREFIX}_ComputerSystem", "Name": running_guest},
        namespace=VIRT_NAMESPACE)
    seen = fail_each_call(faults, services.vsms("DestroySystem", AffectedSystem=guest),
                          state_of(qemu_conn, running_guest))
    assert seen.calls[-1] == "virDomain.destroy"
    assert running_guest not in [domain.name() for domain in qemu_conn.listAllDomains()]


def test_a_pool_and_its_volume_are_made_and_removed_whole_or_not_at_all(
        services, faults, qemu_conn, scratch_pool_name, pool_dir):
    name = scratch_pool_name()
    state = state_of(qemu_conn, name)
    fail_each_call(faults, services.rpcs(
        "CreateChildResourcePool", ElementName=name, Settings=[setting(
            "DiskPoolResourceAllocationSettingData", Type=1, Path=pool_dir, Autostart=1)]), state)
    assert os.path.isdir(pool_dir) and qemu_conn.storagePoolLookupByName(name).autostart()
    pool = CIMInstanceName(f"{PREFIX}_DiskPool", {"InstanceID": f"DiskPool/{name}"},
                           namespace=VIRT_NAMESPACE)
    fail_each_call(faults, services.rpcs("CreateResourceInPool", Pool=pool, Settings=setting(
        "StorageVolumeResourceAllocationSettingData", VolumeName="v.qcow2", FormatType=2,
        Capacity=1, AllocationUnits="MegaBytes")), state)
    assert os.path.exists(os.path.join(pool_dir, "v.qcow2"))
    fail_each_call(faults, services.rpcs("DeleteResourceInPool", Pool=pool, Resource=setting(
        "StorageVolumeResourceAllocationSettingData", Path=os.path.join(pool_dir, "v.qcow2"))),
        state)
    fail_each_call(faults, services.rpcs("DeleteResourcePool", Pool=pool), state)
    assert name not in [p.name() for p in qemu_conn.listAllStoragePools()]
