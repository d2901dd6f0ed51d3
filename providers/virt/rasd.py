"""Settings (VSSD, RASDs) to and from the domain-XML model, with no libvirt calls.

A setting is a plain dict of CIM property values, named as DMTF and libvirt-cim
spell them. Reading turns a :class:`~providers.virt.domainxml.DomainXML` into
one :class:`Setting` per resource (processors, memory, then each device in
document order) and a dict for the system settings. Writing goes the other
way: a setting edits the domain's own tree, or a copy of one device element,
changing only the attributes and children its properties name, so everything
else in the definition stays as it was.

Only the properties a client gives are applied (``None`` means "not given"),
which is how ModifyResourceSettings and ModifySystemSettings change part of a
setting. A value that cannot be applied raises :class:`SettingsError` naming
the property; nothing is changed by a function that raises.
"""

from __future__ import annotations

import copy
import enum
import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from providers.valuemaps import (
    AutoStart,
    ClockOffset,
    ConsoleSourceType,
    EmulatedType,
    LifecycleAction,
    ResourceType,
    StartupAction,
)
from providers.virt import naming, units
from providers.virt.domain import DomainXML, device_id
from providers.virt.xmltree import attribute, first_attribute, integer, remove

__all__ = [
    "CPU_PERIOD_US",
    "DEFAULT_MEMORY_KIB",
    "DISK_UNITS",
    "MEMORY_UNITS",
    "PASSWORD_MASK",
    "Kind",
    "Setting",
    "SettingsError",
    "SettingsRefused",
    "apply_resource",
    "apply_system_settings",
    "build_device",
    "clone_definition",
    "cpu_limit",
    "cpu_tuning",
    "find_setting",
    "kind_of",
    "memory_kib",
    "new_domain",
    "random_mac",
    "settings",
    "system_name",
    "system_settings",
]

#: Memory of a guest defined without a memory setting (libvirt-cim's default template).
DEFAULT_MEMORY_KIB = 256 * 1024
#: The characters of a VNC password the protocol uses (its DES key).
VNC_PASSWORD_LENGTH = 8
#: What a set console password reads as; written back, it leaves the password alone.
PASSWORD_MASK = "********"
#: Units of the memory settings we report, as libvirt-cim wrote them (KiB; DSP0004's
#: ``byte*2^10`` and the other spellings in :mod:`~providers.virt.units` are accepted).
MEMORY_UNITS = "KiloBytes"
#: Units of a disk's size (its VirtualQuantity), as libvirt-cim wrote them.
DISK_UNITS = "Bytes"
#: The scheduling period a processor Limit is written with, in microseconds: a
#: Limit of N (percent of one host CPU) is a quota of N * 1000 per period.
CPU_PERIOD_US = 100_000
#: libvirt's bounds of a CPU quota, in microseconds per period.
_CPU_QUOTA_RANGE = (1000, 17_592_186_044_415)
#: What AllocationUnits means when a memory setting does not say (as libvirt-cim).
DEFAULT_MEMORY_UNITS = "byte"


class SettingsError(ValueError):
    """A setting that cannot be applied; the message names the property."""


class SettingsRefused(SettingsError):
    """A setting libvirt-cim refused as a failure (CIM_ERR_FAILED) rather than a bad
    parameter, which its clients expect: a bridge interface without a bridge."""


class Kind(enum.Enum):
    """The kinds of resource setting, by generic class name."""

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

    @property
    def tags(self) -> tuple[str, ...]:
        """The device elements of this kind (none for processors and memory)."""
        return _TAGS[self]

    @property
    def is_device(self) -> bool:
        return bool(self.tags)


_TAGS: dict[Kind, tuple[str, ...]] = {
    Kind.PROC: (),
    Kind.MEM: (),
    Kind.DISK: ("disk",),
    Kind.NET: ("interface",),
    Kind.GRAPHICS: ("graphics",),
    Kind.INPUT: ("input",),
    Kind.CONSOLE: ("console", "serial"),
    Kind.CONTROLLER: ("controller",),
    Kind.STORAGE: ("disk",),
    Kind.ETHERNET: ("interface",),
}
#: The kinds each device element is read as, in ``Kind`` order.
_KINDS_OF_TAG: dict[str, tuple[Kind, ...]] = {
    tag: tuple(kind for kind in _TAGS if tag in _TAGS[kind])
    for tag in {tag for tags in _TAGS.values() for tag in tags}
}

