"""Which pool each resource comes from (DSP1041 Resource Allocation).

* HostedResourcePool: the host (GroupComponent) and each of its pools
  (PartComponent), a link source of ``providers.ASSOCIATION_LINKS``;
* ElementAllocatedFromPool: a pool (Antecedent) and each guest device
  allocated from it (Dependent), and a primordial pool and each concrete
  pool carved from it (a storage pool from ``DiskPool/0``, a network from
  ``NetworkPool/0``);
* ResourceAllocationFromPool: a pool (Antecedent) and each guest resource
  setting allocated from it (Dependent).

Where a resource comes from (:class:`Membership`): a disk whose source is a
volume of a storage pool (``<source pool=... volume=...>``, a volume's path,
or a file under the pool's target path) comes from that pool, any other disk
from ``DiskPool/0``; an interface on a libvirt network from its
``NetworkPool`` (none when that network does not exist), any other from
``NetworkPool/0``; processors, memory,
graphics, input devices and controllers from the primordial pool of their
kind. Consoles come from no pool.

A traversal from a device or setting reads one guest; from a pool, each
guest once, with the storage pools and networks listed once per request.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Protocol

from lxml import etree
from pywbem import CIM_ERR_FAILED, CIMError, CIMInstance, CIMInstanceName

from providers.devices import DEVICE_PROVIDERS, device_location, device_provider_for
from providers.links import Link, LinkSetProvider
from providers.lookup import existing_domain, or_none
from providers.memo import guests
from providers.paths import HOST_SYSTEM, device_path, host_path, is_host_path, pool_path, rasd_path
from providers.pools import POOL_CLASSES, PoolKind, all_pools, find_pool, pool_at, primordial
from providers.settings import rasd_at, settings_of
from providers.virt import Domain, Hypervisor, naming
from providers.virt.mapping import Kind, is_device
from virtcim.provider import RequestContext, refers_to, same_keys

__all__ = [
    "HOSTED_POOLS",
    "POOL_DEVICES",
    "POOL_HIERARCHY",
    "POOL_SETTINGS",
    "Membership",
    "PoolLinkProvider",
    "PoolLinks",
]

#: Device classes (generic names) and the kind of pool they come from.
DEVICE_POOLS: Mapping[str, PoolKind] = {
    "Processor": PoolKind.PROCESSOR,
    "Memory": PoolKind.MEMORY,
    "LogicalDisk": PoolKind.DISK,
    "NetworkPort": PoolKind.NETWORK,
    "DisplayController": PoolKind.GRAPHICS,
    "PointingDevice": PoolKind.INPUT,
    "Controller": PoolKind.CONTROLLER,
}
#: Resource setting kinds and the kind of pool they come from.
SETTING_POOLS: Mapping[Kind, PoolKind] = {
    Kind.PROC: PoolKind.PROCESSOR,
    Kind.MEM: PoolKind.MEMORY,
    Kind.DISK: PoolKind.DISK,
    Kind.STORAGE: PoolKind.DISK,
    Kind.NET: PoolKind.NETWORK,
    Kind.ETHERNET: PoolKind.NETWORK,
    Kind.GRAPHICS: PoolKind.GRAPHICS,
    Kind.INPUT: PoolKind.INPUT,
    Kind.CONTROLLER: PoolKind.CONTROLLER,
}
_DISK_SOURCES = ("file", "dev", "dir")


class Membership:
    """The pool each resource of a guest comes from, for one request.

    Storage pools (and their volumes) and networks are listed on first need.
    """

    def __init__(self, hv: Hypervisor) -> None:
        self.hypervisor = hv
        self._volumes: dict[str, str] | None = None
        self._pools: set[str] = set()
        self._targets: list[tuple[str, str]] = []
        self._networks: set[str] | None = None

    def pool_of(self, kind: PoolKind, element: etree._Element | None) -> str | None:
        """The InstanceID of the pool a resource of ``kind`` (its XML ``element``) comes from.

        ``None`` for an interface on a virtual network that does not exist
        (libvirt defines such a guest and refuses only to start it): it comes
        from no pool, not from the primordial one.
        """
        if kind is PoolKind.DISK and element is not None:
            return self._disk_pool(element)
        if kind is PoolKind.NETWORK and element is not None:
            return self._network_pool(element)
        return primordial(kind)

    def _disk_pool(self, disk: etree._Element) -> str:
        source = disk.find("source")
        if source is None:
            return primordial(PoolKind.DISK)
        volumes = self._storage()
        named = source.get("pool")
        if named is not None and named in self._pools:
            return naming.pool_instance_id(PoolKind.DISK.value, named)
        path = next((source.get(name) for name in _DISK_SOURCES if source.get(name)), None)
        owner = volumes.get(path) if path else None
        if owner is None and path:
            folder = os.path.dirname(os.path.normpath(path))
            owner = next((name for target, name in self._targets if target == folder), None)
        return naming.pool_instance_id(PoolKind.DISK.value, owner or naming.PRIMORDIAL_POOL)

    def _network_pool(self, interface: etree._Element) -> str | None:
        if interface.get("type") != "network":
            return primordial(PoolKind.NETWORK)
        network = interface.find("source")
        name = network.get("network") if network is not None else None
        if name not in self._network_names():
            return None
        return naming.pool_instance_id(PoolKind.NETWORK.value, str(name))

    def _storage(self) -> dict[str, str]:
        """Volume path -> pool name, for every active pool (and the pools' names and targets)."""
        if self._volumes is None:
            volumes: dict[str, str] = {}
            for pool in self.hypervisor.storage_pools():
                self._pools.add(pool.name)
                if pool.target_path:
                    self._targets.append((os.path.normpath(pool.target_path), pool.name))
                if pool.is_active:
                    volumes.update((path, pool.name) for path in self.hypervisor.volume_paths(pool))
            self._volumes = volumes
        return self._volumes

    def _network_names(self) -> set[str]:
        if self._networks is None:
            self._networks = {network.name for network in self.hypervisor.networks()}
        return self._networks


def guests_using(hv: Hypervisor, kind: PoolKind, instance_id: str) -> list[str]:
    """The guests with a disk (or NIC, for a network pool) allocated from the pool."""
    membership = Membership(hv)
    device = "disk" if kind is PoolKind.DISK else "interface"
    return [domain.name for domain in hv.domains()
            if any(membership.pool_of(kind, element) == instance_id
                   for element in domain.xml.root.iterfind(f"devices/{device}"))]


# --- the kinds of links ------------------------------------------------------------------


class PoolLinks(Protocol):
    """One kind of link of a pool association."""

    def all_links(self, ctx: RequestContext, hv: Hypervisor) -> Iterable[Link]:
        """Every link of this kind on ``hv``."""
        ...

    def links_at(self, ctx: RequestContext, hv: Hypervisor, source: CIMInstanceName
                 ) -> Iterable[Link]:
        """The links with ``source`` at any of their ends (none if it names nothing)."""
        ...


class PoolLinkProvider(LinkSetProvider[PoolLinks]):
    """A pool association on one hypervisor: the links of its ``sources``.

    A pool can stand at both ends of ElementAllocatedFromPool, so each source
    finds the links at an object whatever its role, and the role asked for
    is checked here.
    """

    def references(
        self, ctx: RequestContext, classname: str, source: CIMInstanceName, role: str | None
    ) -> Iterator[CIMInstance]:
        for links in self.sources:
            for link in links.links_at(ctx, self.hypervisor, source):
                instance = ctx.instance(classname, **link)
                if refers_to(instance, source, role):
                    yield instance


class HostedPools:
    """HostedResourcePool: GroupComponent the host, PartComponent each pool
    (a link source of ``providers.ASSOCIATION_LINKS``)."""

    ends = {"GroupComponent": frozenset({HOST_SYSTEM}), "PartComponent": POOL_CLASSES}

    def all_links(self, ctx: RequestContext, hv: Hypervisor) -> Iterable[Link]:
        host = host_path(ctx, hv)
        return [{"GroupComponent": host, "PartComponent": pool_path(ctx, hv, pool.instance_id)}
                for pool in all_pools(hv)]

    def links_at(
        self, ctx: RequestContext, hv: Hypervisor, role: str, source: CIMInstanceName
    ) -> Iterable[Link]:
        if role == "GroupComponent":
            return self.all_links(ctx, hv) if is_host_path(hv, source) else []
        pool = _existing_pool(hv, source)
        if pool is None:
            return []
        return [{"GroupComponent": host_path(ctx, hv), "PartComponent": pool_path(ctx, hv, pool)}]


class PoolHierarchy:
    """ElementAllocatedFromPool between a primordial pool (Antecedent) and each
    concrete pool carved from it (Dependent)."""

    def all_links(self, ctx: RequestContext, hv: Hypervisor) -> Iterable[Link]:
        return [self._link(ctx, hv, pool.instance_id)
                for pool in all_pools(hv, [PoolKind.DISK, PoolKind.NETWORK])
                if not pool.is_primordial]

    def links_at(self, ctx: RequestContext, hv: Hypervisor, source: CIMInstanceName
                 ) -> Iterable[Link]:
        instance_id = _existing_pool(hv, source)
        if instance_id is None:
            return []
        kind_name, name = naming.parse_pool_instance_id(instance_id)
        if name != naming.PRIMORDIAL_POOL:
            return [self._link(ctx, hv, instance_id)]
        return [self._link(ctx, hv, pool.instance_id)
                for pool in all_pools(hv, [PoolKind(kind_name)]) if not pool.is_primordial]

    @staticmethod
    def _link(ctx: RequestContext, hv: Hypervisor, child: str) -> Link:
        parent = primordial(PoolKind(naming.parse_pool_instance_id(child)[0]))
        return {"Antecedent": pool_path(ctx, hv, parent), "Dependent": pool_path(ctx, hv, child)}


class PoolDevices:
    """ElementAllocatedFromPool between a pool (Antecedent) and each guest device
    allocated from it (Dependent)."""

    def all_links(self, ctx: RequestContext, hv: Hypervisor) -> Iterator[Link]:
        membership = Membership(hv)
        for domain in guests(ctx, hv):
            yield from _pooled(ctx, hv, self._links(ctx, hv, membership, domain, DEVICE_POOLS))

    def links_at(self, ctx: RequestContext, hv: Hypervisor, source: CIMInstanceName
                 ) -> Iterable[Link]:
        instance_id = pool_at(hv, source)
        if instance_id is not None:
            return _links_of_pool(instance_id, self.all_links(ctx, hv))
        family = device_provider_for(hv, source.classname)
        location = device_location(hv, source)
        if family is None or location is None or family.generic_class not in DEVICE_POOLS:
            return []
        domain = existing_domain(hv, location[0])
        if domain is None:
            return []
        generic = {family.generic_class: DEVICE_POOLS[family.generic_class]}
        return _links_from(ctx, hv, source,
                           self._links(ctx, hv, Membership(hv), domain, generic))

    @staticmethod
    def _links(ctx: RequestContext, hv: Hypervisor, membership: Membership, domain: Domain,
               families: Mapping[str, PoolKind]) -> Iterator[_Allocation]:
        for family in DEVICE_PROVIDERS:
            kind = families.get(family.generic_class)
            if kind is None:
                continue
            for device in family.devices(domain):
                pool = membership.pool_of(kind, domain.xml.find_device(device.ident))
                yield pool, device_path(ctx, hv, family.generic_class, domain.name,
                                        device.ident)


class PoolSettings:
    """ResourceAllocationFromPool between a pool (Antecedent) and each guest
    resource setting allocated from it (Dependent)."""

    def all_links(self, ctx: RequestContext, hv: Hypervisor) -> Iterator[Link]:
        membership = Membership(hv)
        for domain in guests(ctx, hv):
            yield from _pooled(ctx, hv, self._links(ctx, hv, membership, domain,
                                                        list(SETTING_POOLS)))

    def links_at(self, ctx: RequestContext, hv: Hypervisor, source: CIMInstanceName
                 ) -> Iterable[Link]:
        instance_id = pool_at(hv, source)
        if instance_id is not None:
            return _links_of_pool(instance_id, self.all_links(ctx, hv))
        kind = _setting_kind(hv, source.classname)
        if kind is None:
            return []
        try:
            name, ident = rasd_at(hv, source.keybindings.get("InstanceID"))
        except CIMError:
            return []
        domain = existing_domain(hv, name)
        if domain is None:
            return []
        return _links_from(ctx, hv, source, self._links(ctx, hv, Membership(hv), domain, [kind]))

    @staticmethod
    def _links(ctx: RequestContext, hv: Hypervisor, membership: Membership, domain: Domain,
               kinds: Sequence[Kind]) -> Iterator[_Allocation]:
        for setting in settings_of(domain, kinds):
            element = domain.xml.find_device(setting.device_id) if is_device(setting.kind) else None
            pool = membership.pool_of(SETTING_POOLS[setting.kind], element)
            yield pool, rasd_path(ctx, hv, setting.kind, domain.name, setting.device_id)


#: A pool's InstanceID (``None``: no pool) and a device or setting allocated from it.
_Allocation = tuple[str | None, CIMInstanceName]


def _pooled(ctx: RequestContext, hv: Hypervisor,
            allocations: Iterable[_Allocation]) -> Iterator[Link]:
    """The links of the allocations that come from a pool."""
    for pool, dependent in allocations:
        if pool is not None:
            yield {"Antecedent": pool_path(ctx, hv, pool), "Dependent": dependent}


def _links_from(ctx: RequestContext, hv: Hypervisor, source: CIMInstanceName,
                allocations: Iterable[_Allocation]) -> list[Link]:
    """The link of ``source`` among the allocations.

    A device or setting from no pool (an interface on a network that does not
    exist) fails as libvirt-cim failed it, in the words its clients compare.
    """
    links: list[Link] = []
    for pool, dependent in allocations:
        if not same_keys(dependent, source):
            continue
        if pool is None:
            identifier = dependent.keybindings.get("InstanceID") or dependent.keybindings.get(
                "DeviceID")
            raise CIMError(CIM_ERR_FAILED, f"Unable to determine pool of `{identifier}': "
                                           f"its virtual network does not exist on {hv.uri}")
        links.append({"Antecedent": pool_path(ctx, hv, pool), "Dependent": dependent})
    return links


def _setting_kind(hv: Hypervisor, classname: str) -> Kind | None:
    """The setting kind of ``classname`` if it is one of ``hv``'s pooled setting classes."""
    generic = (naming.generic_name(hv.prefix, classname) or "").lower()
    return next((kind for kind in SETTING_POOLS if kind.value.lower() == generic), None)


def _links_of_pool(instance_id: str, links: Iterable[Link]) -> Iterator[Link]:
    for link in links:
        if link["Antecedent"].keybindings["InstanceID"] == instance_id:
            yield link


def _existing_pool(hv: Hypervisor, path: CIMInstanceName) -> str | None:
    """The InstanceID of the pool ``path`` names, if that pool exists."""
    instance_id = pool_at(hv, path)
    if instance_id is None:
        return None
    return instance_id if or_none(lambda: find_pool(hv, instance_id)) is not None else None


HOSTED_POOLS = HostedPools()
POOL_HIERARCHY = PoolHierarchy()
POOL_DEVICES = PoolDevices()
POOL_SETTINGS = PoolSettings()
