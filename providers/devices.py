"""A guest's devices as CIM logical devices (DSP1057 Virtual System, DSP1041 Resource Allocation).

One provider per CIM class, each reading one kind of element of the domain
XML (already parsed once per domain by the adapter):

==========================  ====================================  ======================
class                       domain XML                            DeviceID
==========================  ====================================  ======================
Processor                   ``<vcpu>`` (one per vCPU in use)      ``<dom>/<n>``
Memory                      ``<memory>``, ``<currentMemory>``     ``<dom>/mem``
LogicalDisk                 ``<disk>``                            ``<dom>/<target dev>``
NetworkPort                 ``<interface>``                       ``<dom>/<mac>``
DisplayController           ``<graphics>``                        ``<dom>/<type>``
ConsoleDisplayController    ``<console>``, ``<serial>``           ``<dom>/charconsole:0``
PointingDevice              ``<input>`` (keyboards too)           ``<dom>/mouse:ps2``
Controller                  ``<controller>``                      ``<dom>/controller:usb:0``
==========================  ====================================  ======================

The part of a DeviceID after ``<dom>/`` is the device id of the matching
RASD (libvirt-cim's formats), except for processors: one device per vCPU,
one RASD for all. Keys: SystemCreationClassName ``<Prefix>_ComputerSystem``,
SystemName the domain's name, CreationClassName, DeviceID. A domain name may
hold ``/``: the device id is what follows SystemName and a slash.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

from pywbem import CIM_ERR_NOT_FOUND, CIMError, CIMInstance, CIMInstanceName

from providers.paths import COMPUTER_SYSTEM
from providers.per_guest import PerGuestProvider
from providers.valuemaps import (
    CPUStatus,
    EnabledState,
    HealthState,
    LinkTechnology,
    OperationalStatus,
    PointingType,
    ProtocolSupported,
)
from providers.virt import Domain, Graphics, Hypervisor, naming
from virtcim.provider import RequestContext

__all__ = [
    "DEVICE_PROVIDERS",
    "ConsoleDisplayControllerProvider",
    "ControllerProvider",
    "Device",
    "DeviceProvider",
    "DisplayControllerProvider",
    "LogicalDiskProvider",
    "MemoryProvider",
    "NetworkPortProvider",
    "PointingDeviceProvider",
    "ProcessorProvider",
    "device_location",
    "device_provider_for",
]

#: Memory is counted in blocks of 4 KiB, libvirt-cim's size, which its clients multiply by:
#: one page, and libvirt keeps a guest's memory in whole pages, so the sizes stay exact.
MEMORY_BLOCK_SIZE = 4096
#: PointingType of libvirt's input types; any other (a keyboard, which libvirt adds to
#: every x86 guest) is listed as libvirt-cim listed it, a pointing device of Unknown type.
POINTING_TYPES: Mapping[str, PointingType] = {
    "mouse": PointingType.MOUSE,
    "tablet": PointingType.OTHER,
}
#: libvirt controller types with a DMTF protocol; the others are Other, named in
#: ProtocolDescription (ccid, virtio-serial, xenbus...).
CONTROLLER_PROTOCOLS: Mapping[str, ProtocolSupported] = {
    "ide": ProtocolSupported.IDE,
    "fdc": ProtocolSupported.FLEXIBLE_DISKETTE,
    "scsi": ProtocolSupported.SCSI_PARALLEL_INTERFACE,
    "sata": ProtocolSupported.SERIAL_ATA,
    "pci": ProtocolSupported.PCI,
    "usb": ProtocolSupported.UNIVERSAL_SERIAL_BUS,
}


class Device(NamedTuple):
    """One device of a domain: its id (the DeviceID after ``<dom>/``) and class properties."""

    ident: str
    values: dict[str, Any]


def device_location(hv: Hypervisor, path: CIMInstanceName) -> tuple[str, str] | None:
    """``(domain name, device id)`` from a device path of ``hv``, or ``None`` if it is not one.

    Only the keys are checked, not that the device exists.
    """
    keys = path.keybindings
    system_class = naming.classname(hv.prefix, COMPUTER_SYSTEM).lower()
    domain, device = keys.get("SystemName"), keys.get("DeviceID")
    if not isinstance(domain, str) or not isinstance(device, str):
        return None
    if str(keys.get("SystemCreationClassName", "")).lower() != system_class:
        return None
    if str(keys.get("CreationClassName", "")).lower() != path.classname.lower():
        return None
    ident = device.removeprefix(f"{domain}/")
    if ident == device or not ident:
        return None
    return domain, ident


def _wrong_key(hv: Hypervisor, path: CIMInstanceName) -> str:
    """Which key of a device path names nothing, as libvirt-cim's "No such instance (...)" said."""
    keys = path.keybindings
    if str(keys.get("SystemCreationClassName", "")).lower() != naming.classname(
            hv.prefix, COMPUTER_SYSTEM).lower():
        return "SystemCreationClassName"
    if str(keys.get("CreationClassName", "")).lower() != path.classname.lower():
        return "CreationClassName"
    device = str(keys.get("DeviceID", ""))
    if "/" not in device:
        return f"bad id {device}"
    if not device.startswith(f"{keys.get('SystemName')}/"):
        return "SystemName"
    return "DeviceID"