#: ResourceType values each kind accepts; the first is the one it reports.
_RESOURCE_TYPES: dict[Kind, tuple[ResourceType, ...]] = {
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
_OTHER_RESOURCE_TYPES = {Kind.CONSOLE: "console", Kind.CONTROLLER: "controller"}
#: What a generic CIM RASD is, from its ResourceType.
_KIND_BY_RESOURCE_TYPE: dict[ResourceType, Kind] = {
    rtype: kind
    for kind in (Kind.PROC, Kind.MEM, Kind.DISK, Kind.NET, Kind.GRAPHICS, Kind.INPUT,
                 Kind.STORAGE, Kind.ETHERNET, Kind.CONSOLE, Kind.CONTROLLER)
    for rtype in _RESOURCE_TYPES[kind]
    if rtype is not ResourceType.OTHER
}  # fmt: skip

_NETWORK_TYPES = ("network", "bridge", "user", "direct", "ethernet")
_GRAPHICS_TYPES = ("vnc", "sdl", "spice", "rdp", "desktop", "egl-headless", "dbus")
_INPUT_TYPES = ("mouse", "tablet", "keyboard", "passthrough", "evdev")
_DEFAULT_INPUT_BUS = {"mouse": "ps2", "keyboard": "ps2", "tablet": "usb"}
_CONTROLLER_TYPES = ("ide", "fdc", "scsi", "sata", "ccid", "virtio-serial", "pci", "usb",
                     "xenbus", "isa")  # fmt: skip
_BOOT_DEVICES = ("hd", "cdrom", "fd", "network")
_CHAR_URL_SCHEMES = ("raw", "telnet", "telnets", "tls")
_MAC = re.compile(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}")
_LISTEN = re.compile(r"(?:\[(?P<v6>[^\]]*)\]|(?P<host>[^:]*)):(?P<port>-?[0-9]+)")
_NETWORK_POOL = "Network"
_SOURCE_ATTRIBUTE = {"file": "file", "block": "dev", "dir": "dir"}
_OS_ORDER = ("type", "loader", "kernel", "initrd", "cmdline", "init", "boot")
_DOMAIN_TOP = ("bootloader", "bootloader_args")
_OUI_BY_DRIVER = {"xen": "00:16:3e", "libxl": "00:16:3e"}
_KVM_OUI = "52:54:00"


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
    if rtype is not None and int(rtype) not in _RESOURCE_TYPES[kind]:
        raise SettingsError(
            f"ResourceType {rtype} does not fit a {kind.value} "
            f"(expected {int(_RESOURCE_TYPES[kind][0])})"
        )
    other = values.get("OtherResourceType")
    if kind in _OTHER_RESOURCE_TYPES and other and other.lower() != _OTHER_RESOURCE_TYPES[kind]:
        raise SettingsError(f"OtherResourceType {other!r} does not fit a {kind.value}")
    return kind


def _kind_from_resource_type(rtype: Any, other: str | None) -> Kind:
    if rtype is None:
        raise SettingsError("ResourceType is required for a ResourceAllocationSettingData")
    if int(rtype) == ResourceType.OTHER:
        for kind, name in _OTHER_RESOURCE_TYPES.items():
            if (other or "").lower() == name:
                return kind
        raise SettingsError(f"OtherResourceType {other!r} is not console or controller")
    try:
        return _KIND_BY_RESOURCE_TYPE[ResourceType(int(rtype))]
    except (ValueError, KeyError):
        raise SettingsError(f"ResourceType {rtype} is not a resource a guest can have") from None


# --- reading -------------------------------------------------------------------------------


def settings(xml: DomainXML, kinds: Sequence[Kind] | None = None) -> list[Setting]:
    """Every resource setting of the domain of ``kinds`` (default: all), in order."""
    wanted = set(kinds or Kind)
    found = []
    if Kind.PROC in wanted:
        found.append(_setting(xml, Kind.PROC, naming.PROCESSOR_DEVICE_ID, _processor(xml)))
    if Kind.MEM in wanted:
        found.append(_setting(xml, Kind.MEM, naming.MEMORY_DEVICE_ID, _memory(xml)))
    for element in _device_elements(xml):
        kinds = [kind for kind in _KINDS_OF_TAG.get(element.tag, ()) if kind in wanted]
        ident = device_id(element) if kinds else ""
        if ident:
            found.extend(_setting(xml, kind, ident, _READERS[kind](element)) for kind in kinds)
    return found


def find_setting(xml: DomainXML, kind: Kind, ident: str) -> Setting | None:
    """The setting of ``kind`` for device ``ident``, or ``None``."""
    if kind is Kind.PROC:
        return settings(xml, [kind])[0] if ident == naming.PROCESSOR_DEVICE_ID else None
    if kind is Kind.MEM:
        return settings(xml, [kind])[0] if ident == naming.MEMORY_DEVICE_ID else None
    element = xml.find_device(ident)
    if element is None or element.tag not in kind.tags:
        return None
    return _setting(xml, kind, ident, _READERS[kind](element))


def _device_elements(xml: DomainXML) -> Iterator[etree._Element]:
    for element in xml.root.iterfind("devices/*"):
        if isinstance(element.tag, str):
            yield element


def _setting(xml: DomainXML, kind: Kind, ident: str, values: dict[str, Any]) -> Setting:
    rtype = int(_RESOURCE_TYPES[kind][0])
    common = {
        "InstanceID": naming.rasd_instance_id(xml.name, ident),
        "ElementName": ident,
        "ResourceType": rtype,
    }
    if kind in _OTHER_RESOURCE_TYPES:
        common["OtherResourceType"] = _OTHER_RESOURCE_TYPES[kind]
    return Setting(kind, ident, {**common, **_present(values)})


def _present(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def _processor(xml: DomainXML) -> dict[str, Any]:
    shares = integer(xml.root.findtext("cputune/shares"))
    return {
        "VirtualQuantity": xml.vcpus,
        "AllocationUnits": "count",
        "Limit": cpu_limit(xml),
        "Weight": shares,
    }


def cpu_limit(xml: DomainXML) -> int | None:
    """The guest's cap on host CPU in percent of one host CPU (``None``: no cap).

    Read from ``<cputune>``: the whole guest's ``global_quota`` per
    ``global_period`` where set, else the per-vCPU ``quota`` times the vCPUs.
    """
    cputune = xml.root.find("cputune")
    if cputune is None:
        return None
    for quota_tag, period_tag, times in (("global_quota", "global_period", 1),
                                         ("quota", "period", xml.vcpus)):  # fmt: skip
        quota = _signed(cputune.findtext(quota_tag))
        if quota is not None and quota > 0:
            period = integer(cputune.findtext(period_tag)) or CPU_PERIOD_US
            return -(-quota * times * 100 // period)
    return None


def _signed(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _memory(xml: DomainXML) -> dict[str, Any]:
    """Sizes in KiB, named ``KiloBytes`` as libvirt-cim named them."""
    dump_core = xml.root.find("memory")
    flag = dump_core.get("dumpCore") if dump_core is not None else None
    return {
        "AllocationUnits": MEMORY_UNITS,
        "VirtualQuantityUnits": "byte*2^10",
        "VirtualQuantity": xml.current_memory_kib,
        "Reservation": xml.current_memory_kib,
        "Limit": xml.memory_kib,
        "dumpCore": None if flag is None else flag == "on",
    }


def _disk(element: etree._Element) -> dict[str, Any]:
    source = _source_of_disk(element)
    device = element.get("device", "disk")
    if source is None and device in ("cdrom", "floppy"):
        source = ""  # an empty drive, as libvirt-cim read it
    emulated = _EMULATED_TYPES.get(device)
    driver = element.find("driver")
    return {
        "VirtualDevice": attribute(element, "target", "dev"),
        "Address": source,
        "HostResource": [source] if source else None,
        "EmulatedType": int(emulated) if emulated is not None else None,
        "BusType": attribute(element, "target", "bus"),
        "DriverName": driver.get("name") if driver is not None else None,
        "DriverType": driver.get("type") if driver is not None else None,
        "DriverCache": driver.get("cache") if driver is not None else None,
        "readonly": element.find("readonly") is not None,
        "shareable": element.find("shareable") is not None,
        "rawio": element.get("rawio"),
        "sgio": element.get("sgio"),
        **_address(element),
    }


def _storage(element: etree._Element) -> dict[str, Any]:
    source = _source_of_disk(element)
    return {
        "HostResource": [source] if source else None,
        "AddressOnParent": attribute(element, "target", "dev"),
        "Access": 1 if element.find("readonly") is not None else 3,
    }


def _source_of_disk(element: etree._Element) -> str | None:
    source = element.find("source")
    if source is None:
        return None
    for name in ("file", "dev", "dir", "volume", "name"):
        if name in source.attrib:
            return source.get(name)
    return None


def _interface(element: etree._Element) -> dict[str, Any]:
    kind = element.get("type", "")
    source = element.find("source")
    network = source.get("network") if source is not None else None
    inbound = element.find("bandwidth/inbound")
    port = element.find("virtualport")
    params = port.find("parameters") if port is not None else None
    return {
        "Address": attribute(element, "mac", "address"),
        "NetworkType": kind,
        "NetworkName": first_attribute(source, ("network", "bridge", "dev")),
        "PoolID": naming.pool_instance_id(_NETWORK_POOL, network) if network else None,
        "SourceDevice": source.get("dev") if source is not None and kind == "direct" else None,
        "NetworkMode": source.get("mode") if source is not None and kind == "direct" else None,
        "ResourceSubType": attribute(element, "model", "type"),
        "VirtualDevice": attribute(element, "target", "dev"),
        "FilterRef": attribute(element, "filterref", "filter"),
        "Reservation": integer(inbound.get("average")) if inbound is not None else None,
        "Limit": integer(inbound.get("peak")) if inbound is not None else None,
        "VSIType": port.get("type") if port is not None else None,
        "VSIManagerID": params.get("managerid") if params is not None else None,
        "VSITypeID": params.get("typeid") if params is not None else None,
        "VSITypeIDVersion": params.get("typeidversion") if params is not None else None,
        "VSIInstanceID": params.get("instanceid") if params is not None else None,
        "ProfileID": params.get("profileid") if params is not None else None,
        **_address(element),
    }


def _ethernet(element: etree._Element) -> dict[str, Any]:
    source = element.find("source")
    network = source.get("network") if source is not None else None
    host = first_attribute(source, ("network", "bridge", "dev"))
    return {
        "Address": attribute(element, "mac", "address"),
        "PoolID": naming.pool_instance_id(_NETWORK_POOL, network) if network else None,
        "HostResource": [host] if host else None,
    }


def _graphics(element: etree._Element) -> dict[str, Any]:
    kind = element.get("type", "")
    listen = element.get("listen") or attribute(element, "listen", "address")
    port = element.get("port")
    address = None
    if listen is not None or port is not None:
        host = f"[{listen}]" if listen and ":" in listen else (listen or "")
        address = f"{host}:{port if port is not None else -1}"
    return {
        "ResourceSubType": kind,
        "Address": address,
        "KeyMap": element.get("keymap"),
        "Password": PASSWORD_MASK if "passwd" in element.attrib else None,
        "IsIPv6Only": bool(listen and ":" in listen),
    }


def _input(element: etree._Element) -> dict[str, Any]:
    kind, bus = element.get("type", ""), element.get("bus")
    return {
        "ResourceSubType": kind,
        "BusType": bus,
        "Caption": f"{(bus or '').upper()} {kind.capitalize()}".strip(),
    }


def _console(element: etree._Element) -> dict[str, Any]:
    kind = element.get("type", "")
    try:
        source_type: int | None = int(ConsoleSourceType[kind.upper()])
    except KeyError:
        source_type = None
    connect, bind = _char_urls(element, kind)
    return {
        "SourceType": source_type,
        "SourcePath": attribute(element, "source", "path"),
        "ConnectURL": connect,
        "BindURL": bind,
        "TargetType": attribute(element, "target", "type"),
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


def _controller(element: etree._Element) -> dict[str, Any]:
    return {
        "ResourceSubType": element.get("type"),
        "Index": integer(element.get("index")),
        "Model": element.get("model"),
        "Ports": element.get("ports"),
        "Vectors": element.get("vectors"),
        "Queues": attribute(element, "driver", "queues"),
        **_address(element),
    }


def _address(element: etree._Element) -> dict[str, Any]:
    address = element.find("address")
    if address is None:
        return {}
    return {
        "AddressProperties": list(address.attrib.keys()),
        "AddressValues": list(address.attrib.values()),
    }


_READERS = {
    Kind.DISK: _disk,
    Kind.NET: _interface,
    Kind.GRAPHICS: _graphics,
    Kind.INPUT: _input,
    Kind.CONSOLE: _console,
    Kind.CONTROLLER: _controller,
    Kind.STORAGE: _storage,
    Kind.ETHERNET: _ethernet,
}
_EMULATED_TYPES = {
    "disk": EmulatedType.DISK,
    "cdrom": EmulatedType.CDROM,
    "floppy": EmulatedType.FLOPPY,
    "lun": EmulatedType.LUN,
}


# --- writing resources ---------------------------------------------------------------------


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
    given = _present(values)
    if kind is Kind.PROC:
        _apply_processor(xml, given)
        return naming.PROCESSOR_DEVICE_ID
    if kind is Kind.MEM:
        _apply_memory(xml, given, defining=defining)
        return naming.MEMORY_DEVICE_ID
    existing = xml.find_device(ident) if ident is not None else None
    if ident is not None and (existing is None or existing.tag not in kind.tags):
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
    if not kind.is_device:
        raise SettingsError(f"a {kind.value} is not a device")
    given = _present(values)
    if kind is Kind.STORAGE:
        kind, given = Kind.DISK, _disk_values_of_storage(given)
    elif kind is Kind.ETHERNET:
        kind, given = Kind.NET, _net_values_of_ethernet(given, existing)
    element = copy.deepcopy(existing) if existing is not None else None
    return _WRITERS[kind](element, given, driver)


def _apply_processor(xml: DomainXML, values: Mapping[str, Any]) -> None:
    """vCPUs from VirtualQuantity; Weight and Limit as ``<cputune>`` (see :func:`cpu_tuning`).

    Limit is a cap on host CPU (DSP1044, and libvirt-cim's Xen ``cap``), not
    a number of vCPUs: the vCPU maximum grows only as far as VirtualQuantity.
    """
    count = values.get("VirtualQuantity")
    if count is not None:
        _check_positive(count, "VirtualQuantity")
        try:
            xml.set_vcpus(int(count), max(xml.max_vcpus, int(count)))
        except ValueError as error:
            raise SettingsError(f"VirtualQuantity: {error}") from None
    tuning = cpu_tuning(values)
    limit = values.get("Limit")
    if limit is not None and (int(limit) or None) == cpu_limit(xml):
        # the cap the guest has (perhaps as per-vCPU quotas): leave it as written
        tuning.pop("global_period", None)
        tuning.pop("global_quota", None)
    if not tuning:
        return
    cputune = _child(xml.root, "cputune")  # libvirt puts it in its place
    for tag, value in _cputune_elements(tuning).items():
        if value is None:
            old = cputune.find(tag)
            if old is not None:
                remove(old)
        else:
            _child(cputune, tag, order=_CPUTUNE_ORDER).text = str(value)
    if len(cputune) == 0:
        remove(cputune)


_CPUTUNE_ORDER = ("shares", "period", "quota", "global_period", "global_quota")


def cpu_tuning(values: Mapping[str, Any]) -> dict[str, int]:
    """The scheduler parameters a processor setting asks for, as libvirt names them.

    ``cpu_shares`` from Weight; ``global_period`` and ``global_quota`` from
    Limit, in percent of one host CPU (100 = one whole CPU, for the whole
    guest), with 0 meaning no cap (a quota of -1). Raises
    :class:`SettingsError` for a value libvirt cannot take.
    """
    tuning: dict[str, int] = {}
    weight = values.get("Weight")
    if weight is not None:
        if not 2 <= int(weight) <= 262144:
            raise SettingsError(f"Weight {weight} is not between 2 and 262144")
        tuning["cpu_shares"] = int(weight)
    limit = values.get("Limit")
    if limit is not None:
        quota = int(limit) * CPU_PERIOD_US // 100
        if int(limit) != 0 and not _CPU_QUOTA_RANGE[0] <= quota <= _CPU_QUOTA_RANGE[1]:
            raise SettingsError(f"Limit {limit} (percent of one host CPU) is not between 1 "
                                f"and {_CPU_QUOTA_RANGE[1] * 100 // CPU_PERIOD_US}")  # fmt: skip
        tuning["global_period"] = CPU_PERIOD_US
        tuning["global_quota"] = quota if int(limit) else -1
    return tuning


def _cputune_elements(tuning: Mapping[str, int]) -> dict[str, int | None]:
    """``<cputune>`` children for scheduler parameters (``None``: remove the child)."""
    elements: dict[str, int | None] = {}
    if "cpu_shares" in tuning:
        elements["shares"] = tuning["cpu_shares"]
    if "global_quota" in tuning:
        capped = tuning["global_quota"] > 0
        elements["global_period"] = tuning["global_period"] if capped else None
        elements["global_quota"] = tuning["global_quota"] if capped else None
    return elements


def memory_kib(values: Mapping[str, Any], name: str) -> int | None:
    """The memory size property ``name`` in KiB (rounded up), or ``None`` if absent."""
    quantity = values.get(name)
    if quantity is None:
        return None
    unit = values.get("AllocationUnits") or DEFAULT_MEMORY_UNITS
    try:
        size = units.to_bytes(int(quantity), unit)
    except ValueError as error:
        raise SettingsError(f"{name}/AllocationUnits: {error}") from None
    if size == 0:
        raise SettingsError(f"{name} of memory may not be zero")
    return -(-size // 1024)


def _apply_memory(xml: DomainXML, values: Mapping[str, Any], *, defining: bool) -> None:
    current = memory_kib(values, "VirtualQuantity")
    if current is None:
        current = memory_kib(values, "Reservation")
    maximum = memory_kib(values, "Limit")
    if maximum is None and current is not None and (defining or current > (xml.memory_kib or 0)):
        maximum = current
    if defining and current is None and maximum is not None:
        current = min(maximum, xml.current_memory_kib or maximum)
    if current is not None and maximum is not None and current > maximum:
        raise SettingsError(f"VirtualQuantity {current} KiB exceeds Limit {maximum} KiB")
    if maximum is not None and maximum != xml.memory_kib:
        xml.set_memory(maximum)
    if current is not None and current != xml.current_memory_kib:
        xml.set_current_memory(current)
    dump_core = values.get("dumpCore")
    memory = xml.root.find("memory")
    if dump_core is not None and memory is not None:
        flag = "on" if dump_core else "off"
        if memory.get("dumpCore") != flag:
            memory.set("dumpCore", flag)


def _write_disk(
    element: etree._Element | None, values: Mapping[str, Any], _driver: str
) -> etree._Element:
    target_dev = values.get("VirtualDevice")
    if element is None:
        if not target_dev:
            raise SettingsError("VirtualDevice is required for a new disk")
        element = etree.Element("disk", type="file", device="disk")
    if target_dev:
        _child(element, "target").set("dev", target_dev)
    device = _disk_device(values)
    if device is not None:
        element.set("device", device)
    if "Address" in values:
        _set_disk_source(element, values["Address"])
    _set_attrs(_maybe_child(element, "target", values, ("BusType",)), {"bus": values.get("BusType")})
    _set_attrs(
        _maybe_child(element, "driver", values, ("DriverName", "DriverType", "DriverCache")),
        {"name": values.get("DriverName"), "type": values.get("DriverType"),
         "cache": values.get("DriverCache")},
    )  # fmt: skip
    for flag in ("readonly", "shareable"):
        if flag in values:
            _set_flag_child(element, flag, bool(values[flag]))
    _set_attrs(element, {"rawio": values.get("rawio"), "sgio": values.get("sgio")})
    _set_address(element, values)
    return element


def _disk_device(values: Mapping[str, Any]) -> str | None:
    emulated = values.get("EmulatedType")
    if emulated is not None:
        try:
            kind = EmulatedType(int(emulated))
        except ValueError:
            raise SettingsError(f"EmulatedType {emulated} is not 0-4") from None
        if kind is EmulatedType.FILESYSTEM:
            raise SettingsError("EmulatedType 3 (filesystem) is not supported for disks")
        return kind.name.lower()
    rtype = values.get("ResourceType")
    return _DEVICE_BY_RESOURCE_TYPE.get(int(rtype)) if rtype is not None else None


#: The ``<disk device>`` a drive's ResourceType asks for, when EmulatedType does not say.
_DEVICE_BY_RESOURCE_TYPE: dict[int, str] = {
    ResourceType.CD_DRIVE: "cdrom",
    ResourceType.DVD_DRIVE: "cdrom",
    ResourceType.FLOPPY_DRIVE: "floppy",
}


def _set_disk_source(element: etree._Element, path: str) -> None:
    """Point the disk at ``path``: a file, or under ``/dev/`` a block device; "" empties it."""
    source = element.find("source")
    if not path or path == "/dev/null":
        if element.get("device") not in ("cdrom", "floppy"):
            raise SettingsError("Address is required for a disk that is not a CD-ROM or floppy")
        if source is not None:
            remove(source)
        return
    disk_type = element.get("type", "file")
    if disk_type in ("file", "block"):
        disk_type = "block" if path.startswith("/dev/") else "file"
    attribute = _SOURCE_ATTRIBUTE.get(disk_type)
    if attribute is None:
        raise SettingsError(f"Address of a {disk_type!r} disk cannot be changed")
    element.set("type", disk_type)
    if source is None:
        source = _child(element, "source", before=("target",))
    for name in _SOURCE_ATTRIBUTE.values():
        source.attrib.pop(name, None)
    source.set(attribute, path)


def _write_interface(
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
        _child(element, "mac").set("address", values.get("Address") or random_mac(driver))
    elif net_type is not None and net_type != element.get("type"):
        element.set("type", net_type)
        source = element.find("source")
        if source is not None:
            remove(source)
    mac = values.get("Address")
    if mac is not None:
        if not _MAC.fullmatch(mac):
            raise SettingsError(f"Address {mac!r} is not a MAC address")
        _child(element, "mac").set("address", mac.lower())
    _set_interface_source(element, values)
    if values.get("ResourceSubType"):
        _child(element, "model").set("type", values["ResourceSubType"])
    elif "ResourceSubType" in values and element.find("model") is not None:
        remove(element.find("model"))  # "" unsets the model: the driver's default
    if "VirtualDevice" in values:
        _child(element, "target").set("dev", values["VirtualDevice"])
    if "FilterRef" in values:
        _child(element, "filterref").set("filter", values["FilterRef"])
    _set_bandwidth(element, values)
    _set_virtualport(element, values)
    _set_address(element, values)
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
            _child(element, "source", before=_AFTER_SOURCE).set("network", name)
    elif kind == "bridge":
        if name is None and source is None:
            raise SettingsRefused("NetworkName is required for a 'bridge' interface "
                                  "(No Network bridge name specified)")
        if name == "":
            raise SettingsRefused("NetworkName of a 'bridge' interface is empty "
                                  "(Bridge name is empty)")
        if name is not None:
            _child(element, "source", before=_AFTER_SOURCE).set("bridge", name)
    elif kind == "direct":
        dev = values.get("SourceDevice") or name
        if dev is None and source is None:
            raise SettingsError("SourceDevice is required for a 'direct' interface")
        source = _child(element, "source", before=_AFTER_SOURCE)
        _set_attrs(source, {"dev": dev, "mode": values.get("NetworkMode")})


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
    inbound = _child(_child(element, "bandwidth"), "inbound")
    _set_attrs(inbound, {"average": _str(average), "peak": _str(peak)})


def _set_virtualport(element: etree._Element, values: Mapping[str, Any]) -> None:
    names = {"VSIManagerID": "managerid", "VSITypeID": "typeid",
             "VSITypeIDVersion": "typeidversion", "VSIInstanceID": "instanceid",
             "ProfileID": "profileid"}  # fmt: skip
    if "VSIType" not in values and not any(name in values for name in names):
        return
    port = _child(element, "virtualport")
    _set_attrs(port, {"type": values.get("VSIType")})
    _set_attrs(_child(port, "parameters"), {attr: values.get(n) for n, attr in names.items()})


def _subtype(values: Mapping[str, Any], allowed: Sequence[str]) -> str | None:
    """The ResourceSubType given, if any, checked against the ``allowed`` device types."""
    kind = values.get("ResourceSubType")
    if kind is not None and kind not in allowed:
        raise SettingsError(f"ResourceSubType {kind!r} is not one of {', '.join(allowed)}")
    return kind


def _write_graphics(
    element: etree._Element | None, values: Mapping[str, Any], _driver: str
) -> etree._Element:
    kind = _subtype(values, _GRAPHICS_TYPES)
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
    _set_attrs(element, {"keymap": values.get("KeyMap")})
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


def _write_input(
    element: etree._Element | None, values: Mapping[str, Any], _driver: str
) -> etree._Element:
    kind = _subtype(values, _INPUT_TYPES)
    if element is None:
        if kind is None:
            raise SettingsError("ResourceSubType is required for a new input device")
        element = etree.Element("input", type=kind)
        bus = values.get("BusType") or _DEFAULT_INPUT_BUS.get(kind)
        _set_attrs(element, {"bus": bus})
    elif kind is not None:
        element.set("type", kind)
    _set_attrs(element, {"bus": values.get("BusType")})
    return element


def _write_console(
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
        _child(element, "target").set("type", values["TargetType"])
    return element


def _set_console_source(element: etree._Element, kind: str, values: Mapping[str, Any]) -> None:
    path = values.get("SourcePath")
    if kind in ("dev", "file", "pipe") and path is None and element.find("source") is None:
        raise SettingsError(f"SourcePath is required for a {kind!r} console")
    if path is not None and kind in ("pty", "dev", "file", "pipe"):
        _child(element, "source", before=("target",)).set("path", path)
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
            _child(element, "protocol").set("type", parts.scheme)
    source = etree.Element("source", attrs)
    target = element.find("target")
    if target is not None:
        target.addprevious(source)
    else:
        element.append(source)


def _write_controller(
    element: etree._Element | None, values: Mapping[str, Any], _driver: str
) -> etree._Element:
    kind = _subtype(values, _CONTROLLER_TYPES)
    if element is None:
        if kind is None or values.get("Index") is None:
            raise SettingsError("ResourceSubType and Index are required for a new controller")
        element = etree.Element("controller", type=kind)
    elif kind is not None and kind != element.get("type"):
        raise SettingsError(f"ResourceSubType of controller {element.get('type')!r} cannot change")
    _set_attrs(element, {"index": _str(values.get("Index")), "model": values.get("Model"),
                         "ports": values.get("Ports"), "vectors": values.get("Vectors")})  # fmt: skip
    if values.get("Queues") is not None:
        _child(element, "driver").set("queues", str(values["Queues"]))
    _set_address(element, values)
    return element


def _disk_values_of_storage(values: Mapping[str, Any]) -> dict[str, Any]:
    """A StorageAllocationSettingData as the disk drive setting it stands for."""
    hosts = values.get("HostResource") or []
    disk: dict[str, Any] = {"VirtualDevice": values.get("AddressOnParent")}
    if hosts:
        disk["Address"] = hosts[0]
    access = values.get("Access")
    if access is not None:
        disk["readonly"] = int(access) == 1
    return _present(disk)


def _net_values_of_ethernet(
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
    return _present(net)


_WRITERS = {
    Kind.DISK: _write_disk,
    Kind.NET: _write_interface,
    Kind.GRAPHICS: _write_graphics,
    Kind.INPUT: _write_input,
    Kind.CONSOLE: _write_console,
    Kind.CONTROLLER: _write_controller,
}


def random_mac(driver: str = "qemu") -> str:
    """A random unicast MAC address in the vendor range libvirt uses for ``driver``."""
    oui = _OUI_BY_DRIVER.get(driver, _KVM_OUI)
    return oui + "".join(f":{byte:02x}" for byte in secrets.token_bytes(3))


# --- the system ----------------------------------------------------------------------------


def system_settings(xml: DomainXML, prefix: str, autostart: bool | None) -> dict[str, Any]:
    """The VirtualSystemSettingData values of a domain (``autostart`` read from libvirt)."""
    os_type = xml.os_type
    offset = {"utc": ClockOffset.UTC, "localtime": ClockOffset.LOCALTIME}.get(
        xml.clock_offset or ""
    )
    values = {
        "InstanceID": naming.vssd_instance_id(prefix, xml.name),
        "ElementName": xml.name,
        "VirtualSystemIdentifier": xml.name,
        "VirtualSystemType": prefix,
        "Caption": "Virtual System",
        "Description": "Virtual System",
        "UUID": xml.uuid,
        "AutomaticShutdownAction": _action_value(xml.on_poweroff),
        "AutomaticRecoveryAction": _action_value(xml.on_crash),
        "EnableACPI": xml.has_feature("acpi"),
        "EnableAPIC": xml.has_feature("apic"),
        "EnablePAE": xml.has_feature("pae"),
        "ClockOffset": int(offset) if offset is not None else None,
        "Emulator": xml.emulator,
        "BootDevices": xml.boot_devices or None,
        "Arch": xml.arch,
        "Machine": xml.machine,
        "IsFullVirt": os_type == "hvm" if os_type else None,
        "Kernel": xml.root.findtext("os/kernel"),
        "Ramdisk": xml.root.findtext("os/initrd"),
        "CommandLine": xml.root.findtext("os/cmdline"),
        "Bootloader": xml.root.findtext("bootloader"),
        "BootloaderArgs": xml.root.findtext("bootloader_args"),
        "InitPath": xml.init,
    }
    if autostart is not None:
        values["AutoStart"] = int(AutoStart.ENABLED if autostart else AutoStart.DISABLED)
        values["AutomaticStartupAction"] = int(
            StartupAction.ALWAYS_START if autostart else StartupAction.NONE
        )
    return _present(values)


def _action_value(action: str | None) -> int | None:
    try:
        return int(LifecycleAction[(action or "").upper()])
    except KeyError:
        return None


def system_name(values: Mapping[str, Any]) -> str:
    """The guest name a VSSD asks for: VirtualSystemIdentifier, else ElementName."""
    name = values.get("VirtualSystemIdentifier") or values.get("ElementName")
    if not name:
        raise SettingsError("VirtualSystemIdentifier (the guest name) is required")
    if "/" in name or "\0" in name:
        raise SettingsError(f"VirtualSystemIdentifier {name!r} may not hold '/' or NUL")
    return str(name)


def new_domain(name: str, domain_type: str, os_type: str = "hvm") -> DomainXML:
    """A minimal definition to apply settings to: name, default memory, one vCPU.

    A fully virtualized guest gets ACPI, as libvirt-cim gave it: without it
    a PC guest can neither be shut down gracefully nor take PCI hot-plug. A
    container gets the console its init needs.
    """
    root = etree.Element("domain", type=domain_type)
    xml = DomainXML(root)
    xml.set_name(name)
    xml.set_memory(DEFAULT_MEMORY_KIB)
    xml.set_vcpus(1)
    xml.set_os(os_type=os_type)
    if os_type == "hvm":
        xml.set_feature("acpi", True)
    devices = _child(root, "devices")
    if os_type == "exe":
        # libvirt starts a container only with a PTY console for its init.
        etree.SubElement(devices, "console", type="pty")
    return xml


def clone_definition(reference: DomainXML, name: str, *, driver: str = "qemu") -> DomainXML:
    """An editable copy of ``reference`` for a new guest ``name``.

    What must differ between two guests is dropped or renewed: the UUID
    (libvirt makes a new one), every interface's MAC address and host-side
    device name, and the ids libvirt gives a running guest.
    """
    xml = reference.copy()
    root = xml.root
    root.attrib.pop("id", None)
    uuid = root.find("uuid")
    if uuid is not None:
        remove(uuid)
    xml.set_name(name)
    for interface in root.iterfind("devices/interface"):
        _child(interface, "mac").set("address", random_mac(driver))
        target = interface.find("target")
        if target is not None:
            remove(target)
    return xml


def apply_system_settings(xml: DomainXML, values: Mapping[str, Any]) -> None:
    """Apply VSSD values to the editable ``xml`` (its name and UUID are the caller's).

    AutoStart is not in the XML; callers apply it through libvirt.
    """
    given = _present(values)
    for name, event in (("AutomaticShutdownAction", "poweroff"),
                        ("AutomaticRecoveryAction", "crash")):  # fmt: skip
        if name in given:
            try:
                action = LifecycleAction(int(given[name])).name.lower()
            except ValueError:
                raise SettingsError(f"{name} {given[name]} is not 2, 3 or 123") from None
            xml.set_lifecycle_action(event, action)
    for name, feature in (("EnableACPI", "acpi"), ("EnableAPIC", "apic"), ("EnablePAE", "pae")):
        if name in given:
            xml.set_feature(feature, bool(given[name]))
    if "ClockOffset" in given:
        try:
            xml.set_clock_offset(ClockOffset(int(given["ClockOffset"])).name.lower())
        except ValueError:
            raise SettingsError(f"ClockOffset {given['ClockOffset']} is not 0 or 1") from None
    if "BootDevices" in given:
        devices = list(given["BootDevices"])
        for dev in devices:
            if dev not in _BOOT_DEVICES:
                raise SettingsError(f"BootDevices: {dev!r} is not one of {', '.join(_BOOT_DEVICES)}")
        xml.set_boot_devices(devices)
    if "Arch" in given or "Machine" in given:
        xml.set_os(arch=given.get("Arch"), machine=given.get("Machine"))
    if "IsFullVirt" in given and xml.domain_type in ("xen",):
        xml.set_os(os_type="hvm" if given["IsFullVirt"] else "linux")
    if "Emulator" in given:
        xml.set_emulator(given["Emulator"] or None)
    _apply_boot_files(xml, given)


def _apply_boot_files(xml: DomainXML, values: Mapping[str, Any]) -> None:
    os_element = xml.root.find("os")
    for name, tag in (("Kernel", "kernel"), ("Ramdisk", "initrd"), ("CommandLine", "cmdline"),
                      ("InitPath", "init")):  # fmt: skip
        if name in values:
            _child(os_element, tag, order=_OS_ORDER).text = values[name]
    for name, tag in (("Bootloader", "bootloader"), ("BootloaderArgs", "bootloader_args")):
        if name in values:
            _child(xml.root, tag, before=("os",)).text = values[name]


# --- tree helpers --------------------------------------------------------------------------


def _child(
    parent: etree._Element,
    tag: str,
    *,
    before: Sequence[str] = (),
    order: Sequence[str] = (),
) -> etree._Element:
    """The ``tag`` child of ``parent``, created if absent: in ``order``'s place, or
    before the first of ``before``, or last."""
    element = parent.find(tag)
    if element is not None:
        return element
    element = etree.Element(tag)
    if order and tag in order:
        later = order[order.index(tag) + 1:]
        anchor = next((child for child in parent if child.tag in later), None)
    else:
        anchor = next((child for child in parent if child.tag in before), None)
    if anchor is not None:
        anchor.addprevious(element)
    else:
        parent.append(element)
    return element


def _maybe_child(
    parent: etree._Element, tag: str, values: Mapping[str, Any], names: Sequence[str]
) -> etree._Element | None:
    """The ``tag`` child when one of ``names`` is given (created if needed), else None."""
    if any(name in values for name in names):
        return _child(parent, tag)
    return None


def _set_attrs(element: etree._Element | None, attrs: Mapping[str, str | None]) -> None:
    if element is None:
        return
    for name, value in attrs.items():
        if value is not None:
            element.set(name, str(value))


def _set_flag_child(element: etree._Element, tag: str, present: bool) -> None:
    child = element.find(tag)
    if present and child is None:
        element.append(etree.Element(tag))
    elif not present and child is not None:
        remove(child)


def _set_address(element: etree._Element, values: Mapping[str, Any]) -> None:
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










def _str(value: Any) -> str | None:
    return None if value is None else str(int(value))


def _check_positive(value: Any, name: str) -> None:
    if int(value) < 1:
        raise SettingsError(f"{name} {value} must be at least 1")
