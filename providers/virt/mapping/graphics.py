"""``<graphics>``: the graphics record and GraphicsResourceAllocationSettingData,
read from the element and written back to it. A password is never read back:
a set one reads as :data:`PASSWORD_MASK`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from providers.virt.mapping.base import SettingsError, subtype
from providers.virt.xmltree import attribute, integer, set_attrs

__all__ = [
    "Graphics",
    "PASSWORD_MASK",
    "TAGS",
    "device_id",
    "read",
    "settings",
    "write",
]


TAGS = ("graphics",)

#: The characters of a VNC password the protocol uses (its DES key).
VNC_PASSWORD_LENGTH = 8

#: What a set console password reads as; written back, it leaves the password alone.
PASSWORD_MASK = "********"

_GRAPHICS_TYPES = ("vnc", "sdl", "spice", "rdp", "desktop", "egl-headless", "dbus")

_LISTEN = re.compile(r"(?:\[(?P<v6>[^\]]*)\]|(?P<host>[^:]*)):(?P<port>-?[0-9]+)")


@dataclass(frozen=True)
class Graphics:
    """A ``<graphics>``; only whether a password is set is exposed, never the password."""

    device_id: str
    type: str
    port: int | None
    autoport: bool
    listen: str | None
    keymap: str | None
    has_password: bool
    element: etree._Element = field(repr=False, compare=False)


def device_id(element: etree._Element) -> str:
    """Graphics are known by their type (``vnc``, ``spice``...)."""
    return element.get("type", "")


def read(element: etree._Element) -> Graphics:
    return Graphics(
        device_id=device_id(element),
        type=element.get("type", ""),
        port=integer(element.get("port")),
        autoport=element.get("autoport") == "yes",
        listen=element.get("listen") or attribute(element, "listen", "address"),
        keymap=element.get("keymap"),
        has_password="passwd" in element.attrib,
        element=element,
    )


def settings(element: etree._Element) -> dict[str, Any]:
    """The GraphicsResourceAllocationSettingData values: Address is ``<host>:<port>``."""
    graphics = read(element)
    listen, port = graphics.listen, element.get("port")
    address = None
    if listen is not None or port is not None:
        host = f"[{listen}]" if listen and ":" in listen else (listen or "")
        address = f"{host}:{port if port is not None else -1}"
    return {
        "ResourceSubType": graphics.type,
        "Address": address,
        "KeyMap": graphics.keymap,
        "Password": PASSWORD_MASK if graphics.has_password else None,
        "IsIPv6Only": bool(listen and ":" in listen),
    }


def write(
    element: etree._Element | None, values: Mapping[str, Any], _driver: str
) -> etree._Element:
    kind = subtype(values, _GRAPHICS_TYPES)
    if element is None:
        if kind is None:
            raise SettingsError("ResourceSubType is required for new graphics")
        element = etree.Element("graphics", type=kind)
        if kind in ("vnc", "spice") and "Address" not in values:
            _set_listen(element, "[::1]:-1" if values.get("IsIPv6Only") else "127.0.0.1:-1")
    elif kind is not None and kind != element.get("type"):
        raise SettingsError(f"ResourceSubType of graphics {element.get('type')!r} cannot change")
    if "Address" in values:
        _set_listen(element, values["Address"])
    set_attrs(element, {"keymap": values.get("KeyMap")})
    password = values.get("Password")
    if password is not None and password != PASSWORD_MASK:
        if element.get("type") == "vnc":
            # VNC authentication uses the first 8 characters (a DES key) and
            # libvirt now refuses longer ones, which libvirt-cim's clients send.
            password = password[:VNC_PASSWORD_LENGTH]
        element.set("passwd", password)
    return element


def _set_listen(element: etree._Element, address: str) -> None:
    match = _LISTEN.fullmatch(address)
    if match is None:
        raise SettingsError(f"Address {address!r} is not <host>:<port> or [<IPv6>]:<port>")
    host = match.group("v6") if match.group("v6") is not None else match.group("host")
    port = int(match.group("port"))
    if port < -1 or port > 65535:
        raise SettingsError(f"Address {address!r} has no valid port")
    element.set("port", str(port))
    element.set("autoport", "yes" if port == -1 else "no")
    if host:
        element.set("listen", host)
        listen = element.find("listen")
        if listen is not None and listen.get("type", "address") == "address":
            listen.set("address", host)