class DeviceProvider(PerGuestProvider):
    """A family of guest devices; subclasses say which XML elements they read.

    Enumerations list the domains once; a GetInstance reads only the domain
    its path names.
    """

    identifier = ("DeviceID", "DeviceID")

    #: The class name without prefix (``Processor``).
    generic_class: ClassVar[str]

    @staticmethod
    @abc.abstractmethod
    def devices(domain: Domain) -> Iterable[Device]:
        """This family's devices of ``domain``."""

    def instances_of(
        self, ctx: RequestContext, classname: str, domain: Domain
    ) -> Iterator[CIMInstance]:
        for device in self.devices(domain):
            yield self._instance(ctx, classname, domain, device)

    def get_instance(
        self, ctx: RequestContext, path: CIMInstanceName, property_list: Sequence[str] | None
    ) -> CIMInstance:
        location = device_location(self.hypervisor, path)
        if location is not None:
            domain = self.hypervisor.domain(location[0])
            for device in self.devices(domain):
                if device.ident == location[1]:
                    return self._instance(ctx, path.classname, domain, device)
        raise CIMError(CIM_ERR_NOT_FOUND,
                       f"No such instance ({_wrong_key(self.hypervisor, path)}): no device "
                       f"{path} on {self.hypervisor.uri}")  # fmt: skip

    def _instance(
        self, ctx: RequestContext, classname: str, domain: Domain, device: Device
    ) -> CIMInstance:
        running = domain.is_active
        return ctx.instance(
            classname,
            SystemCreationClassName=naming.classname(self.hypervisor.prefix, COMPUTER_SYSTEM),
            SystemName=domain.name,
            CreationClassName=classname,
            DeviceID=f"{domain.name}/{device.ident}",
            ElementName=device.ident,
            EnabledState=EnabledState.ENABLED if running else EnabledState.DISABLED,
            HealthState=HealthState.OK,
            OperationalStatus=[OperationalStatus.OK if running else OperationalStatus.STOPPED],
            **device.values,
        )


class ProcessorProvider(DeviceProvider):
    """``<Prefix>_Processor``: one per vCPU the guest uses (``<vcpu current>``)."""

    generic_class = "Processor"

    @staticmethod
    def devices(domain: Domain) -> Iterable[Device]:
        status = CPUStatus.CPU_ENABLED if domain.is_active else CPUStatus.UNKNOWN
        return [Device(str(n), {"CPUStatus": status}) for n in range(domain.xml.vcpus)]


class MemoryProvider(DeviceProvider):
    """``<Prefix>_Memory``: the guest's memory; NumberOfBlocks the maximum, ConsumableBlocks
    the current (balloon) size, in blocks of :data:`MEMORY_BLOCK_SIZE`."""

    generic_class = "Memory"

    @staticmethod
    def devices(domain: Domain) -> Iterable[Device]:
        maximum = domain.xml.memory_kib or 0
        current = domain.xml.current_memory_kib or maximum
        return [Device(naming.MEMORY_DEVICE_ID, {
            "BlockSize": MEMORY_BLOCK_SIZE,
            "NumberOfBlocks": maximum * 1024 // MEMORY_BLOCK_SIZE,
            "ConsumableBlocks": current * 1024 // MEMORY_BLOCK_SIZE,
        })]


class LogicalDiskProvider(DeviceProvider):
    """``<Prefix>_LogicalDisk``: each ``<disk>`` with a target device (disk, cdrom, floppy,
    lun), and each ``<filesystem>`` by its target directory (a container's mounts)."""

    generic_class = "LogicalDisk"

    @staticmethod
    def devices(domain: Domain) -> Iterable[Device]:
        return [
            Device(disk.device_id, {"Name": disk.target_dev, "Caption": disk.device})
            for disk in domain.xml.disks() if disk.device_id
        ]


