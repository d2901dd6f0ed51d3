"""libvirt domains: the domain-XML model, state changes, live changes, rollback.

:class:`DomainXML` wraps a domain definition as an lxml tree. Its read
accessors give typed values (memory in KiB, devices as small records with
their RASD device id); its edit methods change only the elements they name,
so every element virtcim does not model (``<seclabel>``, ``<metadata>`` in
foreign namespaces, ``<qemu:commandline>``...) stays exactly as it was.
Values go in through lxml attributes and text, which escape them.

:class:`Domain` is one domain as fetched at one moment: its libvirt handle,
its state and its parsed XML. Its methods change the domain through libvirt
and translate failures into CIM errors naming the guest.

:class:`Transaction` records how to undo each change made through a
:class:`Domain` and, when the block fails, undoes them and redefines the
original XML, so a failing multi-step change leaves libvirt as it was.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import libvirt
from lxml import etree
from pywbem import CIM_ERR_NOT_FOUND, CIM_ERR_NOT_SUPPORTED, CIMError

from providers.virt import naming, units
from providers.virt.xmltree import attribute, first_attribute, integer, remove

if TYPE_CHECKING:
    from providers.virt.connection import Hypervisor

__all__ = [
    "CharDevice",
    "Controller",
    "Disk",
    "Domain",
    "DomainState",
    "DomainXML",
    "Graphics",
    "Input",
    "Interface",
    "Transaction",
    "device_id",
    "parse_xml",
]

_log = logging.getLogger(__name__)

T = TypeVar("T")

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
_OS_ORDER = (
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

#: Attributes of <disk><source> that hold the disk's backing, by disk type.
_DISK_SOURCE_ATTRIBUTES = ("file", "dev", "dir", "name", "volume")


class DomainState(enum.IntEnum):
    """libvirt's domain states (``virDomainState``)."""

    NOSTATE = libvirt.VIR_DOMAIN_NOSTATE
    RUNNING = libvirt.VIR_DOMAIN_RUNNING
    BLOCKED = libvirt.VIR_DOMAIN_BLOCKED
    PAUSED = libvirt.VIR_DOMAIN_PAUSED
    SHUTDOWN = libvirt.VIR_DOMAIN_SHUTDOWN
    SHUTOFF = libvirt.VIR_DOMAIN_SHUTOFF
    CRASHED = libvirt.VIR_DOMAIN_CRASHED
    PMSUSPENDED = libvirt.VIR_DOMAIN_PMSUSPENDED


def parse_xml(text: str | bytes) -> etree._Element:
    """Parse an XML document (domain, device, pool...) with the hardened parser."""
    data = text.encode() if isinstance(text, str) else text
    return etree.fromstring(data, _PARSER)


# --- devices ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Disk:
    """A ``<disk>``: ``device`` is disk, cdrom, floppy or lun; ``source`` the file,
    block device, directory, network image name or volume name, by ``source_type``."""

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


@dataclass(frozen=True)
class Input:
    """An ``<input>`` (mouse, tablet, keyboard)."""

    device_id: str
    type: str
    bus: str | None
    element: etree._Element = field(repr=False, compare=False)


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


@dataclass(frozen=True)
class Controller:
    """A ``<controller>`` (ide, scsi, usb, virtio-serial, pci...)."""

    device_id: str
    type: str
    index: int | None
    model: str | None
    element: etree._Element = field(repr=False, compare=False)


def device_id(element: etree._Element) -> str | None:
    """The RASD device id of a device element, or ``None`` for devices not modelled.

    disk -> target dev, interface -> MAC, graphics -> type, input -> ``type:bus``,
    console/serial -> ``charconsole:<port>``, controller -> ``controller:<type>:<index>``.
    """
    tag = element.tag
    if tag == "disk":
        return attribute(element, "target", "dev") or ""
    if tag == "interface":
        return attribute(element, "mac", "address") or ""
    if tag == "graphics":
        return element.get("type", "")
    if tag == "input":
        return naming.input_device_id(element.get("type", ""), element.get("bus", ""))
    if tag in ("console", "serial"):
        return naming.chardev_device_id(tag, _chardev_port(element))
    if tag == "controller":
        return naming.controller_device_id(element.get("type", ""), integer(element.get("index")))
    return None


