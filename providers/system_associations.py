"""Associations between host, guests, devices, services and capabilities (DSP1042, DSP1057).

Each association class is served by one :class:`~providers.links.LinkProvider`
per hypervisor, made of the link sources of every family (see
:mod:`providers.links`). The sources here:

* :data:`HOSTED_GUESTS` for HostedDependency: Antecedent the host, Dependent
  each guest. This is DMTF's direction (the dependent is hosted on the
  antecedent); libvirt-cim had the roles the other way round.
* :data:`GUEST_DEVICES` for SystemDevice: GroupComponent the guest,
  PartComponent each of its devices.
* :data:`GUEST_CAPABILITIES` for ElementCapabilities: each guest and its
  EnabledLogicalElementCapabilities.

Other modules contribute links to the same associations (host and service
to their capabilities, host to its services) with
:class:`~providers.links.SingletonLink`; they are listed in
``providers.ASSOCIATION_LINKS``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pywbem import CIMInstanceName

from providers.computer_system import guest_name_at
from providers.devices import DEVICE_PROVIDERS, device_location, device_provider_for
from providers.links import Link
from providers.lookup import existing_domain
from providers.memo import guests
from providers.paths import (
    COMPUTER_SYSTEM,
    ELEMENT_CAPABILITIES,
    HOST_SYSTEM,
    device_path,
    guest_capabilities_path,
    guest_path,
    host_path,
    is_host_path,
)
from providers.virt import Domain, Hypervisor
from virtcim.provider import RequestContext

__all__ = ["GUEST_CAPABILITIES", "GUEST_DEVICES", "HOSTED_GUESTS"]





















class HostedGuests:
    """HostedDependency: Antecedent the host, Dependent each guest."""

    ends = {"Antecedent": frozenset({HOST_SYSTEM}), "Dependent": frozenset({COMPUTER_SYSTEM})}

    def all_links(self, ctx: RequestContext, hv: Hypervisor) -> Iterable[Link]:
        host = host_path(ctx, hv)
        return [self._link(ctx, hv, host, domain.name) for domain in guests(ctx, hv)]

    def links_at(
        self, ctx: RequestContext, hv: Hypervisor, role: str, source: CIMInstanceName
    ) -> Iterable[Link]:
        if role == "Antecedent":
            return self.all_links(ctx, hv) if is_host_path(hv, source) else []
        domain = existing_domain(hv, guest_name_at(hv, source))
        return [self._link(ctx, hv, host_path(ctx, hv), domain.name)] if domain else []

    @staticmethod
    def _link(ctx: RequestContext, hv: Hypervisor, host: CIMInstanceName, name: str) -> Link:
        return {"Antecedent": host, "Dependent": guest_path(ctx, hv, name)}


class GuestDevices:
    """SystemDevice: GroupComponent a guest, PartComponent each of its devices."""

    ends = {
        "GroupComponent": frozenset({COMPUTER_SYSTEM}),
        "PartComponent": frozenset(provider.generic_class for provider in DEVICE_PROVIDERS),
    }

    def all_links(self, ctx: RequestContext, hv: Hypervisor) -> Iterator[Link]:
        for domain in guests(ctx, hv):
            yield from self._links(ctx, hv, domain)

    def links_at(
        self, ctx: RequestContext, hv: Hypervisor, role: str, source: CIMInstanceName
    ) -> Iterable[Link]:
        if role == "GroupComponent":
            domain = existing_domain(hv, guest_name_at(hv, source))
            return self._links(ctx, hv, domain) if domain else []
        family = device_provider_for(hv, source.classname)
        location = device_location(hv, source)
        if family is None or location is None:
            return []
        domain = existing_domain(hv, location[0])
        if domain is None or all(device.ident != location[1] for device in family.devices(domain)):
            return []
        return [{"GroupComponent": guest_path(ctx, hv, domain.name),
                 "PartComponent": device_path(ctx, hv, family.generic_class, domain.name,
                                              location[1])}]

    @staticmethod
    def _links(ctx: RequestContext, hv: Hypervisor, domain: Domain) -> Iterator[Link]:
        guest = guest_path(ctx, hv, domain.name)
        for family in DEVICE_PROVIDERS:
            for device in family.devices(domain):
                yield {"GroupComponent": guest,
                       "PartComponent": device_path(ctx, hv, family.generic_class, domain.name,
                                                    device.ident)}


class GuestCapabilities:
    """ElementCapabilities: ManagedElement a guest, Capabilities its state capabilities."""

    ends = {"ManagedElement": frozenset({COMPUTER_SYSTEM}),
            "Capabilities": frozenset({ELEMENT_CAPABILITIES})}

    def all_links(self, ctx: RequestContext, hv: Hypervisor) -> Iterable[Link]:
        return [self._link(ctx, hv, domain.name) for domain in guests(ctx, hv)]

    def links_at(
        self, ctx: RequestContext, hv: Hypervisor, role: str, source: CIMInstanceName
    ) -> Iterable[Link]:
        if role == "ManagedElement":
            name = guest_name_at(hv, source)
        else:
            instance_id = source.keybindings.get("InstanceID")
            name = instance_id if isinstance(instance_id, str) else None
        domain = existing_domain(hv, name)
        return [self._link(ctx, hv, domain.name)] if domain else []

    @staticmethod
    def _link(ctx: RequestContext, hv: Hypervisor, name: str) -> Link:
        return {"ManagedElement": guest_path(ctx, hv, name),
                "Capabilities": guest_capabilities_path(ctx, hv, name)}


HOSTED_GUESTS = HostedGuests()
GUEST_DEVICES = GuestDevices()
GUEST_CAPABILITIES = GuestCapabilities()
