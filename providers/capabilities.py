"""What can be allocated from each pool (DSP1043 Allocation Capabilities).

One ``AllocationCapabilities`` per pool, InstanceID and ResourceType the
pool's, linked to its pool by ElementCapabilities (a link source of
``providers.ASSOCIATION_LINKS``) and to its *templates* by
SettingsDefineCapabilities. A template is a resource setting a client fetches,
adjusts if it likes, and passes to DefineSystem or AddResourceSettings (or,
for the pool settings, to the ResourcePoolConfigurationService) as it is.

Each template carries, as its ``InstanceID`` property, the word libvirt-cim
gave it (``Default``, ``Minimum``, ``Maximum``, ``Increment``; ``Default CDROM``,
``New Storage Volume Default``...), which clients compare. That word is the same
for many templates, so the template's *path* carries a unique InstanceID
instead, its key: ``<pool InstanceID>[/<setting>][/<variant>...]/<role>``
(``MemoryPool/0/Default``, ``DiskPool/default/Disk/vm1.img/Maximum``,
``NetworkPool/0/NetPool/nat/eth0/Default``). Associators hand out that path, and
GetInstance on it answers the template; templates are not enumerated, as
libvirt-cim's were not. A pool name never holds ``/``, and the role ends every
key, so each key names one template.
The roles are libvirt-cim's; SettingsDefineCapabilities gives each its
``ValueRole``/``ValueRange`` as DSP1043 has them.

The templates, as libvirt-cim offered them:

* memory: 256 MiB by default, 64 MiB to the host's memory, by 1 MiB;
* processors: 1 vCPU by default, 1 to the host's CPUs, by 1;
* a storage pool: for each volume a disk (``vda``) on it; an empty CD-ROM
  (``hdc``) and floppy (``fda``) drive; and, when running, a new raw volume
  twice (sizes in MiB and in GiB). ``DiskPool/0``: a storage pool setting per
  pool type (dir, fs, netfs, disk, iscsi, logical, scsi), with libvirt-cim's
  example sources and Path ``/dev/null`` (``/dev/disk/by-id`` for scsi);
* a network: interfaces on it, on a bridge, user-mode (each with and without a
  model and target device) and direct (macvtap, with and without VSI values);
  ``NetworkPool/0``: a network setting per forward mode (isolated; NAT and
  routed, with and without a forward device), on libvirt's usual
  192.168.122.0/24;
* graphics: VNC on 127.0.0.1, any port; input: a USB tablet; controllers:
  a virtio SCSI controller.

Every role of a setting without a quantity has the same values. The storage
pool and network settings carry libvirt-cim's examples (Path ``/dev/null``,
libvirt's default range, direct interfaces on ``eth1``): a client sets its
own before passing them back.

It is one module, though long, because it is one concept: the templates of
every pool kind share the roles, the ranges and the keys above.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pywbem import CIM_ERR_NOT_FOUND, CIMError, CIMInstance, CIMInstanceName

from providers.classes import VIRT_NAMESPACE
from providers.links import Link
from providers.lookup import or_none
from providers.paths import ALLOCATION_CAPABILITIES, allocation_capabilities_path, pool_path
from providers.pools import POOL_CLASSES, Pool, PoolKind, all_pools, find_pool, pool_at
from providers.settings import ResourceAllocationSettingDataProvider
from providers.valuemaps import (
    EmulatedType,
    EnabledState,
    FormatType,
    ForwardMode,
    PoolType,
    PropertyPolicy,
    RequestTypes,
    ResourceType,
    SharingMode,
    ValueRange,
    ValueRole,
)
from providers.virt import Hypervisor, StoragePool, Volume, naming
from providers.virt.mapping import Kind
from virtcim.provider import InstanceProvider, RequestContext

__all__ = [
    "POOL_CAPABILITIES",
    "POOL_SETTING_CLASSES",
    "SETTING_TEMPLATES",
    "AllocationCapabilitiesProvider",
    "PoolSettingsProvider",
    "Role",
    "SettingsWithTemplatesProvider",
    "Template",
    "network_ranges",
    "templates_of",
]

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
GIB_UNITS = "byte*2^30"
DEFAULT_MEMORY_MIB = 256
MINIMUM_MEMORY_MIB = 64
DEFAULT_VOLUME_MIB = 1024


#: Image formats a disk's driver type can name; those FormatType can say.
_IMAGE_FORMATS = frozenset({"raw", "qcow2", "qcow", "qed", "vmdk", "vdi", "vpc", "vhdx"})
_FORMAT_TYPES = frozenset(kind.name.lower() for kind in FormatType)

#: ``ResourceType`` of libvirt-cim's storage volume setting (its own class keeps its value).
STORAGE_VOLUME_TYPE = 32768
#: DMTF ``ResourceType`` of a storage volume, also accepted.
DMTF_STORAGE_VOLUME_TYPE = 32


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
    """One template: the generic class of the setting, its role and property values.

    ``variant`` tells it from the pool's other templates of its class and role
    (a volume's name, a forward mode); ``label`` is the InstanceID property
    when it is not the plain role (libvirt-cim's ``Default CDROM``...).
    """

    generic_class: str
    pool_id: str
    role: Role
    values: dict[str, Any]
    variant: tuple[str, ...] = ()
    label: str | None = None

    @property
    def key(self) -> str:
        """The InstanceID of the template's path: unique, ``<pool>[/<setting>][/<variant>]/<role>``."""
        setting = POOL_SETTING_CLASSES.get(self.generic_class)
        return "/".join((self.pool_id, *([setting] if setting else []), *self.variant,
                         self.role.label))

    @property
    def instance_id(self) -> str:
        """The InstanceID property: the word libvirt-cim gave the template."""
        return self.label or self.role.label

    def path(self, ctx: RequestContext, hv: Hypervisor) -> CIMInstanceName:
        return ctx.path(naming.classname(hv.prefix, self.generic_class),
                        namespace=VIRT_NAMESPACE, InstanceID=self.key)

    def instance(self, ctx: RequestContext, hv: Hypervisor) -> CIMInstance:
        instance = ctx.instance(naming.classname(hv.prefix, self.generic_class),
                                InstanceID=self.instance_id, ElementName=self.role.label,
                                PoolID=self.pool_id, **self.values)
        instance.path = self.path(ctx, hv)
        return instance


# --- the templates -----------------------------------------------------------------------


def templates_of(hv: Hypervisor, pool: Pool) -> list[Template]:
    """Every template of ``pool``."""
    return list(_TEMPLATES[pool.kind](hv, pool))


def _ranged(generic: str, pool: Pool, common: Mapping[str, Any], quantity: str,
            bounds: Mapping[Role, int], variant: tuple[str, ...] = (),
            label: str = "{role}") -> Iterator[Template]:
    for role, amount in bounds.items():
        yield Template(generic, pool.instance_id, role, {**common, quantity: amount}, variant,
                       _label(label, role))


def _each_role(generic: str, pool: Pool, values: Mapping[str, Any],
               variant: tuple[str, ...] = (), label: str = "{role}") -> Iterator[Template]:
    """The four roles of a setting whose values do not depend on the role."""
    for role in Role:
        yield Template(generic, pool.instance_id, role, dict(values), variant,
                       _label(label, role))


def _label(label: str, role: Role) -> str | None:
    text = label.format(role=role.label)
    return None if text == role.label else text


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
    if pool.is_primordial:
        yield from _storage_pools(pool)
        return
    storage = hv.storage_pool(pool.name)
    for volume in _volumes(hv, storage):
        size = volume.capacity
        common = {"ResourceType": ResourceType.DISK_DRIVE, "VirtualDevice": "vda",
                  "EmulatedType": EmulatedType.DISK, "Address": volume.path,
                  "DriverType": _image_format(volume), "AllocationUnits": MIB_UNITS}
        yield from _ranged(Kind.DISK.value, pool, common, "VirtualQuantity", {
            Role.DEFAULT: max(1, -(-size // 2**20)), Role.MINIMUM: 1,
            Role.MAXIMUM: max(1, -(-size // 2**20)), Role.INCREMENT: 1}, ("Disk", volume.name))
    for device, emulated, name in (("hdc", EmulatedType.CDROM, "CDROM"),
                                   ("fda", EmulatedType.FLOPPY, "floppy")):
        yield from _each_role(Kind.DISK.value, pool, {
            "ResourceType": ResourceType.DISK_DRIVE, "VirtualDevice": device,
            "EmulatedType": emulated, "Address": ""}, (name,), f"{{role}} {name}")
    if storage.is_active:
        yield from _new_volume(pool, storage)


def _volumes(hv: Hypervisor, storage: StoragePool) -> list[Volume]:
    """The volumes of a running pool, by name."""
    if not storage.is_active:
        return []
    return sorted(hv.volumes(storage), key=lambda volume: (volume.name, volume.path))


def _image_format(volume: Volume) -> str | None:
    """A file volume's format (raw, qcow2...); ``None`` for devices and unknown."""
    return volume.image_format if volume.image_format in _IMAGE_FORMATS else None


def _new_volume(pool: Pool, storage: StoragePool) -> Iterator[Template]:
    """A new raw volume in the pool's folder, sized in MiB, then the same in GiB."""
    common = {"ResourceType": STORAGE_VOLUME_TYPE, "VolumeName": "new-volume.img",
              "Path": storage.target_path or "", "FormatType": FormatType.RAW,
              "AllocationQuantity": 0}
    label = "New Storage Volume {role}"
    available = storage.available // 2**20
    yield from _ranged(STORAGE_VOLUME, pool, {**common, "AllocationUnits": MIB_UNITS},
                       "Capacity", {Role.DEFAULT: min(DEFAULT_VOLUME_MIB, available),
                                    Role.MINIMUM: 1, Role.MAXIMUM: available,
                                    Role.INCREMENT: 1}, label=label)
    available_gib = storage.available // 2**30
    yield from _ranged(STORAGE_VOLUME, pool, {**common, "AllocationUnits": GIB_UNITS},
                       "Capacity", {Role.DEFAULT: min(1, available_gib), Role.MINIMUM: 1,
                                    Role.MAXIMUM: available_gib, Role.INCREMENT: 1},
                       ("GiB",), label)


#: libvirt-cim's example sources of the storage pool settings, per pool type: a
#: client gives its own Path (and sources) before creating a pool.
_EXAMPLE_HOST = "host_sys.domain.com"
_POOL_EXAMPLES: Mapping[PoolType, Mapping[str, Any]] = {
    PoolType.DIR: {},
    PoolType.FS: {"DevicePaths": ["/dev/sda100"]},
    PoolType.NETFS: {"Host": _EXAMPLE_HOST, "SourceDirectory": "/var/lib/images"},
    PoolType.DISK: {"DevicePaths": ["/dev/VolGroup00/LogVol100"]},
    PoolType.ISCSI: {"Host": _EXAMPLE_HOST, "DevicePaths": ["iscsi-target"]},
    PoolType.LOGICAL: {},
    PoolType.SCSI: {"Path": "/dev/disk/by-id", "AdapterName": "host0",
                    "PortName": "0000111122223333", "NodeName": "4444555566667777"},
}


def _storage_pools(pool: Pool) -> Iterator[Template]:
    for pool_type, example in _POOL_EXAMPLES.items():
        common = {"ResourceType": ResourceType.DISK_DRIVE, "Type": pool_type,
                  "Path": "/dev/null", **example}
        yield from _ranged(DISK_POOL_SETTING, pool, common, "Autostart", {
            Role.DEFAULT: 0, Role.MINIMUM: 0, Role.MAXIMUM: 1, Role.INCREMENT: 1},
            (pool_type.name.lower(),))


def _network(hv: Hypervisor, pool: Pool) -> Iterator[Template]:
    if pool.is_primordial:
        yield from _networks(pool)
        return
    network = hv.network(pool.name)
    bridge = network.bridge or "br0"
    common = {"ResourceType": ResourceType.ETHERNET_ADAPTER}
    kinds: tuple[tuple[str, dict[str, str]], ...] = (
        ("network", {"NetworkName": pool.name}), ("bridge", {"NetworkName": bridge}), ("user", {}))
    for network_type, values in kinds:
        for device in (True, False):
            extra = {"VirtualDevice": "vtap1", "ResourceSubType": "e1000"} if device else {}
            yield from _ranged(Kind.NET.value, pool, {
                **common, "NetworkType": network_type, **values, **extra},
                "VirtualQuantity", _NIC_COUNTS, (network_type, *(["e1000"] if device else [])))
    direct = {**common, "NetworkType": "direct", "SourceDevice": "eth1", "NetworkMode": "vepa"}
    vsi = {"VSIManagerID": "managerid", "VSITypeID": "typeid",
           "VSITypeIDVersion": "typeidversion"}
    for name, values in (("vepa", {}),
                            ("802.1Qbh", {"VSIType": "802.1Qbh", "ProfileID": "my_profile"}),
                            ("802.1Qbg", {"VSIType": "802.1Qbg", **vsi,
                                          "VSIInstanceID": "instanceid"}),
                            ("802.1Qbg-typeid", {"VSIType": "802.1Qbg", **vsi})):
        yield from _ranged(Kind.NET.value, pool, {**direct, **values}, "VirtualQuantity",
                           _NIC_COUNTS, ("direct", name))


#: How many interfaces a guest may take from a network.
_NIC_COUNTS = {Role.DEFAULT: 1, Role.MINIMUM: 0, Role.MAXIMUM: 8, Role.INCREMENT: 1}

#: libvirt-cim's network settings: libvirt's default range.
_NETWORK_EXAMPLE = {"Address": "192.168.122.1", "Netmask": "255.255.255.0",
                    "IPRangeStart": "192.168.122.2", "IPRangeEnd": "192.168.122.254"}
_FORWARD_DEVICE = "eth0"


def _networks(pool: Pool) -> Iterator[Template]:
    common = {"ResourceType": ResourceType.ETHERNET_ADAPTER, **_NETWORK_EXAMPLE}
    for mode in ForwardMode:
        devices = (None,) if mode is ForwardMode.ISOLATED else (None, _FORWARD_DEVICE)
        for device in devices:
            yield from _each_role(NET_POOL_SETTING, pool, {
                **common, "ForwardMode": mode, "ForwardDevice": device},
                (mode.name.lower(), *([device] if device else [])))


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
    key = path.keybindings.get("InstanceID")
    pool_id = _pool_of_template_key(str(key))
    if pool_id is None:
        return None
    pool = or_none(lambda: find_pool(hv, pool_id))
    if pool is None:
        return None
    wanted = path.classname.lower()
    return next((template for template in templates_of(hv, pool)
                 if template.key == key
                 and naming.classname(hv.prefix, template.generic_class).lower() == wanted), None)


def _template_instance(ctx: RequestContext, hv: Hypervisor, path: CIMInstanceName
                      ) -> CIMInstance | None:
    """The template ``path`` names, as an instance; ``None`` when it names none."""
    template = template_at(hv, path)
    return None if template is None else template.instance(ctx, hv)


def _pool_of_template_key(key: str) -> str | None:
    """``DiskPool/default`` from ``DiskPool/default[/...]/<role>``, else ``None``."""
    parts = key.split("/")
    if len(parts) < 3 or parts[-1] not in _ROLES_BY_LABEL:
        return None
    pool_id = "/".join(parts[:2])
    try:
        naming.parse_pool_instance_id(pool_id)
    except ValueError:
        return None
    return pool_id


# --- providers ---------------------------------------------------------------------------


class AllocationCapabilitiesProvider(InstanceProvider):
    """``<Prefix>_AllocationCapabilities``: one per pool (DSP1043)."""

    identifier = ("InstanceID", "InstanceID")

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
        """The capabilities of an existing pool; otherwise ``CIM_ERR_NOT_FOUND`` worded as
        libvirt-cim's GetInstance worded it (``Instance not found``; the operations
        layer puts ``No such instance (InstanceID)``, its traversals' words, first)."""
        pool_id = _pool_of_capabilities(self.hypervisor, path)
        pool = None
        if pool_id is not None:
            try:
                pool = find_pool(self.hypervisor, pool_id)
            except CIMError as error:
                if error.status_code != CIM_ERR_NOT_FOUND:
                    raise
        if pool is None:
            raise CIMError(CIM_ERR_NOT_FOUND, f"Instance not found: no allocation capabilities "
                                              f"{path} on {self.hypervisor.uri}")
        return self._instance(ctx, path.classname, pool)

    @staticmethod
    def _instance(ctx: RequestContext, classname: str, pool: Pool) -> CIMInstance:
        hot = pool.kind in (PoolKind.DISK, PoolKind.NETWORK)
        states = [EnabledState.DISABLED, *([EnabledState.ENABLED] if hot else [])]
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
        template = _template_instance(ctx, self.hypervisor, path)
        return template if template is not None else super().get_instance(ctx, path, property_list)


class PoolSettingsProvider(InstanceProvider):
    """``<Prefix>_StorageVolume/DiskPool/NetPoolResourceAllocationSettingData``.

    Enumerated: every volume of every active storage pool (a storage volume
    setting, InstanceID its path). The templates of these classes are reached
    through SettingsDefineCapabilities and answer GetInstance, but are not
    enumerated, as libvirt-cim did not: its clients enumerate the settings and
    read each InstanceID as ``<guest>/<device>``, which a template's plain
    word is not. A deep enumeration lists the storage pools once."""

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
        if STORAGE_VOLUME in wanted:
            for storage in hv.storage_pools():
                if storage.is_active:
                    for volume in hv.volumes(storage):
                        yield volume_setting(ctx, hv, volume)

    def get_instance(
        self, ctx: RequestContext, path: CIMInstanceName, property_list: Sequence[str] | None
    ) -> CIMInstance:
        template = _template_instance(ctx, self.hypervisor, path)
        if template is not None:
            return template
        instance_id = str(path.keybindings.get("InstanceID"))
        if self._generic[path.classname.lower()] == STORAGE_VOLUME and instance_id.startswith("/"):
            hv = self.hypervisor
            return volume_setting(ctx, hv, hv.volume(instance_id))
        raise CIMError(CIM_ERR_NOT_FOUND, f"no {path.classname} {instance_id!r} on "
                                          f"{self.hypervisor.uri}")


def volume_setting(ctx: RequestContext, hv: Hypervisor, volume: Volume) -> CIMInstance:
    """The StorageVolumeResourceAllocationSettingData of a volume (InstanceID its path)."""
    format_name = _image_format(volume)
    format_type = FormatType[format_name.upper()] if format_name in _FORMAT_TYPES else None
    return ctx.instance(
        naming.classname(hv.prefix, STORAGE_VOLUME),
        InstanceID=volume.path, ElementName=volume.name, ResourceType=STORAGE_VOLUME_TYPE,
        PoolID=naming.pool_instance_id(PoolKind.DISK.value, volume.pool),
        VolumeName=volume.name, Path=volume.path, FormatType=format_type,
        Capacity=volume.capacity, AllocationQuantity=volume.allocation, AllocationUnits="byte",
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
                "Capabilities": allocation_capabilities_path(ctx, hv, pool_id)}


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
        path = template.path(ctx, hv)
        _, role, value_range = template.role.value
        return {"GroupComponent": allocation_capabilities_path(ctx, hv, template.pool_id),
                "PartComponent": path, "PropertyPolicy": PropertyPolicy.INDEPENDENT,
                "ValueRole": role, "ValueRange": value_range}


def _exists(hv: Hypervisor, pool_id: str) -> bool:
    return or_none(lambda: find_pool(hv, pool_id)) is not None


POOL_CAPABILITIES = PoolCapabilities()
SETTING_TEMPLATES = SettingTemplates()
