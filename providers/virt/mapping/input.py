"""``<input>``: the input record and InputResourceAllocationSettingData, read
from the element and written back to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from providers.virt import naming
from providers.virt.mapping.base import SettingsError, subtype
from providers.virt.xmltree import set_attrs

__all__ = [
    "Input",
    "TAGS",
    "device_id",
    "read",
    "settings",
    "write",
]


TAGS = ("input",)

_INPUT_TYPES = ("mouse", "tablet", "keyboard", "passthrough", "evdev")

_DEFAULT_INPUT_BUS = {"mouse": "ps2", "keyboard": "ps2", "tablet": "usb"}


@dataclass(frozen=True)
class Input:
    """An ``<input>`` (mouse, tablet, keyboard)."""

    device_id: str
    type: str
    bus: str | None
    element: etree._Element = field(repr=False, compare=False)


def device_id(element: etree._Element) -> str:
    """An input device is known by ``<type>:<bus>`` (``tablet:usb``)."""
    return naming.input_device_id(element.get("type", ""), element.get("bus", ""))


def read(element: etree._Element) -> Input:
    return Input(
        device_id=device_id(element),
        type=element.get("type", ""),
        bus=element.get("bus"),
        element=element,
    )


def settings(element: etree._Element) -> dict[str, Any]:
    """The InputResourceAllocationSettingData values, with libvirt-cim's Caption (``USB Tablet``)."""
    device = read(element)
    return {
        "ResourceSubType": device.type,
        "BusType": device.bus,
        "Caption": f"{(device.bus or '').upper()} {device.type.capitalize()}".strip(),
    }


def write(
    element: etree._Element | None, values: Mapping[str, Any], _driver: str
) -> etree._Element:
    kind = subtype(values, _INPUT_TYPES)
    if element is None:
        if kind is None:
            raise SettingsError("ResourceSubType is required for a new input device")
        element = etree.Element("input", type=kind)
        bus = values.get("BusType") or _DEFAULT_INPUT_BUS.get(kind)
        set_attrs(element, {"bus": bus})
    elif kind is not None:
        element.set("type", kind)
    set_attrs(element, {"bus": values.get("BusType")})
    return element