def _chardev_port(element: etree._Element) -> int:
    """The target port, or (as libvirt assigns it) the position among its kind."""
    port = integer(attribute(element, "target", "port"))
    if port is not None:
        return port
    parent = element.getparent()
    siblings = parent.findall(element.tag) if parent is not None else [element]
    return siblings.index(element)


def _disk(element: etree._Element) -> Disk:
    source = element.find("source")
    return Disk(
        device_id=device_id(element) or "",
        device=element.get("device", "disk"),
        source_type=element.get("type", "file"),
        source=first_attribute(source, _DISK_SOURCE_ATTRIBUTES),
        source_pool=source.get("pool") if source is not None else None,
        source_protocol=source.get("protocol") if source is not None else None,
        target_dev=attribute(element, "target", "dev"),
        target_bus=attribute(element, "target", "bus"),
        driver_name=attribute(element, "driver", "name"),
        driver_type=attribute(element, "driver", "type"),
        readonly=element.find("readonly") is not None,
        element=element,
    )


def _interface(element: etree._Element) -> Interface:
    source = element.find("source")
    return Interface(
        device_id=device_id(element) or "",
        type=element.get("type", ""),
        mac=attribute(element, "mac", "address"),
        source=first_attribute(source, ("network", "bridge", "dev")),
        source_mode=source.get("mode") if source is not None else None,
        model=attribute(element, "model", "type"),
        target_dev=attribute(element, "target", "dev"),
        element=element,
    )


def _graphics(element: etree._Element) -> Graphics:
    return Graphics(
        device_id=device_id(element) or "",
        type=element.get("type", ""),
        port=integer(element.get("port")),
        autoport=element.get("autoport") == "yes",
        listen=element.get("listen") or attribute(element, "listen", "address"),
        keymap=element.get("keymap"),
        has_password="passwd" in element.attrib,
        element=element,
    )


def _input(element: etree._Element) -> Input:
    return Input(
        device_id=device_id(element) or "",
        type=element.get("type", ""),
        bus=element.get("bus"),
        element=element,
    )


def _chardev(element: etree._Element) -> CharDevice:
    return CharDevice(
        device_id=device_id(element) or "",
        kind=element.tag,
        type=element.get("type", ""),
        source_path=attribute(element, "source", "path"),
        target_type=attribute(element, "target", "type"),
        target_port=integer(attribute(element, "target", "port")),
        element=element,
    )


def _controller(element: etree._Element) -> Controller:
    return Controller(
        device_id=device_id(element) or "",
        type=element.get("type", ""),
        index=integer(element.get("index")),
        model=element.get("model"),
        element=element,
    )


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
        return [_disk(element) for element in self._root.iterfind("devices/disk")]

    def interfaces(self) -> list[Interface]:
        return [_interface(element) for element in self._root.iterfind("devices/interface")]

    def graphics(self) -> list[Graphics]:
        return [_graphics(element) for element in self._root.iterfind("devices/graphics")]

    def inputs(self) -> list[Input]:
        return [_input(element) for element in self._root.iterfind("devices/input")]

    def consoles(self) -> list[CharDevice]:
        """Consoles and serial ports, in document order."""
        return [
            _chardev(element)
            for element in self._root.iterfind("devices/*")
            if element.tag in ("console", "serial")
        ]

    def controllers(self) -> list[Controller]:
        return [_controller(element) for element in self._root.iterfind("devices/controller")]

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
        type_element = _child(os_element, "type", _OS_ORDER)
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
            _insert_ordered(os_element, etree.Element("boot", dev=dev), _OS_ORDER)

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


# --- the libvirt domain ----------------------------------------------------------------------

