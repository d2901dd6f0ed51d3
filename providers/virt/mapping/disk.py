"""``<disk>`` and ``<filesystem>``: the disk record, DiskResourceAllocationSettingData and
StorageAllocationSettingData, read from the element and written back to it.

A ``<filesystem>`` (a host directory mounted in a container, or shared with a
QEMU guest) is a disk setting with EmulatedType 3 (Filesystem), known by its
target directory, as libvirt-cim showed a container's mounts: ``MountPoint``
and ``VirtualDevice`` name the target, ``Address`` the host directory. On the
LXC driver every new disk setting is a mount, as it was for libvirt-cim's
``LXC_`` classes; elsewhere one that gives EmulatedType 3 or a ``MountPoint``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from providers.valuemaps import EmulatedType, ResourceType, StorageAccess
from providers.virt.mapping.base import (
    SettingsError,
    present,
    read_address,
    set_address,
)
from providers.virt.xmltree import (
    attribute,
    child,
    maybe_child,
    remove,
    set_attrs,
    set_flag_child,
)

__all__ = [
    "DISK_UNITS",
    "Disk",
    "STORAGE_TAGS",
    "TAGS",
    "device_id",
    "read",
    "settings",
    "source_of",
    "storage_settings",
    "write",
    "write_storage",
]


TAGS = ("disk", "filesystem")
#: The elements a StorageAllocationSettingData stands for (a mount is no storage extent).
STORAGE_TAGS = ("disk",)

#: Units of a disk's size (its VirtualQuantity), as libvirt-cim wrote them.
DISK_UNITS = "Bytes"

#: Attributes of ``<disk><source>`` that hold the disk's backing, in the order they are tried.
SOURCE_ATTRIBUTES = ("file", "dev", "dir", "volume", "name")

#: The source attribute a disk's Address is written to, by disk type.
_SOURCE_ATTRIBUTE = {"file": "file", "block": "dev", "dir": "dir"}


@dataclass(frozen=True)
class Disk:
    """A ``<disk>`` or ``<filesystem>``: ``device`` is disk, cdrom, floppy, lun or
    filesystem; ``source`` the file, block device, directory, network image name or
    volume name, by ``source_type``; ``target_dev`` a filesystem's target directory."""

    device_id: str
    device: str
    source_type: str
    source: str | None
    source_pool: str | None
    source_protocol: str | None
    target_dev: str | None
    target_bus: str | None
    driver_name: str | None
    driver_type: str | None
    readonly: bool
    element: etree._Element = field(repr=False, compare=False)


def device_id(element: etree._Element) -> str:
    """A disk is known by its target device (``vda``, ``hdc``), a filesystem by its
    target directory (``/tmp``)."""
    return _target(element) or ""


def _target(element: etree._Element) -> str | None:
    return attribute(element, "target", "dir" if _is_filesystem(element) else "dev")


def _is_filesystem(element: etree._Element) -> bool:
    return element.tag == "filesystem"


def read(element: etree._Element) -> Disk:
    source = element.find("source")
    filesystem = _is_filesystem(element)
    return Disk(
        device_id=device_id(element),
        device="filesystem" if filesystem else element.get("device", "disk"),
        source_type=element.get("type", "mount" if filesystem else "file"),
        source=source_of(element),
        source_pool=source.get("pool") if source is not None else None,
        source_protocol=source.get("protocol") if source is not None else None,
        target_dev=_target(element),
        target_bus=attribute(element, "target", "bus"),
        driver_name=None if filesystem else attribute(element, "driver", "name"),
        driver_type=attribute(element, "driver", "type"),
        readonly=element.find("readonly") is not None,
        element=element,
    )


def source_of(element: etree._Element) -> str | None:
    """The file, block device, directory, volume or image name behind a disk."""
    source = element.find("source")
    if source is None:
        return None
    return next((source.get(name) for name in SOURCE_ATTRIBUTES if name in source.attrib), None)


