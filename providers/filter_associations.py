"""The associations of libvirt's network filters (libvirt-cim's ACL associations).

* ``EntriesInFilterList``: a filter (GroupComponent) and each of its rules.
* ``HostedFilterList``: the host (Antecedent) and each filter.
* ``NestedFilterList``: a filter (Antecedent) and each filter its
  ``<filterref>`` elements include (Dependent). Creating one adds the
  reference at the end of the filter; deleting one removes it.
* ``AppliedFilterList``: a guest's interface (Antecedent, its NetworkPort)
  and the filter its ``<filterref>`` applies (Dependent). Creating one sets
  the interface's filter (replacing the one it had, as libvirt-cim did: an
  interface applies one); deleting one clears it. A running guest's
  interface changes at once where libvirt can, and always in the definition.

A link whose far end is a filter that does not exist (a reference to a
filter not defined yet) is not shown: an association links instances.
Traversals from a filter follow both roles where both hold filters, as
DSP0200 asks; libvirt-cim followed only the first.
"""

from __future__ import annotations

import abc
import copy
from collections.abc import Iterable, Iterator, Sequence

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
from providers.links import Link
from providers.lookup import existing_domain
from providers.memo import guests
from providers.paths import HOST_SYSTEM, device_path, host_path, is_host_path
from providers.virt import Domain, Hypervisor, NetworkFilter, naming
from providers.virt.xmltree import attribute, child, remove
from virtcim.provider import AssociationProvider, RequestContext, same_keys

__all__ = [
    "AppliedFilterListProvider",
    "EntriesInFilterListProvider",
    "HostedFilterListProvider",
    "NestedFilterListProvider",
]

NETWORK_PORT = "NetworkPort"


class FilterLinkProvider(AssociationProvider, abc.ABC):
    """An association of network filters on one hypervisor: its links, all or at one end."""

    #: Each reference role and the generic classes standing there.
    ends: dict[str, tuple[str, ...]]

    def __init__(self, hypervisor: Hypervisor) -> None:
        self.hypervisor = hypervisor

    @abc.abstractmethod
    def all_links(self, ctx: RequestContext) -> Iterable[Link]:
        """Every link on the hypervisor."""

    @abc.abstractmethod
    def links_at(self, ctx: RequestContext, role: str, source: CIMInstanceName) -> Iterable[Link]:
        """The links whose ``role`` end is ``source`` (of that role's class, perhaps naming
        nothing)."""

    def enumerate_instances(
        self, ctx: RequestContext, classname: str, property_list: Sequence[str] | None
    ) -> Iterator[CIMInstance]:
        for link in self.all_links(ctx):
            yield ctx.instance(classname, **link)

    def references(
        self, ctx: RequestContext, classname: str, source: CIMInstanceName, role: str | None
    ) -> Iterator[CIMInstance]:
        prefix = self.hypervisor.prefix
        for end, generics in self.ends.items():
            if role is not None and role.lower() != end.lower():
                continue
            if naming.generic_name(prefix, source.classname) in generics:
                for link in self.links_at(ctx, end, source):
                    yield ctx.instance(classname, **link)

    def get_instance(
        self, ctx: RequestContext, path: CIMInstanceName, property_list: Sequence[str] | None
    ) -> CIMInstance:
        for role, end in path.keybindings.items():
            if isinstance(end, CIMInstanceName):
                for link in self.references(ctx, path.classname, end, role):
                    if same_keys(link.path, path):
                        return link
                break
        raise CIMError(CIM_ERR_NOT_FOUND, f"no link {path} on {self.hypervisor.uri}")

    def _filter_at(self, ctx: RequestContext, path: CIMInstanceName) -> NetworkFilter | None:
        """The filter the FilterList ``path`` names, if it exists."""
        name = filter_name_at(self.hypervisor, path)
        return _by_name(ctx, self.hypervisor).get(name) if name is not None else None

    def _filter_end(self, ctx: RequestContext, instance: CIMInstance, role: str) -> str:
        """The name of the existing filter the ``role`` reference of a new link names."""
        path = instance.get(role)
        name = filter_name_at(self.hypervisor, path) if isinstance(path, CIMInstanceName) else None
        if name is None or name not in _by_name(ctx, self.hypervisor):
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"{instance.classname}: {role} {path} names no filter list on "
                           f"{self.hypervisor.uri}")  # fmt: skip
        return name