_AFFECT_LIVE = libvirt.VIR_DOMAIN_AFFECT_LIVE
_AFFECT_CONFIG = libvirt.VIR_DOMAIN_AFFECT_CONFIG
_CONFIG_XML = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE
#: Removing a definition keeps what only the definition knows how to remove
#: (managed save images, snapshot metadata) out of the way, and keeps NVRAM so
#: that a rolled-back undefine can be redefined as it was.
_UNDEFINE_FLAGS = (
    libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
    | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
    | libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
    | libvirt.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM
)
_FLAGS_REFUSED = frozenset(
    {libvirt.VIR_ERR_INVALID_ARG, libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED}
)
#: Values one snapshot memoises (:meth:`Domain.memo`); the keys come partly from
#: clients (a class name's spelling), so their number is bounded.
MEMO_CAPACITY = 64


class Domain:
    """One libvirt domain as fetched at one moment.

    ``xml`` is the definition libvirt reports now (the live one for a
    running guest, with auto-assigned ports and addresses); it is parsed once
    per fetch and shared, so it is read-only. :meth:`config` fetches the
    persistent definition for editing. State-changing methods act at once;
    this object keeps describing the domain as fetched (call
    :meth:`Hypervisor.domain` again to see the result).

    Obtain instances from :class:`~providers.virt.connection.Hypervisor`.
    """

    def __init__(
        self,
        hypervisor: Hypervisor,
        handle: libvirt.virDomain,
        xml: DomainXML,
        state: int,
        uuid: str,
    ) -> None:
        self._hypervisor = hypervisor
        self._handle = handle
        self.xml = xml
        self.name: str = handle.name()
        self.uuid = uuid
        active_id = handle.ID()
        #: The hypervisor's id of a running domain, ``None`` when it is shut off.
        self.id: int | None = active_id if active_id >= 0 else None
        self.state = DomainState(state)
        self._journal: Transaction | None = None
        self._memo: dict[Hashable, Any] = {}

    def __repr__(self) -> str:
        return f"<Domain {self.name!r} {self.state.name} on {self._hypervisor.uri}>"

    @property
    def is_active(self) -> bool:
        """True while the domain runs (including paused)."""
        return self.id is not None

    @property
    def hypervisor(self) -> Hypervisor:
        return self._hypervisor

    def memo(self, key: Hashable, build: Callable[..., T], *args: Any) -> T:
        """``build(*args)``, made once per snapshot and ``key``, then returned as made.

        For values derived from this snapshot alone (its ``xml``, name,
        state...) that are never changed once made, such as a provider's
        instance: a changed domain is fetched as a new snapshot, whose memo
        starts empty, so nothing memoised outlives what it was derived from.
        ``key`` must name everything else the value depends on. Two threads
        may both build a value the first time; either result is kept.
        """
        try:
            return self._memo[key]
        except KeyError:
            value = build(*args)
            if len(self._memo) < MEMO_CAPACITY:
                self._memo[key] = value
            return value

    # reads that ask libvirt

    def config(self) -> DomainXML:
        """The persistent definition, fetched now, editable, passwords included.

        For a domain that is not running this is the same as ``xml``.
        """
        text = self._call("read the definition of", lambda d: d.XMLDesc(_CONFIG_XML), read=True)
        return DomainXML.from_string(text)

    def is_persistent(self) -> bool:
        return bool(self._call("inspect", lambda d: d.isPersistent(), read=True))

    def autostart(self) -> bool:
        return bool(self._call("inspect", lambda d: d.autostart(), read=True))

    def set_autostart(self, enabled: bool) -> None:
        previous = self.autostart()
        self._change("set autostart of", lambda d: d.setAutostart(int(enabled)))
        self._record(f"autostart {previous}", lambda d: d.setAutostart(int(previous)))

    # state changes

    def start(self) -> None:
        """Boot a defined domain (``virDomainCreate``)."""
        self._change("start", lambda d: d.create())
        self._record("destroy", lambda d: d.destroy())

    def destroy(self) -> None:
        """Power off at once."""
        was_active = self.is_active
        self._change("destroy", lambda d: d.destroy())
        if was_active:
            self._record("start", lambda d: d.create())

    def shutdown(self) -> None:
        """Ask the guest to shut down; returns without waiting."""
        self._change("shut down", lambda d: d.shutdown())

    def reboot(self) -> None:
        self._change("reboot", lambda d: d.reboot(0))

    def reset(self) -> None:
        """Hard reset, as pressing the reset button."""
        self._change("reset", lambda d: d.reset(0))

    def suspend(self) -> None:
        self._change("pause", lambda d: d.suspend())
        self._record("resume", lambda d: d.resume())

    def resume(self) -> None:
        self._change("resume", lambda d: d.resume())
        self._record("pause", lambda d: d.suspend())

    # definition changes

    def redefine(self, xml: DomainXML) -> Domain:
        """Replace the persistent definition with ``xml`` (same name and UUID)."""
        return self._hypervisor.define(xml)

    def undefine(self) -> None:
        """Remove the persistent definition (a running guest keeps running, transient).

        Inside a :class:`Transaction` that tracks this domain, rollback
        defines the original again.
        """
        self._change("undefine", _undefine)

    # live changes: live=True reaches the running guest as well as the definition

    def attach_device(self, device: etree._Element | str, live: bool) -> None:
        text = _device_text(device)
        flags = self._scope(live)
        self._change(
            "attach a device to", _scoped(lambda d, f: d.attachDeviceFlags(text, f), flags)
        )
        if flags & _AFFECT_LIVE:
            self._record("detach", lambda d: d.detachDeviceFlags(text, _AFFECT_LIVE))

    def detach_device(self, device: etree._Element | str, live: bool) -> None:
        text = _device_text(device)
        flags = self._scope(live)
        self._change(
            "detach a device from", _scoped(lambda d, f: d.detachDeviceFlags(text, f), flags)
        )
        if flags & _AFFECT_LIVE:
            self._record("attach", lambda d: d.attachDeviceFlags(text, _AFFECT_LIVE))

    def update_device(self, device: etree._Element | str, live: bool) -> None:
        """Change a device in place (e.g. a CD-ROM's medium, a NIC's link state)."""
        text = _device_text(device)
        flags = self._scope(live)
        old = self.xml.find_device(device_id(parse_xml(text)) or "")
        self._change(
            "update a device of", _scoped(lambda d, f: d.updateDeviceFlags(text, f), flags)
        )
        if flags & _AFFECT_LIVE and old is not None:
            old_text = etree.tostring(old, encoding="unicode")
            self._record("update back", lambda d: d.updateDeviceFlags(old_text, _AFFECT_LIVE))

    def set_memory(self, kib: int, live: bool, *, maximum: bool = False) -> None:
        """Current memory (balloon) or, with ``maximum``, the maximum, in KiB."""
        flags = self._scope(live) | (libvirt.VIR_DOMAIN_MEM_MAXIMUM if maximum else 0)
        self._change("set the memory of", _scoped(lambda d, f: d.setMemoryFlags(kib, f), flags))
        if flags & _AFFECT_LIVE:
            previous = self.xml.memory_kib if maximum else self.xml.current_memory_kib
            undo_flags = _AFFECT_LIVE | (flags & libvirt.VIR_DOMAIN_MEM_MAXIMUM)
            self._record("memory back", lambda d: d.setMemoryFlags(previous, undo_flags))

    def set_vcpus(self, count: int, live: bool, *, maximum: bool = False) -> None:
        """vCPUs in use or, with ``maximum``, the maximum (config only in libvirt)."""
        flags = self._scope(live and not maximum)
        flags |= libvirt.VIR_DOMAIN_VCPU_MAXIMUM if maximum else 0
        self._change("set the vCPUs of", _scoped(lambda d, f: d.setVcpusFlags(count, f), flags))
        if flags & _AFFECT_LIVE:
            previous = self.xml.vcpus
            self._record("vCPUs back", lambda d: d.setVcpusFlags(previous, _AFFECT_LIVE))

    def set_scheduler(self, parameters: Mapping[str, int], live: bool) -> None:
        """Scheduler parameters (``cpu_shares``, ``global_period``, ``global_quota``...).

        ``CIM_ERR_NOT_SUPPORTED`` when the driver has no such parameters for
        the running guest (the test driver knows only ``weight``).
        """
        flags = self._scope(live)
        previous: dict[str, int] = {}
        if flags & _AFFECT_LIVE:
            current = self._call("read the scheduler parameters of",
                                 lambda d: d.schedulerParameters(), read=True)  # fmt: skip
            unknown = sorted(set(parameters) - set(current))
            if unknown:
                raise CIMError(CIM_ERR_NOT_SUPPORTED,
                               f"guest {self.name!r} on {self._hypervisor.uri} has no scheduler "
                               f"parameter {', '.join(unknown)}")  # fmt: skip
            previous = {name: current[name] for name in parameters}
        self._change("set the scheduler parameters of",
                     _scoped(lambda d, f: d.setSchedulerParametersFlags(dict(parameters), f),
                             flags))  # fmt: skip
        if previous:
            self._record("scheduler parameters back",
                         lambda d: d.setSchedulerParametersFlags(previous, _AFFECT_LIVE))  # fmt: skip

    def disk_size(self, target: str, source: str | None) -> tuple[int, str | None] | None:
        """``(capacity in bytes, storage pool)`` of the image behind disk ``target``.

        The storage volume at ``source`` answers where one is known (with its
        pool), else libvirt's block info of the disk; ``None`` when neither
        can (the image is missing or unreadable).
        """
        def read(conn: libvirt.virConnect) -> tuple[int, str | None] | None:
            if source:
                try:
                    volume = conn.storageVolLookupByPath(source)
                    return int(volume.info()[1]), volume.storagePoolLookupByVolume().name()
                except libvirt.libvirtError:
                    pass
            try:
                return int(self._handle_on(conn).blockInfo(target)[0]), None
            except libvirt.libvirtError:
                return None

        return self._hypervisor.run(f"guest {self.name!r}", read, read=True)

    def transaction(self) -> Transaction:
        """A :class:`Transaction` already tracking this domain::

        with domain.transaction():
            domain.attach_device(disk, live=True)
            domain.redefine(edited)   # fails -> the disk is detached, XML restored
        """
        transaction = Transaction(self._hypervisor)
        transaction.track(self)
        return transaction

    # plumbing

    def _scope(self, live: bool) -> int:
        """AFFECT_CONFIG for a persistent domain, plus AFFECT_LIVE when running and asked.

        A transient domain has no definition apart from its running state, so
        a change to it is always live.
        """
        flags = _AFFECT_CONFIG if self.is_persistent() else 0
        if live and self.is_active:
            flags |= _AFFECT_LIVE
        return flags or _AFFECT_LIVE

    def _call(
        self, action: str, operation: Callable[[libvirt.virDomain], Any], *, read: bool
    ) -> Any:
        return self._hypervisor.run(
            f"guest {self.name!r}",
            lambda conn: operation(self._handle_on(conn)),
            read=read,
            action=action,
        )

    def _change(self, action: str, operation: Callable[[libvirt.virDomain], Any]) -> None:
        try:
            self._call(action, operation, read=False)
        finally:
            self._hypervisor.invalidate(self.uuid)

    def _record(self, description: str, undo: Callable[[libvirt.virDomain], Any]) -> None:
        if self._journal is not None:
            self._journal.record(
                f"{description} guest {self.name!r}",
                lambda: self._call(description, undo, read=False),
            )

    def _handle_on(self, conn: libvirt.virConnect) -> libvirt.virDomain:
        """This domain's handle on ``conn`` (looked up again after a reconnect)."""
        if self._handle.connect() is conn:
            return self._handle
        self._handle = conn.lookupByUUIDString(self.uuid)
        return self._handle


