"""What every mapping shares: the kinds of resource setting and the ResourceTypes
each takes, the error a setting that cannot be applied raises, and the
property helpers several devices use.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any

from lxml import etree

from providers.valuemaps import ResourceType
from providers.virt.xmltree import remove

__all__ = [
    "KIND_BY_RESOURCE_TYPE",
    "Kind",
    "OTHER_RESOURCE_TYPES",
    "RESOURCE_TYPES",
    "SettingsError",
    "SettingsRefused",
    "int_text",
    "present",
    "read_address",
    "set_address",
    "subtype",
]


class SettingsError(ValueError):
    """A setting that cannot be applied; the message names the property."""


class SettingsRefused(SettingsError):
    """A setting libvirt-cim refused as a failure (CIM_ERR_FAILED) rather than a bad
    parameter, which its clients expect: a bridge interface without a bridge."""


class Kind(enum.Enum):
    """The kinds of resource setting, by generic class name.

    Which device elements each kind reads is said once, by the device modules'
    ``TAGS`` in the table of :mod:`providers.virt.mapping`.
    """

    PROC = "ProcResourceAllocationSettingData"
    MEM = "MemResourceAllocationSettingData"
    DISK = "DiskResourceAllocationSettingData"
    NET = "NetResourceAllocationSettingData"
    GRAPHICS = "GraphicsResourceAllocationSettingData"
    INPUT = "InputResourceAllocationSettingData"
    CONSOLE = "ConsoleResourceAllocationSettingData"
    CONTROLLER = "ControllerResourceAllocationSettingData"
    STORAGE = "StorageAllocationSettingData"
    ETHERNET = "EthernetPortAllocationSettingData"


#: ResourceType values each kind accepts; the first is the one it reports.
RESOURCE_TYPES: dict[Kind, tuple[ResourceType, ...]] = {
    Kind.PROC: (ResourceType.PROCESSOR,),
    Kind.MEM: (ResourceType.MEMORY,),
    Kind.DISK: (
        ResourceType.DISK_DRIVE,
        ResourceType.CD_DRIVE,
        ResourceType.DVD_DRIVE,
        ResourceType.FLOPPY_DRIVE,
    ),
    Kind.NET: (ResourceType.ETHERNET_ADAPTER,),
    Kind.GRAPHICS: (ResourceType.GRAPHICS_CONTROLLER,),
    Kind.INPUT: (ResourceType.IO_DEVICE,),
    Kind.CONSOLE: (ResourceType.OTHER, ResourceType.VIRT_CONSOLE),
    Kind.CONTROLLER: (ResourceType.OTHER, ResourceType.VIRT_CONTROLLER),
    Kind.STORAGE: (ResourceType.LOGICAL_DISK,),
    Kind.ETHERNET: (ResourceType.ETHERNET_CONNECTION,),
}

#: OtherResourceType of the kinds reported as ResourceType 1 (Other).
OTHER_RESOURCE_TYPES = {Kind.CONSOLE: "console", Kind.CONTROLLER: "controller"}

#: What a generic CIM RASD is, from its ResourceType.
KIND_BY_RESOURCE_TYPE: dict[ResourceType, Kind] = {
    rtype: kind
    for kind in (Kind.PROC, Kind.MEM, Kind.DISK, Kind.NET, Kind.GRAPHICS, Kind.INPUT,
                 Kind.STORAGE, Kind.ETHERNET, Kind.CONSOLE, Kind.CONTROLLER)
    for rtype in RESOURCE_TYPES[kind]
    if rtype is not ResourceType.OTHER
}  # fmt: skip


def present(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values given: ``None`` means a property was not given."""
    return {name: value for name, value in values.items() if value is not None}


def subtype(values: Mapping[str, Any], allowed: Sequence[str]) -> str | None:
    """The ResourceSubType given, if any, checked against the ``allowed`` device types."""
    kind = values.get("ResourceSubType")
    if kind is not None and kind not in allowed:
        raise SettingsError(f"ResourceSubType {kind!r} is not one of {', '.join(allowed)}")
    return kind


def int_text(value: Any) -> str | None:
    """An integer property as attribute text (``None`` stays ``None``)."""
    return None if value is None else str(int(value))


def read_address(element: etree._Element) -> dict[str, Any]:
    """A device's ``<address>`` as AddressProperties and AddressValues."""
    address = element.find("address")
    if address is None:
        return {}
    return {
        "AddressProperties": list(address.attrib.keys()),
        "AddressValues": list(address.attrib.values()),
    }


def set_address(element: etree._Element, values: Mapping[str, Any]) -> None:
    names, texts = values.get("AddressProperties"), values.get("AddressValues")
    if names is None and texts is None:
        return
    names, texts = list(names or []), list(texts or [])
    if len(names) != len(texts):
        raise SettingsError("AddressProperties and AddressValues differ in length")
    old = element.find("address")
    if old is not None:
        remove(old)
    if names:
        element.append(etree.Element("address", dict(zip(names, texts, strict=True))))
