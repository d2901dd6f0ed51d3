"""Pools, volumes and networks through CIM against a real libvirtd with QEMU.

A dir storage pool and a NAT network are created through the
ResourcePoolConfigurationService, a qcow2 volume in the pool, and a guest is
defined from the Default templates of SettingsDefineCapabilities alone. Every
association is followed both ways, then everything is deleted through CIM and
checked gone through libvirt.
"""

from __future__ import annotations

import ipaddress
import os
import random
from collections.abc import Iterator

import libvirt
import pytest
from lxml import etree
from pywbem import CIM_ERR_FAILED, CIMClassName, CIMError, CIMInstance, CIMInstanceName, Uint64

from providers import register_providers
from providers.classes import VIRT_NAMESPACE
from providers.virt import Hypervisor
from virtcim.cimxml.messages import ExtrinsicCall, IntrinsicCall, MethodResult, ParamValue
from virtcim.interop import ProfileRegistry
from virtcim.operations import Dispatcher
from virtcim.provider import ProviderRegistry

PREFIX = "KVM"


class Cim:
    """Intrinsic and extrinsic calls in ``root/virt`` of one hypervisor."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher

    def call(self, name: str, **params: object) -> list:
        return list(self.dispatcher.intrinsic(IntrinsicCall("1", name, VIRT_NAMESPACE, params)))

    def names(self, classname: str) -> list[CIMInstanceName]:
        return self.call("EnumerateInstanceNames", ClassName=CIMClassName(classname))

    def associators(self, path: CIMInstanceName, **filters: object) -> list[CIMInstance]:
        return self.call("Associators", ObjectName=local(path), **filters)

    def associator_names(self, path: CIMInstanceName, **filters: object) -> list[CIMInstanceName]:
        return self.call("AssociatorNames", ObjectName=local(path), **filters)

    def invoke(self, target: CIMInstanceName, method: str, **params: object) -> MethodResult:
        values = {name: ParamValue(name, value) for name, value in params.items()}
        result = self.dispatcher.extrinsic(ExtrinsicCall("1", method, local(target), values))
        assert result.return_value == 0
        return result


def local(path: CIMInstanceName) -> CIMInstanceName:
    return CIMInstanceName(path.classname, path.keybindings, namespace=VIRT_NAMESPACE)


def embedded(kind: str, **values: object) -> CIMInstance:
    return CIMInstance(f"{PREFIX}_{kind}", properties={k: str(v) for k, v in values.items()})


@pytest.fixture
def cim(qemu_uri: str, repository) -> Iterator[Cim]:
    hv = Hypervisor(qemu_uri)
    registry = ProviderRegistry()
    register_providers(registry, repository, [hv], ProfileRegistry())
    dispatcher = Dispatcher(repository, registry)
    yield Cim(dispatcher)
    dispatcher.close()
    hv.close()


def free_subnet(conn: libvirt.virConnect) -> ipaddress.IPv4Network:
    """A 10.254.x.0/24 no network of the daemon uses."""
    used = []
    for network in conn.listAllNetworks():
        for ip in etree.fromstring(network.XMLDesc()).iterfind("ip"):
            mask = ip.get("netmask") or ip.get("prefix") or "24"
            if ":" not in ip.get("address", ""):
                used.append(ipaddress.ip_network(f"{ip.get('address')}/{mask}", strict=False))
    candidates = [ipaddress.IPv4Network(f"10.254.{x}.0/24") for x in range(256)]
    random.shuffle(candidates)
    return next(net for net in candidates if not any(net.overlaps(u) for u in used))


def ids(paths) -> set[str]:
    return {p.keybindings.get("InstanceID") or p.keybindings.get("DeviceID") for p in paths}


def test_pool_volume_network_and_guest_from_templates(
        cim, qemu_conn, pool_dir, scratch_pool_name, scratch_volume_name, scratch_network_name,
        scratch_guest_name):
    [service] = cim.names(f"{PREFIX}_ResourcePoolConfigurationService")
    pool_name, network_name, guest = (scratch_pool_name(), scratch_network_name(),
                                      scratch_guest_name())
    volume_name = scratch_volume_name(pool_name)

    # a dir pool and a qcow2 volume in it
    pool = cim.invoke(service, "CreateChildResourcePool", ElementName=pool_name, Settings=[
        embedded("DiskPoolResourceAllocationSettingData", Type=1, Path=pool_dir)]).out_params["Pool"]
    assert qemu_conn.storagePoolLookupByName(pool_name).isActive()
    resource = cim.invoke(service, "CreateResourceInPool", Pool=pool, Settings=embedded(
        "StorageVolumeResourceAllocationSettingData", VolumeName=volume_name, FormatType=2,
        Capacity=64, AllocationUnits="byte*2^20")).out_params["Resource"]
    volume = qemu_conn.storagePoolLookupByName(pool_name).storageVolLookupByName(volume_name)
    assert resource["InstanceID"] == volume.path()
    assert "type='qcow2'" in volume.XMLDesc()

    # a NAT network on a range nobody uses
    subnet = free_subnet(qemu_conn)
    hosts = list(subnet.hosts())
    network = cim.invoke(service, "CreateChildResourcePool", ElementName=network_name, Settings=[
        embedded("NetPoolResourceAllocationSettingData", Address=hosts[0],
                 Netmask=subnet.netmask, IPRangeStart=hosts[9], IPRangeEnd=hosts[99],
                 ForwardMode=1)]).out_params["Pool"]
    assert qemu_conn.networkLookupByName(network_name).isActive()

    # a guest defined from Default templates alone, each found by the key of its path
    def default_template(pool_id: str, *variant: str) -> CIMInstance:
        caps = CIMInstanceName(f"{PREFIX}_AllocationCapabilities", {"InstanceID": pool_id})
        key = "/".join((pool_id, *variant, "Default"))
        [found] = [t for t in cim.associators(caps, AssocClass=f"{PREFIX}_SettingsDefineCapabilities")
                   if t.path["InstanceID"] == key]
        assert found["InstanceID"] == "Default"
        return found

    settings = [default_template("MemoryPool/0"), default_template("ProcessorPool/0"),
                default_template(pool["InstanceID"], "Disk", volume_name),
                default_template(network["InstanceID"], "network")]
    [vsms] = cim.names(f"{PREFIX}_VirtualSystemManagementService")
    cim.invoke(vsms, "DefineSystem", ResourceSettings=settings, SystemSettings=embedded(
        "VirtualSystemSettingData", VirtualSystemIdentifier=guest))
    xml = etree.fromstring(qemu_conn.lookupByName(guest).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    assert xml.xpath("devices/disk/source/@file") == [volume.path()]
    assert xml.xpath("devices/disk/driver/@type") == ["qcow2"]
    assert xml.xpath("devices/interface/source/@network") == [network_name]

    # every association, both ways
    disk = CIMInstanceName(f"{PREFIX}_LogicalDisk", {
        "SystemCreationClassName": f"{PREFIX}_ComputerSystem", "SystemName": guest,
        "CreationClassName": f"{PREFIX}_LogicalDisk", "DeviceID": f"{guest}/vda"})
    assert ids(cim.associator_names(disk, AssocClass=f"{PREFIX}_ElementAllocatedFromPool")) == {
        pool["InstanceID"]}
    assert f"{guest}/vda" in ids(cim.associator_names(pool, ResultClass=f"{PREFIX}_LogicalDisk"))
    nics = cim.associator_names(network, ResultClass=f"{PREFIX}_NetResourceAllocationSettingData")
    [nic] = nics
    assert ids(cim.associator_names(nic, AssocClass=f"{PREFIX}_ResourceAllocationFromPool")) == {
        network["InstanceID"]}
    [host] = cim.names(f"{PREFIX}_HostSystem")
    assert {pool["InstanceID"], network["InstanceID"]} <= ids(
        cim.associator_names(host, AssocClass=f"{PREFIX}_HostedResourcePool"))
    assert [h["Name"] for h in cim.associator_names(
        pool, AssocClass=f"{PREFIX}_HostedResourcePool")] == [host["Name"]]
    assert ids(cim.associator_names(network, Role="Dependent",
                                    ResultClass=f"{PREFIX}_NetworkPool")) == {"NetworkPool/0"}

    # delete everything through CIM
    cim.invoke(vsms, "DestroySystem", AffectedSystem=CIMInstanceName(
        f"{PREFIX}_ComputerSystem", {"CreationClassName": f"{PREFIX}_ComputerSystem",
                                      "Name": guest}))
    cim.invoke(service, "DeleteResourceInPool", Pool=pool, Resource=embedded(
        "StorageVolumeResourceAllocationSettingData", Path=volume.path()))
    cim.invoke(service, "DeleteResourcePool", Pool=pool)
    cim.invoke(service, "DeleteResourcePool", Pool=network)
    assert guest not in [d.name() for d in qemu_conn.listAllDomains()]
    assert pool_name not in [p.name() for p in qemu_conn.listAllStoragePools()]
    assert network_name not in [n.name() for n in qemu_conn.listAllNetworks()]
    assert not os.listdir(pool_dir)


def test_a_volume_from_its_template_in_libvirt_cims_form_and_a_junk_delete(
        cim, qemu_conn, pool_dir, scratch_pool_name, scratch_volume_name):
    [service] = cim.names(f"{PREFIX}_ResourcePoolConfigurationService")
    pool_name = scratch_pool_name()
    volume_name = scratch_volume_name(pool_name)
    pool = cim.invoke(service, "CreateChildResourcePool", ElementName=pool_name, Settings=[
        embedded("DiskPoolResourceAllocationSettingData", Type=1, Path=pool_dir,
                 Autostart=1)]).out_params["Pool"]
    assert qemu_conn.storagePoolLookupByName(pool_name).autostart() == 1
    caps = CIMInstanceName(f"{PREFIX}_AllocationCapabilities", {"InstanceID": pool["InstanceID"]})
    found = cim.associators(caps, AssocClass=f"{PREFIX}_SettingsDefineCapabilities")
    assert len({t.path["InstanceID"] for t in found}) == len(found) == 4 + 4 + 8
    [template] = [t for t in found if t["ResourceType"] == 32768 and "Default" in t["InstanceID"]
                  and t["AllocationUnits"] == "byte*2^20"]
    assert template["Path"] == pool_dir
    template["VolumeName"] = volume_name
    template["Capacity"] = Uint64(8)
    resource = cim.invoke(service, "CreateResourceInPool", Pool=pool,
                          Settings=template).out_params["Resource"]
    assert resource["InstanceID"] == os.path.join(pool_dir, volume_name)
    assert volume_name in qemu_conn.storagePoolLookupByName(pool_name).listVolumes()
    disks = [t for t in cim.associators(caps, AssocClass=f"{PREFIX}_SettingsDefineCapabilities")
             if t.get("Address") == resource["InstanceID"]]
    assert sorted(t["InstanceID"] for t in disks) == ["Default", "Increment", "Maximum", "Minimum"]

    with pytest.raises(CIMError) as error:
        cim.invoke(service, "DeleteResourceInPool", Pool=pool, Resource=embedded(
            "DiskResourceAllocationSettingData", Address="Junkvol_path"))
    assert error.value.status_code == CIM_ERR_FAILED
    assert "no storage vol with matching path" in error.value.status_description
    cim.invoke(service, "DeleteResourceInPool", Pool=pool, Resource=disks[0])
    assert qemu_conn.storagePoolLookupByName(pool_name).listVolumes() == []
    cim.invoke(service, "DeleteResourcePool", Pool=pool)
