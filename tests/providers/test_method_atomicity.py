"""Every VSMS and RPCS method completes or leaves libvirt exactly as it was.

Each method runs over a private test-driver host (its own state, made afresh
for every run) once per libvirt call it makes, with that call failing
(:mod:`tests.libvirt_faults`); the whole libvirt state, every guest's live and
persistent XML, every pool, volume and network, is compared before and after.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import libvirt
import pytest
from pywbem import CIM_ERR_FAILED, CIM_ERR_NOT_SUPPORTED, CIMInstance, CIMInstanceName

from providers import register_providers
from providers.classes import VIRT_NAMESPACE
from providers.virt import Hypervisor
from tests.libvirt_faults import Faults, counted_connections, fail_each_call, libvirt_state
from tests.providers.cim_settings import embedded, rasd, rasd_ref, vssd, vssd_ref
from tests.providers.conftest import Cim
from virtcim.interop import ProfileRegistry
from virtcim.operations import Dispatcher
from virtcim.provider import ProviderRegistry

#: A host with a running guest, a shut-off one, a storage pool with volumes and two networks.
NODE = """\
<node>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>web</name>
    <memory unit='MiB'>512</memory>
    <currentMemory unit='MiB'>256</currentMemory>
    <vcpu current='1'>4</vcpu>
    <os><type>hvm</type><boot dev='hd'/></os>
    <devices>
      <disk type='file' device='disk'>
        <source file='/var/lib/images/web.img'/><target dev='vda' bus='virtio'/>
      </disk>
      <disk type='file' device='cdrom'>
        <source file='/iso/install.iso'/><target dev='hdc' bus='ide'/><readonly/>
      </disk>
      <interface type='network'>
        <mac address='52:54:00:12:34:56'/><source network='default'/>
      </interface>
    </devices>
  </domain>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>idle</name>
    <memory unit='MiB'>256</memory>
    <vcpu>2</vcpu>
    <os><type>hvm</type></os>
    <devices>
      <disk type='file' device='disk'>
        <source file='/var/lib/images/idle.img'/><target dev='vda' bus='virtio'/>
      </disk>
    </devices>
    <test:runstate>5</test:runstate>
  </domain>
  <network>
    <name>default</name><forward mode='nat'/><bridge name='virbr0'/>
    <ip address='192.168.122.1' netmask='255.255.255.0'>
      <dhcp><range start='192.168.122.2' end='192.168.122.254'/></dhcp>
    </ip>
  </network>
  <network>
    <name>lab</name><bridge name='virbr9'/>
    <ip address='10.9.0.1' netmask='255.255.255.0'/>
  </network>
  <pool type='dir'>
    <name>scratch</name><target><path>/scratch</path></target>
    <volume type='file'>
      <name>a.img</name><capacity unit='MiB'>16</capacity><target><format type='raw'/></target>
    </volume>
    <volume type='file'>
      <name>b.qcow2</name><capacity unit='MiB'>32</capacity>
      <target><format type='qcow2'/></target>
    </volume>
  </pool>
</node>
"""


@dataclass
class Host:
    """The private host and the CIM stack over it, with failures injected at will."""

    hv: Hypervisor
    cim: Cim
    faults: Faults
    opened: list[libvirt.virConnect]

    def fresh(self) -> None:
        """Back to the node file's state (a new test-driver connection starts from it)."""
        self.hv.close()
        self.hv.node_info()

    def state(self) -> dict[str, Any]:
        return libvirt_state(self.opened[-1])

    def rpcs(self) -> CIMInstanceName:
        classname = "Test_ResourcePoolConfigurationService"
        return CIMInstanceName(classname, {
            "SystemCreationClassName": "Test_HostSystem", "SystemName": self.hv.hostname,
            "CreationClassName": classname, "Name": "RPCS"}, namespace=VIRT_NAMESPACE)