def _scoped(
    operation: Callable[[libvirt.virDomain, int], Any], flags: int
) -> Callable[[libvirt.virDomain], Any]:
    """``operation(handle, flags)``, split in a config call and a live call when
    the driver refuses both at once (the test driver does, for memory)."""
    both = _AFFECT_LIVE | _AFFECT_CONFIG

    def apply(handle: libvirt.virDomain) -> Any:
        try:
            return operation(handle, flags)
        except libvirt.libvirtError as error:
            if flags & both != both or error.get_error_code() != libvirt.VIR_ERR_INVALID_ARG:
                raise
        operation(handle, flags & ~_AFFECT_LIVE)
        return operation(handle, flags & ~_AFFECT_CONFIG)

    return apply


def _undefine(handle: libvirt.virDomain) -> None:
    """Undefine with :data:`_UNDEFINE_FLAGS`, or plainly where the driver knows no flags."""
    try:
        handle.undefineFlags(_UNDEFINE_FLAGS)
    except libvirt.libvirtError as error:
        if error.get_error_code() not in _FLAGS_REFUSED:
            raise
        handle.undefine()


def _device_text(device: etree._Element | str) -> str:
    if isinstance(device, str):
        return device
    return etree.tostring(device, encoding="unicode")


# --- rollback --------------------------------------------------------------------------------


