"""What can be allocated from each pool (DSP1043 Allocation Capabilities).

One ``AllocationCapabilities`` per pool, InstanceID and ResourceType the
pool's, linked to its pool by ElementCapabilities (a link source of
``providers.ASSOCIATION_LINKS``) and to its *templates* by
SettingsDefineCapabilities. A template is a resource setting a client fetches,
adjusts if it likes, and passes to DefineSystem or AddResourceSettings (or,
for the pool settings, to the ResourcePoolConfigurationService) as it is.

Template InstanceIDs are ``<pool InstanceID>/<role>`` for the pool's guest
resource setting (``MemoryPool/0/Default``, ``DiskPool/default/Maximum``) and
``<pool InstanceID>/<setting>/<role>`` for the settings that create things
(``DiskPool/default/StorageVolume/Default``, ``NetworkPool/0/NetPool/Default``);
a pool name never holds ``/``, so each names one template. The roles are
libvirt-cim's: Default, Minimum, Maximum and Increment, the last three given
where the setting has a quantity (memory size, vCPUs, disk and volume sizes),
only Default otherwise.

The templates, all valid as they stand:

* memory: 256 MiB by default, 64 MiB to the host's memory, by 1 MiB;
* processors: 1 vCPU by default, 1 to the host's CPUs, by 1;
* a storage pool: a ``vda`` disk on its first volume (by name), and a new raw
  volume (1 GiB, or what is available if less); a pool without volumes, and
  ``DiskPool/0``, offer an empty CD-ROM drive ``hdc``; ``DiskPool/0`` also a
  ``dir`` storage pool setting;
* a network: an interface on it; ``NetworkPool/0``: a user-mode interface
  and a NAT network setting on a 192.168.x.0/24 range no network uses;
* graphics: VNC on 127.0.0.1, any port; input: a USB tablet; controllers:
  a virtio SCSI controller.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import libvirt
from pywbem import CIM_ERR_NOT_FOUND, CIMError, CIMInstance, CIMInstanceName

from providers.classes import VIRT_NAMESPACE
from providers.pool_associations import PoolLinkProvider
from providers.pools import (
    POOL_CLASSES,
    Pool,
    PoolKind,
    all_pools,
    find_pool,
    pool_at,
    pool_path,
    volumes,
)
from providers.settings import ResourceAllocationSettingDataProvider
from providers.system_associations import Link
from providers.virt import Hypervisor, StoragePool, naming, parse_xml
from providers.virt.rasd import EmulatedType, Kind, ResourceType
from virtcim.provider import InstanceProvider, RequestContext

__all__ = [
    "ALLOCATION_CAPABILITIES",
    "POOL_CAPABILITIES",
    "POOL_SETTING_CLASSES",
    "SETTING_TEMPLATES",
    "AllocationCapabilitiesProvider",
    "PoolSettingsProvider",
    "Role",
    "SettingsWithTemplatesProvider",
    "Template",
    "capabilities_path",
    "network_ranges",
    "templates_of",
]

ALLOCATION_CAPABILITIES = "AllocationCapabilities"
STORAGE_VOLUME = "StorageVolumeResourceAllocationSettingData"
DISK_POOL_SETTING = "DiskPoolResourceAllocationSettingData"
NET_POOL_SETTING = "NetPoolResourceAllocationSettingData"
#: The settings that create pools and volumes, with the name their templates carry.
POOL_SETTING_CLASSES: Mapping[str, str] = {
    STORAGE_VOLUME: "StorageVolume",
    DISK_POOL_SETTING: "DiskPool",
    NET_POOL_SETTING: "NetPool",
}
MIB_UNITS = "byte*2^20"
DEFAULT_MEMORY_MIB = 256
MINIMUM_MEMORY_MIB = 64
DEFAULT_VOLUME_MIB = 1024
#: Where the template for a new storage pool puts it.
DEFAULT_POOL_PATH = "/var/lib/libvirt/images"


class ValueRole(enum.IntEnum):
    """``CIM_SettingsDefineCapabilities.ValueRole``."""

    DEFAULT = 0
    SUPPORTED = 3


class ValueRange(enum.IntEnum):
    """``CIM_SettingsDefineCapabilities.ValueRange``."""

    POINT = 0
    MINIMUMS = 1
    MAXIMUMS = 2
    INCREMENTS = 3


class PropertyPolicy(enum.IntEnum):
    INDEPENDENT = 0


class RequestTypes(enum.IntEnum):
    """``CIM_AllocationCapabilities.RequestTypesSupported``."""

    GENERAL = 3


class SharingMode(enum.IntEnum):
    DEDICATED = 2
    SHARED = 3


class ElementState(enum.IntEnum):
    """``SupportedAddStates``/``SupportedRemoveStates``: guest states allowing the change."""

    ENABLED = 2
    DISABLED = 3


class ForwardMode(enum.IntEnum):
    """``NetPoolResourceAllocationSettingData.ForwardMode``."""

    ISOLATED = 0
    NAT = 1
    ROUTED = 2


class FormatType(enum.IntEnum):
    """``StorageVolumeResourceAllocationSettingData.FormatType``."""

    RAW = 1
    QCOW2 = 2


class PoolType(enum.IntEnum):
    """``DiskPoolResourceAllocationSettingData.Type``: libvirt's storage pool types."""

    DIR = 1
    FS = 2
    NETFS = 3
    DISK = 4
    ISCSI = 5
    LOGICAL = 6
    SCSI = 7