@pytest.fixture
def host(tmp_path: Path, repository, monkeypatch) -> Iterator[Host]:
    node = tmp_path / "node.xml"
    node.write_text(NODE)
    uri = f"test://{node}"
    faults = Faults()
    with counted_connections(monkeypatch, faults, uri) as opened:
        hv = Hypervisor(uri)
        registry = ProviderRegistry()
        register_providers(registry, repository, [hv], ProfileRegistry())
        dispatcher = Dispatcher(repository, registry)
        yield Host(hv, Cim(dispatcher, hv), faults, opened)
        dispatcher.close()
        hv.close()


def pool_ref(kind: str, name: str) -> CIMInstanceName:
    return CIMInstanceName(f"Test_{kind}Pool", {"InstanceID": f"{kind}Pool/{name}"},
                           namespace=VIRT_NAMESPACE)


def guest_ref(name: str) -> CIMInstanceName:
    return CIMInstanceName("Test_ComputerSystem", {"CreationClassName": "Test_ComputerSystem",
                                                   "Name": name}, namespace=VIRT_NAMESPACE)


def setting(classname: str, **values: Any) -> CIMInstance:
    return embedded(f"Test_{classname}", values)


MAC = "52:54:00:aa:bb:02"
#: (service, method, parameters): every method of both services, with realistic parameters.
VSMS = "VirtualSystemManagementService"
RPCS = "ResourcePoolConfigurationService"
METHODS: dict[str, tuple[str, str, Callable[[], dict[str, Any]]]] = {
    "define": (VSMS, "DefineSystem", lambda: {
        "SystemSettings": vssd("fresh", AutoStart=1, BootDevices=["hd"]),
        "ResourceSettings": [
            rasd("Disk", VirtualDevice="vdb", Address="/images/data.img"),
            rasd("Net", NetworkType="network", NetworkName="default", Address=MAC),
            rasd("Mem", VirtualQuantity=128, AllocationUnits="MegaBytes"),
            rasd("Proc", VirtualQuantity=2)]}),
    "define-from-reference": (VSMS, "DefineSystem", lambda: {
        "SystemSettings": vssd("copy"), "ResourceSettings": [rasd("Disk", VirtualDevice="vdb", Address="/images/own.img")],
        "ReferenceConfiguration": vssd_ref("idle")}),
    "destroy-running": (VSMS, "DestroySystem", lambda: {
        "AffectedSystem": guest_ref("web")}),
    "destroy-shut-off": (VSMS, "DestroySystem", lambda: {
        "AffectedSystem": guest_ref("idle")}),
    "modify-system": (VSMS, "ModifySystemSettings", lambda: {
        "SystemSettings": embedded("Test_VirtualSystemSettingData", {
            "InstanceID": "Test:web", "BootDevices": ["network", "hd"], "EnablePAE": True,
            "AutoStart": 1})}),
    "add-running": (VSMS, "AddResourceSettings", lambda: {
        "AffectedConfiguration": vssd_ref("web"),
        "ResourceSettings": [
            rasd("Disk", VirtualDevice="vdc", Address="/images/extra.img"),
            rasd("Net", NetworkType="network", NetworkName="default", Address=MAC)]}),
    "add-shut-off": (VSMS, "AddResourceSettings", lambda: {
        "AffectedConfiguration": vssd_ref("idle"),
        "ResourceSettings": [rasd("Disk", VirtualDevice="vdc", Address="/images/data.img")]}),
    "modify-resources": (VSMS, "ModifyResourceSettings", lambda: {"ResourceSettings": [
        rasd("Mem", InstanceID="web/mem", VirtualQuantity=384, AllocationUnits="MiB"),
        rasd("Proc", InstanceID="web/proc", VirtualQuantity=2, Weight=300),
        rasd("Disk", InstanceID="web/hdc", Address="/iso/other.iso"),
        rasd("Disk", InstanceID="idle/vda", Address="/var/lib/images/moved.img")]}),
    "remove-resources": (VSMS, "RemoveResourceSettings", lambda: {"ResourceSettings": [
        rasd_ref("Disk", "web", "hdc"), rasd_ref("Net", "web", "52:54:00:12:34:56"),
        rasd_ref("Disk", "idle", "vda")]}),
    "create-storage-pool": (RPCS, "CreateChildResourcePool", lambda: {
        "ElementName": "new-pool", "Settings": [setting(
            "DiskPoolResourceAllocationSettingData", Type=1, Path="/new-pool", Autostart=1)]}),
    "create-network": (RPCS, "CreateChildResourcePool", lambda: {
        "ElementName": "new-net", "Settings": [setting(
            "NetPoolResourceAllocationSettingData", Address="10.77.1.1", Netmask="255.255.255.0",
            IPRangeStart="10.77.1.10", IPRangeEnd="10.77.1.99", ForwardMode=1)]}),
    "delete-storage-pool": (RPCS, "DeleteResourcePool", lambda: {
        "Pool": pool_ref("Disk", "scratch")}),
    "delete-network": (RPCS, "DeleteResourcePool", lambda: {"Pool": pool_ref("Network", "lab")}),
    "create-volume": (RPCS, "CreateResourceInPool", lambda: {
        "Pool": pool_ref("Disk", "scratch"), "Settings": setting(
            "StorageVolumeResourceAllocationSettingData", VolumeName="c.qcow2", FormatType=2,
            Capacity=8, AllocationUnits="MegaBytes")}),
    "delete-volume": (RPCS, "DeleteResourceInPool", lambda: {
        "Pool": pool_ref("Disk", "scratch"), "Resource": setting(
            "StorageVolumeResourceAllocationSettingData", Path="/scratch/a.img")}),
    "refresh-pool": (RPCS, "RefreshResourcesInPool", lambda: {
        "Pool": pool_ref("Disk", "scratch")}),
}
#: Methods that change libvirt in one call, so that there is nothing to undo.
ONE_CHANGE = {"delete-volume", "refresh-pool"}
#: What the error of a change that could not be undone says.
UNDO_FAILED = "undoing the change failed too, so libvirt at"
#: Methods that answer CIM_ERR_NOT_SUPPORTED once every call they make succeeds.
NOT_SUPPORTED = ["CreateResourcePool", "AddResourcesToResourcePool",
                 "RemoveResourcesFromResourcePool"]


