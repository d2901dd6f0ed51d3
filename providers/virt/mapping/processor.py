"""Processors: ProcResourceAllocationSettingData read from ``<vcpu>`` and ``<cputune>``
and written back, and the scheduler parameters a setting asks of a running guest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.virt.domainxml import DomainXML
from providers.virt.mapping.base import SettingsError
from providers.virt.xmltree import child, integer, remove

__all__ = [
    "CPU_PERIOD_US",
    "apply",
    "cpu_limit",
    "cpu_tuning",
    "settings",
]


#: The scheduling period a processor Limit is written with, in microseconds: a
#: Limit of N (percent of one host CPU) is a quota of N * 1000 per period.
CPU_PERIOD_US = 100_000

#: libvirt's bounds of a CPU quota, in microseconds per period.
_CPU_QUOTA_RANGE = (1000, 17_592_186_044_415)

_CPUTUNE_ORDER = ("shares", "period", "quota", "global_period", "global_quota")


def settings(xml: DomainXML) -> dict[str, Any]:
    """The ProcResourceAllocationSettingData values: vCPUs in use, cap and weight."""
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
        quota = integer(cputune.findtext(quota_tag))
        if quota is not None and quota > 0:
            period = integer(cputune.findtext(period_tag)) or CPU_PERIOD_US
            return -(-quota * times * 100 // period)
    return None


def apply(xml: DomainXML, values: Mapping[str, Any]) -> None:
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
    cputune = child(xml.root, "cputune")  # libvirt puts it in its place
    for tag, value in _cputune_elements(tuning).items():
        if value is None:
            old = cputune.find(tag)
            if old is not None:
                remove(old)
        else:
            child(cputune, tag, order=_CPUTUNE_ORDER).text = str(value)
    if len(cputune) == 0:
        remove(cputune)


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


def _check_positive(value: Any, name: str) -> None:
    if int(value) < 1:
        raise SettingsError(f"{name} {value} must be at least 1")
