"""Guest settings: ``<Prefix>_VirtualSystemSettingData`` and the resource settings.

DSP1057 (Virtual System) describes a guest's definition by one
VirtualSystemSettingData (VSSD) and one ResourceAllocationSettingData
(RASD) per resource; DSP1041 and the resource profiles (DSP1044 processor,
DSP1045 memory, DSP1047 storage, DSP1050 Ethernet, DSP1059 generic devices)
say what each RASD holds. libvirt-cim's classes and keys are kept:

* VSSD InstanceID ``<Prefix>:<domain>``, one per libvirt domain;
* ``Proc``, ``Mem``, ``Disk``, ``Net``, ``Graphics``, ``Input``, ``Console``
  and ``Controller`` ``ResourceAllocationSettingData``, InstanceID
  ``<domain>/<device id>`` (``proc``, ``mem``, target dev, MAC...);
* and, as DSP1047 1.1 and DSP1050 1.1 model them, a
  ``StorageAllocationSettingData`` (the image behind each disk drive) and an
  ``EthernetPortAllocationSettingData`` (the connection of each interface),
  with the InstanceID of the drive or interface setting they belong to and
  ``Parent`` naming it.

Everything is read from the domain's XML as libvirt reports it now (the live
definition of a running guest, so that auto-assigned ports show), parsed
once per domain; a GetInstance reads that one domain only. Settings are
changed through the VirtualSystemManagementService (:mod:`providers.vsms`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any

from pywbem import CIM_ERR_NOT_FOUND, CIMError, CIMInstance, CIMInstanceName

from providers.computer_system import guests_named
from providers.memo import guests, snapshot_instance
from providers.paths import VSSD, rasd_path, vssd_path
from providers.per_guest import PerGuestProvider
from providers.valuemaps import EmulatedType
from providers.virt import Domain, Hypervisor, naming
from providers.virt.mapping import Kind, disk, resources, system
from virtcim.provider import InstanceProvider, RequestContext

__all__ = [
    "RESOURCE_KINDS",
    "ResourceAllocationSettingDataProvider",
    "LIBVIRT_CIM_KINDS",
    "VirtualSystemSettingDataProvider",
    "guest_of_vssd",
    "guest_settings",
    "rasd_at",
    "rasd_instance",
    "settings_of",
    "vssd_instance",
]

#: Every resource setting class served, one provider each.
RESOURCE_KINDS = tuple(Kind)
#: The kinds libvirt-cim had, without the DSP1047 and DSP1050 1.1 forms of disks and NICs.
LIBVIRT_CIM_KINDS = tuple(kind for kind in Kind if kind not in (Kind.STORAGE, Kind.ETHERNET))
#: The setting each DMTF 1.1 form belongs to (its ``Parent``).
_PARENT_KIND = {Kind.STORAGE: Kind.DISK, Kind.ETHERNET: Kind.NET}
#: The pool kind of a disk's PoolID (``DiskPool/<storage pool>``).
_DISK_POOL = "Disk"


# --- names -----------------------------------------------------------------------------------


def guest_of_vssd(hv: Hypervisor, path: CIMInstanceName) -> str:
    """The guest name a VSSD path of ``hv`` names; ``CIM_ERR_NOT_FOUND`` if it names none.

    Any VirtualSystemSettingData class of this hypervisor's prefix (or a
    ``CIM_``/``Virt_`` class) is accepted: only the InstanceID matters.
    """
    instance_id = path.keybindings.get("InstanceID")
    prefix, _, generic = path.classname.partition("_")
    try:
        id_prefix, name = naming.parse_vssd_instance_id(str(instance_id))
    except ValueError as error:
        raise CIMError(CIM_ERR_NOT_FOUND, f"{path} names no guest settings: {error}") from None
    if generic.lower() != VSSD.lower() or prefix not in (hv.prefix, "CIM", "Virt"):
        raise CIMError(CIM_ERR_NOT_FOUND, f"{path} is not a {hv.prefix}_{VSSD}")
    if id_prefix != hv.prefix:
        raise CIMError(CIM_ERR_NOT_FOUND, f"{path} names no guest on {hv.uri}")
    return name


def rasd_at(hv: Hypervisor, instance_id: object) -> tuple[str, str]:
    """``(guest name, device id)`` of a RASD InstanceID; ``CIM_ERR_NOT_FOUND`` if malformed.

    A setting not found is named by its InstanceID, in libvirt-cim's words
    (``No such instance (web1/vdz)``), which its clients compare.
    """
    try:
        return naming.parse_rasd_instance_id(str(instance_id))
    except ValueError as error:
        raise CIMError(CIM_ERR_NOT_FOUND,
                       f"No such instance ({instance_id}): no resource setting on {hv.uri}: "
                       f"{error}") from None  # fmt: skip


# --- instances -------------------------------------------------------------------------------


def vssd_instance(ctx: RequestContext, hv: Hypervisor, domain: Domain) -> CIMInstance:
    """The VSSD of ``domain`` (asks libvirt for its autostart flag)."""
    classname = naming.classname(hv.prefix, VSSD)
    values = system.system_settings(domain.xml, hv.prefix, _autostart(domain))
    return ctx.instance(classname, **values)


def _autostart(domain: Domain) -> bool | None:
    """A transient guest has no autostart flag."""
    return domain.autostart() if domain.is_persistent() else None


def rasd_instance(
    ctx: RequestContext, hv: Hypervisor, domain: Domain, setting: resources.Setting
) -> CIMInstance:
    """The instance of one resource setting of ``domain``, made once per domain snapshot.

    A setting is read from the snapshot's XML (a network's PoolID names the
    network the XML names, whether or not it exists); a disk's size and
    storage pool are asked of libvirt when the instance is made, so they
    are as of the guest's last change.
    """
    classname = naming.classname(hv.prefix, setting.kind.value)
    return snapshot_instance(ctx, domain, classname,
                             lambda: _rasd_values(ctx, hv, domain, setting), setting.device_id)


def _rasd_memo(
    ctx: RequestContext, hv: Hypervisor, kinds: Sequence[Kind]
) -> tuple[Hashable, Callable[[Domain], list[CIMInstance]]]:
    """The memo key and the maker of a domain's instances of its settings of ``kinds``.

    ``domain.memo(key, make, domain)`` makes the list once per snapshot,
    of the instances :func:`rasd_instance` keeps. An enumeration makes key
    and maker once for all guests, so that an unchanged guest costs one
    dictionary lookup.
    """
    def make(domain: Domain) -> list[CIMInstance]:
        return [rasd_instance(ctx, hv, domain, setting) for setting in settings_of(domain, kinds)]

    return ("rasds", ctx.repository, ctx.namespace, *(kind.value for kind in kinds)), make


def guest_settings(ctx: RequestContext, hv: Hypervisor, domain: Domain) -> list[CIMInstance]:
    """The instances of ``domain``'s resource settings of libvirt-cim's classes, in order."""
    key, make = _rasd_memo(ctx, hv, LIBVIRT_CIM_KINDS)
    return domain.memo(key, make, domain)


def settings_of(domain: Domain, kinds: Iterable[Kind] | None = None) -> list[resources.Setting]:
    """The resource settings of ``domain`` (of ``kinds``; default all), in order.

    Its XML is read for all of them once per snapshot; the list is shared,
    never to be changed.
    """
    every = domain.memo("settings", lambda: resources.settings(domain.xml))
    if kinds is None:
        return every
    wanted = set(kinds)
    return [setting for setting in every if setting.kind in wanted]


def _rasd_values(
    ctx: RequestContext, hv: Hypervisor, domain: Domain, setting: resources.Setting
) -> dict[str, Any]:
    values = dict(setting.values)
    if setting.kind is Kind.DISK and values.get("EmulatedType") != EmulatedType.FILESYSTEM:
        values.update(_disk_size(domain, values))  # a mounted directory has no size
    parent = _PARENT_KIND.get(setting.kind)
    if parent is not None:
        values["Parent"] = rasd_path(ctx, hv, parent, domain.name, setting.device_id).to_wbem_uri()
    return values


def _disk_size(domain: Domain, values: dict[str, Any]) -> dict[str, Any]:
    """VirtualQuantity (bytes), AllocationUnits and the PoolID of a disk, as libvirt-cim.

    An empty drive (a CD-ROM without medium) holds 0 bytes; an image libvirt
    cannot read (missing, say) has no known size, so VirtualQuantity is left
    out rather than reported as 0.
    """
    size: dict[str, Any] = {"AllocationUnits": disk.DISK_UNITS, "VirtualQuantityUnits": "byte"}
    source = values.get("Address")
    if not source:
        size["VirtualQuantity"] = 0
        return size
    found = domain.disk_size(values.get("VirtualDevice") or "", source)
    if found is not None:
        capacity, pool = found
        size["VirtualQuantity"] = capacity
        if pool is not None:
            size["PoolID"] = naming.pool_instance_id(_DISK_POOL, pool)
    return size


# --- providers -------------------------------------------------------------------------------


class VirtualSystemSettingDataProvider(PerGuestProvider):
    """``<Prefix>_VirtualSystemSettingData`` (DSP1057): one per libvirt domain."""

    lookup_properties = frozenset({"instanceid"})

    def instances_of(
        self, ctx: RequestContext, classname: str, domain: Domain
    ) -> Iterable[CIMInstance]:
        yield vssd_instance(ctx, self.hypervisor, domain)

    def enumerate_where(
        self, ctx: RequestContext, classnames: Sequence[str],
        property_list: Sequence[str] | None, values: Mapping[str, frozenset[Any]],
    ) -> Iterable[CIMInstance]:
        """The settings of the guests a query names (``InstanceID = 'KVM:web1'``), one
        lookup each."""
        names = [name for name in map(self._guest_named, values["instanceid"]) if name]
        return self.instances_of_each(ctx, classnames, guests_named(self.hypervisor, names))

    def _guest_named(self, instance_id: object) -> str | None:
        """The guest a VSSD InstanceID of this hypervisor names, else ``None``."""
        try:
            prefix, name = naming.parse_vssd_instance_id(str(instance_id))
        except ValueError:
            return None
        return name if prefix == self.hypervisor.prefix else None

    def enumerate_instance_names(
        self, ctx: RequestContext, classname: str
    ) -> Iterable[CIMInstanceName]:
        for domain in guests(ctx, self.hypervisor):
            yield vssd_path(ctx, self.hypervisor, domain.name)

    def get_instance(
        self, ctx: RequestContext, path: CIMInstanceName, property_list: Sequence[str] | None
    ) -> CIMInstance:
        name = guest_of_vssd(self.hypervisor, path)
        return vssd_instance(ctx, self.hypervisor, self.hypervisor.domain(name))


class ResourceAllocationSettingDataProvider(InstanceProvider):
    """Every resource setting class (``<Prefix>_DiskResourceAllocationSettingData``...):
    one instance per resource of every libvirt domain, of the class of its kind.

    A deep enumeration of all of them walks the guests once (so, unlike the
    :class:`~providers.per_guest.PerGuestProvider` classes, it answers for
    several classes at a time).
    """

    identifier = ("InstanceID", "InstanceID")

    def __init__(self, hypervisor: Hypervisor) -> None:
        self.hypervisor = hypervisor
        self._kinds = {naming.classname(hypervisor.prefix, kind.value).lower(): kind
                       for kind in RESOURCE_KINDS}

    def enumerate_instances(
        self, ctx: RequestContext, classname: str, property_list: Sequence[str] | None
    ) -> Iterable[CIMInstance]:
        return self.enumerate_instances_of(ctx, [classname], property_list)

    def enumerate_instances_of(
        self, ctx: RequestContext, classnames: Sequence[str], property_list: Sequence[str] | None
    ) -> Iterable[CIMInstance]:
        key, make = _rasd_memo(ctx, self.hypervisor, [self._kind(name) for name in classnames])
        for domain in guests(ctx, self.hypervisor):
            yield from domain.memo(key, make, domain)

    def get_instance(
        self, ctx: RequestContext, path: CIMInstanceName, property_list: Sequence[str] | None
    ) -> CIMInstance:
        kind = self._kind(path.classname)
        instance_id = path.keybindings.get("InstanceID")
        name, ident = rasd_at(self.hypervisor, instance_id)
        try:
            domain = self.hypervisor.domain(name)
        except CIMError as error:
            if error.status_code != CIM_ERR_NOT_FOUND:
                raise
            raise CIMError(CIM_ERR_NOT_FOUND, f"No such instance ({instance_id}): "
                                              f"{error.status_description}") from None
        setting = resources.find_setting(domain.xml, kind, ident)
        if setting is None:
            raise CIMError(
                CIM_ERR_NOT_FOUND,
                f"No such instance ({instance_id}): guest {name!r} on {self.hypervisor.uri} "
                f"has no {kind.value} {ident!r}",
            )
        return rasd_instance(ctx, self.hypervisor, domain, setting)

    def _kind(self, classname: str) -> Kind:
        return self._kinds[classname.lower()]