#: Image formats a disk's driver type can name; those FormatType can say.
_IMAGE_FORMATS = frozenset({"raw", "qcow2", "qcow", "qed", "vmdk", "vdi", "vpc", "vhdx"})
_FORMAT_TYPES = frozenset(kind.name.lower() for kind in FormatType)

#: DMTF ``ResourceType`` of a storage volume.
STORAGE_VOLUME_TYPE = 32


class Role(enum.Enum):
    """A template's role: its name in InstanceIDs, and how SettingsDefineCapabilities says it."""

    DEFAULT = ("Default", ValueRole.DEFAULT, ValueRange.POINT)
    MINIMUM = ("Minimum", ValueRole.SUPPORTED, ValueRange.MINIMUMS)
    MAXIMUM = ("Maximum", ValueRole.SUPPORTED, ValueRange.MAXIMUMS)
    INCREMENT = ("Increment", ValueRole.SUPPORTED, ValueRange.INCREMENTS)

    @property
    def label(self) -> str:
        return self.value[0]


_ROLES_BY_LABEL = {role.label: role for role in Role}


@dataclass(frozen=True)
class Template:
    """One template: the generic class of the setting, its role and property values."""

    generic_class: str
    pool_id: str
    role: Role
    values: dict[str, Any]

    @property
    def instance_id(self) -> str:
        setting = POOL_SETTING_CLASSES.get(self.generic_class)
        middle = f"/{setting}" if setting else ""
        return f"{self.pool_id}{middle}/{self.role.label}"

    def instance(self, ctx: RequestContext, hv: Hypervisor) -> CIMInstance:
        return ctx.instance(naming.classname(hv.prefix, self.generic_class),
                            InstanceID=self.instance_id, ElementName=self.role.label,
                            PoolID=self.pool_id, **self.values)


# --- the templates -----------------------------------------------------------------------


def templates_of(hv: Hypervisor, pool: Pool) -> list[Template]:
    """Every template of ``pool``."""
    return list(_TEMPLATES[pool.kind](hv, pool))


def _ranged(generic: str, pool: Pool, common: Mapping[str, Any], quantity: str,
            bounds: Mapping[Role, int]) -> Iterator[Template]:
    for role, amount in bounds.items():
        yield Template(generic, pool.instance_id, role, {**common, quantity: amount})


def _memory(hv: Hypervisor, pool: Pool) -> Iterator[Template]:
    host_mib = hv.node_info().memory_kib // 1024
    common = {"ResourceType": ResourceType.MEMORY, "AllocationUnits": MIB_UNITS}
    yield from _ranged(Kind.MEM.value, pool, common, "VirtualQuantity", {
        Role.DEFAULT: min(DEFAULT_MEMORY_MIB, host_mib), Role.MINIMUM: MINIMUM_MEMORY_MIB,
        Role.MAXIMUM: host_mib, Role.INCREMENT: 1})


def _processor(hv: Hypervisor, pool: Pool) -> Iterator[Template]:
    common = {"ResourceType": ResourceType.PROCESSOR, "AllocationUnits": "count"}
    yield from _ranged(Kind.PROC.value, pool, common, "VirtualQuantity", {
        Role.DEFAULT: 1, Role.MINIMUM: 1, Role.MAXIMUM: hv.node_info().cpus, Role.INCREMENT: 1})


