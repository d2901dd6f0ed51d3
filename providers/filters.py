"""libvirt's network filters: filter lists and their rules (libvirt-cim's ACL classes).

* ``<Prefix>_FilterList``: one per libvirt network filter, keyed by the host
  and the filter's name, its UUID as InstanceID. Clients create a filter by
  its Name alone and delete it.
* ``<Prefix>_FilterEntry``, ``_IPHeadersFilter`` and ``_Hdr8021Filter``: one
  per rule of a filter, by what the rule matches
  (:mod:`providers.virt.mapping.filter_rule`), named
  ``<filter name>:<index among its rules>`` as libvirt-cim named them. They
  are read only.

The associations between them, the host and the guests' interfaces are in
:mod:`providers.filter_associations`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from pywbem import (
    CIM_ERR_FAILED,
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NOT_FOUND,
    CIMError,
    CIMInstance,
    CIMInstanceName,
)

from providers.memo import guests
from providers.paths import HOST_SYSTEM
from providers.virt import FilterRule, Hypervisor, Interface, NetworkFilter, naming
from providers.virt.mapping.filter_rule import (
    ETHERNET_RULE,
    IP_RULE,
    OTHER_RULE,
    entry_class,
    entry_values,
)
from providers.virt.xmltree import attribute
from virtcim.provider import InstanceProvider, RequestContext

__all__ = [
    "ENTRY_CLASSES",
    "FILTER_LIST",
    "FilterEntryProvider",
    "FilterListProvider",
    "applied_filter",
    "entry_path",
    "filter_list_path",
    "filter_name_at",
    "filters",
    "rule_at",
]

FILTER_LIST = "FilterList"
#: The generic classes that show rules (all below ``CIM_FilterEntryBase``).
ENTRY_CLASSES = (OTHER_RULE, IP_RULE, ETHERNET_RULE)

_PRIORITY_RANGE = range(-1000, 1001)
#: The longest Name the class declares.
_NAME_LENGTH = 256


def filters(ctx: RequestContext, hv: Hypervisor) -> list[NetworkFilter]:
    """Every network filter of ``hv``, listed once per request."""
    return ctx.memo(("network filters", hv), hv.network_filters)


def filter_list_path(ctx: RequestContext, hv: Hypervisor, name: str) -> CIMInstanceName:
    """The path of the FilterList of filter ``name`` of ``hv``."""
    return _scoped_path(ctx, hv, FILTER_LIST, name)


def entry_path(ctx: RequestContext, hv: Hypervisor, network_filter: NetworkFilter,
               rule: FilterRule) -> CIMInstanceName:  # fmt: skip
    """The path of the entry that shows ``rule`` of ``network_filter``."""
    return _scoped_path(ctx, hv, entry_class(rule), _rule_name(network_filter.name, rule.index))


def filter_name_at(hv: Hypervisor, path: CIMInstanceName) -> str | None:
    """The filter name ``path`` gives when it is a FilterList path of ``hv``, else ``None``.

    Only the path is checked: the filter may not exist.
    """
    return _name_at(hv, path, FILTER_LIST)


def rule_at(ctx: RequestContext, hv: Hypervisor, path: CIMInstanceName
            ) -> tuple[NetworkFilter, FilterRule] | None:  # fmt: skip
    """The filter and rule an entry path of ``hv`` names, or ``None`` if it names none."""
    generic = naming.generic_name(hv.prefix, path.classname)
    name = _name_at(hv, path, generic) if generic in ENTRY_CLASSES else None
    filter_name, colon, index = (name or "").rpartition(":")
    if not colon or not index.isdigit():
        return None
    found = next((each for each in filters(ctx, hv) if each.name == filter_name), None)
    rule = found.rule(int(index)) if found is not None else None
    if found is None or rule is None or entry_class(rule) != generic:
        return None
    return found, rule


class FilterListProvider(InstanceProvider):
    """``<Prefix>_FilterList``: libvirt's network filters, created by name and deleted."""

    def __init__(self, hypervisor: Hypervisor) -> None:
        self.hypervisor = hypervisor

    def enumerate_instances(
        self, ctx: RequestContext, classname: str, property_list: Sequence[str] | None
    ) -> Iterator[CIMInstance]:
        for network_filter in filters(ctx, self.hypervisor):
            yield self._instance(ctx, classname, network_filter)

    def get_instance(
        self, ctx: RequestContext, path: CIMInstanceName, property_list: Sequence[str] | None
    ) -> CIMInstance:
        name = filter_name_at(self.hypervisor, path)
        if name is None:
            raise CIMError(CIM_ERR_NOT_FOUND, f"no filter list {path} on {self.hypervisor.uri}")
        return self._instance(ctx, path.classname, self.hypervisor.network_filter(name))

    def create_instance(self, ctx: RequestContext, instance: CIMInstance) -> CIMInstanceName:
        """A new filter with no rules, named by the instance's Name.

        The other keys are the server's to give, as libvirt-cim's clients
        expect: whatever the instance says of them is not read. Priority,
        when given, is the filter's.
        """
        name = instance.get("Name")
        if not isinstance(name, str) or not name.strip():
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"{instance.classname}: a filter needs a Name")  # fmt: skip
        try:
            naming.check_file_name(name, _NAME_LENGTH)
        except ValueError as error:
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"{instance.classname}: {error}") from None
        priority = instance.get("Priority")
        if priority is not None and int(priority) not in _PRIORITY_RANGE:
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"{instance.classname} {name!r}: Priority {priority} is outside "
                           "-1000 to 1000")  # fmt: skip
        created = self.hypervisor.define_network_filter(
            name, int(priority) if priority is not None else None)
        return filter_list_path(ctx, self.hypervisor, created.name)

    def delete_instance(self, ctx: RequestContext, path: CIMInstanceName) -> None:
        """Undefine the filter, unless a guest's interface applies it or another filter
        includes it: libvirt would let it go, and those guests could no longer start."""
        hv = self.hypervisor
        name = filter_name_at(hv, path)
        if name is None:
            raise CIMError(CIM_ERR_NOT_FOUND, f"no filter list {path} on {hv.uri}")
        users = [f"filter {each.name!r}" for each in filters(ctx, hv) if name in each.references]
        users += [f"guest {domain.name!r}" for domain in guests(ctx, hv)
                  if any(applied_filter(interface) == name
                         for interface in domain.xml.interfaces())]  # fmt: skip
        if users:
            raise CIMError(CIM_ERR_FAILED, f"network filter {name!r} on {hv.uri} is in use by "
                                           f"{', '.join(users)}")
        hv.undefine_network_filter(name)

    def _instance(self, ctx: RequestContext, classname: str,
                  network_filter: NetworkFilter) -> CIMInstance:  # fmt: skip
        return ctx.instance(
            classname,
            **_scope_keys(self.hypervisor, classname, network_filter.name),
            InstanceID=network_filter.uuid,
            ElementName=network_filter.name,
            Direction=0,
            Priority=network_filter.priority or 0,
        )


