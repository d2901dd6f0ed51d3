"""A libvirt-cim-style client session over HTTP with pywbem, shared by the test driver and QEMU runs.

The session does what a client written for libvirt-cim does, in its order and
with its dialect: it finds the host and the services by enumeration, reads the
service's Revision, takes pool, network, volume and guest settings from the
templates that ``SettingsDefineCapabilities`` leads to (picking them by their
``InstanceID`` word, ``ForwardMode`` and ``Type``), fills in its own values,
and passes them back as embedded instances, either as MOF text or as CIM-XML
objects. Each step is checked through CIM and through libvirt.
"""

from __future__ import annotations

import ipaddress
import random
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import libvirt
import pywbem
from lxml import etree
from pywbem import CIMError, CIMInstance, CIMInstanceName, Uint16, Uint64

ENABLED, DISABLED, QUIESCE, RESET = 2, 3, 9, 11
RECOVERY_NONE = 2  # AutomaticShutdownAction and AutomaticRecoveryAction "None"
NAT = 1  # ForwardMode of the NetPool settings
DIR = 1  # Type of the DiskPool settings
STORAGE_VOLUME = 32768  # ResourceType of a storage volume setting
MAC = "00:16:3e:5a:11:01"
EXTRA_MAC = "00:16:3e:5a:11:02"


@dataclass
class Names:
    """The libvirt names the session creates, and where its pool lives."""

    guest: str
    pool: str
    network: str
    volume: str
    extra_volume: str
    pool_dir: str


@dataclass
class Session:
    """One client's connection to one hypervisor's classes."""

    conn: pywbem.WBEMConnection
    prefix: str
    form: str  # "mof" or "xml": how embedded instances are sent
    libvirt_conn: libvirt.virConnect
    names: Names
    undo: list[Callable[[], Any]] = field(default_factory=list)

    def cls(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    def embed(self, inst: CIMInstance) -> CIMInstance | str:
        return inst.tomof() if self.form == "mof" else inst

    def invoke(self, target: CIMInstanceName, method: str, **params: Any) -> dict[str, Any]:
        rv, out = self.conn.InvokeMethod(method, target, **params)
        assert rv == 0, f"{method} returned {rv}"
        return dict(out)

    def templates(self, pool_id: str) -> list[CIMInstance]:
        caps = self.conn.GetInstance(CIMInstanceName(
            self.cls("AllocationCapabilities"), {"InstanceID": pool_id}))
        found = self.conn.Associators(caps.path, AssocClass=self.cls("SettingsDefineCapabilities"))
        assert found, f"no templates for {pool_id}"
        return found

    def default_template(self, pool_id: str, **wanted: Any) -> CIMInstance:
        matching = [t for t in self.templates(pool_id) if t["InstanceID"] == "Default"
                    and all(t[name] == value for name, value in wanted.items())]
        assert matching, f"no Default template of {pool_id} with {wanted}"
        template = matching[0]
        # what the path names can be fetched again, and is the same setting
        assert self.conn.GetInstance(template.path)["InstanceID"] == "Default"
        template.path = None  # a client changes the copy it sends, not the template
        return template

    def guest_path(self) -> CIMInstanceName:
        classname = self.cls("ComputerSystem")
        return CIMInstanceName(classname, {"CreationClassName": classname,
                                           "Name": self.names.guest})

    def state(self) -> tuple[int, int]:
        inst = self.conn.GetInstance(self.guest_path())
        return int(inst["EnabledState"]), int(inst["RequestedState"])

    def request(self, state: int) -> None:
        self.invoke(self.guest_path(), "RequestStateChange", RequestedState=Uint16(state))

    def domain_xml(self) -> etree._Element:
        domain = self.libvirt_conn.lookupByName(self.names.guest)
        return etree.fromstring(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))

    def expect_error(self, code: int, words: str, call: Callable[[], Any]) -> None:
        try:
            call()
        except CIMError as error:
            assert error.status_code == code, (error.status_code, error.status_description)
            assert words in error.status_description, error.status_description
        else:
            raise AssertionError(f"no error {code} ({words})")


