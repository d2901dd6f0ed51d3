"""A domain's resource settings (RASDs), read and written through the device table.

A setting is a plain dict of CIM property values, named as DMTF and
libvirt-cim spell them. Reading turns a :class:`~providers.virt.domainxml.DomainXML`
into one :class:`Setting` per resource (processors, memory, then each device
in document order). Writing goes the other way: a setting edits the domain's
own tree, or a copy of one device element, changing only the attributes and
children its properties name, so everything else in the definition stays as
it was.

Only the properties a client gives are applied (``None`` means "not given"),
which is how ModifyResourceSettings changes part of a setting. A value that
cannot be applied raises :class:`~providers.virt.mapping.base.SettingsError`
naming the property; nothing is changed by a function that raises.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lxml import etree

from providers.valuemaps import ResourceType
from providers.virt import naming
from providers.virt.domainxml import DomainXML
from providers.virt.mapping import (
    DEVICES,
    KINDS_OF_TAG,
    device_id,
    device_tags,
    is_device,
    memory,
    processor,
)
from providers.virt.mapping.base import (
    KIND_BY_RESOURCE_TYPE,
    OTHER_RESOURCE_TYPES,
    RESOURCE_TYPES,
    Kind,
    SettingsError,
    present,
)

__all__ = [
    "Setting",
    "apply_resource",
    "build_device",
    "find_setting",
    "kind_of",
    "settings",
]


@dataclass(frozen=True)
class Setting:
    """One resource setting of a domain: its kind, device id and property values."""

    kind: Kind
    device_id: str
    values: dict[str, Any]


def kind_of(generic_class: str, values: Mapping[str, Any]) -> Kind:
    """The kind of setting a class (generic name, no prefix) and its values describe.

    A plain ``ResourceAllocationSettingData`` is told by its ResourceType;
    any class checks that a ResourceType it carries fits it.
    """
    rtype = values.get("ResourceType")
    if generic_class.lower() == "resourceallocationsettingdata":
        kind = _kind_from_resource_type(rtype, values.get("OtherResourceType"))
    else:
        found = [kind for kind in Kind if kind.value.lower() == generic_class.lower()]
        if not found:
            raise SettingsError(f"{generic_class} is not a resource setting class")
        kind = found[0]
    if rtype is not None and int(rtype) not in RESOURCE_TYPES[kind]:
        raise SettingsError(
            f"ResourceType {rtype} does not fit a {kind.value} "
            f"(expected {int(RESOURCE_TYPES[kind][0])})"
        )
    other = values.get("OtherResourceType")
    if kind in OTHER_RESOURCE_TYPES and other and other.lower() != OTHER_RESOURCE_TYPES[kind]:
        raise SettingsError(f"OtherResourceType {other!r} does not fit a {kind.value}")
    return kind


def _kind_from_resource_type(rtype: Any, other: str | None) -> Kind:
    if rtype is None:
        raise SettingsError("ResourceType is required for a ResourceAllocationSettingData")
    if int(rtype) == ResourceType.OTHER:
        for kind, name in OTHER_RESOURCE_TYPES.items():
            if (other or "").lower() == name:
                return kind
        raise SettingsError(f"OtherResourceType {other!r} is not console or controller")
    try:
        return KIND_BY_RESOURCE_TYPE[ResourceType(int(rtype))]
    except (ValueError, KeyError):
        raise SettingsError(f"ResourceType {rtype} is not a resource a guest can have") from None


def settings(xml: DomainXML, kinds: Sequence[Kind] | None = None) -> list[Setting]:
    """Every resource setting of the domain of ``kinds`` (default: all), in order."""
    wanted = set(kinds or Kind)
    found = []
    if Kind.PROC in wanted:
        found.append(_setting(xml, Kind.PROC, naming.PROCESSOR_DEVICE_ID, processor.settings(xml)))
    if Kind.MEM in wanted:
        found.append(_setting(xml, Kind.MEM, naming.MEMORY_DEVICE_ID, memory.settings(xml)))
    for element in _device_elements(xml):
        kinds = [kind for kind in KINDS_OF_TAG.get(element.tag, ()) if kind in wanted]
        ident = device_id(element) if kinds else ""
        if ident:
            found.extend(_setting(xml, kind, ident, DEVICES[kind].read(element)) for kind in kinds)
    return found


def find_setting(xml: DomainXML, kind: Kind, ident: str) -> Setting | None:
    """The setting of ``kind`` for device ``ident``, or ``None``."""
    if kind is Kind.PROC:
        return settings(xml, [kind])[0] if ident == naming.PROCESSOR_DEVICE_ID else None
    if kind is Kind.MEM:
        return settings(xml, [kind])[0] if ident == naming.MEMORY_DEVICE_ID else None
    element = xml.find_device(ident)
    if element is None or element.tag not in device_tags(kind):
        return None
    return _setting(xml, kind, ident, DEVICES[kind].read(element))


def _device_elements(xml: DomainXML) -> Iterator[etree._Element]:
    for element in xml.root.iterfind("devices/*"):
        if isinstance(element.tag, str):
            yield element


def _setting(xml: DomainXML, kind: Kind, ident: str, values: dict[str, Any]) -> Setting:
    rtype = int(RESOURCE_TYPES[kind][0])
    common = {
        "InstanceID": naming.rasd_instance_id(xml.name, ident),
        "ElementName": ident,
        "ResourceType": rtype,
    }
    if kind in OTHER_RESOURCE_TYPES:
        common["OtherResourceType"] = OTHER_RESOURCE_TYPES[kind]
    return Setting(kind, ident, {**common, **present(values)})


def apply_resource(
    xml: DomainXML,
    kind: Kind,
    values: Mapping[str, Any],
    ident: str | None = None,
    *,
    driver: str = "qemu",
    defining: bool = False,
) -> str:
    """Apply one resource setting to the editable ``xml``; return its device id.

    With ``ident`` the setting changes that existing device (or, for
    processors and memory, the domain's values); without, it adds a device,
    or replaces the device of the same id (a reference configuration's).
    ``driver`` picks the vendor prefix of generated MAC addresses.
    ``defining`` says ``xml`` is a guest being defined: its memory maximum
    then follows the memory asked for unless a Limit says otherwise, as a
    changed guest's maximum stays unless it must grow.
    """
    given = present(values)
    if kind is Kind.PROC:
        processor.apply(xml, given)
        return naming.PROCESSOR_DEVICE_ID
    if kind is Kind.MEM:
        memory.apply(xml, given, defining=defining)
        return naming.MEMORY_DEVICE_ID
    existing = xml.find_device(ident) if ident is not None else None
    if ident is not None and (existing is None or existing.tag not in device_tags(kind)):
        raise SettingsError(f"guest {xml.name!r} has no {kind.value} {ident!r}")
    element = build_device(kind, given, existing, driver=driver)
    new_ident = device_id(element) or ""
    if existing is not None:
        if new_ident != ident and xml.find_device(new_ident) is not None:
            raise SettingsError(f"guest {xml.name!r} already has a device {new_ident!r}")
        xml.replace_device(ident or "", element)
    elif xml.find_device(new_ident) is not None:
        xml.replace_device(new_ident, element)
    else:
        xml.add_device(element)
    return new_ident


def build_device(
    kind: Kind,
    values: Mapping[str, Any],
    existing: etree._Element | None = None,
    *,
    driver: str = "qemu",
) -> etree._Element:
    """A device element from a setting: a new one, or an edited copy of ``existing``."""
    if not is_device(kind):
        raise SettingsError(f"a {kind.value} is not a device")
    given = present(values)
    element = copy.deepcopy(existing) if existing is not None else None
    return DEVICES[kind].write(element, given, driver)
