"""The system side: VirtualSystemSettingData read from a domain definition and
written back to it, and the definitions a new guest starts from.

AutoStart is not in the XML: it is read from libvirt by the caller and
applied through libvirt.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lxml import etree

from providers.valuemaps import AutoStart, ClockOffset, LifecycleAction, StartupAction
from providers.virt import naming
from providers.virt.domainxml import OS_ORDER, DomainXML
from providers.virt.mapping.base import SettingsError, present
from providers.virt.mapping.interface import random_mac
from providers.virt.mapping.memory import DEFAULT_MEMORY_KIB
from providers.virt.xmltree import child, remove

__all__ = [
    "apply_system_settings",
    "clone_definition",
    "new_domain",
    "system_name",
    "system_settings",
    "without_display_hardware",
]


_BOOT_DEVICES = ("hd", "cdrom", "fd", "network")


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
    return present(values)


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
    devices = child(root, "devices")
    if os_type == "exe":
        # libvirt starts a container only with a PTY console for its init.
        etree.SubElement(devices, "console", type="pty")
    return xml


def without_display_hardware(xml: DomainXML) -> None:
    """Give a container's graphics libvirt's "no video device".

    A container has no display hardware, and libvirt refuses graphics without
    a video model it cannot choose for a container ("missing video model");
    libvirt-cim's LXC clients send a graphics setting with every definition.
    """
    root = xml.root
    if xml.os_type == "exe" and root.find("devices/graphics") is not None \
            and root.find("devices/video") is None:
        video = etree.Element("video")
        etree.SubElement(video, "model", type="none")
        xml.add_device(video)


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
        child(interface, "mac").set("address", random_mac(driver))
        target = interface.find("target")
        if target is not None:
            remove(target)
    return xml


def apply_system_settings(xml: DomainXML, values: Mapping[str, Any]) -> None:
    """Apply VSSD values to the editable ``xml`` (its name and UUID are the caller's).

    AutoStart is not in the XML; callers apply it through libvirt.
    """
    given = present(values)
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
            child(os_element, tag, order=OS_ORDER).text = values[name]
    for name, tag in (("Bootloader", "bootloader"), ("BootloaderArgs", "bootloader_args")):
        if name in values:
            child(xml.root, tag, before=("os",)).text = values[name]
