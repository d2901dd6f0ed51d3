"""The libvirt adapter: connections and events, the domain-XML model, naming, errors, units.

Providers reach libvirt only through this package:

* :class:`~providers.virt.connection.Hypervisor` — one shared connection per URI;
  domains, host, storage pools, networks, events, transactions;
* :class:`~providers.virt.domain.Domain` — a domain's state and its changes through libvirt;
* :class:`~providers.virt.domainxml.DomainXML` — a domain's definition, read and edited;
* :class:`~providers.virt.transaction.Transaction` — changes undone together on failure;
* :mod:`providers.virt.naming` — class prefixes, InstanceIDs, device ids;
* :mod:`providers.virt.errors` — libvirt errors as CIM errors;
* :mod:`providers.virt.units` — AllocationUnits and libvirt units.
"""

from providers.virt.connection import (
    DomainListing,
    Event,
    Hypervisor,
    Network,
    NodeInfo,
    StoragePool,
    start_event_loop,
)
from providers.virt.domain import Domain, DomainState
from providers.virt.domainxml import (
    CharDevice,
    Controller,
    Disk,
    DomainXML,
    Graphics,
    Input,
    Interface,
    device_id,
    parse_xml,
)
from providers.virt.transaction import Transaction

__all__ = [
    "CharDevice",
    "Controller",
    "Disk",
    "Domain",
    "DomainListing",
    "DomainState",
    "DomainXML",
    "Event",
    "Graphics",
    "Hypervisor",
    "Input",
    "Interface",
    "Network",
    "NodeInfo",
    "StoragePool",
    "Transaction",
    "device_id",
    "parse_xml",
    "start_event_loop",
]
