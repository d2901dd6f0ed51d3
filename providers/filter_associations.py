"""The associations of libvirt's network filters (libvirt-cim's ACL associations).

Each is a link source of :mod:`providers.links`, served by a
:class:`~providers.links.LinkProvider`:

* :data:`FILTER_ENTRIES` for EntriesInFilterList: a filter (GroupComponent)
  and each of its rules.
* :data:`HOSTED_FILTERS` for HostedFilterList: the host (Antecedent) and
  each filter.
* :data:`NESTED_FILTERS` for NestedFilterList: a filter (Antecedent) and
  each filter its ``<filterref>`` elements include (Dependent). Creating a
  link adds the reference at the end of the filter; deleting one removes it.
* :data:`APPLIED_FILTERS` for AppliedFilterList: a guest's interface
  (Antecedent, its NetworkPort) and the filter its ``<filterref>`` applies
  (Dependent). Creating a link sets the interface's filter (replacing the one
  it had, as libvirt-cim did: an interface applies one); deleting one clears
  it. A running guest's interface changes at once where libvirt can, and
  always in the definition.

A link whose far end is a filter that does not exist (a reference to a
filter not defined yet) is not shown: an association links instances.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator

from lxml import etree
from pywbem import (
    CIM_ERR_ALREADY_EXISTS,
    CIM_ERR_FAILED,
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NOT_FOUND,
    CIMError,
    CIMInstance,
    CIMInstanceName,
)

from providers.devices import device_location
from providers.filters import (
    ENTRY_CLASSES,
    FILTER_LIST,
    applied_filter,
    entry_path,
    filter_list_path,
    filter_name_at,
    filters,
    rule_at,
)
from providers.links import Link, LinkProvider
from providers.lookup import existing_domain
from providers.memo import guests
from providers.paths import HOST_SYSTEM, device_path, host_path, is_host_path
from providers.virt import Domain, Hypervisor, NetworkFilter, naming
from providers.virt.xmltree import attribute, child, remove
from virtcim.provider import RequestContext

__all__ = [
    "APPLIED_FILTERS",
    "FILTER_ENTRIES",
    "HOSTED_FILTERS",
    "NESTED_FILTERS",
    "AppliedFilterListProvider",
    "NestedFilterListProvider",
]

NETWORK_PORT = "NetworkPort"


class FilterEntries:
    """EntriesInFilterList: GroupComponent a filter, PartComponent each of its rules."""

    ends = {"GroupComponent": frozenset({FILTER_LIST}), "PartComponent": frozenset(ENTRY_CLASSES)}

    def all_links(self, ctx: RequestContext, hv: Hypervisor) -> Iterator[Link]:
        for network_filter in filters(ctx, hv):
            yield from self._links(ctx, hv, network_filter)

    def links_at(self, ctx: RequestContext, hv: Hypervisor, role: str,
                 source: CIMInstanceName) -> Iterable[Link]:  # fmt: skip
        if role == "GroupComponent":
            network_filter = existing_filter(ctx, hv, source)
            return self._links(ctx, hv, network_filter) if network_filter else []
        found = rule_at(ctx, hv, source)
        if found is None:
            return []
        owner, rule = found
        return [{"GroupComponent": filter_list_path(ctx, hv, owner.name),
                 "PartComponent": entry_path(ctx, hv, owner, rule)}]

    @staticmethod
    def _links(ctx: RequestContext, hv: Hypervisor, network_filter: NetworkFilter
               ) -> Iterator[Link]:  # fmt: skip
        group = filter_list_path(ctx, hv, network_filter.name)
        for rule in network_filter.rules:
            yield {"GroupComponent": group,
                   "PartComponent": entry_path(ctx, hv, network_filter, rule)}


class HostedFilters:
    """HostedFilterList: Antecedent the host, Dependent each filter."""

    ends = {"Antecedent": frozenset({HOST_SYSTEM}), "Dependent": frozenset({FILTER_LIST})}

    def all_links(self, ctx: RequestContext, hv: Hypervisor) -> Iterator[Link]:
        for network_filter in filters(ctx, hv):
            yield self._link(ctx, hv, network_filter.name)

    def links_at(self, ctx: RequestContext, hv: Hypervisor, role: str,
                 source: CIMInstanceName) -> Iterable[Link]:  # fmt: skip
        if role == "Antecedent":
            return self.all_links(ctx, hv) if is_host_path(hv, source) else []
        network_filter = existing_filter(ctx, hv, source)
        return [self._link(ctx, hv, network_filter.name)] if network_filter else []

    @staticmethod
    def _link(ctx: RequestContext, hv: Hypervisor, name: str) -> Link:
        return {"Antecedent": host_path(ctx, hv), "Dependent": filter_list_path(ctx, hv, name)}


class NestedFilters:
    """NestedFilterList: Antecedent a filter, Dependent each filter it includes."""

    ends = {"Antecedent": frozenset({FILTER_LIST}), "Dependent": frozenset({FILTER_LIST})}

    def all_links(self, ctx: RequestContext, hv: Hypervisor) -> Iterator[Link]:
        for network_filter in filters(ctx, hv):
            yield from self._included_by(ctx, hv, network_filter)

    def links_at(self, ctx: RequestContext, hv: Hypervisor, role: str,
                 source: CIMInstanceName) -> Iterable[Link]:  # fmt: skip
        network_filter = existing_filter(ctx, hv, source)
        if network_filter is None:
            return []
        if role == "Antecedent":
            return self._included_by(ctx, hv, network_filter)
        return [link(ctx, hv, including.name, network_filter.name)
                for including in filters(ctx, hv)
                if network_filter.name in including.references]

    @staticmethod
    def _included_by(ctx: RequestContext, hv: Hypervisor, network_filter: NetworkFilter
                     ) -> list[Link]:  # fmt: skip
        known = filters_by_name(ctx, hv)
        return [link(ctx, hv, network_filter.name, name)
                for name in dict.fromkeys(network_filter.references) if name in known]


def link(ctx: RequestContext, hv: Hypervisor, including: str, included: str) -> Link:
    """The NestedFilterList link of filter ``including`` to filter ``included``."""
    return {"Antecedent": filter_list_path(ctx, hv, including),
            "Dependent": filter_list_path(ctx, hv, included)}


class AppliedFilters:
    """AppliedFilterList: Antecedent a guest's NetworkPort, Dependent the filter it applies."""

    ends = {"Antecedent": frozenset({NETWORK_PORT}), "Dependent": frozenset({FILTER_LIST})}

    def all_links(self, ctx: RequestContext, hv: Hypervisor) -> Iterator[Link]:
        for domain in guests(ctx, hv):
            yield from self.links_of(ctx, hv, domain)

    def links_at(self, ctx: RequestContext, hv: Hypervisor, role: str,
                 source: CIMInstanceName) -> Iterable[Link]:  # fmt: skip
        if role == "Dependent":
            name = filter_name_at(hv, source)
            return [found for found in self.all_links(ctx, hv)
                    if found["Dependent"]["Name"] == name]  # fmt: skip
        location = device_location(hv, source)
        domain = existing_domain(hv, location[0]) if location else None
        if location is None or domain is None:
            return []
        return [found for found in self.links_of(ctx, hv, domain)
                if found["Antecedent"]["DeviceID"] == source["DeviceID"]]

    @staticmethod
    def links_of(ctx: RequestContext, hv: Hypervisor, domain: Domain) -> Iterator[Link]:
        known = filters_by_name(ctx, hv)
        for interface in domain.xml.interfaces():
            name = applied_filter(interface)
            if name in known and interface.mac:
                yield {"Antecedent": device_path(ctx, hv, NETWORK_PORT, domain.name, interface.mac),
                       "Dependent": filter_list_path(ctx, hv, name)}