class FilterEntryProvider(InstanceProvider):
    """``<Prefix>_FilterEntry``, ``_IPHeadersFilter``, ``_Hdr8021Filter``: the filters' rules."""

    def __init__(self, hypervisor: Hypervisor) -> None:
        self.hypervisor = hypervisor

    def enumerate_instances(
        self, ctx: RequestContext, classname: str, property_list: Sequence[str] | None
    ) -> Iterator[CIMInstance]:
        generic = naming.generic_name(self.hypervisor.prefix, classname)
        for network_filter in filters(ctx, self.hypervisor):
            for rule in network_filter.rules:
                if entry_class(rule) == generic:
                    yield self._instance(ctx, classname, network_filter, rule)

    def get_instance(
        self, ctx: RequestContext, path: CIMInstanceName, property_list: Sequence[str] | None
    ) -> CIMInstance:
        found = rule_at(ctx, self.hypervisor, path)
        if found is None:
            raise CIMError(CIM_ERR_NOT_FOUND, f"no filter rule {path} on {self.hypervisor.uri}")
        return self._instance(ctx, path.classname, *found)

    def _instance(self, ctx: RequestContext, classname: str, network_filter: NetworkFilter,
                  rule: FilterRule) -> CIMInstance:  # fmt: skip
        name = _rule_name(network_filter.name, rule.index)
        return ctx.instance(classname, **_scope_keys(self.hypervisor, classname, name),
                            **entry_values(rule))  # fmt: skip


def applied_filter(interface: Interface) -> str | None:
    """The name of the filter a guest's interface applies, if any."""
    return attribute(interface.element, "filterref", "filter")


def _rule_name(filter_name: str, index: int) -> str:
    return f"{filter_name}:{index}"


def _scoped_path(ctx: RequestContext, hv: Hypervisor, generic: str, name: str) -> CIMInstanceName:
    classname = naming.classname(hv.prefix, generic)
    return ctx.path(classname, **_scope_keys(hv, classname, name))


def _scope_keys(hv: Hypervisor, classname: str, name: str) -> dict[str, Any]:
    """The keys of a filter or rule: the host's class and name, its own class and name."""
    return {"SystemCreationClassName": naming.classname(hv.prefix, HOST_SYSTEM),
            "SystemName": hv.hostname, "CreationClassName": classname, "Name": name}


def _name_at(hv: Hypervisor, path: CIMInstanceName, generic: str | None) -> str | None:
    """The Name of ``path`` when its class is ``hv``'s ``generic`` and its scope ``hv``'s host."""
    if generic is None:
        return None
    classname = naming.classname(hv.prefix, generic).lower()
    keys = path.keybindings
    name = keys.get("Name")
    if path.classname.lower() != classname or not isinstance(name, str):
        return None
    expected = _scope_keys(hv, classname, name)
    for key in ("SystemCreationClassName", "CreationClassName"):
        if str(keys.get(key, "")).lower() != str(expected[key]).lower():
            return None
    return name if keys.get("SystemName") == hv.hostname else None