def free_subnet(conn: libvirt.virConnect) -> ipaddress.IPv4Network:
    """A 10.253.x.0/24 that no network of ``conn`` overlaps."""
    used = []
    for network in conn.listAllNetworks():
        for ip in etree.fromstring(network.XMLDesc()).iterfind("ip"):
            address = ip.get("address", "")
            if ":" not in address:
                mask = ip.get("netmask") or ip.get("prefix") or "24"
                used.append(ipaddress.ip_network(f"{address}/{mask}", strict=False))
    candidates = [ipaddress.IPv4Network(f"10.253.{x}.0/24") for x in range(256)]
    random.shuffle(candidates)
    return next(net for net in candidates if not any(net.overlaps(u) for u in used))


def ids(paths: list[CIMInstanceName]) -> set[str]:
    return {str(p.keybindings.get("InstanceID") or p.keybindings.get("DeviceID")
                or p.keybindings.get("Name")) for p in paths}


def run_session(conn: pywbem.WBEMConnection, prefix: str, form: str,
                libvirt_conn: libvirt.virConnect, names: Names, *, memory_mib: int = 64) -> None:
    """The whole session; everything it made is removed through CIM, even when a step fails."""
    s = Session(conn, prefix, form, libvirt_conn, names)
    try:
        _session(s, memory_mib)
    finally:
        failures = []
        while s.undo:
            step = s.undo.pop()
            try:
                step()
            except Exception as error:  # every step is tried; all failures are reported
                failures.append(f"{type(error).__name__}: {error}")
        assert not failures, failures