def invoker(host: Host, service: str, method: str, params: Callable[[], dict[str, Any]]
            ) -> Callable[[], object]:
    def invoke() -> object:
        target = host.cim.service() if service == VSMS else host.rpcs()
        return host.cim.invoke(target, method, **params())
    return invoke


@pytest.mark.parametrize("case", sorted(METHODS))
def test_a_method_failing_at_any_libvirt_call_leaves_libvirt_as_it_was(host, case):
    service, method, params = METHODS[case]
    host.fresh()
    untouched = host.state()
    seen = fail_each_call(host.faults, invoker(host, service, method, params), host.state,
                          host.fresh)
    # The complete run changed libvirt, after as many failed runs as it made calls.
    assert host.state() != untouched
    assert len(seen.failures) == len(seen.calls) >= 3
    assert all(error.status_code == CIM_ERR_FAILED for _, error in seen.failures)


@pytest.mark.parametrize("case", sorted(METHODS))
def test_a_method_whose_undoing_fails_too_says_libvirt_may_be_left_changed(host, case):
    service, method, params = METHODS[case]
    seen = fail_each_call(host.faults, invoker(host, service, method, params), host.state,
                          host.fresh, undo_failure=UNDO_FAILED)
    assert len(seen.failures) == len(seen.calls)
    # Where a method makes more than one change, some failure could not be undone.
    assert bool(seen.undone_partly) == (case not in ONE_CHANGE)


@pytest.mark.parametrize("method", NOT_SUPPORTED)
def test_an_unsupported_method_fails_cleanly_at_any_libvirt_call(host, method):
    seen = fail_each_call(host.faults, invoker(host, RPCS, method, dict), host.state, host.fresh,
                          expected_error=CIM_ERR_NOT_SUPPORTED)
    assert len(seen.failures) == len(seen.calls)
