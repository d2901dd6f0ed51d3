"""libvirt's network filters (nwfilter): records read from their XML, and their changes.

A filter has rules and references to other filters (``<filterref>``), in one
order. :class:`NetworkFilters` is the part of
:class:`~providers.virt.connection.Hypervisor` that lists, defines, edits and
undefines them. A hypervisor whose driver has no network filters (libvirt's
test driver) lists none, and finds none by name.

Filters send no events, so nothing about them is cached: every request reads
them afresh.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import libvirt
from lxml import etree
from pywbem import CIM_ERR_ALREADY_EXISTS, CIM_ERR_NOT_FOUND, CIMError

from providers.virt.domainxml import parse_xml
from providers.virt.locks import KeyedLocks
from providers.virt.runner import Runner
from providers.virt.xmltree import integer

__all__ = ["FilterRule", "NetworkFilter", "NetworkFilters", "read_filter"]


@dataclass(frozen=True)
class FilterRule:
    """One ``<rule>`` of a filter.

    ``index`` is its place among the filter's rules (references not
    counted); ``protocol`` the tag of the element saying what it matches
    (``mac``, ``ip``, ``tcp-ipv6``...), ``None`` for a rule that matches all
    traffic; ``match`` that element's attributes (``srcmacaddr``...).
    """

    index: int
    action: str | None
    direction: str | None
    priority: int | None
    protocol: str | None
    match: Mapping[str, str]


@dataclass(frozen=True)
class NetworkFilter:
    """A libvirt network filter as fetched at one moment."""

    name: str
    uuid: str
    chain: str | None
    priority: int | None
    rules: tuple[FilterRule, ...]
    #: The names of the filters it includes, in their order.
    references: tuple[str, ...]
    xml: etree._Element = field(repr=False, compare=False)

    def rule(self, index: int) -> FilterRule | None:
        return self.rules[index] if 0 <= index < len(self.rules) else None


def read_filter(xml: etree._Element) -> NetworkFilter:
    """The record of a ``<filter>`` element (as ``virNWFilterGetXMLDesc`` gives it)."""
    rules: list[FilterRule] = []
    for element in xml.iterfind("rule"):
        matched = next(iter(element), None)
        rules.append(FilterRule(
            index=len(rules),
            action=element.get("action"),
            direction=element.get("direction"),
            priority=integer(element.get("priority")),
            protocol=matched.tag if matched is not None else None,
            match=dict(matched.attrib) if matched is not None else {},
        ))
    return NetworkFilter(
        name=xml.get("name", ""),
        uuid=xml.findtext("uuid", ""),
        chain=xml.get("chain"),
        priority=integer(xml.get("priority")),
        rules=tuple(rules),
        references=tuple(ref.get("filter", "") for ref in xml.iterfind("filterref")),
        xml=xml,
    )


class NetworkFilters(Runner):
    """The network filters of one hypervisor, through :meth:`run`."""

    #: Serialises the changes of one filter (keyed ``nwfilter <name>``).
    _editing: KeyedLocks

    def network_filters(self) -> list[NetworkFilter]:
        """Every network filter; none where the driver has no filters."""
        def read(conn: libvirt.virConnect) -> list[NetworkFilter]:
            try:
                handles = conn.listAllNWFilters(0)
            except libvirt.libvirtError as error:
                if error.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT:
                    return []
                raise
            return [found for found in map(_vanished_or_read, handles) if found is not None]

        return self.run("network filters", read)

    def network_filter(self, name: str) -> NetworkFilter:
        """The filter ``name``; ``CIM_ERR_NOT_FOUND`` when there is none."""
        def read(conn: libvirt.virConnect) -> NetworkFilter:
            try:
                return _read(conn.nwfilterLookupByName(name))
            except libvirt.libvirtError as error:
                if error.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT:
                    raise CIMError(CIM_ERR_NOT_FOUND,
                                   f"no network filter {name!r} on {self.uri}: the driver "
                                   "has no network filters") from error  # fmt: skip
                raise

        return self.run(f"network filter {name!r}", read)

    def define_network_filter(self, name: str, priority: int | None = None) -> NetworkFilter:
        """Define a new filter ``name`` with no rules (in libvirt's ``root`` chain).

        ``CIM_ERR_ALREADY_EXISTS`` when there is one of that name: libvirt
        would replace it.
        """
        xml = etree.Element("filter", name=name, chain="root")
        if priority is not None:
            xml.set("priority", str(priority))
        what = f"network filter {name!r}"
        with self._editing.holding([f"nwfilter {name}"]):
            if self._filter_exists(name):
                raise CIMError(CIM_ERR_ALREADY_EXISTS, f"{what} already exists on {self.uri}")
            text = etree.tostring(xml, encoding="unicode")
            return self.run(what, lambda conn: _read(conn.nwfilterDefineXML(text)), read=False,
                            action="define")  # fmt: skip

    def edit_network_filter(self, name: str, change: Callable[[etree._Element], None]
                            ) -> NetworkFilter:  # fmt: skip
        """Apply ``change`` to the XML of filter ``name`` and define it again.

        Changes of one filter come one after another, so none is lost.
        """
        with self._editing.holding([f"nwfilter {name}"]):
            xml = self.network_filter(name).xml
            change(xml)
            text = etree.tostring(xml, encoding="unicode")
            return self.run(f"network filter {name!r}",
                            lambda conn: _read(conn.nwfilterDefineXML(text)),
                            read=False, action="change")  # fmt: skip

    def undefine_network_filter(self, name: str) -> None:
        """Remove filter ``name`` (libvirt refuses while a running guest uses it)."""
        with self._editing.holding([f"nwfilter {name}"]):
            self.run(f"network filter {name!r}",
                     lambda conn: conn.nwfilterLookupByName(name).undefine(),
                     read=False, action="undefine")  # fmt: skip

    def _filter_exists(self, name: str) -> bool:
        try:
            self.network_filter(name)
        except CIMError as error:
            if error.status_code == CIM_ERR_NOT_FOUND:
                return False
            raise
        return True


def _read(handle: libvirt.virNWFilter) -> NetworkFilter:
    return read_filter(parse_xml(handle.XMLDesc(0)))


def _vanished_or_read(handle: libvirt.virNWFilter) -> NetworkFilter | None:
    """The filter, or ``None`` when another client removed it after the listing."""
    try:
        return _read(handle)
    except libvirt.libvirtError as error:
        if error.get_error_code() == libvirt.VIR_ERR_NO_NWFILTER:
            return None
        raise