FILTER_ENTRIES = FilterEntries()
HOSTED_FILTERS = HostedFilters()
NESTED_FILTERS = NestedFilters()
APPLIED_FILTERS = AppliedFilters()


class NestedFilterListProvider(LinkProvider):
    """``<Prefix>_NestedFilterList``: links created and deleted by adding and removing
    ``<filterref>`` elements."""

    def __init__(self, hypervisor: Hypervisor) -> None:
        super().__init__(hypervisor, [NESTED_FILTERS])

    def create_instance(self, ctx: RequestContext, instance: CIMInstance) -> CIMInstanceName:
        """Add a reference to the Dependent filter at the end of the Antecedent filter."""
        including = filter_end(ctx, self.hypervisor, instance, "Antecedent")
        included = filter_end(ctx, self.hypervisor, instance, "Dependent")
        path = ctx.path(instance.classname, **link(ctx, self.hypervisor, including, included))

        def add(xml: etree._Element) -> None:
            if any(ref.get("filter") == included for ref in xml.iterfind("filterref")):
                raise CIMError(CIM_ERR_ALREADY_EXISTS, f"{path} already exists")
            etree.SubElement(xml, "filterref", filter=included)

        self.hypervisor.edit_network_filter(including, add)
        return path

    def delete_instance(self, ctx: RequestContext, path: CIMInstanceName) -> None:
        """Remove the Antecedent filter's references to the Dependent filter."""
        hv = self.hypervisor
        including, included = (linked_filter(hv, path, role) for role in ("Antecedent", "Dependent"))

        def drop(xml: etree._Element) -> None:
            references = [ref for ref in xml.iterfind("filterref") if ref.get("filter") == included]
            if not references:
                raise CIMError(CIM_ERR_NOT_FOUND, f"no link {path} on {hv.uri}")
            for ref in references:
                remove(ref)

        hv.edit_network_filter(including, drop)