def _disk(hv: Hypervisor, pool: Pool) -> Iterator[Template]:
    storage = None if pool.is_primordial else hv.storage_pool(pool.name)
    volume = _first_volume(hv, storage) if storage is not None else None
    if volume is None:
        yield Template(Kind.DISK.value, pool.instance_id, Role.DEFAULT, {
            "ResourceType": ResourceType.CD_DRIVE, "VirtualDevice": "hdc",
            "EmulatedType": EmulatedType.CDROM, "Address": ""})
    else:
        path, size, image_format = volume
        common = {"ResourceType": ResourceType.DISK_DRIVE, "VirtualDevice": "vda",
                  "EmulatedType": EmulatedType.DISK, "Address": path,
                  "DriverType": image_format, "AllocationUnits": MIB_UNITS}
        yield from _ranged(Kind.DISK.value, pool, common, "VirtualQuantity", {
            Role.DEFAULT: -(-size // 2**20), Role.MINIMUM: 1,
            Role.MAXIMUM: storage.available // 2**20 if storage else 0, Role.INCREMENT: 1})
    if storage is not None and storage.is_active:
        yield from _new_volume(pool, storage)
    if pool.is_primordial:
        yield Template(DISK_POOL_SETTING, pool.instance_id, Role.DEFAULT, {
            "ResourceType": ResourceType.DISK_DRIVE, "Type": PoolType.DIR,
            "Path": DEFAULT_POOL_PATH, "Autostart": False})


def _first_volume(hv: Hypervisor, storage: StoragePool) -> tuple[str, int, str | None] | None:
    """The path, capacity and image format of the pool's first volume by name, if any."""
    if not storage.is_active:
        return None
    found = volumes(hv, storage)
    if not found:
        return None
    first = hv.run(f"storage pool {storage.name!r}",
                   lambda _conn: min(found, key=lambda volume: volume.name()))
    path, info, xml = hv.run(f"volume {first.name()!r}",
                             lambda _conn: (first.path(), first.info(), first.XMLDesc(0)))
    return path, info[1], _image_format(xml)


def _image_format(volume_xml: str) -> str | None:
    """A file volume's format (raw, qcow2...); ``None`` for devices and unknown."""
    element = parse_xml(volume_xml).find("target/format")
    image_format = element.get("type") if element is not None else None
    return image_format if image_format in _IMAGE_FORMATS else None


def _new_volume(pool: Pool, storage: StoragePool) -> Iterator[Template]:
    available = storage.available // 2**20
    name = "new-volume.img"
    target = storage.target_path or ""
    common = {"ResourceType": STORAGE_VOLUME_TYPE, "VolumeName": name,
              "Path": f"{target.rstrip('/')}/{name}", "FormatType": FormatType.RAW,
              "AllocationQuantity": 0, "AllocationUnits": MIB_UNITS}
    yield from _ranged(STORAGE_VOLUME, pool, common, "Capacity", {
        Role.DEFAULT: min(DEFAULT_VOLUME_MIB, available), Role.MINIMUM: 1,
        Role.MAXIMUM: available, Role.INCREMENT: 1})


def _network(hv: Hypervisor, pool: Pool) -> Iterator[Template]:
    common = {"ResourceType": ResourceType.ETHERNET_ADAPTER}
    if not pool.is_primordial:
        yield Template(Kind.NET.value, pool.instance_id, Role.DEFAULT,
                       {**common, "NetworkType": "network", "NetworkName": pool.name})
        return
    yield Template(Kind.NET.value, pool.instance_id, Role.DEFAULT,
                   {**common, "NetworkType": "user"})
    free = _free_range(network_ranges(hv))
    if free is not None:
        hosts = list(free.hosts())
        yield Template(NET_POOL_SETTING, pool.instance_id, Role.DEFAULT, {
            **common, "Address": str(hosts[0]), "Netmask": str(free.netmask),
            "IPRangeStart": str(hosts[1]), "IPRangeEnd": str(hosts[-1]),
            "ForwardMode": ForwardMode.NAT})


def network_ranges(hv: Hypervisor) -> list[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    """Each libvirt network's name and every IP range it has."""
    ranges = []
    for network in hv.networks():
        for ip in network.xml.iterfind("ip"):
            prefix = ip.get("prefix") or ip.get("netmask") or ("64" if ":" in ip.get("address", "")
                                                               else "24")
            try:
                ranges.append((network.name, ipaddress.ip_network(
                    f"{ip.get('address')}/{prefix}", strict=False)))
            except ValueError:
                continue
    return ranges


def _free_range(used: Sequence[tuple[str, Any]]) -> ipaddress.IPv4Network | None:
    for third in range(100, 255):
        candidate = ipaddress.IPv4Network(f"192.168.{third}.0/24")
        if not any(candidate.overlaps(taken) for _, taken in used
                   if taken.version == candidate.version):
            return candidate
    return None


def _graphics(_hv: Hypervisor, pool: Pool) -> Iterator[Template]:
    yield Template(Kind.GRAPHICS.value, pool.instance_id, Role.DEFAULT, {
        "ResourceType": ResourceType.GRAPHICS_CONTROLLER, "ResourceSubType": "vnc",
        "Address": "127.0.0.1:-1", "KeyMap": "en-us"})


def _input(_hv: Hypervisor, pool: Pool) -> Iterator[Template]:
    yield Template(Kind.INPUT.value, pool.instance_id, Role.DEFAULT, {
        "ResourceType": ResourceType.IO_DEVICE, "ResourceSubType": "tablet", "BusType": "usb"})


def _controller(_hv: Hypervisor, pool: Pool) -> Iterator[Template]:
    yield Template(Kind.CONTROLLER.value, pool.instance_id, Role.DEFAULT, {
        "ResourceType": ResourceType.OTHER, "OtherResourceType": "controller",
        "ResourceSubType": "scsi", "Index": 0, "Model": "virtio-scsi"})


_TEMPLATES = {
    PoolKind.MEMORY: _memory,
    PoolKind.PROCESSOR: _processor,
    PoolKind.DISK: _disk,
    PoolKind.NETWORK: _network,
    PoolKind.GRAPHICS: _graphics,
    PoolKind.INPUT: _input,
    PoolKind.CONTROLLER: _controller,
}


def template_at(hv: Hypervisor, path: CIMInstanceName) -> Template | None:
    """The template ``path`` names, or ``None`` when it names none (or its pool is gone)."""
    instance_id = path.keybindings.get("InstanceID")
    pool_id = _pool_of_template_id(str(instance_id))
    if pool_id is None:
        return None
    try:
        pool = find_pool(hv, pool_id)
    except CIMError as error:
        if error.status_code != CIM_ERR_NOT_FOUND:
            raise
        return None
    wanted = path.classname.lower()
    return next((template for template in templates_of(hv, pool)
                 if template.instance_id == instance_id
                 and naming.classname(hv.prefix, template.generic_class).lower() == wanted), None)


def _pool_of_template_id(instance_id: str) -> str | None:
    """``DiskPool/default`` from ``DiskPool/default[/<setting>]/<role>``, else ``None``."""
    parts = instance_id.split("/")
    if len(parts) not in (3, 4) or parts[-1] not in _ROLES_BY_LABEL:
        return None
    if len(parts) == 4 and parts[2] not in POOL_SETTING_CLASSES.values():
        return None
    pool_id = "/".join(parts[:2])
    try:
        naming.parse_pool_instance_id(pool_id)
    except ValueError:
        return None
    return pool_id


# --- providers ---------------------------------------------------------------------------


def capabilities_path(ctx: RequestContext, hv: Hypervisor, pool_id: str) -> CIMInstanceName:
    classname = naming.classname(hv.prefix, ALLOCATION_CAPABILITIES)
    return ctx.path(classname, namespace=VIRT_NAMESPACE, InstanceID=pool_id)


class AllocationCapabilitiesProvider(InstanceProvider):
    """``<Prefix>_AllocationCapabilities``: one per pool (DSP1043)."""

    identifier_required = True

    def __init__(self, hypervisor: Hypervisor) -> None:
        self.hypervisor = hypervisor

    def enumerate_instances(
        self, ctx: RequestContext, classname: str, property_list: Sequence[str] | None
    ) -> Iterable[CIMInstance]:
        for pool in all_pools(self.hypervisor):
            yield self._instance(ctx, classname, pool)

    def get_instance(
        self, ctx: RequestContext, path: CIMInstanceName, property_list: Sequence[str] | None
    ) -> CIMInstance:
        pool = _pool_of_capabilities(self.hypervisor, path)
        if pool is None:
            raise CIMError(CIM_ERR_NOT_FOUND, f"no allocation capabilities {path} on "
                                              f"{self.hypervisor.uri}")
        return self._instance(ctx, path.classname, find_pool(self.hypervisor, pool))

    @staticmethod
    def _instance(ctx: RequestContext, classname: str, pool: Pool) -> CIMInstance:
        hot = pool.kind in (PoolKind.DISK, PoolKind.NETWORK)
        states = [ElementState.DISABLED, *([ElementState.ENABLED] if hot else [])]
        return ctx.instance(
            classname,
            InstanceID=pool.instance_id,
            ElementName=pool.instance_id,
            ResourceType=pool.kind.resource_type,
            OtherResourceType="controller" if pool.kind is PoolKind.CONTROLLER else None,
            RequestTypesSupported=RequestTypes.GENERAL,
            SharingMode=SharingMode.DEDICATED if pool.kind is PoolKind.DISK else SharingMode.SHARED,
            SupportedAddStates=states,
            SupportedRemoveStates=states,
        )


def _pool_of_capabilities(hv: Hypervisor, path: CIMInstanceName) -> str | None:
    """The pool InstanceID an AllocationCapabilities path of ``hv`` names (not checked to exist)."""
    if path.classname.lower() != naming.classname(hv.prefix, ALLOCATION_CAPABILITIES).lower():
        return None
    instance_id = str(path.keybindings.get("InstanceID"))
    try:
        kind, _ = naming.parse_pool_instance_id(instance_id)
        PoolKind(kind)
    except ValueError:
        return None
    return instance_id


class SettingsWithTemplatesProvider(ResourceAllocationSettingDataProvider):
    """The guest resource setting classes, which also answer GetInstance for their
    templates (so that Associators through SettingsDefineCapabilities reach them)."""

    def get_instance(
        self, ctx: RequestContext, path: CIMInstanceName, property_list: Sequence[str] | None
    ) -> CIMInstance:
        template = template_at(self.hypervisor, path)
        if template is not None:
            return template.instance(ctx, self.hypervisor)
        return super().get_instance(ctx, path, property_list)


class PoolSettingsProvider(InstanceProvider):
    """``<Prefix>_StorageVolume/DiskPool/NetPoolResourceAllocationSettingData``: the
    templates of these classes; for storage volumes also every volume of every active
    storage pool (InstanceID its path). A deep enumeration lists the pools once."""

    def __init__(self, hypervisor: Hypervisor) -> None:
        self.hypervisor = hypervisor
        self._generic = {naming.classname(hypervisor.prefix, generic).lower(): generic
                         for generic in POOL_SETTING_CLASSES}

    def enumerate_instances(
        self, ctx: RequestContext, classname: str, property_list: Sequence[str] | None
    ) -> Iterator[CIMInstance]:
        return self.enumerate_instances_of(ctx, [classname], property_list)

    def enumerate_instances_of(
        self, ctx: RequestContext, classnames: Sequence[str], property_list: Sequence[str] | None
    ) -> Iterator[CIMInstance]:
        hv = self.hypervisor
        wanted = {self._generic[name.lower()] for name in classnames}
        for pool in all_pools(hv, [PoolKind.DISK, PoolKind.NETWORK]):
            for template in templates_of(hv, pool):
                if template.generic_class in wanted:
                    yield template.instance(ctx, hv)
        if STORAGE_VOLUME in wanted:
            for storage in hv.storage_pools():
                if storage.is_active:
                    for volume in volumes(hv, storage):
                        yield volume_setting(ctx, hv, volume, storage.name)

    def get_instance(
        self, ctx: RequestContext, path: CIMInstanceName, property_list: Sequence[str] | None
    ) -> CIMInstance:
        template = template_at(self.hypervisor, path)
        if template is not None:
            return template.instance(ctx, self.hypervisor)
        instance_id = str(path.keybindings.get("InstanceID"))
        if self._generic[path.classname.lower()] == STORAGE_VOLUME and instance_id.startswith("/"):
            hv = self.hypervisor
            volume = hv.run(f"volume {instance_id!r}",
                            lambda conn: conn.storageVolLookupByPath(instance_id))
            pool = hv.run(f"volume {instance_id!r}", lambda _conn: volume.storagePoolLookupByVolume())
            return volume_setting(ctx, hv, volume, pool.name())
        raise CIMError(CIM_ERR_NOT_FOUND, f"no {path.classname} {instance_id!r} on "
                                          f"{self.hypervisor.uri}")


def volume_setting(
    ctx: RequestContext, hv: Hypervisor, volume: libvirt.virStorageVol, pool_name: str
) -> CIMInstance:
    """The StorageVolumeResourceAllocationSettingData of a volume (InstanceID its path)."""
    def read(_conn: libvirt.virConnect) -> tuple[str, str, list[int], str]:
        return volume.name(), volume.path(), volume.info(), volume.XMLDesc(0)

    name, path, info, xml = hv.run(f"volume {volume.name()!r}", read)
    format_name = _image_format(xml)
    format_type = FormatType[format_name.upper()] if format_name in _FORMAT_TYPES else None
    return ctx.instance(
        naming.classname(hv.prefix, STORAGE_VOLUME),
        InstanceID=path, ElementName=name, ResourceType=STORAGE_VOLUME_TYPE,
        PoolID=naming.pool_instance_id(PoolKind.DISK.value, pool_name),
        VolumeName=name, Path=path, FormatType=format_type,
        Capacity=info[1], AllocationQuantity=info[2], AllocationUnits="byte",
    )


# --- links -------------------------------------------------------------------------------


class PoolCapabilities:
    """ElementCapabilities: ManagedElement a pool, Capabilities its AllocationCapabilities
    (a link source of ``providers.ASSOCIATION_LINKS``)."""

    ends = {"ManagedElement": POOL_CLASSES,
            "Capabilities": frozenset({ALLOCATION_CAPABILITIES})}

    def all_links(self, ctx: RequestContext, hv: Hypervisor) -> Iterable[Link]:
        return [self._link(ctx, hv, pool.instance_id) for pool in all_pools(hv)]

    def links_at(
        self, ctx: RequestContext, hv: Hypervisor, role: str, source: CIMInstanceName
    ) -> Iterable[Link]:
        pool_id = pool_at(hv, source) if role == "ManagedElement" else \
            _pool_of_capabilities(hv, source)
        if pool_id is None or not _exists(hv, pool_id):
            return []
        return [self._link(ctx, hv, pool_id)]

    @staticmethod
    def _link(ctx: RequestContext, hv: Hypervisor, pool_id: str) -> Link:
        return {"ManagedElement": pool_path(ctx, hv, pool_id),
                "Capabilities": capabilities_path(ctx, hv, pool_id)}


class SettingTemplates:
    """SettingsDefineCapabilities: GroupComponent a pool's AllocationCapabilities,
    PartComponent each of its templates, with the template's role."""

    def all_links(self, ctx: RequestContext, hv: Hypervisor) -> Iterator[Link]:
        for pool in all_pools(hv):
            yield from self._links(ctx, hv, pool)

    def links_at(self, ctx: RequestContext, hv: Hypervisor, source: CIMInstanceName
                 ) -> Iterable[Link]:
        pool_id = _pool_of_capabilities(hv, source)
        if pool_id is not None:
            return self._links(ctx, hv, find_pool(hv, pool_id)) if _exists(hv, pool_id) else []
        template = template_at(hv, source)
        if template is None:
            return []
        return [self._link(ctx, hv, template)]

    def _links(self, ctx: RequestContext, hv: Hypervisor, pool: Pool) -> Iterator[Link]:
        for template in templates_of(hv, pool):
            yield self._link(ctx, hv, template)

    @staticmethod
    def _link(ctx: RequestContext, hv: Hypervisor, template: Template) -> Link:
        path = ctx.path(naming.classname(hv.prefix, template.generic_class),
                        namespace=VIRT_NAMESPACE, InstanceID=template.instance_id)
        _, role, value_range = template.role.value
        return {"GroupComponent": capabilities_path(ctx, hv, template.pool_id),
                "PartComponent": path, "PropertyPolicy": PropertyPolicy.INDEPENDENT,
                "ValueRole": role, "ValueRange": value_range}


def _exists(hv: Hypervisor, pool_id: str) -> bool:
    try:
        find_pool(hv, pool_id)
    except CIMError as error:
        if error.status_code != CIM_ERR_NOT_FOUND:
            raise
        return False
    return True


POOL_CAPABILITIES = PoolCapabilities()
SETTING_TEMPLATES = SettingTemplates()


def settings_define_capabilities(hypervisor: Hypervisor) -> PoolLinkProvider:
    """The SettingsDefineCapabilities provider of ``hypervisor``."""
    return PoolLinkProvider(hypervisor, [SETTING_TEMPLATES])