class EntriesInFilterListProvider(FilterLinkProvider):
    """``<Prefix>_EntriesInFilterList``: each filter and its rules."""

    ends = {"GroupComponent": (FILTER_LIST,), "PartComponent": ENTRY_CLASSES}

    def all_links(self, ctx: RequestContext) -> Iterator[Link]:
        for network_filter in filters(ctx, self.hypervisor):
            yield from self._links(ctx, network_filter)

    def links_at(self, ctx: RequestContext, role: str, source: CIMInstanceName) -> Iterable[Link]:
        if role == "PartComponent":
            found = rule_at(ctx, self.hypervisor, source)
            if found is None:
                return []
            owner, rule = found
            return [{"GroupComponent": filter_list_path(ctx, self.hypervisor, owner.name),
                     "PartComponent": entry_path(ctx, self.hypervisor, owner, rule)}]
        network_filter = self._filter_at(ctx, source)
        return self._links(ctx, network_filter) if network_filter is not None else []

    def _links(self, ctx: RequestContext, network_filter: NetworkFilter) -> Iterator[Link]:
        group = filter_list_path(ctx, self.hypervisor, network_filter.name)
        for rule in network_filter.rules:
            yield {"GroupComponent": group,
                   "PartComponent": entry_path(ctx, self.hypervisor, network_filter, rule)}


class HostedFilterListProvider(FilterLinkProvider):
    """``<Prefix>_HostedFilterList``: the host and each filter."""

    ends = {"Antecedent": (HOST_SYSTEM,), "Dependent": (FILTER_LIST,)}

    def all_links(self, ctx: RequestContext) -> Iterator[Link]:
        host = host_path(ctx, self.hypervisor)
        for network_filter in filters(ctx, self.hypervisor):
            yield {"Antecedent": host,
                   "Dependent": filter_list_path(ctx, self.hypervisor, network_filter.name)}

    def links_at(self, ctx: RequestContext, role: str, source: CIMInstanceName) -> Iterable[Link]:
        if role == "Antecedent":
            return self.all_links(ctx) if is_host_path(self.hypervisor, source) else []
        network_filter = self._filter_at(ctx, source)
        if network_filter is None:
            return []
        return [{"Antecedent": host_path(ctx, self.hypervisor),
                 "Dependent": filter_list_path(ctx, self.hypervisor, network_filter.name)}]


class NestedFilterListProvider(FilterLinkProvider):
    """``<Prefix>_NestedFilterList``: a filter and the filters it includes."""

    ends = {"Antecedent": (FILTER_LIST,), "Dependent": (FILTER_LIST,)}

    def all_links(self, ctx: RequestContext) -> Iterator[Link]:
        for network_filter in filters(ctx, self.hypervisor):
            yield from self._included_by(ctx, network_filter)

    def links_at(self, ctx: RequestContext, role: str, source: CIMInstanceName) -> Iterable[Link]:
        network_filter = self._filter_at(ctx, source)
        if network_filter is None:
            return []
        if role == "Antecedent":
            return self._included_by(ctx, network_filter)
        return [self._link(ctx, including.name, network_filter.name)
                for including in filters(ctx, self.hypervisor)
                if network_filter.name in including.references]

    def create_instance(self, ctx: RequestContext, instance: CIMInstance) -> CIMInstanceName:
        """Add a reference to the Dependent filter at the end of the Antecedent filter."""
        including = self._filter_end(ctx, instance, "Antecedent")
        included = self._filter_end(ctx, instance, "Dependent")
        link = ctx.path(instance.classname, **self._link(ctx, including, included))

        def add(xml: etree._Element) -> None:
            if any(ref.get("filter") == included for ref in xml.iterfind("filterref")):
                raise CIMError(CIM_ERR_ALREADY_EXISTS, f"{link} already exists")
            etree.SubElement(xml, "filterref", filter=included)

        self.hypervisor.edit_network_filter(including, add)
        return link

    def delete_instance(self, ctx: RequestContext, path: CIMInstanceName) -> None:
        """Remove the Antecedent filter's references to the Dependent filter."""
        including, included = (_filter_name(self.hypervisor, path, role)
                               for role in ("Antecedent", "Dependent"))  # fmt: skip

        def drop(xml: etree._Element) -> None:
            references = [ref for ref in xml.iterfind("filterref") if ref.get("filter") == included]
            if not references:
                raise CIMError(CIM_ERR_NOT_FOUND, f"no link {path} on {self.hypervisor.uri}")
            for ref in references:
                remove(ref)

        self.hypervisor.edit_network_filter(including, drop)

    def _included_by(self, ctx: RequestContext, network_filter: NetworkFilter) -> list[Link]:
        known = _by_name(ctx, self.hypervisor)
        return [self._link(ctx, network_filter.name, name)
                for name in dict.fromkeys(network_filter.references) if name in known]

    def _link(self, ctx: RequestContext, including: str, included: str) -> Link:
        return {"Antecedent": filter_list_path(ctx, self.hypervisor, including),
                "Dependent": filter_list_path(ctx, self.hypervisor, included)}