class Transaction:
    """Undo log for a change made of several libvirt calls.

    Used as a context manager. Domains passed to :meth:`track` record how to
    undo each change made through them; :meth:`define` records how to undo a
    definition. When the block raises, the undo steps run newest first: live
    changes are reversed (where libvirt can: attach/detach, memory, vCPUs,
    start/destroy, pause/resume), then each tracked domain's original
    persistent XML is redefined, and domains defined inside the block are
    undefined. The exception is then re-raised. Undo failures are logged,
    never raised over the original error.
    """

    def __init__(self, hypervisor: Hypervisor) -> None:
        self._hypervisor = hypervisor
        self._undo: list[tuple[str, Callable[[], Any]]] = []
        self._tracked: list[Domain] = []

    def __enter__(self) -> Transaction:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        try:
            if exc_type is not None:
                self.rollback()
        finally:
            for domain in self._tracked:
                domain._journal = None

    def record(self, description: str, undo: Callable[[], Any]) -> None:
        """Add an undo step (run in reverse order of recording on failure)."""
        self._undo.append((description, undo))

    def track(self, domain: Domain) -> Domain:
        """Snapshot ``domain``'s definition; its changes from now on are undone on failure."""
        if domain.is_persistent():
            original = domain.config().to_string()
            self.record(
                f"restore the definition of guest {domain.name!r}",
                lambda: self._hypervisor.define(DomainXML.from_string(original)),
            )
        else:
            self.record(
                f"make guest {domain.name!r} transient again",
                lambda: self._undefine_if_persistent(domain.uuid),
            )
        domain._journal = self
        self._tracked.append(domain)
        return domain

    def define(self, xml: DomainXML) -> Domain:
        """Define ``xml``; on failure the previous definition (or none) is restored."""
        existing = self._existing(xml)
        if existing is not None:
            self.track(existing)
        domain = self._hypervisor.define(xml)
        if existing is None:
            self.record(
                f"undefine guest {domain.name!r}",
                lambda: self._undefine_if_persistent(domain.uuid),
            )
        return self.track_new(domain)

    def track_new(self, domain: Domain) -> Domain:
        """Let ``domain``'s later changes be undone without snapshotting its XML."""
        domain._journal = self
        self._tracked.append(domain)
        return domain

    def rollback(self) -> None:
        """Run every undo step, newest first; keep going when one fails."""
        while self._undo:
            description, undo = self._undo.pop()
            try:
                undo()
            except Exception:
                _log.exception("rollback on %s: could not %s", self._hypervisor.uri, description)

    def _existing(self, xml: DomainXML) -> Domain | None:
        try:
            if xml.uuid:
                return self._hypervisor.domain_by_uuid(xml.uuid)
            return self._hypervisor.domain(xml.name)
        except CIMError as error:
            if error.status_code == CIM_ERR_NOT_FOUND:
                return None
            raise

    def _undefine_if_persistent(self, uuid: str) -> None:
        domain = self._hypervisor.domain_by_uuid(uuid)
        if domain.is_persistent():
            domain.undefine()
