"""``<controller>``: the controller record and ControllerResourceAllocationSettingData,
read from the element and written back to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from providers.virt import naming
from providers.virt.mapping.base import (
    SettingsError,
    int_text,
    read_address,
    set_address,
    subtype,
)
from providers.virt.xmltree import attribute, child, integer, set_attrs

__all__ = [
    "Controller",
    "TAGS",
    "device_id",
    "read",
    "settings",
    "write",
]


TAGS = ("controller",)

_CONTROLLER_TYPES = ("ide", "fdc", "scsi", "sata", "ccid", "virtio-serial", "pci", "usb",
                     "xenbus", "isa")  # fmt: skip


@dataclass(frozen=True)
class Controller:
    """A ``<controller>`` (ide, scsi, usb, virtio-serial, pci...)."""

    device_id: str
    type: str
    index: int | None
    model: str | None
    element: etree._Element = field(repr=False, compare=False)


def device_id(element: etree._Element) -> str:
    """A controller is known by its type and index (``controller:scsi:0``)."""
    return naming.controller_device_id(element.get("type", ""), integer(element.get("index")))


def read(element: etree._Element) -> Controller:
    return Controller(
        device_id=device_id(element),
        type=element.get("type", ""),
        index=integer(element.get("index")),
        model=element.get("model"),
        element=element,
    )


def settings(element: etree._Element) -> dict[str, Any]:
    """The ControllerResourceAllocationSettingData values."""
    controller = read(element)
    return {
        "ResourceSubType": controller.type or None,
        "Index": controller.index,
        "Model": controller.model,
        "Ports": element.get("ports"),
        "Vectors": element.get("vectors"),
        "Queues": attribute(element, "driver", "queues"),
        **read_address(element),
    }


def write(
    element: etree._Element | None, values: Mapping[str, Any], _driver: str
) -> etree._Element:
    kind = subtype(values, _CONTROLLER_TYPES)
    if element is None:
        if kind is None or values.get("Index") is None:
            raise SettingsError("ResourceSubType and Index are required for a new controller")
        element = etree.Element("controller", type=kind)
    elif kind is not None and kind != element.get("type"):
        raise SettingsError(f"ResourceSubType of controller {element.get('type')!r} cannot change")
    set_attrs(element, {"index": int_text(values.get("Index")), "model": values.get("Model"),
                         "ports": values.get("Ports"), "vectors": values.get("Vectors")})  # fmt: skip
    if values.get("Queues") is not None:
        child(element, "driver").set("queues", str(values["Queues"]))
    set_address(element, values)
    return element