class NetworkPortProvider(DeviceProvider):
    """``<Prefix>_NetworkPort``: each ``<interface>`` with a MAC address."""

    generic_class = "NetworkPort"

    @staticmethod
    def devices(domain: Domain) -> Iterable[Device]:
        return [
            Device(nic.device_id, {
                "Name": nic.mac,
                "LinkTechnology": LinkTechnology.ETHERNET,
                "NetworkAddresses": [nic.mac],
                "PermanentAddress": nic.device_id.replace(":", "").upper(),
            })
            for nic in domain.xml.interfaces() if nic.device_id
        ]


class DisplayControllerProvider(DeviceProvider):
    """``<Prefix>_DisplayController``: each ``<graphics>``. VideoProcessor is libvirt-cim's
    ``<type>/<listen>:<port>`` for graphics a client connects to over the network
    (``vnc/127.0.0.1:5900`` when running; ``vnc/127.0.0.1:-1`` while off with an
    automatic port), and the graphics type for the others (``sdl``)."""

    generic_class = "DisplayController"

    @staticmethod
    def devices(domain: Domain) -> Iterable[Device]:
        return [Device(graphics.device_id, {"VideoProcessor": _video_processor(graphics)})
                for graphics in domain.xml.graphics()]


#: Graphics a client reaches at an address and port.
_NETWORK_GRAPHICS = ("vnc", "spice", "rdp")
#: libvirt-cim's listen address for graphics that name none.
_DEFAULT_LISTEN = "127.0.0.1"


def _video_processor(graphics: Graphics) -> str:
    if graphics.type not in _NETWORK_GRAPHICS:
        return graphics.type
    listen = graphics.listen or _DEFAULT_LISTEN
    if ":" in listen and not listen.startswith("["):
        listen = f"[{listen}]"  # an IPv6 address, as in a URL
    port = graphics.port if graphics.port is not None else -1
    return f"{graphics.type}/{listen}:{port}"


class ConsoleDisplayControllerProvider(DeviceProvider):
    """``<Prefix>_ConsoleDisplayController``: each ``<console>`` and ``<serial>``;
    VideoProcessor is the character device type (pty, file, tcp...)."""

    generic_class = "ConsoleDisplayController"

    @staticmethod
    def devices(domain: Domain) -> Iterable[Device]:
        return [
            Device(console.device_id, {"VideoProcessor": console.type})
            for console in domain.xml.consoles()
        ]


class PointingDeviceProvider(DeviceProvider):
    """``<Prefix>_PointingDevice``: each ``<input>``, keyboards included as libvirt-cim had them."""

    generic_class = "PointingDevice"

    @staticmethod
    def devices(domain: Domain) -> Iterable[Device]:
        return [
            Device(device.device_id, {
                "PointingType": POINTING_TYPES.get(device.type, PointingType.UNKNOWN),
                "Caption": f"{(device.bus or '').upper()} {device.type.capitalize()}".strip(),
            })
            for device in domain.xml.inputs()
        ]


class ControllerProvider(DeviceProvider):
    """``<Prefix>_Controller``: each ``<controller>``; ProtocolDescription is libvirt's
    type and model (``scsi virtio-scsi``)."""

    generic_class = "Controller"

    @staticmethod
    def devices(domain: Domain) -> Iterable[Device]:
        return [
            Device(controller.device_id, {
                "ProtocolSupported": CONTROLLER_PROTOCOLS.get(
                    controller.type, ProtocolSupported.OTHER),
                "ProtocolDescription": " ".join(
                    part for part in (controller.type, controller.model) if part),
            })
            for controller in domain.xml.controllers()
        ]


#: Every device family, in the order SystemDevice lists a guest's devices.
DEVICE_PROVIDERS: tuple[type[DeviceProvider], ...] = (
    ProcessorProvider,
    MemoryProvider,
    LogicalDiskProvider,
    NetworkPortProvider,
    DisplayControllerProvider,
    ConsoleDisplayControllerProvider,
    PointingDeviceProvider,
    ControllerProvider,
)
_BY_GENERIC = {provider.generic_class.lower(): provider for provider in DEVICE_PROVIDERS}


def device_provider_for(hv: Hypervisor, classname: str) -> type[DeviceProvider] | None:
    """The device family of ``classname`` if it is one of ``hv``'s device classes."""
    generic = naming.generic_name(hv.prefix, classname)
    return _BY_GENERIC.get(generic.lower()) if generic else None
