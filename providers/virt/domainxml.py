"""The domain-XML model: a domain definition read and edited as an lxml tree, with no libvirt.

:class:`DomainXML` wraps a domain definition. Its read accessors give typed
values (memory in KiB, devices as the records of
:mod:`providers.virt.mapping`); its edit methods change only the elements they
name, so every element virtcim does not model (``<seclabel>``, ``<metadata>``
in foreign namespaces, ``<qemu:commandline>``...) stays exactly as it was.
Values go in through lxml attributes and text, which escape them.
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from providers.virt import units
from providers.virt.mapping import console, controller, device_id, disk, graphics, input, interface
from providers.virt.mapping.console import CharDevice
from providers.virt.mapping.controller import Controller
from providers.virt.mapping.disk import Disk
from providers.virt.mapping.graphics import Graphics
from providers.virt.mapping.input import Input
from providers.virt.mapping.interface import Interface
from providers.virt.xmltree import attribute, integer, remove

__all__ = ["OS_ORDER", "DomainXML", "parse_xml"]

#: libvirt writes its own XML, but definitions also come from clients: never
#: resolve entities or fetch anything while parsing.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)

#: The order libvirt writes the children of <domain> in. New elements are
#: placed by it; elements not listed keep their place.
_DOMAIN_ORDER = (
    "name", "uuid", "genid", "title", "description", "metadata", "maxMemory", "memory",
    "currentMemory", "blkiotune", "memtune", "memoryBacking", "vcpu", "vcpus", "iothreads",
    "iothreadids", "cputune", "numatune", "resource", "sysinfo", "bootloader",
    "bootloader_args", "os", "idmap", "features", "cpu", "clock", "on_poweroff", "on_reboot",
    "on_crash", "on_lockfailure", "pm", "perf", "devices", "seclabel", "keywrap",
    "launchSecurity",
)  # fmt: skip
OS_ORDER = (
    "type",
    "firmware",
    "loader",
    "nvram",
    "kernel",
    "initrd",
    "cmdline",
    "dtb",
    "init",
    "boot",
)
_DEVICE_ORDER = (
    "emulator", "disk", "controller", "lease", "filesystem", "interface", "smartcard",
    "serial", "parallel", "console", "channel", "input", "tpm", "graphics", "sound", "audio",
    "video", "hostdev", "redirdev", "redirfilter", "hub", "watchdog", "memballoon", "rng",
    "panic", "shmem", "memory", "iommu", "vsock", "crypto",
)  # fmt: skip

#: Lifecycle events that have an <on_*> action element.
_LIFECYCLE_EVENTS = ("poweroff", "reboot", "crash")



def parse_xml(text: str | bytes) -> etree._Element:
    """Parse an XML document (domain, device, pool...) with the hardened parser."""
    data = text.encode() if isinstance(text, str) else text
    return etree.fromstring(data, _PARSER)
































# --- the domain XML --------------------------------------------------------------------------


class DomainXML:
    """A domain definition: typed reads and in-place edits of its lxml tree.

    Objects handed out by :class:`Domain` (``domain.xml``) are shared between
    requests and refuse edits; :meth:`Domain.config` and :meth:`copy` give
    editable ones.
    """

    def __init__(self, root: etree._Element, *, editable: bool = True) -> None:
        if root.tag != "domain":
            raise ValueError(f"expected a <domain> element, got <{root.tag}>")
        self._root = root
        self._editable = editable

    @classmethod
    def from_string(cls, text: str | bytes, *, editable: bool = True) -> DomainXML:
        """Parse domain XML text; malformed XML raises :class:`ValueError`."""
        try:
            return cls(parse_xml(text), editable=editable)
        except etree.XMLSyntaxError as error:
            raise ValueError(f"domain XML is not well-formed: {error}") from error

    @property
    def root(self) -> etree._Element:
        """The ``<domain>`` element (treat as read-only unless this object is editable)."""
        return self._root

    def to_string(self) -> str:
        return etree.tostring(self._root, encoding="unicode")

    def copy(self) -> DomainXML:
        """An editable deep copy."""
        return DomainXML(etree.fromstring(etree.tostring(self._root), _PARSER))

    # reads: the system

    @property
    def name(self) -> str:
        return self._root.findtext("name") or ""

    @property
    def uuid(self) -> str | None:
        return self._root.findtext("uuid")

    @property
    def domain_type(self) -> str | None:
        """``<domain type>``: kvm, qemu, xen, lxc, test..."""
        return self._root.get("type")

    @property
    def memory_kib(self) -> int | None:
        """Maximum memory (``<memory>``) in KiB."""
        return _kib(self._root.find("memory"))

    @property
    def current_memory_kib(self) -> int | None:
        """Current memory (``<currentMemory>``, else ``<memory>``) in KiB."""
        return _kib(self._root.find("currentMemory")) or self.memory_kib

    @property
    def max_vcpus(self) -> int:
        return integer(self._root.findtext("vcpu")) or 1

    @property
    def vcpus(self) -> int:
        """vCPUs the guest starts with (``<vcpu current>``, else the maximum)."""
        return integer(attribute(self._root, "vcpu", "current")) or self.max_vcpus

    @property
    def os_type(self) -> str | None:
        """``hvm``, ``linux`` (Xen PV), ``exe`` (LXC)."""
        return self._root.findtext("os/type")

    @property
    def arch(self) -> str | None:
        return attribute(self._root, "os/type", "arch")

    @property
    def machine(self) -> str | None:
        return attribute(self._root, "os/type", "machine")

    @property
    def boot_devices(self) -> list[str]:
        return [boot.get("dev", "") for boot in self._root.iterfind("os/boot")]

    @property
    def init(self) -> str | None:
        """The container's init program (LXC ``<os><init>``)."""
        return self._root.findtext("os/init")

    @property
    def emulator(self) -> str | None:
        return self._root.findtext("devices/emulator")

    @property
    def clock_offset(self) -> str | None:
        """``utc``, ``localtime``, ``timezone`` or ``variable``."""
        return attribute(self._root, "clock", "offset")

    def lifecycle_action(self, event: str) -> str | None:
        """The action for ``poweroff``, ``reboot`` or ``crash`` (destroy, restart...)."""
        return self._root.findtext(f"on_{_lifecycle_event(event)}")

    @property
    def on_poweroff(self) -> str | None:
        return self.lifecycle_action("poweroff")

    @property
    def on_reboot(self) -> str | None:
        return self.lifecycle_action("reboot")

    @property
    def on_crash(self) -> str | None:
        return self.lifecycle_action("crash")

    def has_feature(self, name: str) -> bool:
        """Whether ``<features>`` holds ``name`` (``acpi``, ``apic``, ``pae``...)."""
        features = self._root.find("features")
        return features is not None and features.find(name) is not None

    # reads: devices

    def disks(self) -> list[Disk]:
        """The disks and mounted filesystems, in document order."""
        return [disk.read(element) for element in self._root.iterfind("devices/*")
                if element.tag in disk.TAGS]

    def interfaces(self) -> list[Interface]:
        return [interface.read(element) for element in self._root.iterfind("devices/interface")]

    def graphics(self) -> list[Graphics]:
        return [graphics.read(element) for element in self._root.iterfind("devices/graphics")]

    def inputs(self) -> list[Input]:
        return [input.read(element) for element in self._root.iterfind("devices/input")]

    def consoles(self) -> list[CharDevice]:
        """Consoles and serial ports, in document order."""
        return [
            console.read(element)
            for element in self._root.iterfind("devices/*")
            if element.tag in console.TAGS
        ]

    def controllers(self) -> list[Controller]:
        return [controller.read(element) for element in self._root.iterfind("devices/controller")]

    def device_ids(self) -> list[str]:
        """The device ids of every modelled device, in document order."""
        return [
            ident
            for element in self._root.iterfind("devices/*")
            if isinstance(element.tag, str) and (ident := device_id(element))
        ]

    def find_device(self, ident: str) -> etree._Element | None:
        """The first device element whose device id is ``ident``."""
        for element in self._root.iterfind("devices/*"):
            if isinstance(element.tag, str) and device_id(element) == ident:
                return element
        return None

    # edits: the system

    def set_name(self, name: str) -> None:
        self._set_text(self._root, "name", _nonempty(name, "name"), _DOMAIN_ORDER)

    def set_uuid(self, uuid: str) -> None:
        self._set_text(self._root, "uuid", _nonempty(uuid, "uuid"), _DOMAIN_ORDER)

    def set_memory(self, kib: int) -> None:
        """Maximum memory; current memory is lowered to it when above."""
        self._set_kib("memory", kib)
        current = self._root.find("currentMemory")
        if current is not None and (_kib(current) or 0) > kib:
            self._set_kib("currentMemory", kib)

    def set_current_memory(self, kib: int) -> None:
        """Current (balloon) memory; it may not exceed the maximum."""
        maximum = self.memory_kib
        if maximum is not None and kib > maximum:
            raise ValueError(f"current memory {kib} KiB exceeds maximum {maximum} KiB")
        self._set_kib("currentMemory", kib)

    def set_vcpus(self, current: int, maximum: int | None = None) -> None:
        """Startup vCPUs and, when given, the maximum (``<vcpu current>N</vcpu>``)."""
        maximum = self.max_vcpus if maximum is None else maximum
        _check_count(current, "vCPU count")
        _check_count(maximum, "maximum vCPU count")
        if current > maximum:
            raise ValueError(f"vCPU count {current} exceeds maximum {maximum}")
        vcpu = self._set_text(self._root, "vcpu", str(maximum), _DOMAIN_ORDER)
        if current == maximum:
            vcpu.attrib.pop("current", None)
        else:
            vcpu.set("current", str(current))

    def set_os(
        self, os_type: str | None = None, arch: str | None = None, machine: str | None = None
    ) -> None:
        """``<os><type arch machine>os_type</type>``; ``None`` leaves a value as it is."""
        self._check_editable()
        os_element = _child(self._root, "os", _DOMAIN_ORDER)
        type_element = _child(os_element, "type", OS_ORDER)
        if os_type is not None:
            type_element.text = os_type
        for name, value in (("arch", arch), ("machine", machine)):
            if value is not None:
                type_element.set(name, value)

    def set_boot_devices(self, devices: Sequence[str]) -> None:
        """Replace the ``<os><boot dev>`` list (hd, cdrom, fd, network)."""
        self._check_editable()
        os_element = _child(self._root, "os", _DOMAIN_ORDER)
        for boot in os_element.findall("boot"):
            os_element.remove(boot)
        for dev in devices:
            _insert_ordered(os_element, etree.Element("boot", dev=dev), OS_ORDER)

    def set_emulator(self, path: str | None) -> None:
        """The device model binary; ``None`` removes it (libvirt then picks one)."""
        devices = self._devices()
        if path is None:
            _remove_all(devices, "emulator")
        else:
            self._set_text(devices, "emulator", path, _DEVICE_ORDER)

    def set_clock_offset(self, offset: str) -> None:
        self._check_editable()
        _child(self._root, "clock", _DOMAIN_ORDER).set("offset", offset)

    def set_lifecycle_action(self, event: str, action: str) -> None:
        """``set_lifecycle_action("crash", "restart")`` -> ``<on_crash>restart</on_crash>``."""
        tag = f"on_{_lifecycle_event(event)}"
        self._set_text(self._root, tag, _nonempty(action, tag), _DOMAIN_ORDER)

    def set_feature(self, name: str, enabled: bool) -> None:
        """Add or remove a flag feature (``<features><acpi/></features>``).

        An existing element is kept as it is when enabling, with its attributes
        and children (``<apic eoi='on'/>``).
        """
        self._check_editable()
        features = _child(self._root, "features", _DOMAIN_ORDER)
        present = features.find(name)
        if enabled and present is None:
            _append(features, etree.Element(name))
        elif not enabled and present is not None:
            features.remove(present)

    # edits: devices

    def add_device(self, element: etree._Element) -> None:
        """Add a device element next to its kind; its device id must be new."""
        self._check_editable()
        ident = device_id(element)
        if ident and self.find_device(ident) is not None:
            raise ValueError(f"a device {ident!r} already exists in domain {self.name!r}")
        _insert_ordered(self._devices(), element, _DEVICE_ORDER)

    def replace_device(self, ident: str, element: etree._Element) -> etree._Element:
        """Put ``element`` where the device ``ident`` is; return the old element."""
        self._check_editable()
        old = self._existing_device(ident)
        element.tail = old.tail
        old.getparent().replace(old, element)
        return old

    def remove_device(self, ident: str) -> etree._Element:
        """Remove the device ``ident``; return its element."""
        self._check_editable()
        old = self._existing_device(ident)
        remove(old)
        return old

    # helpers

    def _existing_device(self, ident: str) -> etree._Element:
        element = self.find_device(ident)
        if element is None:
            raise KeyError(f"no device {ident!r} in domain {self.name!r}")
        return element

    def _devices(self) -> etree._Element:
        self._check_editable()
        return _child(self._root, "devices", _DOMAIN_ORDER)

    def _set_text(
        self, parent: etree._Element, tag: str, text: str, order: Sequence[str]
    ) -> etree._Element:
        self._check_editable()
        element = _child(parent, tag, order)
        element.text = text
        return element

    def _set_kib(self, tag: str, kib: int) -> None:
        _check_count(kib, f"<{tag}> size", minimum=0)
        element = self._set_text(self._root, tag, str(kib), _DOMAIN_ORDER)
        element.set("unit", "KiB")

    def _check_editable(self) -> None:
        if not self._editable:
            raise TypeError("this domain XML is shared and read-only; edit a copy()")


