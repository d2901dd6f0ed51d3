"""The libvirt adapter: connections and events, the domain-XML model, naming, errors, units.

Providers reach libvirt only through this package:

* :class:`~providers.virt.connection.Hypervisor` — one shared connection per URI;
  domains, host, events, transactions, (:mod:`providers.virt.storage`) storage
  pools, volumes and networks, and (:mod:`providers.virt.nwfilter`) network filters;
* :mod:`providers.virt.events` — libvirt's events, with libvirt's numbers named;
* :class:`~providers.virt.domain.Domain` — a domain's state and its changes through libvirt;
* :class:`~providers.virt.domainxml.DomainXML` — a domain's definition, read and edited;
* :mod:`providers.virt.mapping` — each device element, the domain and the system settings
  to and from CIM settings;
* :class:`~providers.virt.transaction.Transaction` — changes undone together on failure;
* :mod:`providers.virt.locks` — one lock per guest, so that its changes come one after another;
* :mod:`providers.virt.naming` — class prefixes, InstanceIDs, device ids;
* :mod:`providers.virt.errors` — libvirt errors as CIM errors;
* :mod:`providers.virt.units` — AllocationUnits and libvirt units.
"""

from providers.virt.connection import (
    DomainListing,
    Hypervisor,
    NodeInfo,
    start_event_loop,
)
from providers.virt.domain import Domain, DomainState
from providers.virt.domainxml import DomainXML, parse_xml
from providers.virt.events import (
    DEFINED_ADDED,
    DomainEventID,
    Event,
    Lifecycle,
    PoolEventID,
    PoolLifecycle,
)
from providers.virt.mapping import device_id
from providers.virt.mapping.console import CharDevice
from providers.virt.mapping.controller import Controller
from providers.virt.mapping.disk import Disk
from providers.virt.mapping.graphics import Graphics
from providers.virt.mapping.input import Input
from providers.virt.mapping.interface import Interface
from providers.virt.nwfilter import FilterRule, NetworkFilter
from providers.virt.storage import Network, StoragePool, Volume
from providers.virt.transaction import Transaction

__all__ = [
    "CharDevice",
    "Controller",
    "Disk",
    "Domain",
    "DomainListing",
    "DomainState",
    "DomainXML",
    "DEFINED_ADDED",
    "DomainEventID",
    "Event",
    "Lifecycle",
    "PoolEventID",
    "PoolLifecycle",
    "Graphics",
    "Hypervisor",
    "Input",
    "Interface",
    "FilterRule",
    "Network",
    "NetworkFilter",
    "NodeInfo",
    "StoragePool",
    "Transaction",
    "Volume",
    "device_id",
    "parse_xml",
    "start_event_loop",
]
