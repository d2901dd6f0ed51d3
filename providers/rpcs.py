"""Managing pools: ``<Prefix>_ResourcePoolConfigurationService`` (DSP1041).

One service per hypervisor, keyed as libvirt-cim keyed it (the host's keys,
Name ``RPCS``), and its capabilities (InstanceID ``RPCC``). Its methods, all
complete before they return (no jobs):

* ``CreateChildResourcePool(ElementName, Settings[], ParentPool[])`` -> Pool:
  a libvirt storage pool from a DiskPoolResourceAllocationSettingData (types
  dir, fs, netfs, disk, iscsi, logical, scsi), or a libvirt network from a
  NetPoolResourceAllocationSettingData (NAT, routed or isolated, with its
  address and DHCP range); a plain ResourceAllocationSettingData is told by
  its ResourceType (17, 19, 31, 32: storage; 10, 33: network). The pool is
  defined, started (a dir pool's folder made first) and, if asked, set to
  autostart; ParentPool is not needed (the parent is the primordial pool);
* ``DeleteResourcePool(Pool)``: stop and undefine a storage pool or network
  (its volumes and folder stay);
* ``CreateResourceInPool(Settings, Pool)`` -> Resource: a raw or qcow2 volume
  from a StorageVolumeResourceAllocationSettingData (ResourceType 32768,
  libvirt-cim's, or DMTF's 32), sized in any AllocationUnits up to 2^64 - 1
  bytes; its Path is the volume's full path, or the pool's folder with the
  volume's VolumeName (libvirt-cim's form);
* ``DeleteResourceInPool(Resource, Pool)``, ``RefreshResourcesInPool(Pool)``;
* ``CreateResourcePool``, ``AddResourcesToResourcePool`` and
  ``RemoveResourcesFromResourcePool`` answer ``CIM_ERR_NOT_SUPPORTED``, as
  libvirt-cim's did.

Each returns 0 when done. A request that cannot be honoured raises the CIM
error naming the cause, and leaves nothing behind: ``CIM_ERR_INVALID_PARAMETER``
for a bad setting (unknown pool type, a volume path outside its pool, an
address range overlapping another network's, a volume larger than the space
the pool has), ``CIM_ERR_ALREADY_EXISTS`` for a name in use,
``CIM_ERR_NOT_FOUND`` for an unknown pool or volume, and libvirt's refusal
translated. Pool, network and volume XML is built with lxml from the
settings' values; nothing is passed to a shell.
"""

from __future__ import annotations

import ipaddress
import logging
import posixpath
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from lxml import etree
from lxml.builder import E
from pywbem import (
    CIM_ERR_ALREADY_EXISTS,
    CIM_ERR_FAILED,
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NOT_FOUND,
    CIMError,
    CIMInstance,
    CIMInstanceName,
)

from providers.capabilities import (
    DISK_POOL_SETTING,
    DMTF_STORAGE_VOLUME_TYPE,
    NET_POOL_SETTING,
    STORAGE_VOLUME,
    STORAGE_VOLUME_TYPE,
    network_ranges,
)
from providers.classes import VIRT_NAMESPACE
from providers.paths import (
    CONFIGURATION_CAPABILITIES_ID,
    CONFIGURATION_SERVICE_NAME,
    configuration_capabilities_path,
    configuration_service_path,
    pool_path,
)
from providers.pool_associations import guests_using
from providers.pools import PoolKind, pool_at
from providers.valuemaps import (
    EnabledState,
    FormatType,
    ForwardMode,
    PoolConfigurationMethod,
    PoolConfigurationReturnCode,
    PoolType,
    ResourceType,
)
from providers.virt import Hypervisor, StoragePool, Volume, naming, units
from virtcim.provider import (
    InstanceProvider,
    MethodProvider,
    RequestContext,
    UnsupportedMethod,
    cim_method,
)

__all__ = [
    "ResourcePoolConfigurationCapabilitiesProvider",
    "ResourcePoolConfigurationServiceProvider",
]

_log = logging.getLogger(__name__)

#: Prefixes of setting classes any hypervisor's service accepts besides its own.
_GENERIC_PREFIXES = ("cim", "virt")
#: DMTF ResourceType "Storage Extent".
_STORAGE_EXTENT = 19
_STORAGE_TYPES = frozenset({ResourceType.DISK_DRIVE, _STORAGE_EXTENT, ResourceType.LOGICAL_DISK,
                            STORAGE_VOLUME_TYPE, DMTF_STORAGE_VOLUME_TYPE})