def _session(s: Session, memory_mib: int) -> None:
    names, lv = s.names, s.libvirt_conn

    # 1. discovery, as libvirt-cim's clients do it: enumerate, take the first
    [host] = s.conn.EnumerateInstances(s.cls("HostSystem"))
    assert host["Name"] and host["CreationClassName"] == s.cls("HostSystem")
    [vsms] = s.conn.EnumerateInstances(s.cls("VirtualSystemManagementService"))
    assert (vsms["Revision"], vsms["Changeset"]) == ("1346", "a5a073c")
    assert vsms["Caption"].split(" ")[0] == lv.getType()
    [rpcs] = s.conn.EnumerateInstances(s.cls("ResourcePoolConfigurationService"))
    assert rpcs["SystemName"] == host["Name"]

    # 2a. a NAT network from NetworkPool/0's templates
    subnet = free_subnet(lv)
    hosts = list(subnet.hosts())
    net_template = s.default_template("NetworkPool/0", ForwardMode=NAT)
    net_template["PoolID"] = f"NetworkPool/{names.network}"
    for prop, value in {"Address": hosts[0], "Netmask": subnet.netmask,
                        "IPRangeStart": hosts[9], "IPRangeEnd": hosts[99]}.items():
        net_template[prop] = str(value)
    network = s.invoke(rpcs.path, "CreateChildResourcePool", ElementName=names.network,
                       Settings=[s.embed(net_template)])["Pool"]
    s.undo.append(lambda: s.invoke(rpcs.path, "DeleteResourcePool", Pool=network))
    assert network["InstanceID"] == f"NetworkPool/{names.network}"
    net_xml = etree.fromstring(lv.networkLookupByName(names.network).XMLDesc())
    assert net_xml.xpath("forward/@mode") == ["nat"]
    assert net_xml.xpath("ip/@address") == [str(hosts[0])]
    assert net_xml.xpath("ip/dhcp/range/@start") == [str(hosts[9])]

    # 2b. a dir pool from DiskPool/0's templates
    pool_template = s.default_template("DiskPool/0", Type=Uint16(DIR))
    pool_template["PoolID"] = f"DiskPool/{names.pool}"
    pool_template["Path"] = names.pool_dir
    pool = s.invoke(rpcs.path, "CreateChildResourcePool", ElementName=names.pool,
                    Settings=[s.embed(pool_template)])["Pool"]
    s.undo.append(lambda: s.invoke(rpcs.path, "DeleteResourcePool", Pool=pool))
    assert pool["InstanceID"] == f"DiskPool/{names.pool}"
    libvirt_pool = lv.storagePoolLookupByName(names.pool)
    assert libvirt_pool.isActive()
    assert etree.fromstring(libvirt_pool.XMLDesc()).findtext("target/path") == names.pool_dir

    # 2c. two volumes from the new pool's "New Storage Volume Default" template
    volumes = {}
    for volume_name in (names.volume, names.extra_volume):
        [volume_template] = [t for t in s.templates(pool["InstanceID"])
                             if t["ResourceType"] == STORAGE_VOLUME
                             and t["InstanceID"] == "New Storage Volume Default"
                             and t["AllocationUnits"] == "byte*2^20"]
        volume_template["PoolID"] = pool["InstanceID"]
        volume_template["Path"] = f"{names.pool_dir}/{volume_name}"
        volume_template["VolumeName"] = volume_name
        volume_template["Capacity"] = Uint64(1)
        resource = s.invoke(rpcs.path, "CreateResourceInPool", Pool=pool,
                            Settings=s.embed(volume_template))["Resource"]
        path = libvirt_pool.storageVolLookupByName(volume_name).path()
        assert resource["InstanceID"] == path == f"{names.pool_dir}/{volume_name}"
        volumes[volume_name] = path
        s.undo.append(_deleter(s, rpcs.path, pool, path, by_template=volume_name == names.volume))
    assert libvirt_pool.storageVolLookupByName(names.volume).info()[1] == 2**20

    # 3. a guest from Default templates, with libvirt-cim's VSSD properties
    memory = s.default_template("MemoryPool/0")
    memory["VirtualQuantity"] = Uint64(memory_mib)
    memory["AllocationUnits"] = "MegaBytes"
    memory["InstanceID"] = f"{names.guest}/mem"
    processor = s.default_template("ProcessorPool/0")
    processor["VirtualQuantity"] = Uint64(1)
    disk = s.default_template(pool["InstanceID"], Address=volumes[names.volume])
    disk["VirtualDevice"] = "vda"
    disk["InstanceID"] = f"{names.guest}/vda"
    nic = s.default_template(network["InstanceID"], NetworkType="network")
    nic["Address"] = MAC
    nic["InstanceID"] = f"{names.guest}/{MAC}"
    vssd = CIMInstance(s.cls("VirtualSystemSettingData"), properties={
        "InstanceID": f"{s.prefix}:{names.guest}", "Caption": "Virtual System",
        "Description": "Virtual System", "VirtualSystemIdentifier": names.guest,
        "ElementName": names.guest, "VirtualSystemType": s.prefix,
        "CreationClassName": s.cls("VirtualSystemSettingData"),
        "AutomaticShutdownAction": Uint16(RECOVERY_NONE),
        "AutomaticRecoveryAction": Uint16(RECOVERY_NONE),
        "isFullVirt": True, "BootDevice": "hd",
        "EnablePAE": False, "EnableACPI": False, "EnableAPIC": False})
    out = s.invoke(vsms.path, "DefineSystem", SystemSettings=s.embed(vssd),
                   ResourceSettings=[s.embed(r) for r in (disk, nic, processor, memory)],
                   ReferenceConfiguration=" ")
    guest = out["ResultingSystem"]
    s.undo.append(lambda: _destroy(s, vsms.path))
    assert (guest.classname, guest["Name"]) == (s.cls("ComputerSystem"), names.guest)
    xml = s.domain_xml()
    assert xml.xpath("devices/disk/source/@file") == [volumes[names.volume]]
    assert xml.xpath("devices/disk/target/@dev") == ["vda"]
    assert xml.xpath("devices/interface/source/@network") == [names.network]
    assert xml.xpath("devices/interface/mac/@address") == [MAC]
    assert int(xml.findtext("memory")) == memory_mib * 1024
    assert s.state() == (DISABLED, 0)

    # 4. start, pause, reset of the paused guest ends running
    s.request(ENABLED)
    assert s.state() == (ENABLED, ENABLED)
    assert lv.lookupByName(names.guest).info()[0] == libvirt.VIR_DOMAIN_RUNNING
    s.request(QUIESCE)
    assert s.state() == (QUIESCE, QUIESCE)
    assert lv.lookupByName(names.guest).info()[0] == libvirt.VIR_DOMAIN_PAUSED
    s.request(RESET)
    assert s.state() == (ENABLED, RESET)
    assert lv.lookupByName(names.guest).info()[0] == libvirt.VIR_DOMAIN_RUNNING

    # 5. associations from good sources, while it runs
    [gvssd] = s.conn.Associators(guest, AssocClass=s.cls("SettingsDefineState"),
                                 ResultClass=s.cls("VirtualSystemSettingData"))
    assert gvssd["InstanceID"] == f"{s.prefix}:{names.guest}"
    rasds = s.conn.AssociatorNames(gvssd.path, AssocClass=s.cls(
        "VirtualSystemSettingDataComponent"))
    assert {f"{names.guest}/vda", f"{names.guest}/{MAC}", f"{names.guest}/mem",
            f"{names.guest}/proc"} <= ids(rasds)
    assert all(r.classname.startswith(s.prefix + "_") for r in rasds)
    devices = s.conn.AssociatorNames(guest, AssocClass=s.cls("SystemDevice"))
    assert {f"{names.guest}/vda", f"{names.guest}/{MAC}", f"{names.guest}/mem",
            f"{names.guest}/0"} <= ids(devices)
    assert [h["Name"] for h in s.conn.AssociatorNames(
        guest, AssocClass=s.cls("HostedDependency"))] == [host["Name"]]
    [vda] = [d for d in devices if d["DeviceID"] == f"{names.guest}/vda"]
    assert ids(s.conn.AssociatorNames(vda, AssocClass=s.cls("ElementAllocatedFromPool"))) == {
        pool["InstanceID"]}
    [nic_device] = [d for d in devices if d["DeviceID"] == f"{names.guest}/{MAC}"]
    assert ids(s.conn.AssociatorNames(
        nic_device, AssocClass=s.cls("ElementAllocatedFromPool"))) == {network["InstanceID"]}
    assert f"{names.guest}/vda" in ids(s.conn.AssociatorNames(
        pool, AssocClass=s.cls("ResourceAllocationFromPool")))
    assert f"{names.guest}/{MAC}" in ids(s.conn.AssociatorNames(
        network, AssocClass=s.cls("ResourceAllocationFromPool")))
    assert {pool["InstanceID"], network["InstanceID"]} <= ids(s.conn.AssociatorNames(
        host.path, AssocClass=s.cls("HostedResourcePool")))

    # ... and from bad ones
    _bad_sources(s, guest, gvssd.path)

    # power off, then a disk and a NIC added and removed
    s.request(DISABLED)
    assert s.state() == (DISABLED, DISABLED)
    extra_disk = s.default_template(pool["InstanceID"], Address=volumes[names.extra_volume])
    extra_disk["VirtualDevice"] = "vdb"
    extra_nic = s.default_template(network["InstanceID"], NetworkType="network")
    extra_nic["Address"] = EXTRA_MAC
    for setting in (extra_disk, extra_nic):
        added = s.invoke(vsms.path, "AddResourceSettings", AffectedConfiguration=gvssd.path,
                         ResourceSettings=[s.embed(setting)])["ResultingResourceSettings"]
        assert len(added) == 1
    xml = s.domain_xml()
    assert xml.xpath("devices/disk/target/@dev") == ["vda", "vdb"]
    assert xml.xpath("devices/disk/source/@file") == [volumes[names.volume],
                                                      volumes[names.extra_volume]]
    assert xml.xpath("devices/interface/mac/@address") == [MAC, EXTRA_MAC]
    rasds = s.conn.AssociatorNames(gvssd.path, AssocClass=s.cls(
        "VirtualSystemSettingDataComponent"))
    removed = [r for r in rasds if r["InstanceID"] in (f"{names.guest}/vdb",
                                                       f"{names.guest}/{EXTRA_MAC}")]
    assert len(removed) == 2
    s.invoke(vsms.path, "RemoveResourceSettings", ResourceSettings=removed)
    xml = s.domain_xml()
    assert xml.xpath("devices/disk/target/@dev") == ["vda"]
    assert xml.xpath("devices/interface/mac/@address") == [MAC]

    # the undo steps destroy the guest, delete the volumes, the pool and the network
    while s.undo:
        s.undo.pop()()
    assert names.guest not in [d.name() for d in lv.listAllDomains()]
    assert names.pool not in [p.name() for p in lv.listAllStoragePools()]
    assert names.network not in [n.name() for n in lv.listAllNetworks()]


