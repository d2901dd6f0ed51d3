"""Names that cross the CIM boundary: class prefixes, InstanceIDs, device ids.

The formats are libvirt-cim's, so its clients keep working:

* class names are ``<Prefix>_<Generic>``, the prefix chosen by libvirt driver
  (qemu/kvm -> ``KVM``, xen/libxl -> ``Xen``, lxc -> ``LXC``, test -> ``Test``,
  any other driver -> its name capitalised);
* a VSSD InstanceID is ``<Prefix>:<domain>``; the domain is everything after
  the first colon, so domain names holding colons round-trip;
* a RASD InstanceID is ``<domain>/<device id>``; the domain is everything
  before the first slash, so a domain whose name holds a slash cannot be
  written in one (such names are refused with :class:`ValueError`);
* a pool InstanceID is ``<Kind>Pool/<name>``, ``<Kind>Pool/0`` for the
  primordial pool of each kind;
* the InstanceID of a libvirt snapshot of a domain is
  ``<Prefix>:<domain>/<snapshot>``: the domain is what lies between the
  first colon and the first slash, the snapshot's name may hold slashes.

Parse functions raise :class:`ValueError` with a message naming the bad
value; callers turn it into ``CIM_ERR_INVALID_PARAMETER`` or
``CIM_ERR_NOT_FOUND`` as their operation requires.
"""

from __future__ import annotations

import re

__all__ = [
    "MEMORY_DEVICE_ID",
    "PRIMORDIAL_POOL",
    "PROCESSOR_DEVICE_ID",
    "chardev_device_id",
    "check_file_name",
    "classname",
    "controller_device_id",
    "driver_from_uri",
    "generic_name",
    "input_device_id",
    "parse_pool_instance_id",
    "parse_rasd_instance_id",
    "parse_snapshot_instance_id",
    "parse_vssd_instance_id",
    "pool_instance_id",
    "prefix_for_driver",
    "rasd_instance_id",
    "runs_in_process",
    "snapshot_instance_id",
    "split_classname",
    "vssd_instance_id",
]

#: Device ids of the two resources that have no device element of their own.
PROCESSOR_DEVICE_ID = "proc"
MEMORY_DEVICE_ID = "mem"

#: The name part of every primordial pool's InstanceID (``MemoryPool/0``).
PRIMORDIAL_POOL = "0"

#: Drivers whose prefix is not simply their capitalised name.
_PREFIXES = {"qemu": "KVM", "kvm": "KVM", "xen": "Xen", "libxl": "Xen", "lxc": "LXC"}

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_URI_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9.-]*)(?:\+[A-Za-z0-9.-]+)?(?::|$)")
_POOL_KIND = re.compile(r"([A-Za-z][A-Za-z0-9]*)Pool")


def driver_from_uri(uri: str) -> str | None:
    """The libvirt driver a URI names, lower case: ``qemu+ssh://h/system`` -> ``qemu``.

    Returns ``None`` for the empty URI (libvirt then picks its default, and the
    driver is known only once connected: use ``virConnect.getType()``).
    """
    if not uri:
        return None
    match = _URI_SCHEME.match(uri)
    if match is None:
        raise ValueError(f"libvirt URI {uri!r} has no driver name")
    return match.group(1).lower()


def runs_in_process(uri: str) -> bool:
    """Whether libvirt serves ``uri`` inside this process (its test driver, ``test:///``)
    rather than through a daemon or a hypervisor's own API."""
    return uri.lower().startswith("test:")


def prefix_for_driver(driver: str) -> str:
    """The class-name prefix for a libvirt driver name (``qemu`` -> ``KVM``).

    ``driver`` may be spelled as ``virConnect.getType()`` spells it (``QEMU``).
    """
    lowered = driver.lower()
    prefix = _PREFIXES.get(lowered, lowered.capitalize())
    if not _IDENTIFIER.fullmatch(prefix):
        raise ValueError(f"libvirt driver {driver!r} cannot name a CIM class")
    return prefix


def classname(prefix: str, generic: str) -> str:
    """``KVM`` and ``ComputerSystem`` -> ``KVM_ComputerSystem``."""
    return f"{prefix}_{generic}"


def split_classname(name: str) -> tuple[str, str]:
    """``KVM_ComputerSystem`` -> ``("KVM", "ComputerSystem")``."""
    prefix, underscore, generic = name.partition("_")
    if not underscore or not prefix or not generic:
        raise ValueError(f"class name {name!r} is not <Prefix>_<Name>")
    return prefix, generic