_VOLUME_TYPES = frozenset({STORAGE_VOLUME_TYPE, DMTF_STORAGE_VOLUME_TYPE})
_NETWORK_TYPES = frozenset({ResourceType.ETHERNET_ADAPTER, ResourceType.ETHERNET_CONNECTION})
_DEFAULT_NETMASK = "255.255.255.0"
_FORWARD_MODES = {ForwardMode.NAT: "nat", ForwardMode.ROUTED: "route"}


class ResourcePoolConfigurationCapabilitiesProvider(InstanceProvider):
    """``<Prefix>_ResourcePoolConfigurationCapabilities``: the methods completed synchronously."""

    def __init__(self, hypervisor: Hypervisor) -> None:
        self.hypervisor = hypervisor

    def enumerate_instances(
        self, ctx: RequestContext, classname: str, property_list: Sequence[str] | None
    ) -> Iterable[CIMInstance]:
        path = configuration_capabilities_path(ctx, self.hypervisor)
        yield ctx.instance(path.classname, InstanceID=CONFIGURATION_CAPABILITIES_ID,
                           ElementName=CONFIGURATION_CAPABILITIES_ID,
                           SynchronousMethodsSupported=list(PoolConfigurationMethod),
                           AsynchronousMethodsSupported=[])


class ResourcePoolConfigurationServiceProvider(InstanceProvider, MethodProvider):
    """``<Prefix>_ResourcePoolConfigurationService``: storage pools, volumes and networks."""

    def __init__(self, hypervisor: Hypervisor) -> None:
        self.hypervisor = hypervisor

    def enumerate_instances(
        self, ctx: RequestContext, classname: str, property_list: Sequence[str] | None
    ) -> Iterable[CIMInstance]:
        path = configuration_service_path(ctx, self.hypervisor)
        yield ctx.instance(path.classname, **path.keybindings, ElementName=CONFIGURATION_SERVICE_NAME,
                           Description=f"Manages the storage pools, volumes and networks of "
                                       f"{self.hypervisor.uri}",
                           EnabledState=EnabledState.ENABLED)

    # -- what libvirt-cim did not implement either ------------------------------------------

    @cim_method
    def CreateResourcePool(self, ctx: RequestContext, target: CIMInstanceName,
                           **_params: Any) -> int:
        """Not supported: a primordial pool is the host's; CreateChildResourcePool makes pools."""
        raise _not_supported("CreateResourcePool", "pools are made with CreateChildResourcePool")

    @cim_method
    def AddResourcesToResourcePool(self, ctx: RequestContext, target: CIMInstanceName,
                                   **_params: Any) -> int:
        """Not supported: libvirt decides what a storage pool or network holds."""
        raise _not_supported("AddResourcesToResourcePool",
                             "libvirt decides what a storage pool or network holds")

    @cim_method
    def RemoveResourcesFromResourcePool(self, ctx: RequestContext, target: CIMInstanceName,
                                        **_params: Any) -> int:
        """Not supported: libvirt decides what a storage pool or network holds."""
        raise _not_supported("RemoveResourcesFromResourcePool",
                             "libvirt decides what a storage pool or network holds")

    # -- pools ---------------------------------------------------------------------------

    @cim_method
    def CreateChildResourcePool(
        self,
        ctx: RequestContext,
        target: CIMInstanceName,
        ElementName: str | None = None,
        Settings: Sequence[CIMInstance] | None = None,
        ParentPool: Sequence[CIMInstanceName] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Define and start a storage pool or a virtual network."""
        where = "CreateChildResourcePool Settings"
        if not Settings:
            raise _invalid(f"{where} is required")
        setting = Settings[0]
        values = _values(setting)
        name = _name("CreateChildResourcePool ElementName", ElementName or values.get("ElementName"))
        if self._is_network(where, setting.classname, values):
            self._create_network(name, values)
            kind = PoolKind.NETWORK
        else:
            self._create_storage_pool(name, values)
            kind = PoolKind.DISK
        _log.info("created %s pool %r on %s", kind.value, name, self.hypervisor.uri)
        pool = pool_path(ctx, self.hypervisor, naming.pool_instance_id(kind.value, name))
        return PoolConfigurationReturnCode.COMPLETED, {"Pool": pool}

    @cim_method
    def DeleteResourcePool(
        self, ctx: RequestContext, target: CIMInstanceName, Pool: CIMInstanceName | None = None
    ) -> int:
        """Stop and undefine a storage pool or network (volumes and folders stay).

        A pool a guest still takes a disk or NIC from is not deleted: In Use.
        """
        kind, name = self._concrete_pool("DeleteResourcePool Pool", Pool)
        hv = self.hypervisor
        users = guests_using(hv, kind, naming.pool_instance_id(kind.value, name))
        if users:
            _log.info("not deleting pool %r on %s: in use by %s", name, hv.uri, users)
            return PoolConfigurationReturnCode.IN_USE
        if kind is PoolKind.DISK:
            hv.delete_storage_pool(name)
        else:
            hv.delete_network(name)
        _log.info("deleted %s %r on %s", "storage pool" if kind is PoolKind.DISK else "network",
                  name, hv.uri)
        return PoolConfigurationReturnCode.COMPLETED

    # -- volumes -------------------------------------------------------------------------

    @cim_method
    def CreateResourceInPool(
        self,
        ctx: RequestContext,
        target: CIMInstanceName,
        Settings: CIMInstance | None = None,
        Pool: CIMInstanceName | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Create a storage volume in a storage pool."""
        where = "CreateResourceInPool Settings"
        if Pool is None:
            raise _missing("CreateResourceInPool", "Pool")
        storage = self._active_storage_pool("CreateResourceInPool Pool", Pool)
        if Settings is None:
            raise _missing("CreateResourceInPool", "Settings")
        self._check_volume_class(where, Settings)
        values = _values(Settings)
        name = _volume_name(where, values, storage)
        capacity = _size(where, values, "Capacity")
        if capacity == 0:
            raise _invalid(f"{where}: Capacity is required and may not be zero")
        if capacity > storage.available:
            raise _invalid(f"{where}: volume {name!r} of {capacity} bytes is larger than the "
                           f"{storage.available} bytes available in storage pool "
                           f"{storage.name!r} on {self.hypervisor.uri}")
        xml = _volume_xml(where, name, capacity, min(_size(where, values, "AllocationQuantity"),
                                                     capacity), values.get("FormatType"))
        try:
            self._refuse_existing(f"volume {name!r} in storage pool {storage.name!r}",
                                  lambda: self.hypervisor.volume_in(storage, name, what="volume"))
        except CIMError as error:   # libvirt-cim's answer to a name in use
            if error.status_code != CIM_ERR_ALREADY_EXISTS:
                raise
            raise CIMError(CIM_ERR_FAILED, f"Unable to create storage volume: "
                                           f"{error.status_description}") from None
        path = self.hypervisor.create_volume(storage, xml).path
        _log.info("created volume %s on %s", path, self.hypervisor.uri)
        resource = ctx.path(naming.classname(self.hypervisor.prefix, STORAGE_VOLUME),
                            namespace=VIRT_NAMESPACE, InstanceID=path)
        return PoolConfigurationReturnCode.COMPLETED, {"Resource": resource}

    @cim_method
    def DeleteResourceInPool(
        self,
        ctx: RequestContext,
        target: CIMInstanceName,
        Resource: CIMInstance | None = None,
        Pool: CIMInstanceName | None = None,
    ) -> int:
        """Delete a storage volume, named by its setting (Path, InstanceID, VolumeName or Address)."""
        where = "DeleteResourceInPool Resource"
        if Pool is None:
            raise _missing("DeleteResourceInPool", "Pool")
        storage = self._active_storage_pool("DeleteResourceInPool Pool", Pool)
        if Resource is None:
            raise _missing("DeleteResourceInPool", "Resource")
        identity = _volume_identity(_values(Resource))
        if not identity["Path"] and not identity["VolumeName"]:
            raise CIMError(CIM_ERR_FAILED, f"Missing Address in resource RASD: {where} names no "
                                           "volume (Address, Path, InstanceID or VolumeName)")
        volume = self._volume_in(where, storage, identity)
        self.hypervisor.delete_volume(volume)
        _log.info("deleted volume %r in storage pool %r on %s", volume.name, storage.name,
                  self.hypervisor.uri)
        return PoolConfigurationReturnCode.COMPLETED

    @cim_method
    def RefreshResourcesInPool(
        self, ctx: RequestContext, target: CIMInstanceName, Pool: CIMInstanceName | None = None
    ) -> int:
        """Have libvirt look again at what a storage pool holds."""
        storage = self._active_storage_pool("RefreshResourcesInPool Pool", Pool)
        self.hypervisor.refresh_storage_pool(storage)
        return PoolConfigurationReturnCode.COMPLETED

    # -- helpers -------------------------------------------------------------------------

    def _volume_in(self, where: str, storage: StoragePool, identity: Mapping[str, Any]
                   ) -> Volume:
        """The volume of ``storage`` a setting names by path (else by name).

        One that libvirt does not know is CIM_ERR_FAILED with libvirt's words,
        as libvirt-cim answered it; one of another pool is an invalid parameter.
        """
        hv = self.hypervisor
        path = identity.get("Path")
        try:
            if path:
                volume = hv.volume(str(path))
            else:
                name = _name(f"{where} VolumeName", identity.get("VolumeName"))
                volume = hv.volume_in(storage, name)
        except CIMError as error:
            if error.status_code != CIM_ERR_NOT_FOUND:
                raise
            raise CIMError(CIM_ERR_FAILED, f"Unable to delete resource: "
                                           f"{error.status_description}") from None
        owner = volume.pool
        if owner != storage.name:
            raise _invalid(f"{where}: volume {path!r} is in storage pool {owner!r}, not in "
                           f"{storage.name!r}")
        return volume

    def _is_network(self, where: str, classname: str, values: Mapping[str, Any]) -> bool:
        generic = self._generic(where, classname)
        if generic == NET_POOL_SETTING.lower():
            return True
        if generic == DISK_POOL_SETTING.lower():
            return False
        rtype = values.get("ResourceType")
        if generic == "resourceallocationsettingdata" and rtype is not None:
            if int(rtype) in _NETWORK_TYPES:
                return True
            if int(rtype) in _STORAGE_TYPES:
                return False
        raise _invalid(f"{where}: {classname} (ResourceType {rtype}) describes neither a "
                       f"{DISK_POOL_SETTING} nor a {NET_POOL_SETTING}")

    def _check_volume_class(self, where: str, setting: CIMInstance) -> None:
        generic = self._generic(where, setting.classname)
        rtype = setting.properties.get("ResourceType")
        plain = generic == "resourceallocationsettingdata" and rtype is not None \
            and rtype.value is not None and int(rtype.value) in _VOLUME_TYPES
        if generic != STORAGE_VOLUME.lower() and not plain:
            raise _invalid(f"{where}: {setting.classname} is not a {STORAGE_VOLUME}: only "
                           "storage volumes are created in pools")

    def _generic(self, where: str, classname: str) -> str:
        prefix, _, generic = classname.partition("_")
        if prefix.lower() not in (self.hypervisor.prefix.lower(), *_GENERIC_PREFIXES):
            raise _invalid(f"{where}: {classname} is not a class of {self.hypervisor.prefix}")
        return generic.lower()

    def _concrete_pool(self, where: str, path: CIMInstanceName | None) -> tuple[PoolKind, str]:
        if path is None:
            raise _invalid(f"{where} is required")
        instance_id = pool_at(self.hypervisor, path)
        if instance_id is None:
            raise CIMError(CIM_ERR_NOT_FOUND, f"{where}: {path} names no pool on "
                                              f"{self.hypervisor.uri}")
        kind_name, name = naming.parse_pool_instance_id(instance_id)
        kind = PoolKind(kind_name)
        if name == naming.PRIMORDIAL_POOL or kind not in (PoolKind.DISK, PoolKind.NETWORK):
            raise _invalid(f"{where}: {instance_id} is a primordial pool: it is the host's "
                           "own and cannot be changed")
        return kind, name

    def _active_storage_pool(self, where: str, path: CIMInstanceName | None) -> StoragePool:
        kind, name = self._concrete_pool(where, path)
        if kind is not PoolKind.DISK:
            raise _invalid(f"{where}: {naming.pool_instance_id(kind.value, name)} is not a "
                           "storage pool")
        storage = self.hypervisor.storage_pool(name)
        if not storage.is_active:
            raise CIMError(CIM_ERR_FAILED, f"{where}: storage pool {name!r} on "
                                           f"{self.hypervisor.uri} is not running")
        return storage

    def _refuse_existing(self, what: str, lookup: Callable[[], object]) -> None:
        try:
            lookup()
        except CIMError as error:
            if error.status_code == CIM_ERR_NOT_FOUND:
                return
            raise
        raise CIMError(CIM_ERR_ALREADY_EXISTS, f"{what} already exists on {self.hypervisor.uri}")

    def _create_storage_pool(self, name: str, values: Mapping[str, Any]) -> None:
        hv = self.hypervisor
        xml = _storage_pool_xml("CreateChildResourcePool Settings", name, values)
        self._refuse_existing(f"storage pool {name!r}", lambda: hv.storage_pool(name))
        hv.create_storage_pool(xml, autostart=bool(values.get("Autostart")))

    def _create_network(self, name: str, values: Mapping[str, Any]) -> None:
        hv = self.hypervisor
        xml = _network_xml("CreateChildResourcePool Settings", name, values, network_ranges(hv))
        self._refuse_existing(f"network {name!r}", lambda: hv.network(name))
        hv.create_network(xml)


# --- XML ---------------------------------------------------------------------------------


def _storage_pool_xml(where: str, name: str, values: Mapping[str, Any]) -> etree._Element:
    """``<pool>`` for a DiskPoolResourceAllocationSettingData's values."""
    try:
        pool_type = PoolType(int(values.get("Type") or 0))
    except ValueError:
        raise _invalid(f"{where}: Type {values.get('Type')} is not a storage pool type "
                       f"({', '.join(f'{t.value} {t.name.lower()}' for t in PoolType)})") from None
    path = values.get("Path")
    if not path or not posixpath.isabs(path):
        raise _invalid(f"{where}: Path (an absolute target path) is required, got {path!r}")
    devices = list(values.get("DevicePaths") or [])
    source = E.source()
    if pool_type in (PoolType.FS, PoolType.DISK, PoolType.ISCSI) and len(devices) != 1:
        raise _invalid(f"{where}: a {pool_type.name.lower()} pool needs exactly one DevicePaths "
                       f"entry, got {len(devices)}")
    if pool_type in (PoolType.NETFS, PoolType.ISCSI):
        source.append(E.host(name=_required(where, values, "Host")))
    if pool_type is PoolType.NETFS:
        source.append(E.dir(path=_required(where, values, "SourceDirectory")))
    if pool_type in (PoolType.FS, PoolType.DISK, PoolType.ISCSI, PoolType.LOGICAL):
        source.extend(E.device(path=device) for device in devices)
    if pool_type is PoolType.SCSI:
        source.append(_scsi_adapter(where, values))
    return E.pool(E.name(name), source, E.target(E.path(posixpath.normpath(path))),
                  type=pool_type.name.lower())


def _scsi_adapter(where: str, values: Mapping[str, Any]) -> etree._Element:
    if values.get("PortName") or values.get("NodeName"):
        return E.adapter(type="fc_host", wwpn=_required(where, values, "PortName"),
                         wwnn=_required(where, values, "NodeName"))
    return E.adapter(name=_required(where, values, "AdapterName"))


def _network_xml(where: str, name: str, values: Mapping[str, Any],
                 taken: Sequence[tuple[str, Any]]) -> etree._Element:
    """``<network>`` for a NetPoolResourceAllocationSettingData's values."""
    address = _required(where, values, "Address")
    netmask = values.get("Netmask") or _DEFAULT_NETMASK
    try:
        interface = ipaddress.IPv4Interface(f"{address}/{netmask}")
    except ValueError as error:
        raise _invalid(f"{where}: Address/Netmask {address}/{netmask}: {error}") from None
    network = interface.network
    if interface.ip in (network.network_address, network.broadcast_address):
        raise _invalid(f"{where}: Address {address} is not a host address of {network}")
    for other, used in taken:
        if used.version == network.version and used.overlaps(network):
            raise _invalid(f"{where}: {network} overlaps {used} of network {other!r}")
    try:
        mode = ForwardMode(int(values.get("ForwardMode", ForwardMode.NAT)))
    except ValueError:
        raise _invalid(f"{where}: ForwardMode {values.get('ForwardMode')} is not 0 (isolated), "
                       "1 (NAT) or 2 (routed)") from None
    root = E.network(E.name(name))
    if mode is not ForwardMode.ISOLATED:
        forward = E.forward(mode=_FORWARD_MODES[mode])
        if values.get("ForwardDevice"):
            forward.set("dev", values["ForwardDevice"])
        root.append(forward)
    ip = E.ip(address=str(interface.ip), netmask=str(network.netmask))
    dhcp = _dhcp_range(where, values, interface)
    if dhcp is not None:
        ip.append(E.dhcp(dhcp))
    root.append(ip)
    return root


def _dhcp_range(where: str, values: Mapping[str, Any], interface: ipaddress.IPv4Interface
                ) -> etree._Element | None:
    start, end = values.get("IPRangeStart"), values.get("IPRangeEnd")
    if not start and not end:
        return None
    if not start or not end:
        raise _invalid(f"{where}: IPRangeStart and IPRangeEnd go together")
    try:
        first, last = ipaddress.IPv4Address(start), ipaddress.IPv4Address(end)
    except ValueError as error:
        raise _invalid(f"{where}: IPRangeStart/IPRangeEnd: {error}") from None
    network = interface.network
    hosts = (network.network_address, network.broadcast_address)
    if first not in network or last not in network or first > last or \
            first in hosts or last in hosts:
        raise _invalid(f"{where}: DHCP range {first}-{last} is not a range of host "
                       f"addresses of {network}")
    if first <= interface.ip <= last:
        raise _invalid(f"{where}: DHCP range {first}-{last} holds the host's Address "
                       f"{interface.ip}")
    return E.range(start=str(first), end=str(last))


def _volume_xml(where: str, name: str, capacity: int, allocation: int, format_type: Any
                ) -> etree._Element:
    try:
        kind = FormatType(int(format_type)) if format_type is not None else FormatType.RAW
    except ValueError:
        raise CIMError(CIM_ERR_FAILED, f"Unable to generate XML for new resource: {where}: "
                                       f"FormatType {format_type} is not 1 (raw) or 2 (qcow2)"
                       ) from None
    return E.volume(E.name(name), E.capacity(str(capacity), unit="bytes"),
                    E.allocation(str(allocation), unit="bytes"),
                    E.target(E.format(type=kind.name.lower())))


# --- values ------------------------------------------------------------------------------


def _values(instance: CIMInstance) -> dict[str, Any]:
    return {name: prop.value for name, prop in instance.properties.items()
            if prop.value is not None}


def _required(where: str, values: Mapping[str, Any], name: str) -> str:
    value = values.get(name)
    if not value:
        raise _invalid(f"{where}: {name} is required")
    return str(value)


def _name(where: str, name: Any) -> str:
    if not name or "/" in str(name) or "\0" in str(name):
        raise _invalid(f"{where}: a name without '/' is required, got {name!r}")
    return str(name)


def _size(where: str, values: Mapping[str, Any], name: str) -> int:
    """A size property in bytes (0 when absent)."""
    quantity = values.get(name)
    if quantity is None:
        return 0
    try:
        return units.to_bytes(int(quantity), str(values.get("AllocationUnits") or "byte"))
    except ValueError as error:
        raise _invalid(f"{where}: {name}/AllocationUnits: {error}") from None


def _volume_identity(values: Mapping[str, Any]) -> dict[str, Any]:
    """Path and VolumeName of the volume a setting names (a disk setting by its Address)."""
    path = values.get("Path") or values.get("Address")
    instance_id = str(values.get("InstanceID") or "")
    if not path and instance_id.startswith("/"):
        path = instance_id
    return {"Path": path, "VolumeName": values.get("VolumeName")}


def _volume_name(where: str, values: Mapping[str, Any], storage: StoragePool) -> str:
    """The volume's name in ``storage``: its VolumeName, else the last part of a Path
    inside the pool's folder.

    libvirt puts a new volume in its pool's folder under its name whatever path
    it is given, and libvirt-cim's clients send the folder (or any path) with
    VolumeName: with a VolumeName, Path is that hint and nothing more.
    """
    name = values.get("VolumeName")
    path = values.get("Path")
    target = posixpath.normpath(storage.target_path or "")
    if name:
        if path and posixpath.normpath(str(path)) not in (target, posixpath.join(target, name)):
            _log.info("%s: volume %r goes in storage pool %r's folder %s, not at %r", where,
                      name, storage.name, target, path)
    elif path:
        folder, name = posixpath.split(posixpath.normpath(str(path)))
        if folder != target:
            raise _invalid(f"{where}: Path {path!r} is outside storage pool {storage.name!r} "
                           f"(its volumes are in {target})")
    return _name(f"{where} VolumeName", name)


def _missing(method: str, parameter: str) -> CIMError:
    return _invalid(f"Missing argument `{parameter}': {method} {parameter} is required")


def _not_supported(method: str, why: str) -> CIMError:
    return UnsupportedMethod(f"{method} is not supported: {why}")


def _invalid(message: str) -> CIMError:
    return CIMError(CIM_ERR_INVALID_PARAMETER, message)