def _bad_sources(s: Session, guest: CIMInstanceName, vssd: CIMInstanceName) -> None:
    """Traversals from paths that name nothing, each failing as libvirt-cim's clients expect."""
    wrong_name = CIMInstanceName(guest.classname, {**guest.keybindings, "Name": "no-such-guest"})
    wrong_ccn = CIMInstanceName(guest.classname, {**guest.keybindings,
                                                  "CreationClassName": "Wrong_ComputerSystem"})
    misspelt = CIMInstanceName(guest.classname, {"CreationClassName": guest["CreationClassName"],
                                                 "Nmae": guest["Name"]})
    for path, key in ((wrong_name, "Name"), (wrong_ccn, "CreationClassName")):
        s.expect_error(pywbem.CIM_ERR_NOT_FOUND, f"No such instance ({key})",
                       lambda path=path: s.conn.AssociatorNames(
                           path, AssocClass=s.cls("SettingsDefineState")))
    # a guest is read by its Name: a path without one is a failure
    s.expect_error(pywbem.CIM_ERR_FAILED, "No domain name specified",
                   lambda: s.conn.AssociatorNames(misspelt,
                                                  AssocClass=s.cls("SettingsDefineState")))
    bad_vssd = CIMInstanceName(vssd.classname, {"InstanceID": f"{s.prefix}:no-such-guest"})
    s.expect_error(pywbem.CIM_ERR_NOT_FOUND, "No such instance (InstanceID)",
                   lambda: s.conn.Associators(bad_vssd, AssocClass=s.cls(
                       "VirtualSystemSettingDataComponent")))
    # a VSSD was not read out of its InstanceID: a misspelt key finds nothing
    misspelt_vssd = CIMInstanceName(vssd.classname, {"InstanceIDs": vssd["InstanceID"]})
    s.expect_error(pywbem.CIM_ERR_NOT_FOUND, "No such instance (InstanceID)",
                   lambda: s.conn.Associators(misspelt_vssd, AssocClass=s.cls(
                       "VirtualSystemSettingDataComponent")))
    # a setting read by guest and device out of its InstanceID: missing is a failure
    rasd = CIMInstanceName(s.cls("DiskResourceAllocationSettingData"),
                           {"InstanceId_misspelt": f"{s.names.guest}/vda"})
    s.expect_error(pywbem.CIM_ERR_FAILED, "Missing InstanceID",
                   lambda: s.conn.AssociatorNames(rasd, AssocClass=s.cls(
                       "ResourceAllocationFromPool")))
    # a setting that is not there is named by its InstanceID, as libvirt-cim named it
    bad_rasd = CIMInstanceName(rasd.classname, {"InstanceID": f"{s.names.guest}/vdz"})
    s.expect_error(pywbem.CIM_ERR_NOT_FOUND, f"No such instance ({s.names.guest}/vdz)",
                   lambda: s.conn.AssociatorNames(bad_rasd, AssocClass=s.cls(
                       "ResourceAllocationFromPool")))
    bad_pool = CIMInstanceName(s.cls("DiskPool"), {"InstanceID": "DiskPool/no-such-pool"})
    s.expect_error(pywbem.CIM_ERR_NOT_FOUND, "No such instance (DiskPool/no-such-pool)",
                   lambda: s.conn.AssociatorNames(bad_pool, AssocClass=s.cls(
                       "ResourceAllocationFromPool")))
    keyless = CIMInstanceName(guest.classname, {})
    with warnings.catch_warnings():  # pywbem warns of the path it is asked to send
        warnings.simplefilter("ignore", pywbem.MissingKeybindingsWarning)
        s.expect_error(pywbem.CIM_ERR_INVALID_PARAMETER, "names no key",
                       lambda: s.conn.AssociatorNames(keyless))


def _deleter(s: Session, rpcs: CIMInstanceName, pool: CIMInstanceName, path: str,
             by_template: bool) -> Callable[[], None]:
    """Deletes the volume at ``path``, named by the pool's disk template of it (as
    libvirt-cim's clients clean up) or by its enumerated storage volume setting."""
    def delete() -> None:
        if by_template:
            [named] = [t for t in s.templates(pool["InstanceID"])
                       if t["InstanceID"] == "Default" and t.get("Address") == path]
            named.path = None
        else:
            [named] = [v for v in s.conn.EnumerateInstances(
                s.cls("StorageVolumeResourceAllocationSettingData")) if v["InstanceID"] == path]
        s.invoke(rpcs, "DeleteResourceInPool", Pool=pool, Resource=s.embed(named))
        assert path not in [v.path() for v in s.libvirt_conn.storagePoolLookupByName(
            s.names.pool).listAllVolumes()]
    return delete


def _destroy(s: Session, vsms: CIMInstanceName) -> None:
    enabled, _ = s.state()
    if enabled != DISABLED:
        s.request(DISABLED)
    s.invoke(vsms, "DestroySystem", AffectedSystem=s.guest_path())
