"""Checks that the device mapping reads and writes each device element the same way.

Used by the mapping tests on sample XML, on the test driver and on QEMU: the
definitions libvirt reports (with its aliases, addresses and assigned ports)
must pass the same checks as the samples.
"""

from __future__ import annotations

import copy
from typing import Any

from lxml import etree

from providers.virt import DomainXML
from providers.virt.mapping import (
    DEVICES,
    KINDS_OF_TAG,
    Kind,
    console,
    controller,
    device_id,
    disk,
    graphics,
    input,
    interface,
    resources,
)
from providers.virt.mapping.graphics import PASSWORD_MASK

#: The guest name of the sample domains the pure mapping tests read.
NAME = "web1"

#: How each device's record (the devices' view) and its settings (the RASDs' view)
#: name the same fact: ``(record attribute, setting property)``.
AGREEING = {
    Kind.DISK: (disk.read, [("target_dev", "VirtualDevice"), ("target_bus", "BusType"),
                            ("driver_name", "DriverName"), ("driver_type", "DriverType"),
                            ("readonly", "readonly")]),
    Kind.NET: (interface.read, [("mac", "Address"), ("type", "NetworkType"),
                                ("source", "NetworkName"), ("model", "ResourceSubType"),
                                ("target_dev", "VirtualDevice")]),
    Kind.GRAPHICS: (graphics.read, [("type", "ResourceSubType"), ("keymap", "KeyMap")]),
    Kind.INPUT: (input.read, [("type", "ResourceSubType"), ("bus", "BusType")]),
    Kind.CONSOLE: (console.read, [("source_path", "SourcePath"), ("target_type", "TargetType")]),
    Kind.CONTROLLER: (controller.read, [("index", "Index"), ("model", "Model")]),
}


def check_every_device(xml: DomainXML, driver: str) -> None:
    """Every modelled element of ``xml`` round-trips through its settings and agrees with them."""
    elements = device_elements(xml)
    assert {element.tag for element in elements} == set(KINDS_OF_TAG)
    for element in elements:
        for kind in KINDS_OF_TAG[element.tag]:
            assert rewritten(kind, element, driver) == read(kind, element), etree.tostring(element)
            assert disagreements(kind, element) == []


def device_elements(xml: DomainXML) -> list[etree._Element]:
    """Every device element the mapping models, in document order."""
    return [element for element in xml.root.iterfind("devices/*")
            if isinstance(element.tag, str) and element.tag in KINDS_OF_TAG]


def read(kind: Kind, element: etree._Element) -> dict[str, Any]:
    return {name: value for name, value in DEVICES[kind].read(element).items()
            if value is not None}


def rewritten(kind: Kind, element: etree._Element, driver: str) -> dict[str, Any]:
    """The settings of ``element`` written onto a copy of it, read back."""
    settings = read(kind, element)
    return read(kind, DEVICES[kind].write(copy.deepcopy(element), settings, driver))


def written_anew(kind: Kind, element: etree._Element, driver: str) -> dict[str, Any]:
    """The settings of ``element`` written as a new device, read back."""
    settings = {name: value for name, value in read(kind, element).items()
                if value != PASSWORD_MASK}  # a password is never read back
    return read(kind, DEVICES[kind].write(None, settings, driver))


def disagreements(kind: Kind, element: etree._Element) -> list[str]:
    """Where the device record and the settings of ``element`` say different things."""
    if kind not in AGREEING:
        return []
    read_record, pairs = AGREEING[kind]
    record, settings = read_record(element), DEVICES[kind].read(element)
    found = [f"{attr}={getattr(record, attr)!r} but {name}={settings.get(name)!r}"
             for attr, name in pairs if getattr(record, attr) != settings.get(name)]
    if record.device_id != device_id(element):
        found.append(f"device id {record.device_id!r} but {device_id(element)!r}")
    return found


def by_id(xml: DomainXML, kind: Kind) -> dict[str, dict[str, Any]]:
    """The values of each ``kind`` setting of ``xml``, by device id."""
    return {setting.device_id: setting.values for setting in resources.settings(xml, [kind])}


def unmodelled(xml: DomainXML) -> list[bytes]:
    """The elements no setting maps to, serialized: they must never change."""
    kept = ("metadata", "seclabel", "{http://libvirt.org/schemas/domain/qemu/1.0}commandline")
    return [etree.tostring(xml.root.find(tag)) for tag in kept]
