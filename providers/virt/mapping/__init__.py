"""The mapping between libvirt's domain XML and CIM: one module per device kind.

Each device module (:mod:`.disk`, :mod:`.interface`, :mod:`.graphics`,
:mod:`.input`, :mod:`.console`, :mod:`.controller`) holds everything about its
element: the device id it is known by, the record the domain model and the
device providers read, the resource settings read from it and the writer that
applies a setting to it. This module registers them in :data:`DEVICES`, the
one table every reader of domain XML goes through. :mod:`.processor`,
:mod:`.memory` and :mod:`.system` map the domain's own elements;
:mod:`.resources` reads and writes a whole domain's resource settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from lxml import etree

from providers.virt.mapping import console, controller, disk, graphics, input, interface
from providers.virt.mapping.base import Kind, SettingsError, SettingsRefused

__all__ = [
    "DEVICES",
    "DEVICE_IDS",
    "KINDS_OF_TAG",
    "DeviceMapping",
    "Kind",
    "SettingsError",
    "SettingsRefused",
    "device_id",
    "device_tags",
    "is_device",
]


class DeviceMapping(NamedTuple):
    """How one kind of resource setting reads a device element and writes one.

    ``tags`` are the elements the kind is read from (the device module's
    ``TAGS``); ``write(element, values, driver)`` edits ``element`` (or makes
    a new one when it is ``None``) and returns it; ``driver`` picks the vendor
    prefix of generated MAC addresses.
    """

    tags: tuple[str, ...]
    read: Callable[[etree._Element], dict[str, Any]]
    write: Callable[[etree._Element | None, Mapping[str, Any], str], etree._Element]


#: Each device kind of setting, by the class that shows it.
DEVICES: Mapping[Kind, DeviceMapping] = {
    Kind.DISK: DeviceMapping(disk.TAGS, disk.settings, disk.write),
    Kind.STORAGE: DeviceMapping(disk.STORAGE_TAGS, disk.storage_settings, disk.write_storage),
    Kind.NET: DeviceMapping(interface.TAGS, interface.settings, interface.write),
    Kind.ETHERNET: DeviceMapping(interface.TAGS, interface.ethernet_settings,
                                 interface.write_ethernet),
    Kind.GRAPHICS: DeviceMapping(graphics.TAGS, graphics.settings, graphics.write),
    Kind.INPUT: DeviceMapping(input.TAGS, input.settings, input.write),
    Kind.CONSOLE: DeviceMapping(console.TAGS, console.settings, console.write),
    Kind.CONTROLLER: DeviceMapping(controller.TAGS, controller.settings, controller.write),
}

#: The kinds each device element is read as, in ``Kind`` order.
KINDS_OF_TAG: Mapping[str, tuple[Kind, ...]] = {
    tag: tuple(kind for kind in Kind if kind in DEVICES and tag in DEVICES[kind].tags)
    for mapping in DEVICES.values()
    for tag in mapping.tags
}

#: The device id of each modelled element, by tag.
DEVICE_IDS: Mapping[str, Callable[[etree._Element], str]] = {
    tag: module.device_id
    for module in (disk, interface, graphics, input, console, controller)
    for tag in module.TAGS
}


def is_device(kind: Kind) -> bool:
    """Whether settings of ``kind`` map a device element (processors and memory map none)."""
    return kind in DEVICES


def device_tags(kind: Kind) -> tuple[str, ...]:
    """The device elements ``kind`` is read from (none for processors and memory)."""
    mapping = DEVICES.get(kind)
    return mapping.tags if mapping is not None else ()


def device_id(element: etree._Element) -> str | None:
    """The RASD device id of a device element, or ``None`` for devices not modelled.

    disk -> target dev, filesystem -> target dir, interface -> MAC, graphics -> type, input -> ``type:bus``,
    console/serial -> ``charconsole:<port>``, controller -> ``controller:<type>:<index>``.
    """
    read = DEVICE_IDS.get(element.tag) if isinstance(element.tag, str) else None
    return read(element) if read is not None else None