def settings(element: etree._Element) -> dict[str, Any]:
    """The DiskResourceAllocationSettingData values of a disk or filesystem."""
    if _is_filesystem(element):
        return _filesystem_settings(element)
    disk = read(element)
    source = disk.source
    if source is None and disk.device in ("cdrom", "floppy"):
        source = ""  # an empty drive, as libvirt-cim read it
    emulated = _EMULATED_TYPES.get(disk.device)
    driver = element.find("driver")
    return {
        "VirtualDevice": disk.target_dev,
        "Address": source,
        "HostResource": [source] if source else None,
        "EmulatedType": int(emulated) if emulated is not None else None,
        "BusType": disk.target_bus,
        "DriverName": disk.driver_name,
        "DriverType": disk.driver_type,
        "DriverCache": driver.get("cache") if driver is not None else None,
        "readonly": disk.readonly,
        "shareable": element.find("shareable") is not None,
        "rawio": element.get("rawio"),
        "sgio": element.get("sgio"),
        **read_address(element),
    }


def _filesystem_settings(element: etree._Element) -> dict[str, Any]:
    mount = read(element)
    return {
        "VirtualDevice": mount.target_dev,
        "MountPoint": mount.target_dev,
        "Address": mount.source,
        "HostResource": [mount.source] if mount.source else None,
        "EmulatedType": int(EmulatedType.FILESYSTEM),
        "DriverType": mount.driver_type,
        "AccessMode": element.get("accessmode"),
        "readonly": mount.readonly,
        **read_address(element),
    }


def storage_settings(element: etree._Element) -> dict[str, Any]:
    """The StorageAllocationSettingData values of a disk (DSP1047 1.1)."""
    disk = read(element)
    access = StorageAccess.READABLE if disk.readonly else StorageAccess.READ_WRITE
    return {
        "HostResource": [disk.source] if disk.source else None,
        "AddressOnParent": disk.target_dev,
        "Access": int(access),
    }


_EMULATED_TYPES = {
    "disk": EmulatedType.DISK,
    "cdrom": EmulatedType.CDROM,
    "floppy": EmulatedType.FLOPPY,
    "lun": EmulatedType.LUN,
}


def write(
    element: etree._Element | None, values: Mapping[str, Any], driver: str
) -> etree._Element:
    """Write a disk setting to ``element``, or to a new ``<disk>`` or ``<filesystem>``."""
    if element is None:
        filesystem = _wants_filesystem(values, driver)
    else:
        filesystem = _is_filesystem(element)
        emulated = _emulated_type(values)
        if emulated is not None and (emulated is EmulatedType.FILESYSTEM) != filesystem:
            raise SettingsError(
                "EmulatedType cannot turn a disk into a filesystem or a filesystem into a disk"
            )
    if filesystem:
        return _write_filesystem(element, values)
    return _write_disk(element, values)


def _wants_filesystem(values: Mapping[str, Any], driver: str) -> bool:
    return (driver == "lxc" or "MountPoint" in values
            or _emulated_type(values) is EmulatedType.FILESYSTEM)


def _emulated_type(values: Mapping[str, Any]) -> EmulatedType | None:
    emulated = values.get("EmulatedType")
    if emulated is None:
        return None
    try:
        return EmulatedType(int(emulated))
    except ValueError:
        raise SettingsError(f"EmulatedType {emulated} is not 0-4") from None


def _write_disk(element: etree._Element | None, values: Mapping[str, Any]) -> etree._Element:
    target_dev = values.get("VirtualDevice")
    if element is None:
        if not target_dev:
            raise SettingsError("VirtualDevice is required for a new disk")
        element = etree.Element("disk", type="file", device="disk")
    if target_dev:
        child(element, "target").set("dev", target_dev)
    device = _disk_device(values)
    if device is not None:
        element.set("device", device)
    if "Address" in values:
        _set_disk_source(element, values["Address"])
    set_attrs(maybe_child(element, "target", values, ("BusType",)), {"bus": values.get("BusType")})
    set_attrs(
        maybe_child(element, "driver", values, ("DriverName", "DriverType", "DriverCache")),
        {"name": values.get("DriverName"), "type": values.get("DriverType"),
         "cache": values.get("DriverCache")},
    )  # fmt: skip
    for flag in ("readonly", "shareable"):
        if flag in values:
            set_flag_child(element, flag, bool(values[flag]))
    set_attrs(element, {"rawio": values.get("rawio"), "sgio": values.get("sgio")})
    set_address(element, values)
    return element


