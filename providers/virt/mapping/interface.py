"""``<interface>``: the interface record, NetResourceAllocationSettingData and
EthernetPortAllocationSettingData, read from the element and written back to it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from providers.virt import naming
from providers.virt.mapping.base import (
    SettingsError,
    SettingsRefused,
    int_text,
    present,
    read_address,
    set_address,
)
from providers.virt.xmltree import attribute, child, first_attribute, integer, remove, set_attrs

__all__ = [
    "Interface",
    "TAGS",
    "device_id",
    "ethernet_settings",
    "random_mac",
    "read",
    "settings",
    "write",
    "write_ethernet",
]


TAGS = ("interface",)

_NETWORK_TYPES = ("network", "bridge", "user", "direct", "ethernet")

_MAC = re.compile(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}")

_NETWORK_POOL = "Network"

_OUI_BY_DRIVER = {"xen": "00:16:3e", "libxl": "00:16:3e"}

_KVM_OUI = "52:54:00"

#: Attributes of ``<interface><source>`` naming what the interface connects to, by type.
SOURCE_ATTRIBUTES = ("network", "bridge", "dev")


@dataclass(frozen=True)
class Interface:
    """An ``<interface>``; ``source`` is the network, bridge or host device, by type."""

    device_id: str
    type: str
    mac: str | None
    source: str | None
    source_mode: str | None
    model: str | None
    target_dev: str | None
    element: etree._Element = field(repr=False, compare=False)


def device_id(element: etree._Element) -> str:
    """An interface is known by its MAC address."""
    return attribute(element, "mac", "address") or ""


def read(element: etree._Element) -> Interface:
    source = element.find("source")
    return Interface(
        device_id=device_id(element),
        type=element.get("type", ""),
        mac=attribute(element, "mac", "address"),
        source=first_attribute(source, SOURCE_ATTRIBUTES),
        source_mode=source.get("mode") if source is not None else None,
        model=attribute(element, "model", "type"),
        target_dev=attribute(element, "target", "dev"),
        element=element,
    )


def settings(element: etree._Element) -> dict[str, Any]:
    """The NetResourceAllocationSettingData values of an interface."""
    nic = read(element)
    source = element.find("source")
    network = source.get("network") if source is not None else None
    direct = nic.type == "direct"
    inbound = element.find("bandwidth/inbound")
    port = element.find("virtualport")
    params = port.find("parameters") if port is not None else None
    return {
        "Address": nic.mac,
        "NetworkType": nic.type,
        "NetworkName": nic.source,
        "PoolID": naming.pool_instance_id(_NETWORK_POOL, network) if network else None,
        "SourceDevice": source.get("dev") if source is not None and direct else None,
        "NetworkMode": nic.source_mode if direct else None,
        "ResourceSubType": nic.model,
        "VirtualDevice": nic.target_dev,
        "FilterRef": attribute(element, "filterref", "filter"),
        "Reservation": integer(inbound.get("average")) if inbound is not None else None,
        "Limit": integer(inbound.get("peak")) if inbound is not None else None,
        "VSIType": port.get("type") if port is not None else None,
        "VSIManagerID": params.get("managerid") if params is not None else None,
        "VSITypeID": params.get("typeid") if params is not None else None,
        "VSITypeIDVersion": params.get("typeidversion") if params is not None else None,
        "VSIInstanceID": params.get("instanceid") if params is not None else None,
        "ProfileID": params.get("profileid") if params is not None else None,
        **read_address(element),
    }


def ethernet_settings(element: etree._Element) -> dict[str, Any]:
    """The EthernetPortAllocationSettingData values of an interface (DSP1050 1.1)."""
    nic = read(element)
    source = element.find("source")
    network = source.get("network") if source is not None else None
    return {
        "Address": nic.mac,
        "PoolID": naming.pool_instance_id(_NETWORK_POOL, network) if network else None,
        "HostResource": [nic.source] if nic.source else None,
    }


def write(
    element: etree._Element | None, values: Mapping[str, Any], driver: str
) -> etree._Element:
    net_type = values.get("NetworkType")
    if net_type is not None and net_type not in _NETWORK_TYPES:
        raise SettingsError(
            f"NetworkType {net_type!r} is not one of {', '.join(_NETWORK_TYPES)}"
        )
    if element is None:
        if net_type is None:
            raise SettingsError("NetworkType is required for a new network interface")
        element = etree.Element("interface", type=net_type)
        child(element, "mac").set("address", values.get("Address") or random_mac(driver))
    elif net_type is not None and net_type != element.get("type"):
        element.set("type", net_type)
        source = element.find("source")
        if source is not None:
            remove(source)
    mac = values.get("Address")
    if mac is not None:
        if not _MAC.fullmatch(mac):
            raise SettingsError(f"Address {mac!r} is not a MAC address")
        child(element, "mac").set("address", mac.lower())
    _set_interface_source(element, values)
    if values.get("ResourceSubType"):
        child(element, "model").set("type", values["ResourceSubType"])
    elif "ResourceSubType" in values and element.find("model") is not None:
        remove(element.find("model"))  # "" unsets the model: the driver's default
    if "VirtualDevice" in values:
        child(element, "target").set("dev", values["VirtualDevice"])
    if "FilterRef" in values:
        child(element, "filterref").set("filter", values["FilterRef"])
    _set_bandwidth(element, values)
    _set_virtualport(element, values)
    set_address(element, values)
    return element


def _set_interface_source(element: etree._Element, values: Mapping[str, Any]) -> None:
    kind = element.get("type")
    name = values.get("NetworkName")
    source = element.find("source")
    if kind == "network":
        pool = values.get("PoolID")
        if pool is not None and name is None:
            name = _network_of_pool(pool)
        if name is None and source is None:
            raise SettingsError("NetworkName or PoolID is required for a 'network' interface")
        if name is not None:
            child(element, "source", before=_AFTER_SOURCE).set("network", name)
    elif kind == "bridge":
        if name is None and source is None:
            raise SettingsRefused("NetworkName is required for a 'bridge' interface "
                                  "(No Network bridge name specified)")
        if name == "":
            raise SettingsRefused("NetworkName of a 'bridge' interface is empty "
                                  "(Bridge name is empty)")
        if name is not None:
            child(element, "source", before=_AFTER_SOURCE).set("bridge", name)
    elif kind == "direct":
        dev = values.get("SourceDevice") or name
        if dev is None and source is None:
            raise SettingsError("SourceDevice is required for a 'direct' interface")
        source = child(element, "source", before=_AFTER_SOURCE)
        set_attrs(source, {"dev": dev, "mode": values.get("NetworkMode")})


_AFTER_SOURCE = ("model", "target", "filterref", "bandwidth", "virtualport", "address")


def _network_of_pool(pool_id: str) -> str:
    """The network of ``NetworkPool/<name>``; ``NetworkPool/`` names none, which the
    caller refuses as a network not found, as libvirt-cim did."""
    if pool_id == naming.pool_instance_id(_NETWORK_POOL, "x")[:-1]:
        return ""
    try:
        kind, name = naming.parse_pool_instance_id(pool_id)
    except ValueError as error:
        raise SettingsError(f"PoolID: {error}") from None
    if kind != _NETWORK_POOL or name == naming.PRIMORDIAL_POOL:
        raise SettingsError(f"PoolID {pool_id!r} is not a virtual network's pool")
    return name


def _set_bandwidth(element: etree._Element, values: Mapping[str, Any]) -> None:
    average, peak = values.get("Reservation"), values.get("Limit")
    if average is None and peak is None:
        return
    inbound = child(child(element, "bandwidth"), "inbound")
    set_attrs(inbound, {"average": int_text(average), "peak": int_text(peak)})


def _set_virtualport(element: etree._Element, values: Mapping[str, Any]) -> None:
    names = {"VSIManagerID": "managerid", "VSITypeID": "typeid",
             "VSITypeIDVersion": "typeidversion", "VSIInstanceID": "instanceid",
             "ProfileID": "profileid"}  # fmt: skip
    if "VSIType" not in values and not any(name in values for name in names):
        return
    port = child(element, "virtualport")
    set_attrs(port, {"type": values.get("VSIType")})
    set_attrs(child(port, "parameters"), {attr: values.get(n) for n, attr in names.items()})


def write_ethernet(
    element: etree._Element | None, values: Mapping[str, Any], driver: str
) -> etree._Element:
    """An EthernetPortAllocationSettingData written as the interface setting it stands for."""
    return write(element, values_of_ethernet(values, element), driver)


def values_of_ethernet(
    values: Mapping[str, Any], existing: etree._Element | None
) -> dict[str, Any]:
    """An EthernetPortAllocationSettingData as the interface setting it stands for."""
    net: dict[str, Any] = {"Address": values.get("Address"), "PoolID": values.get("PoolID")}
    hosts = values.get("HostResource") or []
    if values.get("PoolID") is not None:
        net["NetworkType"] = "network"
    elif hosts:
        current = existing.get("type") if existing is not None else None
        net["NetworkType"] = current if current in ("network", "bridge", "direct") else "bridge"
        net["NetworkName"] = hosts[0]
    return present(net)


def random_mac(driver: str = "qemu") -> str:
    """A random unicast MAC address in the vendor range libvirt uses for ``driver``."""
    oui = _OUI_BY_DRIVER.get(driver, _KVM_OUI)
    return oui + "".join(f":{byte:02x}" for byte in secrets.token_bytes(3))
