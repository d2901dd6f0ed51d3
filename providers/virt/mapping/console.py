"""``<console>`` and ``<serial>``: the character-device record and
ConsoleResourceAllocationSettingData, read from the element and written back to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from providers.valuemaps import ConsoleSourceType
from providers.virt import naming
from providers.virt.mapping.base import SettingsError
from providers.virt.xmltree import attribute, child, integer, remove

__all__ = [
    "CharDevice",
    "TAGS",
    "device_id",
    "read",
    "settings",
    "write",
]


TAGS = ("console", "serial")

_CHAR_URL_SCHEMES = ("raw", "telnet", "telnets", "tls")


@dataclass(frozen=True)
class CharDevice:
    """A ``<console>`` or ``<serial>`` (``kind``); ``type`` is pty, file, tcp..."""

    device_id: str
    kind: str
    type: str
    source_path: str | None
    target_type: str | None
    target_port: int | None
    element: etree._Element = field(repr=False, compare=False)


def device_id(element: etree._Element) -> str:
    """A console or serial port is known by its kind and port (``charconsole:0``)."""
    return naming.chardev_device_id(element.tag, _port(element))


def _port(element: etree._Element) -> int:
    """The target port, or (as libvirt assigns it) the position among its kind."""
    port = integer(attribute(element, "target", "port"))
    if port is not None:
        return port
    parent = element.getparent()
    siblings = parent.findall(element.tag) if parent is not None else [element]
    return siblings.index(element)


def read(element: etree._Element) -> CharDevice:
    return CharDevice(
        device_id=device_id(element),
        kind=element.tag,
        type=element.get("type", ""),
        source_path=attribute(element, "source", "path"),
        target_type=attribute(element, "target", "type"),
        target_port=integer(attribute(element, "target", "port")),
        element=element,
    )


def settings(element: etree._Element) -> dict[str, Any]:
    """The ConsoleResourceAllocationSettingData values; sockets as Connect/BindURL."""
    device = read(element)
    try:
        source_type: int | None = int(ConsoleSourceType[device.type.upper()])
    except KeyError:
        source_type = None
    connect, bind = _char_urls(element, device.type)
    return {
        "SourceType": source_type,
        "SourcePath": device.source_path,
        "ConnectURL": connect,
        "BindURL": bind,
        "TargetType": device.target_type,
    }


def _char_urls(element: etree._Element, kind: str) -> tuple[str | None, str | None]:
    urls: dict[str, str] = {}
    for source in element.findall("source"):
        mode = source.get("mode", "connect")
        if kind == "unix" and source.get("path"):
            urls[mode] = f"file://{source.get('path')}"
        elif kind in ("tcp", "udp") and source.get("host") is not None:
            scheme = attribute(element, "protocol", "type") or "raw" if kind == "tcp" else "udp"
            urls[mode] = f"{scheme}://{source.get('host')}:{source.get('service', '')}"
    return urls.get("connect"), urls.get("bind")


def write(
    element: etree._Element | None, values: Mapping[str, Any], _driver: str
) -> etree._Element:
    source_type = values.get("SourceType")
    if source_type is not None:
        try:
            kind = ConsoleSourceType(int(source_type)).name.lower()
        except ValueError:
            raise SettingsError(f"SourceType {source_type} is not 0-10") from None
    elif element is None:
        raise SettingsError("SourceType is required for a new console")
    else:
        kind = element.get("type", "pty")
    if element is None:
        element = etree.Element("console", type=kind)
    elif kind != element.get("type"):
        element.set("type", kind)
        for source in element.findall("source"):
            remove(source)
    _set_console_source(element, kind, values)
    if "TargetType" in values:
        child(element, "target").set("type", values["TargetType"])
    return element


def _set_console_source(element: etree._Element, kind: str, values: Mapping[str, Any]) -> None:
    path = values.get("SourcePath")
    if kind in ("dev", "file", "pipe") and path is None and element.find("source") is None:
        raise SettingsError(f"SourcePath is required for a {kind!r} console")
    if path is not None and kind in ("pty", "dev", "file", "pipe"):
        child(element, "source", before=("target",)).set("path", path)
    urls = {mode: values.get(name) for mode, name in (("connect", "ConnectURL"),
                                                       ("bind", "BindURL"))}  # fmt: skip
    if kind not in ("tcp", "udp", "unix") or not any(urls.values()):
        return
    for source in element.findall("source"):
        remove(source)
    for mode, url in urls.items():
        if url:
            _add_url_source(element, kind, mode, url)


def _add_url_source(element: etree._Element, kind: str, mode: str, url: str) -> None:
    parts = urlsplit(url)
    name = "ConnectURL" if mode == "connect" else "BindURL"
    if kind == "unix":
        if parts.scheme != "file" or not parts.path:
            raise SettingsError(f"{name} {url!r} is not file:///<path>")
        attrs = {"mode": mode, "path": parts.path}
    else:
        schemes = ("udp",) if kind == "udp" else _CHAR_URL_SCHEMES
        try:
            port = parts.port
        except ValueError:
            port = None
        if parts.scheme not in schemes or not parts.hostname or port is None:
            raise SettingsError(f"{name} {url!r} is not {'|'.join(schemes)}://<host>:<port>")
        attrs = {"mode": mode, "host": parts.hostname, "service": str(port)}
        if kind == "tcp":
            child(element, "protocol").set("type", parts.scheme)
    source = etree.Element("source", attrs)
    target = element.find("target")
    if target is not None:
        target.addprevious(source)
    else:
        element.append(source)