def _disk_device(values: Mapping[str, Any]) -> str | None:
    emulated = _emulated_type(values)
    if emulated is not None:
        return emulated.name.lower()
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
        source = child(element, "source", before=("target",))
    for name in _SOURCE_ATTRIBUTE.values():
        source.attrib.pop(name, None)
    source.set(attribute, path)


#: The source attribute a filesystem's Address is written to, by filesystem type.
_MOUNT_SOURCE_ATTRIBUTE = {"mount": "dir", "bind": "dir", "file": "file", "block": "dev"}
#: libvirt's access modes of a shared directory.
_ACCESS_MODES = ("passthrough", "mapped", "squash")


def _write_filesystem(
    element: etree._Element | None, values: Mapping[str, Any]
) -> etree._Element:
    target = _mount_target(values)
    if element is None:
        if not target:
            raise SettingsError("MountPoint (or VirtualDevice) is required for a new filesystem")
        if not values.get("Address"):
            raise SettingsError("Address, the host directory, is required for a new filesystem")
        element = etree.Element("filesystem", type="mount")
    if target:
        child(element, "target").set("dir", target)
    if "Address" in values:
        _set_mount_source(element, values["Address"])
    access = values.get("AccessMode")
    if access is not None and access not in _ACCESS_MODES:
        raise SettingsError(f"AccessMode {access!r} is not one of {', '.join(_ACCESS_MODES)}")
    set_attrs(element, {"accessmode": access})
    set_attrs(maybe_child(element, "driver", values, ("DriverType",)),
              {"type": values.get("DriverType")})
    if "readonly" in values:
        set_flag_child(element, "readonly", bool(values["readonly"]))
    set_address(element, values)
    return element


def _mount_target(values: Mapping[str, Any]) -> str | None:
    """The target directory: MountPoint, as libvirt-cim's LXC clients give it, or
    VirtualDevice, as its other clients name a disk's target."""
    mount_point, device = values.get("MountPoint"), values.get("VirtualDevice")
    if mount_point and device and mount_point != device:
        raise SettingsError(
            f"MountPoint {mount_point!r} and VirtualDevice {device!r} both name the "
            "filesystem's target and differ"
        )
    return mount_point or device


def _set_mount_source(element: etree._Element, path: str) -> None:
    if not path:
        raise SettingsError("Address, the host directory, is required for a filesystem")
    fs_type = element.get("type", "mount")
    attribute = _MOUNT_SOURCE_ATTRIBUTE.get(fs_type)
    if attribute is None:
        raise SettingsError(f"Address of a {fs_type!r} filesystem cannot be changed")
    source = child(element, "source", before=("target",))
    source.attrib.clear()
    source.set(attribute, path)


def write_storage(
    element: etree._Element | None, values: Mapping[str, Any], driver: str
) -> etree._Element:
    """A StorageAllocationSettingData written as the disk drive setting it stands for."""
    return write(element, values_of_storage(values), driver)


def values_of_storage(values: Mapping[str, Any]) -> dict[str, Any]:
    """A StorageAllocationSettingData as the disk drive setting it stands for."""
    hosts = values.get("HostResource") or []
    disk: dict[str, Any] = {"VirtualDevice": values.get("AddressOnParent")}
    if hosts:
        disk["Address"] = hosts[0]
    access = values.get("Access")
    if access is not None:
        disk["readonly"] = int(access) == 1
    return present(disk)
