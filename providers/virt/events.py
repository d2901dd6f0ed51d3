"""libvirt's events as the adapter hands them on, with libvirt's numbers named.

A listener added with :meth:`~providers.virt.connection.Hypervisor.add_listener` gets an
:class:`Event` and reads it with the names here, so that no module outside
the adapter imports libvirt to understand one. The values are libvirt's own
(``VIR_*_EVENT_*``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import libvirt

__all__ = [
    "DEFINED_ADDED",
    "DomainEventID",
    "Event",
    "Lifecycle",
    "PoolEventID",
    "PoolLifecycle",
]


class DomainEventID(enum.IntEnum):
    """Which kind of domain event an event is (``VIR_DOMAIN_EVENT_ID_*``), of those read."""

    LIFECYCLE = libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE
    DEVICE_ADDED = libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_ADDED
    DEVICE_REMOVED = libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED
    GRAPHICS = libvirt.VIR_DOMAIN_EVENT_ID_GRAPHICS


class Lifecycle(enum.IntEnum):
    """What a domain's lifecycle event says happened: its first detail (``VIR_DOMAIN_EVENT_*``)."""

    DEFINED = libvirt.VIR_DOMAIN_EVENT_DEFINED
    UNDEFINED = libvirt.VIR_DOMAIN_EVENT_UNDEFINED
    STARTED = libvirt.VIR_DOMAIN_EVENT_STARTED
    SUSPENDED = libvirt.VIR_DOMAIN_EVENT_SUSPENDED
    RESUMED = libvirt.VIR_DOMAIN_EVENT_RESUMED
    STOPPED = libvirt.VIR_DOMAIN_EVENT_STOPPED
    SHUTDOWN = libvirt.VIR_DOMAIN_EVENT_SHUTDOWN
    PMSUSPENDED = libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED
    CRASHED = libvirt.VIR_DOMAIN_EVENT_CRASHED


#: The second detail of a DEFINED event when the domain is new (not an update).
DEFINED_ADDED = libvirt.VIR_DOMAIN_EVENT_DEFINED_ADDED


class PoolEventID(enum.IntEnum):
    """The lifecycle event of storage pools and of networks (``VIR_*_EVENT_ID_LIFECYCLE``)."""

    STORAGE_POOL_LIFECYCLE = libvirt.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE
    NETWORK_LIFECYCLE = libvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE


class PoolLifecycle(enum.IntEnum):
    """What a storage pool's or network's lifecycle event says happened: its first detail.

    libvirt numbers both the same (``VIR_STORAGE_POOL_EVENT_*``, ``VIR_NETWORK_EVENT_*``).
    """

    DEFINED = libvirt.VIR_STORAGE_POOL_EVENT_DEFINED
    UNDEFINED = libvirt.VIR_STORAGE_POOL_EVENT_UNDEFINED


@dataclass(frozen=True)
class Event:
    """A libvirt event: ``kind`` is ``domain``, ``pool`` or ``network``; ``event_id``
    the ``VIR_*_EVENT_ID_*`` constant; ``detail`` the event's own arguments."""

    kind: str
    name: str
    uuid: str
    event_id: int
    detail: tuple[Any, ...]

    @property
    def undefines_domain(self) -> bool:
        """Whether this event says a domain was undefined."""
        return (self.kind == "domain" and self.event_id == DomainEventID.LIFECYCLE
                and self.detail[:1] == (Lifecycle.UNDEFINED,))
