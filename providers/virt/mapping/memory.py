"""Memory: MemResourceAllocationSettingData read from ``<memory>`` and
``<currentMemory>`` and written back, sizes in KiB.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.virt import units
from providers.virt.domainxml import DomainXML
from providers.virt.mapping.base import SettingsError

__all__ = [
    "DEFAULT_MEMORY_KIB",
    "MEMORY_UNITS",
    "apply",
    "memory_kib",
    "settings",
]


#: Memory of a guest defined without a memory setting (libvirt-cim's default template).
DEFAULT_MEMORY_KIB = 256 * 1024

#: Units of the memory settings we report, as libvirt-cim wrote them (KiB; DSP0004's
#: ``byte*2^10`` and the other spellings in :mod:`~providers.virt.units` are accepted).
MEMORY_UNITS = "KiloBytes"

#: What AllocationUnits means when a memory setting does not say (as libvirt-cim).
DEFAULT_MEMORY_UNITS = "byte"


def settings(xml: DomainXML) -> dict[str, Any]:
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


def apply(xml: DomainXML, values: Mapping[str, Any], *, defining: bool) -> None:
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
