"""The domain cache of one hypervisor: snapshots kept while libvirt still describes them so.

A :class:`~providers.virt.domain.Domain` snapshot is made from a domain's XML
and state; parsing that XML and building what providers make from it is what
a request about a guest costs beside libvirt's own calls. The cache keeps the
snapshot with the XML text and the state it was made from, and hands it out
again only when libvirt gives the same text and state (the caller asks; see
:class:`~providers.virt.connection.Hypervisor`).

Events invalidate entries: each domain has a generation, raised on every event
or change of it, and the whole cache an epoch, raised when it is cleared (a new
connection). A caller takes a :meth:`DomainCache.token` before it asks libvirt,
and its snapshot is stored only if the token is still current afterwards, so a
snapshot older than an event that arrived meanwhile is never kept.

Each entry also keeps the ``virDomain`` handle its snapshot was made with, found
by UUID or by the guest's name: asking that handle for the XML and state spares
the lookup round trip of a request about one guest (:meth:`DomainCache.handle`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import libvirt

if TYPE_CHECKING:
    from providers.virt.domain import Domain

#: Domains kept in the cache. A cached domain holds its parsed XML and what
#: providers made from it: about 30 KB with its ComputerSystem, about 175 KB
#: with every resource setting too (``benchmarks/``, test guests of two disks
#: and a NIC), so this bounds the cache between about 30 and 180 MB however
#: many guests the host has; a host with more guests than this is listed with
#: fresh fetches for the excess. Listings only fill free room and lookups of
#: one domain evict the least recently used: a listing of more guests than
#: this would otherwise evict every entry before it came round to it again
#: and hit none.
CACHE_CAPACITY = 1024

#: The cache's epoch and a domain's generation, taken before libvirt is asked.
Token = tuple[int, int]


@dataclass
class _Entry:
    #: libvirt's state of the domain, which its XML does not show.
    state: int
    #: The domain's XML as libvirt gave it, to compare with what it gives next
    #: (a running domain's XML shows its id, so a restart shows too).
    xml: str
    domain: Domain
    #: The handle ``domain`` was made with (its name and id are the domain's as cached).
    handle: libvirt.virDomain


class DomainCache:
    """Snapshots by UUID, least recently used first; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        #: The UUID of each cached domain by its name.
        self._names: dict[str, str] = {}
        self._generations: dict[str, int] = {}
        self._epoch = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, uuid: object) -> bool:
        return uuid in self._entries

    def token(self, uuid: str) -> Token:
        """What :meth:`store` checks: take it before asking libvirt about ``uuid``."""
        with self._lock:
            return self._epoch, self._generations.get(uuid, 0)

    def tokens(self) -> tuple[int, dict[str, int]]:
        """The epoch and every generation, for a listing that asks about all domains at once."""
        with self._lock:
            return self._epoch, dict(self._generations)

    def handle(self, *, name: str | None = None, uuid: str | None = None) -> libvirt.virDomain | None:
        """The handle of the cached domain with this ``name`` or ``uuid``, if one is cached."""
        with self._lock:
            if uuid is None:
                uuid = self._names.get(name or "")
            entry = self._entries.get(uuid or "")
            return None if entry is None else entry.handle

    def get(self, uuid: str, state: int, xml: str) -> Domain | None:
        """The snapshot of ``uuid`` if it was made from this ``state`` and ``xml``."""
        with self._lock:
            entry = self._entries.get(uuid)
            if entry is None or entry.state != state or entry.xml != xml:
                return None
            self._entries.move_to_end(uuid)
            return entry.domain

    def store(self, token: Token, handle: libvirt.virDomain, state: int, xml: str,
              domain: Domain, *, evict: bool) -> None:
        """Keep ``domain``, made from ``state`` and ``xml`` with ``handle``, if ``token`` is current.

        When the cache is full, the least recently used entry makes room if
        ``evict``; otherwise ``domain`` is not kept.
        """
        uuid = domain.uuid
        with self._lock:
            if token != (self._epoch, self._generations.get(uuid, 0)):
                return
            if uuid not in self._entries and len(self._entries) >= CACHE_CAPACITY:
                if not evict:
                    return
                self._forget(next(iter(self._entries)))
            self._forget(uuid)
            self._entries[uuid] = _Entry(state, xml, domain, handle)
            self._names[domain.name] = uuid

    def invalidate(self, uuid: str) -> None:
        """Forget ``uuid``'s snapshot, and any being made now (an event or a change of it)."""
        with self._lock:
            self._forget(uuid)
            self._generations[uuid] = self._generations.get(uuid, 0) + 1

    def clear(self) -> None:
        """Forget every snapshot, and any being made now (a new connection)."""
        with self._lock:
            self._entries.clear()
            self._names.clear()
            self._epoch += 1

    def _forget(self, uuid: str) -> None:
        entry = self._entries.pop(uuid, None)
        if entry is not None and self._names.get(entry.domain.name) == uuid:
            del self._names[entry.domain.name]