def generic_name(prefix: str, classname: str) -> str | None:
    """The generic name of ``classname`` when it carries ``prefix`` (case aside), else ``None``."""
    try:
        found, generic = split_classname(classname)
    except ValueError:
        return None
    return generic if found.lower() == prefix.lower() else None


def vssd_instance_id(prefix: str, domain: str) -> str:
    """InstanceID of a domain's VirtualSystemSettingData: ``KVM:web1``."""
    _check_domain_name(domain)
    return f"{prefix}:{domain}"


def parse_vssd_instance_id(instance_id: str) -> tuple[str, str]:
    """``"KVM:web1"`` -> ``("KVM", "web1")``."""
    prefix, colon, domain = instance_id.partition(":")
    if not colon or not _IDENTIFIER.fullmatch(prefix) or not domain:
        raise ValueError(f"InstanceID {instance_id!r} is not <Prefix>:<domain>")
    return prefix, domain


def rasd_instance_id(domain: str, device_id: str) -> str:
    """InstanceID of a resource setting: ``web1/vda``, ``web1/mem``."""
    _check_domain_name(domain)
    if "/" in domain:
        raise ValueError(
            f"domain name {domain!r} holds '/' and cannot be part of an InstanceID"
        )
    if not device_id:
        raise ValueError(f"device of domain {domain!r} has no device id")
    return f"{domain}/{device_id}"


def parse_rasd_instance_id(instance_id: str) -> tuple[str, str]:
    """``"web1/vda"`` -> ``("web1", "vda")``; the device id may hold slashes."""
    domain, slash, device_id = instance_id.partition("/")
    if not slash or not domain or not device_id:
        raise ValueError(f"InstanceID {instance_id!r} is not <domain>/<device id>")
    return domain, device_id


def snapshot_instance_id(prefix: str, domain: str, snapshot: str) -> str:
    """InstanceID of a libvirt snapshot of a domain: ``KVM:web1/before-upgrade``."""
    if not snapshot:
        raise ValueError(f"snapshot of domain {domain!r} has an empty name")
    return f"{prefix}:{rasd_instance_id(domain, snapshot)}"


def parse_snapshot_instance_id(instance_id: str) -> tuple[str, str, str]:
    """``"KVM:web1/before-upgrade"`` -> ``("KVM", "web1", "before-upgrade")``."""
    try:
        prefix, rest = parse_vssd_instance_id(instance_id)
        domain, snapshot = parse_rasd_instance_id(rest)
    except ValueError:
        raise ValueError(f"InstanceID {instance_id!r} is not <Prefix>:<domain>/<snapshot>") from None
    return prefix, domain, snapshot


def pool_instance_id(kind: str, name: str) -> str:
    """InstanceID of a resource pool: ``("Disk", "default")`` -> ``DiskPool/default``."""
    if not _IDENTIFIER.fullmatch(kind):
        raise ValueError(f"pool kind {kind!r} is not a name")
    if not name:
        raise ValueError(f"{kind} pool has an empty name")
    return f"{kind}Pool/{name}"


def parse_pool_instance_id(instance_id: str) -> tuple[str, str]:
    """``"DiskPool/default"`` -> ``("Disk", "default")``."""
    head, slash, name = instance_id.partition("/")
    match = _POOL_KIND.fullmatch(head)
    if not slash or match is None or not name:
        raise ValueError(f"InstanceID {instance_id!r} is not <Kind>Pool/<name>")
    return match.group(1), name


def input_device_id(input_type: str, bus: str) -> str:
    """``mouse``, ``ps2`` -> ``mouse:ps2``."""
    return f"{input_type}:{bus}"


def chardev_device_id(kind: str, port: int | str) -> str:
    """``console``, 0 -> ``charconsole:0`` (also ``charserial:0`` for serial ports)."""
    return f"char{kind}:{port}"


def controller_device_id(controller_type: str, index: int | None) -> str:
    """``scsi``, 0 -> ``controller:scsi:0``; an unset index is written ``-1``."""
    return f"controller:{controller_type}:{-1 if index is None else index}"


def check_file_name(name: str, longest: int) -> None:
    """Raise :class:`ValueError` unless libvirt can keep an object named ``name`` in a
    file named after it (as it keeps network filters and snapshots): printable, at
    most ``longest`` characters, without '/'."""
    if len(name) > longest or "/" in name or not name.isprintable():
        raise ValueError(f"name {name!r} must be printable, at most {longest} characters, "
                         "without '/'")


def _check_domain_name(domain: str) -> None:
    if not domain:
        raise ValueError("domain name is empty")