class AppliedFilterListProvider(LinkProvider):
    """``<Prefix>_AppliedFilterList``: links created and deleted by setting and clearing an
    interface's ``<filterref>``."""

    def __init__(self, hypervisor: Hypervisor) -> None:
        super().__init__(hypervisor, [APPLIED_FILTERS])

    def create_instance(self, ctx: RequestContext, instance: CIMInstance) -> CIMInstanceName:
        """Set the Antecedent interface's filter to the Dependent filter."""
        hv = self.hypervisor
        name = filter_end(ctx, hv, instance, "Dependent")
        port = instance.get("Antecedent")
        found = interface_at(hv, port)
        if found is None:
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"{instance.classname}: Antecedent {port} names no network port on "
                           f"{hv.uri}")  # fmt: skip
        domain, mac = found
        self._set_filter(domain, mac, name)
        return ctx.path(instance.classname, **{
            "Antecedent": device_path(ctx, hv, NETWORK_PORT, domain.name, mac),
            "Dependent": filter_list_path(ctx, hv, name)})

    def delete_instance(self, ctx: RequestContext, path: CIMInstanceName) -> None:
        """Clear the Antecedent interface's filter, if it is the Dependent filter."""
        hv = self.hypervisor
        name = linked_filter(hv, path, "Dependent")
        found = interface_at(hv, path.keybindings.get("Antecedent"))
        if found is None or attribute(found[0].xml.find_device(found[1]), "filterref",
                                      "filter") != name:  # fmt: skip
            raise CIMError(CIM_ERR_NOT_FOUND, f"no link {path} on {hv.uri}")
        self._set_filter(*found, None)

    def _set_filter(self, found: Domain, mac: str, name: str | None) -> None:
        """Set (or, with ``None``, clear) the filter of interface ``mac`` of a guest."""
        hv = self.hypervisor
        with hv.editing(found) as [domain]:
            current = domain.xml.find_device(mac)
            if current is None:
                raise CIMError(CIM_ERR_NOT_FOUND,
                               f"guest {domain.name!r} on {hv.uri} has no network "
                               f"interface {mac}")  # fmt: skip
            element = copy.deepcopy(current)  # the snapshot's tree is shared: edit a copy
            for ref in element.findall("filterref"):
                remove(ref)
            if name is not None:
                child(element, "filterref").set("filter", name)
            with domain.transaction():
                domain.update_device(element, live=True)
                changed = hv.domain_by_uuid(domain.uuid).xml.find_device(mac)
                if name is not None and (changed is None or attribute(
                        changed, "filterref", "filter") != name):
                    # libvirt keeps filters only on interfaces with a tap device
                    raise CIMError(CIM_ERR_FAILED,
                                   f"guest {domain.name!r} on {hv.uri}: libvirt keeps no filter "
                                   f"on interface {mac} of type {element.get('type')!r}")  # fmt: skip


def interface_at(hv: Hypervisor, port: object) -> tuple[Domain, str] | None:
    """The guest and MAC address of the interface the NetworkPort path ``port`` names, if
    it exists (a path of another device class names none, whatever its DeviceID)."""
    if not isinstance(port, CIMInstanceName) or (
            naming.generic_name(hv.prefix, port.classname) != NETWORK_PORT):
        return None
    location = device_location(hv, port)
    domain = existing_domain(hv, location[0]) if location else None
    if location is None or domain is None:
        return None
    element = domain.xml.find_device(location[1])
    return (domain, location[1]) if element is not None and element.tag == "interface" else None


def existing_filter(ctx: RequestContext, hv: Hypervisor, path: CIMInstanceName
                    ) -> NetworkFilter | None:  # fmt: skip
    """The filter the FilterList ``path`` names, if it exists."""
    name = filter_name_at(hv, path)
    return filters_by_name(ctx, hv).get(name) if name is not None else None


def filters_by_name(ctx: RequestContext, hv: Hypervisor) -> dict[str, NetworkFilter]:
    """The request's filters by name, made once per request (each guest's links ask)."""
    return ctx.memo(("network filters by name", hv), lambda: {
        network_filter.name: network_filter for network_filter in filters(ctx, hv)})


def filter_end(ctx: RequestContext, hv: Hypervisor, instance: CIMInstance, role: str) -> str:
    """The name of the existing filter the ``role`` reference of a new link names."""
    path = instance.get(role)
    name = filter_name_at(hv, path) if isinstance(path, CIMInstanceName) else None
    if name is None or name not in filters_by_name(ctx, hv):
        raise CIMError(CIM_ERR_INVALID_PARAMETER,
                       f"{instance.classname}: {role} {path} names no filter list on "
                       f"{hv.uri}")  # fmt: skip
    return name


def linked_filter(hv: Hypervisor, path: CIMInstanceName, role: str) -> str:
    """The filter name the ``role`` reference of a link path gives; ``CIM_ERR_NOT_FOUND`` if none."""
    end = path.keybindings.get(role)
    name = filter_name_at(hv, end) if isinstance(end, CIMInstanceName) else None
    if name is None:
        raise CIMError(CIM_ERR_NOT_FOUND, f"no link {path} on {hv.uri}")
    return name
