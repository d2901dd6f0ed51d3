"""Who is connected to the guests' graphical consoles, and whether they listen.

libvirt tells which TCP port a running guest's VNC console listens on, but not
who is connected to it. Two sources tell that, chosen by where the hypervisor
runs (:func:`console_sessions`):

* a hypervisor on this host (a URI without a host name, ``qemu:///system``):
  the kernel's TCP tables, ``/proc/net/tcp`` and ``/proc/net/tcp6``, which show
  each listening socket and each connected client, whenever it connected
  (:class:`TcpTable`, read afresh for every request that asks);
* a hypervisor elsewhere: libvirt's graphics events, which report each client
  that connects or disconnects from the moment virtcim connected to libvirt
  (:class:`GraphicsClients`); a console of a running guest is taken to listen
  on the port libvirt reports, and a client that connected before virtcim did
  is not seen.
"""

from __future__ import annotations

import enum
import threading
import weakref
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple, Protocol
from urllib.parse import urlsplit

import libvirt

from providers.virt.connection import Hypervisor
from providers.virt.events import Event

__all__ = [
    "GraphicsClients",
    "PortUse",
    "Sessions",
    "TcpTable",
    "console_sessions",
    "is_local",
]

#: The kernel's TCP tables, IPv4 and IPv6.
TCP_TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))


class _TcpState(enum.Enum):
    """The ``st`` column of the kernel's TCP tables (``include/net/tcp_states.h``)."""

    ESTABLISHED = "01"
    LISTEN = "0A"


class PortUse(NamedTuple):
    """One TCP port of this host: whether something listens on it, and the ports of
    the clients connected to it, in ascending order."""

    listening: bool
    clients: tuple[int, ...] = ()


class Sessions(Protocol):
    """Where a source of console sessions says a guest's console port stands."""

    def at(self, uuid: str, port: int) -> PortUse:
        """The use of ``port``, the console port of the running guest ``uuid``."""
        ...


def is_local(uri: str) -> bool:
    """Whether ``uri``'s hypervisor runs on this host (the URI names no host)."""
    return not urlsplit(uri).hostname


def console_sessions(hv: Hypervisor) -> Sessions:
    """The best source of ``hv``'s console sessions: this host's TCP tables for a local
    hypervisor (when they can be read), libvirt's graphics events otherwise."""
    if is_local(hv.uri):
        table = TcpTable.read()
        if table is not None:
            return table
    return GraphicsClients.of(hv)


class TcpTable:
    """The listening and connected TCP sockets of this host, as the kernel lists them."""

    def __init__(self, listening: Iterable[int], clients: Mapping[int, Iterable[int]]) -> None:
        self.listening = frozenset(listening)
        self.clients = {port: tuple(sorted(remote)) for port, remote in clients.items()}

    @classmethod
    def read(cls, tables: Iterable[Path] = TCP_TABLES) -> TcpTable | None:
        """The sockets the tables list now; ``None`` when none of them can be read."""
        texts = []
        for table in tables:
            try:
                texts.append(table.read_text(encoding="ascii", errors="replace"))
            except OSError:
                continue
        return cls.parse(texts) if texts else None

    @classmethod
    def parse(cls, texts: Iterable[str]) -> TcpTable:
        """The sockets of tables in the kernel's format (a heading line, then one line a
        socket: ``sl local_address rem_address st ...``, addresses as ``HEX:PORT``)."""
        listening: set[int] = set()
        clients: dict[int, list[int]] = {}
        for text in texts:
            for line in text.splitlines()[1:]:
                fields = line.split()
                if len(fields) < 4:
                    continue
                local, remote = _port(fields[1]), _port(fields[2])
                if local is None or remote is None:
                    continue
                if fields[3] == _TcpState.LISTEN.value:
                    listening.add(local)
                elif fields[3] == _TcpState.ESTABLISHED.value:
                    clients.setdefault(local, []).append(remote)
        return cls(listening, clients)

    def at(self, uuid: str, port: int) -> PortUse:
        return PortUse(port in self.listening, self.clients.get(port, ()))


def _port(address: str) -> int | None:
    """The port of a table's ``HEXADDRESS:HEXPORT``."""
    try:
        return int(address.rpartition(":")[2], 16)
    except ValueError:
        return None


class GraphicsClients:
    """The clients of a hypervisor's consoles, followed through libvirt's graphics events.

    One per hypervisor (:meth:`of`), listening from its first use on.
    """

    _lock = threading.Lock()
    _of: weakref.WeakKeyDictionary[Hypervisor, GraphicsClients] = weakref.WeakKeyDictionary()

    def __init__(self, hv: Hypervisor) -> None:
        self._clients: dict[tuple[str, int], set[int]] = {}
        self._clients_lock = threading.Lock()
        hv.add_listener(self.on_event)

    @classmethod
    def of(cls, hv: Hypervisor) -> GraphicsClients:
        """``hv``'s clients, listened for from the first call on."""
        with cls._lock:
            clients = cls._of.get(hv)
            if clients is None:
                clients = cls._of[hv] = cls(hv)
            return clients

    def at(self, uuid: str, port: int) -> PortUse:
        with self._clients_lock:
            return PortUse(True, tuple(sorted(self._clients.get((uuid, port), ()))))

    def on_event(self, event: Event) -> None:
        """Note a client that connects or disconnects; forget a stopped guest's clients."""
        if event.kind != "domain":
            return
        if event.event_id == libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE:
            if event.detail and event.detail[0] == libvirt.VIR_DOMAIN_EVENT_STOPPED:
                with self._clients_lock:
                    for key in [key for key in self._clients if key[0] == event.uuid]:
                        del self._clients[key]
            return
        if event.event_id != libvirt.VIR_DOMAIN_EVENT_ID_GRAPHICS or len(event.detail) < 3:
            return
        phase, local, remote = event.detail[:3]
        port, client = _service(local), _service(remote)
        if port is None or client is None:
            return
        with self._clients_lock:
            if phase == libvirt.VIR_DOMAIN_EVENT_GRAPHICS_DISCONNECT:
                self._clients.get((event.uuid, port), set()).discard(client)
            else:
                self._clients.setdefault((event.uuid, port), set()).add(client)


def _service(address: object) -> int | None:
    """The port of a graphics event's address (``{"family", "node", "service"}``)."""
    service = address.get("service") if isinstance(address, Mapping) else None
    try:
        return int(service) if service is not None else None
    except (TypeError, ValueError):
        return None