class AppliedFilterListProvider(FilterLinkProvider):
    """``<Prefix>_AppliedFilterList``: each guest interface and the filter it applies."""

    ends = {"Antecedent": (NETWORK_PORT,), "Dependent": (FILTER_LIST,)}

    def all_links(self, ctx: RequestContext) -> Iterator[Link]:
        for domain in guests(ctx, self.hypervisor):
            yield from self._links_of(ctx, domain)

    def links_at(self, ctx: RequestContext, role: str, source: CIMInstanceName) -> Iterable[Link]:
        if role == "Dependent":
            name = filter_name_at(self.hypervisor, source)
            return [link for link in self.all_links(ctx)
                    if link["Dependent"]["Name"] == name]  # fmt: skip
        location = device_location(self.hypervisor, source)
        domain = existing_domain(self.hypervisor, location[0]) if location else None
        if location is None or domain is None:
            return []
        return [link for link in self._links_of(ctx, domain)
                if link["Antecedent"]["DeviceID"] == source["DeviceID"]]

    def create_instance(self, ctx: RequestContext, instance: CIMInstance) -> CIMInstanceName:
        """Set the Antecedent interface's filter to the Dependent filter."""
        name = self._filter_end(ctx, instance, "Dependent")
        port = instance.get("Antecedent")
        location = device_location(self.hypervisor, port) if isinstance(port, CIMInstanceName) else None
        domain = existing_domain(self.hypervisor, location[0]) if location else None
        if location is None or domain is None or domain.xml.find_device(location[1]) is None:
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"{instance.classname}: Antecedent {port} names no network port on "
                           f"{self.hypervisor.uri}")  # fmt: skip
        self._set_filter(domain, location[1], name)
        return ctx.path(instance.classname, **self._link(ctx, domain.name, location[1], name))

    def delete_instance(self, ctx: RequestContext, path: CIMInstanceName) -> None:
        """Clear the Antecedent interface's filter, if it is the Dependent filter."""
        name = _filter_name(self.hypervisor, path, "Dependent")
        port = path.keybindings.get("Antecedent")
        location = device_location(self.hypervisor, port) if isinstance(port, CIMInstanceName) else None
        domain = existing_domain(self.hypervisor, location[0]) if location else None
        element = domain.xml.find_device(location[1]) if domain and location else None
        if domain is None or location is None or element is None or (
                attribute(element, "filterref", "filter") != name):
            raise CIMError(CIM_ERR_NOT_FOUND, f"no link {path} on {self.hypervisor.uri}")
        self._set_filter(domain, location[1], None)

    def _set_filter(self, found: Domain, mac: str, name: str | None) -> None:
        """Set (or, with ``None``, clear) the filter of interface ``mac`` of a guest."""
        with self.hypervisor.editing(found) as [domain]:
            current = domain.xml.find_device(mac)
            if current is None:
                raise CIMError(CIM_ERR_NOT_FOUND,
                               f"guest {domain.name!r} on {self.hypervisor.uri} has no network "
                               f"interface {mac}")  # fmt: skip
            element = copy.deepcopy(current)  # the snapshot's tree is shared: edit a copy
            for ref in element.findall("filterref"):
                remove(ref)
            if name is not None:
                child(element, "filterref").set("filter", name)
            with domain.transaction():
                domain.update_device(element, live=True)
                changed = self.hypervisor.domain_by_uuid(domain.uuid).xml.find_device(mac)
                if name is not None and (changed is None or attribute(
                        changed, "filterref", "filter") != name):
                    # libvirt keeps filters only on interfaces with a tap device
                    raise CIMError(CIM_ERR_FAILED,
                                   f"guest {domain.name!r} on {self.hypervisor.uri}: libvirt "
                                   f"keeps no filter on interface {mac} of type "
                                   f"{element.get('type')!r}")  # fmt: skip

    def _links_of(self, ctx: RequestContext, domain: Domain) -> Iterator[Link]:
        known = _by_name(ctx, self.hypervisor)
        for interface in domain.xml.interfaces():
            name = applied_filter(interface)
            if name in known and interface.mac:
                yield self._link(ctx, domain.name, interface.mac, name)

    def _link(self, ctx: RequestContext, domain: str, mac: str, name: str) -> Link:
        return {"Antecedent": device_path(ctx, self.hypervisor, NETWORK_PORT, domain, mac),
                "Dependent": filter_list_path(ctx, self.hypervisor, name)}


def _by_name(ctx: RequestContext, hv: Hypervisor) -> dict[str, NetworkFilter]:
    return {network_filter.name: network_filter for network_filter in filters(ctx, hv)}


def _filter_name(hv: Hypervisor, path: CIMInstanceName, role: str) -> str:
    """The filter name the ``role`` reference of a link path gives; ``CIM_ERR_NOT_FOUND`` if none."""
    end = path.keybindings.get(role)
    name = filter_name_at(hv, end) if isinstance(end, CIMInstanceName) else None
    if name is None:
        raise CIMError(CIM_ERR_NOT_FOUND, f"no link {path} on {hv.uri}")
    return name
