"""Resource pools (DSP1041 Resource Allocation): what a host can give its guests.

One primordial pool per kind of resource, InstanceID ``<Kind>Pool/0``: the
host's memory and processors (capacity from ``virNodeGetInfo``, reserved what
the running guests use), all its storage, its networking, and graphics, input
and controller pools that only group those devices. Then one concrete pool
per libvirt storage pool (``DiskPool/<pool>``) and per libvirt virtual
network (``NetworkPool/<network>``). PoolID is the InstanceID, as libvirt-cim
had it; AllocationUnits are DSP0004 programmatic units.

Storage sizes are those libvirt last computed for the pool: a pool sees
volumes made outside libvirt once refreshed (RefreshResourcesInPool).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pywbem import CIM_ERR_NOT_FOUND, CIMError, CIMInstance, CIMInstanceName

from providers.classes import VIRT_NAMESPACE
from providers.valuemaps import OperationalStatus, ResourceType
from providers.virt import Domain, Hypervisor, Network, StoragePool, naming, units
from virtcim.interop import Organization, Profile, ProfileRegistry
from virtcim.provider import InstanceProvider, RequestContext

T = TypeVar("T")

__all__ = [
    "ALLOCATION_CAPABILITIES_PROFILE_ID",
    "POOL_CLASSES",
    "RESOURCE_PROFILES",
    "Pool",
    "PoolKind",
    "ResourcePoolProvider",
    "all_pools",
    "find_pool",
    "pool_at",
    "primordial",
    "register_profiles",
]

#: Storage pool sizes are reported in MiB.
DISK_UNITS = "byte*2^20"
#: Memory pool sizes are reported in KiB: libvirt's unit, so they are exact.
MEMORY_UNITS = "byte*2^10"
COUNT_UNITS = "count"


class PoolKind(enum.Enum):
    """The kinds of pool; the value is the ``<Kind>`` of ``<Kind>Pool``."""

    MEMORY = "Memory"
    PROCESSOR = "Processor"
    DISK = "Disk"
    NETWORK = "Network"
    GRAPHICS = "Graphics"
    INPUT = "Input"
    CONTROLLER = "Controller"

    @property
    def generic_class(self) -> str:
        return f"{self.value}Pool"

    @property
    def resource_type(self) -> ResourceType:
        return _RESOURCE_TYPES[self]

    @property
    def allocation_units(self) -> str:
        return {PoolKind.MEMORY: MEMORY_UNITS, PoolKind.DISK: DISK_UNITS}.get(self, COUNT_UNITS)


_RESOURCE_TYPES = {
    PoolKind.MEMORY: ResourceType.MEMORY,
    PoolKind.PROCESSOR: ResourceType.PROCESSOR,
    PoolKind.DISK: ResourceType.DISK_DRIVE,
    PoolKind.NETWORK: ResourceType.ETHERNET_ADAPTER,
    PoolKind.GRAPHICS: ResourceType.GRAPHICS_CONTROLLER,
    PoolKind.INPUT: ResourceType.IO_DEVICE,
    PoolKind.CONTROLLER: ResourceType.OTHER,
}
#: OtherResourceType of the kinds whose ResourceType is 1 (Other).
_OTHER_RESOURCE_TYPES = {PoolKind.CONTROLLER: "controller"}
#: Every pool class, generic names.
POOL_CLASSES = frozenset(kind.generic_class for kind in PoolKind)


@dataclass(frozen=True)
class Pool:
    """One pool: its kind, name (``0`` when primordial) and class-specific values."""

    kind: PoolKind
    name: str
    values: dict[str, Any]

    @property
    def instance_id(self) -> str:
        return naming.pool_instance_id(self.kind.value, self.name)

    @property
    def is_primordial(self) -> bool:
        return self.name == naming.PRIMORDIAL_POOL


def primordial(kind: PoolKind) -> str:
    """The InstanceID of the primordial pool of ``kind`` (``MemoryPool/0``)."""
    return naming.pool_instance_id(kind.value, naming.PRIMORDIAL_POOL)


def pool_at(hv: Hypervisor, path: CIMInstanceName) -> str | None:
    """The InstanceID of the pool ``path`` names, if it is one of ``hv``'s pool classes.

    Only the class and the key's form are checked, not that the pool exists.
    """
    instance_id = path.keybindings.get("InstanceID")
    try:
        prefix, generic = naming.split_classname(path.classname)
        kind_name, _ = naming.parse_pool_instance_id(str(instance_id))
        kind = pool_kind(kind_name)
    except ValueError:
        return None
    if prefix.lower() != hv.prefix.lower() or generic.lower() != kind.generic_class.lower():
        return None
    return str(instance_id)


def pool_kind(name: str) -> PoolKind:
    """The kind of pool ``<name>Pool``; ``ValueError`` if there is none."""
    try:
        return PoolKind(name)
    except ValueError:
        raise ValueError(f"{name}Pool is not a kind of pool") from None


# --- reading the pools -------------------------------------------------------------------


def all_pools(hv: Hypervisor, kinds: Iterable[PoolKind] = PoolKind) -> list[Pool]:
    """Every pool of ``kinds`` on ``hv``: each primordial pool, then the concrete ones."""
    wanted = list(kinds)
    storage = hv.storage_pools() if PoolKind.DISK in wanted else []
    found = [_primordial_pool(hv, kind, storage) for kind in wanted]
    if PoolKind.DISK in wanted:
        found.extend(_disk_pool(pool) for pool in storage)
    if PoolKind.NETWORK in wanted:
        found.extend(_network_pool(network) for network in hv.networks())
    return found


def find_pool(hv: Hypervisor, instance_id: str) -> Pool:
    """The pool ``instance_id`` names; ``CIM_ERR_NOT_FOUND`` when there is none, worded
    as libvirt-cim worded it (``No such instance (<InstanceID>)``)."""
    try:
        kind_name, name = naming.parse_pool_instance_id(instance_id)
        kind = pool_kind(kind_name)
    except ValueError as error:
        raise CIMError(CIM_ERR_NOT_FOUND, f"No such instance ({instance_id}) - resource pool "
                                          f"type mismatch: no pool on {hv.uri}: {error}") from None
    try:
        if name == naming.PRIMORDIAL_POOL:
            return _primordial_pool(hv, kind)
        if kind is PoolKind.DISK:
            return _disk_pool(hv.storage_pool(name))
        if kind is PoolKind.NETWORK:
            return _network_pool(hv.network(name))
    except CIMError as error:
        if error.status_code != CIM_ERR_NOT_FOUND:
            raise
        raise CIMError(CIM_ERR_NOT_FOUND, f"No such instance ({instance_id}): "
                                          f"{error.status_description}") from None
    raise CIMError(CIM_ERR_NOT_FOUND, f"No such instance ({instance_id}): no pool "
                                      f"{instance_id!r} on {hv.uri}: {kind.generic_class} has "
                                      f"only {primordial(kind)}")


def _primordial_pool(hv: Hypervisor, kind: PoolKind,
                     storage: list[StoragePool] | None = None) -> Pool:
    """The primordial pool of ``kind``; ``storage``: the storage pools, when listed already."""
    values: dict[str, Any] = {"Caption": f"The host's {kind.value.lower()} resources"}
    if kind is PoolKind.MEMORY:
        reserved = sum(domain.xml.current_memory_kib or 0 for domain in _running(hv))
        values.update(Capacity=hv.node_info().memory_kib, Reserved=reserved)
    elif kind is PoolKind.PROCESSOR:
        reserved = sum(domain.xml.vcpus for domain in _running(hv))
        values.update(Capacity=hv.node_info().cpus, Reserved=reserved)
    elif kind is PoolKind.DISK:
        if storage is None:
            storage = hv.storage_pools()
        values.update(Capacity=_mib(sum(pool.capacity for pool in storage), round_up=False),
                      Reserved=_mib(sum(pool.allocation for pool in storage)))
    return Pool(kind, naming.PRIMORDIAL_POOL, values)


def _running(hv: Hypervisor) -> list[Domain]:
    return [domain for domain in hv.domains() if domain.is_active]


def _disk_pool(pool: StoragePool) -> Pool:
    source = pool.xml.find("source")
    host = source.find("host") if source is not None else None
    directory = source.find("dir") if source is not None else None
    return Pool(PoolKind.DISK, pool.name, {
        "Caption": pool.name,
        "Capacity": _mib(pool.capacity, round_up=False),
        "Reserved": _mib(pool.allocation),
        "OtherResourceType": pool.pool_type,
        "Path": pool.target_path,
        "Autostart": int(pool.autostart),
        "Host": host.get("name") if host is not None else None,
        "SourceDirectory": directory.get("path") if directory is not None else None,
        "OperationalStatus": [_status(pool.is_active)],
    })


def _network_pool(network: Network) -> Pool:
    bridge = network.bridge
    return Pool(PoolKind.NETWORK, network.name, {
        "Caption": f"Bridge: {bridge}" if bridge else network.name,
        "OperationalStatus": [_status(network.is_active)],
    })


def _status(active: bool) -> OperationalStatus:
    """A concrete pool works while libvirt runs it."""
    return OperationalStatus.OK if active else OperationalStatus.STOPPED


def _mib(size: int, *, round_up: bool = True) -> int:
    return units.from_bytes(size, DISK_UNITS, round_up=round_up)


def pool_instance(ctx: RequestContext, hv: Hypervisor, pool: Pool) -> CIMInstance:
    """The CIM instance of ``pool``."""
    kind = pool.kind
    values = {name: value for name, value in pool.values.items() if value is not None}
    reserved = values.get("Reserved")
    properties = {
        "InstanceID": pool.instance_id,
        "PoolID": pool.instance_id,
        "ElementName": pool.name if not pool.is_primordial else kind.generic_class,
        "Primordial": pool.is_primordial,
        "ResourceType": kind.resource_type,
        "OtherResourceType": _OTHER_RESOURCE_TYPES.get(kind),
        "AllocationUnits": kind.allocation_units,
        "ConsumedResourceUnits": kind.allocation_units,
        "CurrentlyConsumedResource": reserved,
        "MaxConsumableResource": values.get("Capacity"),
        **values,
    }
    return ctx.instance(naming.classname(hv.prefix, kind.generic_class), **properties)


# --- the provider ---------------------------------------------------------------------------


class ResourcePoolProvider(InstanceProvider):
    """``<Prefix>_<Kind>Pool``: the pools of one kind. Reads the host's node info,
    the running guests (memory and processors), storage pools or networks."""

    identifier = ("InstanceID", "InstanceID")

    def __init__(self, hypervisor: Hypervisor, kind: PoolKind) -> None:
        self.hypervisor = hypervisor
        self.kind = kind

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind.generic_class}>"

    def enumerate_instances(
        self, ctx: RequestContext, classname: str, property_list: Sequence[str] | None
    ) -> Iterable[CIMInstance]:
        for pool in all_pools(self.hypervisor, [self.kind]):
            yield pool_instance(ctx, self.hypervisor, pool)

    def get_instance(
        self, ctx: RequestContext, path: CIMInstanceName, property_list: Sequence[str] | None
    ) -> CIMInstance:
        instance_id = pool_at(self.hypervisor, path)
        if instance_id is None:
            raise CIMError(CIM_ERR_NOT_FOUND,
                           f"No such instance ({path.keybindings.get('InstanceID')}) - resource "
                           f"pool type mismatch: no pool {path} on {self.hypervisor.uri}")
        return pool_instance(ctx, self.hypervisor, find_pool(self.hypervisor, instance_id))


# --- profiles -------------------------------------------------------------------------------

#: libvirt-cim's profile InstanceIDs (suffixes ``_d/_n/_p/_m`` tell the pool kinds apart),
#: kept for its clients, with the pool class central to each.
RESOURCE_PROFILES = (
    ("Resource Allocation", "1.1.0", "DSP1041", "CIM:DSP1041-ResourceAllocation-1.1.0c",
     (PoolKind.DISK, PoolKind.NETWORK, PoolKind.PROCESSOR, PoolKind.MEMORY)),
    ("Memory Resource Virtualization", "1.0.0", "DSP1045",
     "CIM:DSP1045-MemoryResourceVirtualization-1.0.0", (PoolKind.MEMORY,)),
    ("Generic Device Resource Virtualization", "1.0.0", "DSP1059",
     "CIM:DSP1059-GenericDeviceResourceVirtualization-1.0.0",
     (PoolKind.DISK, PoolKind.NETWORK, PoolKind.PROCESSOR)),
    ("Processor Resource Virtualization", "1.0.0", "DSP1044",
     "CIM:DSP1044-ProcessorResourceVirtualization-1.0.0", (PoolKind.PROCESSOR,)),
    ("Storage Resource Virtualization", "1.1.0", "DSP1047",
     "CIM:DSP1047-StorageResourceVirtualization-1.1.0", (PoolKind.DISK,)),
    ("Ethernet Port Resource Virtualization", "1.1.0", "DSP1050",
     "CIM:DSP1050-EthernetPortResourceVirtualization-1.1.0", (PoolKind.NETWORK,)),
)
_PROFILE_SUFFIXES = {PoolKind.DISK: "_d", PoolKind.NETWORK: "_n", PoolKind.PROCESSOR: "_p",
                     PoolKind.MEMORY: "_m"}
ALLOCATION_CAPABILITIES_PROFILE_ID = "CIM:DSP1043-AllocationCapabilities-1.0.0a"


def register_profiles(profiles: ProfileRegistry) -> list[Profile]:
    """Declare the resource profiles: DSP1043 Allocation Capabilities, DSP1041 Resource
    Allocation and DSP1059 Generic Device per pool kind, and the resource-type
    profiles DSP1044 Processor, DSP1045 Memory, DSP1047 Storage, DSP1050 Ethernet Port.

    Returns them, for DSP1042 System Virtualization to reference (they are its
    component profiles).
    """
    registered = [profiles.register(
        Organization.DMTF, "Allocation Capabilities", "1.0.0", document="DSP1043",
        central_classes=[(VIRT_NAMESPACE, "Virt_AllocationCapabilities")],
        instance_id=ALLOCATION_CAPABILITIES_PROFILE_ID,
    )]
    for name, version, document, instance_id, kinds in RESOURCE_PROFILES:
        for kind in kinds:
            suffix = _PROFILE_SUFFIXES[kind] if len(kinds) > 1 else ""
            registered.append(profiles.register(
                Organization.DMTF, name, version, document=document,
                central_classes=[(VIRT_NAMESPACE, f"Virt_{kind.generic_class}")],
                instance_id=instance_id + suffix,
            ))
    return registered
