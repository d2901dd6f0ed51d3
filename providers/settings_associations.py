"""Links between guests, their devices and their settings (DSP1057, DSP1041).

* ``VirtualSystemSettingDataComponent``: a guest's VSSD (GroupComponent) and
  each of its resource settings of libvirt-cim's classes (PartComponent);
  ``AllocationSettingDataComponent``, the other subclass of
  ``CIM_VirtualSystemSettingDataComponent``, links it to the DSP1047/DSP1050
  1.1 forms of its disks and NICs. libvirt-cim's clients count the former's
  links against ``<Prefix>_ResourceAllocationSettingData``, which the 1.1
  forms are no subclasses of.
* ``SettingsDefineState``: the guest (ComputerSystem) and its VSSD; each
  logical device and its resource setting (device ``<dom>/<id>`` with RASD
  ``<dom>/<id>``; every vCPU ``Processor`` with the one ``<dom>/proc``).
* ``VirtualSystemElementSettingData``: as DSP1057 asks, the guest and its
  VSSD, with IsDefault and IsNext "yes" (libvirt has one definition, the one
  the guest starts from) and IsCurrent "yes" while the guest runs;
  ``ElementSettingData``, as libvirt-cim had it, each VSSD and each RASD with
  itself, so that its clients keep finding exactly that one link. Both are
  ``CIM_ElementSettingData``.

Each link is found from its source alone: one guest's XML for a guest,
setting or device, never a scan of every guest.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Sequence

from pywbem import CIMInstance, CIMInstanceName

from providers.computer_system import guest_name_at
from providers.devices import DEVICE_PROVIDERS, device_location, device_provider_for
from providers.lookup import or_none
from providers.memo import guests
from providers.paths import COMPUTER_SYSTEM, VSSD, device_path, guest_path, rasd_path, vssd_path
from providers.settings import LIBVIRT_CIM_KINDS, guest_of_vssd, rasd_at, settings_of
from providers.valuemaps import Ternary
from providers.virt import Domain, Hypervisor, naming
from providers.virt.mapping import Kind
from virtcim.provider import AssociationProvider, RequestContext, refers_to

__all__ = [
    "COMPONENT_KINDS",
    "GUEST_SETTING_DATA",
    "ElementSettingDataProvider",
    "SettingsDefineStateProvider",
    "VirtualSystemSettingDataComponentProvider",
]

#: The resource setting kind describing each device class.
_KIND_OF_DEVICE = {
    "Processor": Kind.PROC,
    "Memory": Kind.MEM,
    "LogicalDisk": Kind.DISK,
    "NetworkPort": Kind.NET,
    "DisplayController": Kind.GRAPHICS,
    "ConsoleDisplayController": Kind.CONSOLE,
    "PointingDevice": Kind.INPUT,
    "Controller": Kind.CONTROLLER,
}
_DEVICE_OF_KIND = {kind: generic for generic, kind in _KIND_OF_DEVICE.items()}


class _Source:
    """What a source path names on one hypervisor: a guest, its VSSD, a RASD or a device."""

    def __init__(self, hv: Hypervisor, path: CIMInstanceName) -> None:
        self.guest: str | None = None
        self.vssd: str | None = None
        self.rasd: tuple[Kind, str, str] | None = None
        self.device: tuple[str, str, str] | None = None
        prefix, _, generic = path.classname.partition("_")
        if prefix.lower() != hv.prefix.lower():
            return
        if generic.lower() == COMPUTER_SYSTEM.lower():
            self.guest = guest_name_at(hv, path)
        elif generic.lower() == VSSD.lower():
            self.vssd = or_none(lambda: guest_of_vssd(hv, path))
        elif (kind := _kind_named(generic)) is not None:
            located = or_none(lambda: rasd_at(hv, path.keybindings.get("InstanceID")))
            self.rasd = (kind, *located) if located else None
        elif device_provider_for(hv, path.classname) is not None:
            location = device_location(hv, path)
            self.device = (generic, *location) if location else None

    @property
    def domain_name(self) -> str | None:
        for name in (self.guest, self.vssd):
            if name is not None:
                return name
        if self.rasd is not None:
            return self.rasd[1]
        return self.device[1] if self.device is not None else None


def _kind_named(generic: str) -> Kind | None:
    return next((kind for kind in Kind if kind.value.lower() == generic.lower()), None)


class _SettingsAssociation(AssociationProvider, abc.ABC):
    """Shared plumbing: every link of one guest, and the guest a source belongs to."""

    def __init__(self, hypervisor: Hypervisor) -> None:
        self.hypervisor = hypervisor

    @abc.abstractmethod
    def links(self, ctx: RequestContext, classname: str, domain: Domain) -> Iterator[CIMInstance]:
        """Every link of association ``classname`` that belongs to ``domain``."""

    def enumerate_instances(
        self, ctx: RequestContext, classname: str, property_list: Sequence[str] | None
    ) -> Iterable[CIMInstance]:
        for domain in guests(ctx, self.hypervisor):
            yield from self.links(ctx, classname, domain)

    def references(
        self, ctx: RequestContext, classname: str, source: CIMInstanceName, role: str | None
    ) -> Iterable[CIMInstance]:
        name = _Source(self.hypervisor, source).domain_name
        if name is None:
            return
        domain = or_none(lambda: self.hypervisor.domain(name))
        if domain is None:
            return
        for link in self.links(ctx, classname, domain):
            if refers_to(link, source, role):
                yield link


#: The resource setting kinds each component association links to the VSSD.
COMPONENT_KINDS = {
    "VirtualSystemSettingDataComponent": LIBVIRT_CIM_KINDS,
    "AllocationSettingDataComponent": (Kind.STORAGE, Kind.ETHERNET),
}

#: The association linking a guest to its VSSD (DSP1057), beside libvirt-cim's self-links.
GUEST_SETTING_DATA = "VirtualSystemElementSettingData"

_COMPONENT_KINDS = {generic.lower(): kinds for generic, kinds in COMPONENT_KINDS.items()}


class VirtualSystemSettingDataComponentProvider(_SettingsAssociation):
    """``<Prefix>_VirtualSystemSettingDataComponent`` and ``_AllocationSettingDataComponent``.

    A VSSD and each of its settings of the kinds in :data:`COMPONENT_KINDS`.
    """

    def links(self, ctx: RequestContext, classname: str, domain: Domain) -> Iterator[CIMInstance]:
        hv = self.hypervisor
        group = vssd_path(ctx, hv, domain.name)
        kinds = _COMPONENT_KINDS[naming.split_classname(classname)[1].lower()]
        for setting in settings_of(domain, kinds):
            part = rasd_path(ctx, hv, setting.kind, domain.name, setting.device_id)
            yield ctx.instance(classname, GroupComponent=group, PartComponent=part)


class SettingsDefineStateProvider(_SettingsAssociation):
    """``<Prefix>_SettingsDefineState``: guest and VSSD, each device and its RASD."""

    def links(self, ctx: RequestContext, classname: str, domain: Domain) -> Iterator[CIMInstance]:
        hv = self.hypervisor
        yield ctx.instance(
            classname,
            ManagedElement=guest_path(ctx, hv, domain.name),
            SettingData=vssd_path(ctx, hv, domain.name),
        )
        settings = {
            (setting.kind, setting.device_id)
            for setting in settings_of(domain, _DEVICE_OF_KIND)
        }
        for family in DEVICE_PROVIDERS:
            kind = _KIND_OF_DEVICE[family.generic_class]
            for device in family.devices(domain):
                ident = _setting_id(kind, device.ident)
                if (kind, ident) in settings:
                    yield ctx.instance(
                        classname,
                        ManagedElement=device_path(
                            ctx, hv, family.generic_class, domain.name, device.ident
                        ),
                        SettingData=rasd_path(ctx, hv, kind, domain.name, ident),
                    )


def _setting_id(kind: Kind, device_ident: str) -> str:
    """The RASD device id of a device: its own, but one ``proc`` for every vCPU."""
    return naming.PROCESSOR_DEVICE_ID if kind is Kind.PROC else device_ident


class ElementSettingDataProvider(_SettingsAssociation):
    """``<Prefix>_ElementSettingData``: each setting and itself.

    ``<Prefix>_VirtualSystemElementSettingData``: the guest and its VSSD (DSP1057).
    """

    def links(self, ctx: RequestContext, classname: str, domain: Domain) -> Iterator[CIMInstance]:
        hv = self.hypervisor
        vssd = vssd_path(ctx, hv, domain.name)
        if naming.split_classname(classname)[1].lower() == GUEST_SETTING_DATA.lower():
            yield ctx.instance(
                classname,
                ManagedElement=guest_path(ctx, hv, domain.name),
                SettingData=vssd,
                IsDefault=Ternary.YES,
                IsCurrent=Ternary.YES if domain.is_active else Ternary.NO,
                IsNext=Ternary.YES,
            )
            return
        yield self._self_link(ctx, classname, vssd)
        for setting in settings_of(domain):
            path = rasd_path(ctx, hv, setting.kind, domain.name, setting.device_id)
            yield self._self_link(ctx, classname, path)

    @staticmethod
    def _self_link(ctx: RequestContext, classname: str, path: CIMInstanceName) -> CIMInstance:
        return ctx.instance(
            classname,
            ManagedElement=path,
            SettingData=path,
            IsDefault=Ternary.YES,
            IsCurrent=Ternary.YES,
            IsNext=Ternary.YES,
        )