def _kib(element: etree._Element | None) -> int | None:
    if element is None or element.text is None:
        return None
    return units.kib_from_libvirt(element.text, element.get("unit"))








def _lifecycle_event(event: str) -> str:
    if event not in _LIFECYCLE_EVENTS:
        raise ValueError(f"lifecycle event {event!r} is not one of {', '.join(_LIFECYCLE_EVENTS)}")
    return event


def _nonempty(value: str, what: str) -> str:
    if not value:
        raise ValueError(f"{what} may not be empty")
    return value


def _check_count(value: int, what: str, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{what} {value!r} is not an integer of at least {minimum}")


def _child(parent: etree._Element, tag: str, order: Sequence[str]) -> etree._Element:
    """The first ``tag`` child of ``parent``, created in its ordered place if absent."""
    element = parent.find(tag)
    if element is None:
        element = etree.Element(tag)
        _insert_ordered(parent, element, order)
    return element


def _insert_ordered(parent: etree._Element, element: etree._Element, order: Sequence[str]) -> None:
    """Insert ``element`` after the last child that ``order`` puts at or before it.

    Children ``order`` does not list are left where they are. The new element
    borrows the indentation of its neighbour, so the document stays readable.
    """
    rank = order.index(element.tag) if element.tag in order else len(order)
    previous = None
    for child in parent:
        if isinstance(child.tag, str) and child.tag in order and order.index(child.tag) <= rank:
            previous = child
    if previous is None:
        element.tail = parent.text
        parent.insert(0, element)
    else:
        element.tail = previous.tail
        previous.addnext(element)


def _append(parent: etree._Element, element: etree._Element) -> None:
    """Append as the last child, with the indentation of the current last one."""
    if len(parent):
        element.tail = parent[-1].tail
        parent[-1].tail = parent.text
    parent.append(element)




def _remove_all(parent: etree._Element, tag: str) -> None:
    for element in parent.findall(tag):
        remove(element)
