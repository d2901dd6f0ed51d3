"""Connections to libvirt: one per hypervisor URI, shared, event-driven, self-healing.

A :class:`Hypervisor` holds long-lived ``virConnect``s for its URI, shared
by every thread (libvirt connections are thread-safe): for a daemon, one that
carries the calls and one that carries the events and the keepalive, since
libvirt's event loop, which a connection needs for those, wakes twice for
every call made on one it watches (:mod:`providers.virt.eventloop`); for the
test driver in this process, one. It opens lazily, and reopens when the
daemon went away: a call that fails because the connection is gone is
retried once on a new connection if it only reads; a change is not retried
(it may have happened) and reports the hypervisor unreachable.

One process-wide thread runs libvirt's event loop (:func:`start_event_loop`,
called before any connection opens). Domain
events invalidate a per-domain cache of fetched :class:`Domain` objects;
every event, including storage pool and network events where the driver has
them, is also passed to listeners (:meth:`Hypervisor.add_listener`), which
is how indications learn of changes.

The cache never serves what libvirt would not: every time a domain is
reached, libvirt is asked for its XML and its state, and the cached snapshot
is used only when both are what they were (the XML compared as text: libvirt
announces most changes by event, but not all, and not always before the next
request). What the cache spares is parsing the XML and everything made from
it, and, for a request about one cached guest, the lookup: the handle the
snapshot was made with is asked (:mod:`providers.virt.cache`). Each listing
asks for the states of all domains in one ``getAllDomainStats`` call where
the driver has it, else ``state()`` per domain. The cache is used only when
the driver delivers domain lifecycle events, and an entry stored while an
event for its domain arrived is dropped.

With the test driver, ``test:///default`` connections opened in one process
share one state while any of them is open (a second ``libvirt.open`` sees
and makes the same changes, and its changes raise events on the first); the
state starts afresh once all are closed. ``test:///path/to/node.xml`` loads
a custom node.

The module is long because it is one concept, the connection: opening,
reopening, events and the domain cache all guard the same ``virConnect``
(storage and networks are in :mod:`providers.virt.storage`, network filters in
:mod:`providers.virt.nwfilter`, a domain's operations in :mod:`providers.virt.domain`).
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

import libvirt
from lxml import etree
from pywbem import CIM_ERR_FAILED, CIM_ERR_NOT_FOUND, CIMError

from providers.virt import errors, naming
from providers.virt.cache import DomainCache, Token
from providers.virt.domain import Domain
from providers.virt.domainxml import DomainXML, parse_xml
from providers.virt.eventloop import EventLoop
from providers.virt.events import Event
from providers.virt.locks import KeyedLocks
from providers.virt.nwfilter import NetworkFilters
from providers.virt.storage import StorageAndNetworks
from providers.virt.transaction import Transaction

__all__ = [
    "DomainListing",
    "Hypervisor",
    "NodeInfo",
    "start_event_loop",
]

_log = logging.getLogger(__name__)

T = TypeVar("T")

#: Domain events after which a domain's XML or state may differ, and GRAPHICS
#: (a client connects to a console: :mod:`providers.virt.sessions`). LIFECYCLE
#: is required for caching; the others are registered where the driver has them.
_DOMAIN_EVENTS = (
    libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
    libvirt.VIR_DOMAIN_EVENT_ID_REBOOT,
    libvirt.VIR_DOMAIN_EVENT_ID_RTC_CHANGE,
    libvirt.VIR_DOMAIN_EVENT_ID_DISK_CHANGE,
    libvirt.VIR_DOMAIN_EVENT_ID_TRAY_CHANGE,
    libvirt.VIR_DOMAIN_EVENT_ID_PMWAKEUP,
    libvirt.VIR_DOMAIN_EVENT_ID_PMSUSPEND,
    libvirt.VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE,
    libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
    libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
    libvirt.VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2,
    libvirt.VIR_DOMAIN_EVENT_ID_TUNABLE,
    libvirt.VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE,
    libvirt.VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
    libvirt.VIR_DOMAIN_EVENT_ID_JOB_COMPLETED,
    libvirt.VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE,
    libvirt.VIR_DOMAIN_EVENT_ID_GRAPHICS,
)
_UNSUPPORTED = frozenset(
    {libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_OPERATION_UNSUPPORTED, libvirt.VIR_ERR_INVALID_ARG}
)
#: The live definition, with passwords, so that providers can tell whether one is set.
_LIVE_XML = libvirt.VIR_DOMAIN_XML_SECURE
#: ``getAllDomainStats`` gives every domain's state in one call (the XML shows
#: the rest: memory, vCPUs, the id of a running domain). It does not wait for a
#: guest busy in a job (a migration, say): that record comes without the state.
_BULK_STATS = libvirt.VIR_DOMAIN_STATS_STATE
_BULK_FLAGS = libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT
#: How many listed domains ahead of a walk have their XML asked for, and by
#: how many threads, where each call is a round trip to a daemon: the round
#: trips overlap (200 QEMU guests: 34 ms one after another, 14 ms four at a
#: time).
READ_AHEAD = 32
_READ_AHEAD_THREADS = 4
#: Seconds a host name libvirt gave is used before it is asked again. It is in
#: many instance paths (the host's, its services', every host-side resource),
#: and a request about a guest's associations would otherwise ask the daemon
#: for it up to six times; a host renamed shows within this time.
HOSTNAME_LIFETIME = 5.0
#: Seconds between keepalive probes, and probes missed before the connection is dead.
_KEEPALIVE = (5, 3)
#: Seconds a request waits for a connection being opened. A hung daemon accepts the
#: socket and then answers nothing, and libvirt's open would wait for it for ever.
OPEN_TIMEOUT = 30.0


# --- the event loop --------------------------------------------------------------------------


_EVENT_LOOP = EventLoop()


def start_event_loop() -> None:
    """Start the process's libvirt event loop (idempotent, thread-safe).

    libvirt delivers events only on connections opened after this; every
    :class:`Hypervisor` calls it before opening.
    """
    libvirt.registerErrorHandler(_log_libvirt_error, None)
    _EVENT_LOOP.start()


def _log_libvirt_error(_context: object, error: tuple[Any, ...]) -> None:
    """Keep libvirt from printing every error on stderr: callers report them."""
    _log.debug("libvirt: %s", error[2] if len(error) > 2 else error)


# --- records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeInfo:
    """The host, from ``virNodeGetInfo`` (memory at MiB precision)."""

    model: str
    memory_kib: int
    cpus: int
    mhz: int
    nodes: int
    sockets: int
    cores: int
    threads: int


class _Look(NamedTuple):
    """What libvirt said of a listed domain: enough to judge a cached snapshot of it.

    (A tuple: a listing makes one per guest, and a frozen dataclass costs a
    microsecond more to make.)
    """

    handle: libvirt.virDomain
    uuid: str
    #: The cache's token before the state was asked.
    token: Token
    #: libvirt's state (running, paused, shut off...), which the XML does not show.
    state: int


class DomainListing:
    """The domains of one listing, walked once or more.

    Where the driver reports every domain's state in one call
    (``getAllDomainStats``: one round trip to the daemon), the listing comes
    with the states; otherwise the first walk asks libvirt for each domain's
    state as it reaches it. A walk asks for a domain's XML and takes its
    snapshot from the cache when XML and state are what the cached one was
    made from, and parses a new one otherwise. Later walks hand out the same
    snapshots while they are alive (kept by the cache or a consumer): the
    providers of one request (the device classes of a deep enumeration of
    ``CIM_LogicalDevice``) share one round of libvirt calls and see one
    snapshot of each guest, and the listing itself holds no XML however many
    guests there are. Domains undefined since the listing are skipped. Walks
    may interleave but not run in different threads at once.

    With a ``reader`` (and the states known up front), the first walk has
    the XML of the next :data:`READ_AHEAD` domains asked for in its threads,
    so that round trips to the daemon overlap; a walk that stops early leaves
    at most that many answers unread.
    """

    def __init__(self, hypervisor: Hypervisor, handles: list[libvirt.virDomain],
                 looks: list[_Look | None] | None = None,
                 reader: ThreadPoolExecutor | None = None) -> None:
        self._hypervisor = hypervisor
        self._handles = handles
        self._looks: list[_Look | None] = list(looks or [])
        self._seen: list[weakref.ref[Domain] | None] = [None] * len(self._looks)
        # Reading ahead needs the states first: XML read before its state was
        # asked could be older than the state it is judged with.
        self._reader = reader if looks else None
        self._ahead: dict[int, Future[str]] = {}
        self._read_up_to = 0

    def __iter__(self) -> Iterator[Domain]:
        for index, handle in enumerate(self._handles):
            try:
                domain = self._domain(index, handle)
            except libvirt.libvirtError as error:
                raise errors.cim_error(error, "guests", self._hypervisor.uri) from error
            if domain is not None:
                yield domain

    def _domain(self, index: int, handle: libvirt.virDomain) -> Domain | None:
        if index == len(self._looks):
            self._looks.append(_unless_vanished(handle, self._hypervisor._look, handle))
            self._seen.append(None)
        look = self._looks[index]
        if look is None:
            return None
        seen = self._seen[index]
        domain = None if seen is None else seen()
        if domain is None:
            self._read_ahead(index)
            domain = _unless_vanished(handle, self._snapshot, index, look)
            if domain is not None:
                self._seen[index] = weakref.ref(domain)
        return domain

    def _snapshot(self, index: int, look: _Look) -> Domain:
        ahead = self._ahead.pop(index, None)
        text = None if ahead is None else ahead.result()
        return self._hypervisor._listed_snapshot(look, text)

    def _read_ahead(self, index: int) -> None:
        if self._reader is None:
            return
        end = min(index + READ_AHEAD, len(self._handles))
        for ahead in range(max(index, self._read_up_to), end):
            if self._looks[ahead] is not None:
                self._ahead[ahead] = self._reader.submit(self._handles[ahead].XMLDesc,
                                                         self._hypervisor.live_xml_flags)
        self._read_up_to = max(self._read_up_to, end)


def _shut_down(sockets: list[int]) -> None:
    """Shut these sockets of libvirt's down (libvirt still closes them): a call waiting
    on one fails at once."""
    for fd in sockets:
        try:
            with socket.socket(fileno=os.dup(fd)) as duplicate:
                duplicate.shutdown(socket.SHUT_RDWR)
        except OSError as error:
            _log.debug("cannot shut down libvirt's socket %d: %s", fd, error)


def _unless_vanished(handle: libvirt.virDomain, call: Callable[..., T], *args: Any) -> T | None:
    """``call(*args)``, or ``None`` when the domain of ``handle`` was undefined meanwhile."""
    try:
        return call(*args)
    except libvirt.libvirtError as error:
        if error.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
            raise
        _log.debug("guest %r vanished meanwhile", handle.name())
        return None


# --- the hypervisor --------------------------------------------------------------------------


class Hypervisor(StorageAndNetworks, NetworkFilters):
    """One libvirt URI: its shared connection, domain cache and events.

    Every public method raises :class:`pywbem.CIMError` on failure, with a
    message naming the object and the URI.
    """

    def __init__(self, uri: str, read_only: bool = False) -> None:
        self.uri = uri
        #: Open libvirt read-only: every change fails in libvirt itself too.
        self.read_only = read_only
        #: A read-only connection may not see passwords (libvirt refuses the secure flag).
        self.live_xml_flags = 0 if read_only else _LIVE_XML
        self._lock = threading.RLock()
        #: The connection for calls; for a daemon, one the event loop does not watch.
        self._conn: libvirt.virConnect | None = None
        #: The connection for events and keepalive (``_conn`` itself in this process).
        self._events: libvirt.virConnect | None = None
        #: The sockets of ``_conn`` the event loop was asked to watch (and was not).
        self._sockets: list[int] = []
        self._broken: libvirt.virConnect | None = None
        #: The open under way, by one thread of its own, and when its waiters give up.
        self._opening: tuple[Future[libvirt.virConnect], float] | None = None
        self._opener: ThreadPoolExecutor | None = None
        self._callbacks: list[tuple[Callable[[int], Any], int]] = []
        self._caching = False
        #: Whether getAllDomainStats gives every domain's state (None: not known yet).
        self._bulk_states: bool | None = None
        #: Threads that ask for listed domains' XML ahead (see DomainListing).
        self._reader: ThreadPoolExecutor | None = None
        self._capabilities: etree._Element | None = None
        #: When the host name was asked, and what libvirt said.
        self._hostname: tuple[float, str] | None = None
        self._cache = DomainCache()
        self._listeners_lock = threading.Lock()
        self._listeners: list[Callable[[Event], None]] = []
        self._driver = naming.driver_from_uri(uri)
        #: Serialises changes of one guest's definition (see :meth:`editing`).
        self._editing = KeyedLocks()

    def __repr__(self) -> str:
        return f"<Hypervisor {self.uri}>"

    # identity

    @property
    def driver(self) -> str:
        """The libvirt driver, lower case (``qemu``, ``xen``, ``lxc``, ``test``...)."""
        if self._driver is None:
            canonical = self.run("hypervisor", lambda conn: conn.getURI(), read=True)
            self._driver = naming.driver_from_uri(canonical) or "unknown"
        return self._driver

    @property
    def prefix(self) -> str:
        """The class-name prefix for this hypervisor (``KVM``, ``Xen``, ``LXC``, ``Test``)."""
        return naming.prefix_for_driver(self.driver)

    @property
    def hostname(self) -> str:
        """The host's name as libvirt gives it, asked again after :data:`HOSTNAME_LIFETIME`
        seconds and on a new connection."""
        known = self._hostname
        now = time.monotonic()
        if known is None or now - known[0] > HOSTNAME_LIFETIME:
            name = str(self.run("host name", lambda conn: conn.getHostname(), read=True))
            known = self._hostname = (now, name)
        return known[1]

    @property
    def caching(self) -> bool:
        """Whether domains are cached (the driver delivers lifecycle events)."""
        self._connection()
        return self._caching

    # domains

    def domains(self) -> list[Domain]:
        """Every domain, active or not: one listing, XML fetched only when not cached."""
        return self.run("guests", self._list_domains, read=True)

    def iter_domains(self) -> Iterator[Domain]:
        """Every domain, each fetched as the caller reaches it (see :meth:`listing`)."""
        return iter(self.listing())

    def listing(self) -> DomainListing:
        """Every domain, listed now, as a :class:`DomainListing` that may be walked again.

        One listing up front (retried like any read), with every domain's
        state where the driver gives it in the same call; otherwise each
        domain's state is asked when a walk gets to it. XML is asked when a
        walk gets to a domain, so the first of 10,000 guests is ready without
        waiting for the other 9,999, and a consumer that stops early asks for
        no more.
        """
        return self.run("guests", self._listing, read=True)

    def domain(self, name: str) -> Domain:
        """The domain named ``name``; ``CIM_ERR_NOT_FOUND`` if there is none."""
        if "\0" in name:
            raise CIMError(CIM_ERR_NOT_FOUND, f"no guest {name!r} on {self.uri}")
        return self.run(
            f"guest {name!r}",
            lambda conn: self._recheck(self._cache.handle(name=name))
            or self._load(conn.lookupByName(name)),
        )

    def domain_by_uuid(self, uuid: str) -> Domain:
        """The domain with ``uuid``; ``CIM_ERR_NOT_FOUND`` if there is none."""
        if "\0" in uuid:
            raise CIMError(CIM_ERR_NOT_FOUND, f"no guest with UUID {uuid!r} on {self.uri}")
        return self.run(
            f"guest with UUID {uuid!r}",
            lambda conn: self._recheck(self._cache.handle(uuid=uuid))
            or self._load(conn.lookupByUUIDString(uuid)),
        )

    def define(self, xml: DomainXML | etree._Element) -> Domain:
        """Define (or redefine) a persistent domain from an XML tree."""
        return self.domain_by_uuid(self.define_xml(xml))

    def define_xml(self, xml: DomainXML | etree._Element) -> str:
        """Define (or redefine) a persistent domain from an XML tree; its UUID."""
        model = xml if isinstance(xml, DomainXML) else DomainXML(xml)
        text = model.to_string()
        try:
            uuid = self.run(f"guest {model.name!r}", lambda conn: conn.defineXML(text).UUIDString(),
                            read=False, action="define")  # fmt: skip
        finally:
            if model.uuid:
                self.invalidate(model.uuid)
        self.invalidate(uuid)
        return uuid

    @contextmanager
    def editing(self, *domains: Domain) -> Iterator[list[Domain]]:
        """Hold the edit locks of ``domains`` (one per UUID) and yield them fetched afresh.

        For a read-modify-write of definitions: a second change of one of
        these guests waits until the block ends, so that it starts from what
        this one wrote; changes of other guests go on meanwhile. The locks
        hold within this process (another libvirt client is not held back).
        """
        with self._editing.holding(domain.uuid for domain in domains):
            yield [self.domain_by_uuid(domain.uuid) for domain in domains]

    @contextmanager
    def transaction(self) -> Iterator[Transaction[Domain]]:
        """A :class:`Transaction`: on failure inside the block, libvirt is put back.

        Example::

            with hv.transaction() as txn:
                domain = txn.define(tree)
                domain.set_autostart(True)      # fails -> the domain is undefined again
        """
        with Transaction(self) as transaction:
            yield transaction

    def invalidate(self, uuid: str) -> None:
        """Forget what is cached about one domain (done on its events and our changes)."""
        self._cache.invalidate(uuid)

    # the host

    def capabilities(self) -> etree._Element:
        """The parsed ``<capabilities>`` document (fetched once per connection; read-only)."""
        if self._capabilities is None:
            text = self.run("capabilities", lambda conn: conn.getCapabilities(), read=True)
            self._capabilities = parse_xml(text)
        return self._capabilities

    def node_info(self) -> NodeInfo:
        model, memory_mib, cpus, mhz, nodes, sockets, cores, threads = self.run(
            "host", lambda conn: conn.getInfo(), read=True
        )[:8]
        return NodeInfo(model, memory_mib * 1024, cpus, mhz, nodes, sockets, cores, threads)

    def version(self) -> tuple[int, int, int]:
        """The hypervisor's version (major, minor, release)."""
        return _version(self.run("hypervisor version", lambda conn: conn.getVersion(), read=True))

    def hypervisor_type(self) -> str:
        """The hypervisor's name as libvirt gives it (``QEMU``, ``Test``...)."""
        return self.run("hypervisor type", lambda conn: conn.getType(), read=True)

    def library_version(self) -> tuple[int, int, int]:
        """The libvirt version behind the connection."""
        return _version(self.run("libvirt version", lambda conn: conn.getLibVersion(), read=True))

    # events

    def add_listener(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``listener`` (in the event thread; keep it quick) for every event.

        Returns a function that removes the listener.
        """
        with self._listeners_lock:
            self._listeners.append(listener)
        self._connection()
        return functools.partial(self._remove_listener, listener)

    # running libvirt calls

    def run(
        self,
        what: str,
        operation: Callable[[libvirt.virConnect], T],
        *,
        read: bool = True,
        action: str | None = None,
    ) -> T:
        """``operation(conn)``, with libvirt errors translated to CIM errors.

        ``what`` names the object for messages (``"guest 'web1'"``), ``action``
        what was attempted (``"start"``). When the connection turns out to be
        gone, it is reopened; a ``read`` operation is then retried once, a
        change is reported as ``hypervisor at <uri> unreachable``.
        """
        conn = self._connection()
        try:
            return operation(conn)
        except libvirt.libvirtError as error:
            if not self._is_lost(conn, error):
                raise errors.cim_error(error, what, self.uri, action) from error
            _log.warning("connection to %s lost: %s", self.uri, error.get_error_message())
            self._drop(conn)
            if not read:
                raise errors.unreachable(self.uri, error) from error
        with errors.translate(what, self.uri, action):
            return operation(self._connection())

    def close(self) -> None:
        """Close the connection; the next call opens a new one."""
        with self._lock:
            if self._conn is not None:
                self._drop(self._conn)
            if self._reader is not None:
                self._reader.shutdown(wait=False, cancel_futures=True)
                self._reader = None
            if self._opener is not None:
                self._opener.shutdown(wait=False)
                self._opener = None

    # connection management

    def _connection(self) -> libvirt.virConnect:
        """The open connection, or the one being opened once it is: a request waits for
        it :data:`OPEN_TIMEOUT` seconds at most from when the open began, and then
        fails (``CIM_ERR_FAILED``) while the open goes on for the requests after it."""
        with self._lock:
            if self._conn is not None and self._conn is self._broken:
                self._drop(self._conn)
            if self._conn is not None:
                return self._conn
            if self._opening is None:
                if self._opener is None:
                    self._opener = ThreadPoolExecutor(1, thread_name_prefix="virtcim-open")
                self._opening = (self._opener.submit(self._open),
                                 time.monotonic() + OPEN_TIMEOUT)  # fmt: skip
            opening, deadline = self._opening
        try:
            return opening.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            raise CIMError(CIM_ERR_FAILED, f"hypervisor at {self.uri} unreachable: libvirt has "
                                           f"not answered for {OPEN_TIMEOUT:.0f} s") from None

    def _open(self) -> libvirt.virConnect:
        """Open the connections and register the events (in the opener's thread), then
        make them the current ones; returns the connection for calls."""
        try:
            start_event_loop()
            events = self._connect()
            calls, sockets = events, []
            if not naming.runs_in_process(self.uri):
                try:
                    with _EVENT_LOOP.unwatched() as sockets:
                        calls = self._connect()
                except BaseException:
                    errors.ignoring(events.close, level=logging.DEBUG)
                    raise
            _log.info("connected to %s", self.uri)
            with self._lock:
                self._capabilities = None
                self._bulk_states = None
                self._cache.clear()
            self._register_events(events)
            with self._lock:
                self._conn, self._events, self._sockets = calls, events, sockets
            return calls
        finally:
            with self._lock:
                self._opening = None

    def _connect(self) -> libvirt.virConnect:
        try:
            conn = (libvirt.openReadOnly if self.read_only else libvirt.open)(self.uri)
        except libvirt.libvirtError as error:
            raise errors.unreachable(self.uri or "libvirt's default URI", error) from error
        if not self.uri:
            # libvirt chose its default; name it from now on (messages, reconnects).
            self.uri = conn.getURI()
        return conn

    def _drop(self, conn: libvirt.virConnect) -> None:
        """Forget ``conn`` (if still current), its events, callbacks and the cache; close
        both connections."""
        with self._lock:
            if not self._is_current(conn):
                return
            events, self._conn, self._events, self._sockets = self._events, None, None, []
            if self._broken is conn:
                self._broken = None
            callbacks, self._callbacks = self._callbacks, []
        for deregister, callback_id in callbacks:
            errors.ignoring(deregister, callback_id, level=logging.DEBUG)
        errors.ignoring(conn.close, level=logging.DEBUG)
        if events is not None and events is not conn:
            errors.ignoring(events.close, level=logging.DEBUG)
        self._cache.clear()
        self._hostname = None

    def _is_current(self, conn: libvirt.virConnect) -> bool:
        return self._conn is conn

    def _is_lost(self, conn: libvirt.virConnect, error: libvirt.libvirtError) -> bool:
        if errors.is_connection_error(error) or conn is self._broken:
            return True
        try:
            return conn.isAlive() != 1
        except libvirt.libvirtError:
            return True

    def _on_connection_closed(self, conn: libvirt.virConnect, reason: int, _opaque: object) -> None:
        """Close callback of the events' connection (event thread): reopen on the next
        call, not here. The calls waiting on the connection for calls end now: when the
        keepalive found the daemon hung, they would wait on it for ever."""
        _log.warning("connection to %s closed (reason %d)", self.uri, reason)
        with self._lock:
            if conn is not self._events:
                return  # a connection dropped already
            self._broken = self._conn
            if self._conn is not conn:
                _shut_down(self._sockets)
        self._cache.clear()
        self._hostname = None

    def _register_events(self, conn: libvirt.virConnect) -> None:
        errors.ignoring(conn.setKeepAlive, *_KEEPALIVE, level=logging.DEBUG)
        self._callbacks = []
        try:
            conn.registerCloseCallback(self._on_connection_closed, None)
            self._callbacks.append((lambda _id: conn.unregisterCloseCallback(), 0))
        except libvirt.libvirtError as error:
            _log.debug("%s has no close callback: %s", self.uri, error.get_error_message())
        registered = [
            self._register(conn.domainEventRegisterAny, conn.domainEventDeregisterAny,
                           event_id, self._on_domain_event)
            for event_id in _DOMAIN_EVENTS
        ]  # fmt: skip
        self._caching = registered[0]
        self._register(conn.storagePoolEventRegisterAny, conn.storagePoolEventDeregisterAny,
                       libvirt.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE, self._on_pool_event)  # fmt: skip
        self._register(conn.networkEventRegisterAny, conn.networkEventDeregisterAny,
                       libvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE, self._on_network_event)  # fmt: skip
        if not self._caching:
            _log.info("%s delivers no domain events: domains are not cached", self.uri)

    def _register(
        self,
        register: Callable[..., int],
        deregister: Callable[[int], Any],
        event_id: int,
        handler: Callable[..., None],
    ) -> bool:
        """Register one event callback; False when the driver does not have the event."""
        try:
            callback_id = register(None, event_id, functools.partial(handler, event_id), None)
        except libvirt.libvirtError as error:
            if error.get_error_code() not in _UNSUPPORTED:
                raise errors.cim_error(error, "events", self.uri, "register") from error
            return False
        self._callbacks.append((deregister, callback_id))
        return True

    # events (called in the event thread)

    def _on_domain_event(
        self, event_id: int, _conn: object, dom: libvirt.virDomain, *rest: Any
    ) -> None:
        uuid = dom.UUIDString()
        self.invalidate(uuid)
        self._notify(Event("domain", dom.name(), uuid, event_id, tuple(rest[:-1])))

    def _on_pool_event(
        self, event_id: int, _conn: object, pool: libvirt.virStoragePool, *rest: Any
    ) -> None:
        self._notify(Event("pool", pool.name(), pool.UUIDString(), event_id, tuple(rest[:-1])))

    def _on_network_event(
        self, event_id: int, _conn: object, net: libvirt.virNetwork, *rest: Any
    ) -> None:
        self._notify(Event("network", net.name(), net.UUIDString(), event_id, tuple(rest[:-1])))

    def _notify(self, event: Event) -> None:
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                _log.exception("event listener failed on %s %r", event.kind, event.name)

    def _remove_listener(self, listener: Callable[[Event], None]) -> None:
        with self._listeners_lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    # the domain cache

    def _list_domains(self, conn: libvirt.virConnect) -> list[Domain]:
        return list(self._listing(conn))

    def _listing(self, conn: libvirt.virConnect) -> DomainListing:
        if self._bulk_states is not False:
            listed = self._looks_in_bulk(conn)
            if listed is not None:
                return DomainListing(self, *listed, reader=self._xml_reader())
        return DomainListing(self, conn.listAllDomains())

    def _xml_reader(self) -> ThreadPoolExecutor | None:
        """Threads to ask for XML ahead of a walk; none for libvirt's test driver in
        this process, whose calls are function calls (threads would only add
        hand-offs: 34 ms became 56-60 ms at 1,000 test guests)."""
        if naming.runs_in_process(self.uri):
            return None
        with self._lock:
            if self._reader is None:
                self._reader = ThreadPoolExecutor(_READ_AHEAD_THREADS,
                                                  thread_name_prefix="virtcim-xml")
            return self._reader

    def _looks_in_bulk(
        self, conn: libvirt.virConnect
    ) -> tuple[list[libvirt.virDomain], list[_Look | None]] | None:
        """Every domain with its :class:`_Look`, from one ``getAllDomainStats``.

        ``None`` when the driver reports none of it (then it is not asked
        again on this connection). The call does not wait for guests busy in
        a job; one whose record came without its state is asked alone.
        """
        epoch, generations = self._cache.tokens()
        try:
            records = conn.getAllDomainStats(_BULK_STATS, _BULK_FLAGS)
        except libvirt.libvirtError as error:
            if error.get_error_code() not in _UNSUPPORTED:
                raise
            self._bulk_states = False
            return None
        states = [stats.get("state.state") for _, stats in records]
        if records and all(state is None for state in states):
            self._bulk_states = False
            return None
        self._bulk_states = bool(records) or None  # an empty host tells nothing
        handles = [handle for handle, _ in records]
        looks: list[_Look | None] = []
        for handle, state in zip(handles, states, strict=True):
            if state is None:
                looks.append(_unless_vanished(handle, self._look, handle))
                continue
            uuid = handle.UUIDString()
            looks.append(_Look(handle, uuid, (epoch, generations.get(uuid, 0)), state))
        return handles, looks

    def _load(self, handle: libvirt.virDomain) -> Domain:
        """The cached :class:`Domain` for ``handle`` if still valid, else a fresh one."""
        return self._snapshot(self._look(handle))

    def _recheck(self, handle: libvirt.virDomain | None) -> Domain | None:
        """The cached snapshot made with ``handle`` if libvirt still describes its domain so.

        Asking the handle a cached snapshot was made with for the XML and state
        spares a request about one guest the lookup's round trip to the
        daemon. libvirt finds a handle's domain by UUID; a guest renamed,
        changed or restarted since gives other XML (it shows the name and a
        running guest's id), and one undefined gives none, so the result is
        ``None`` and the caller looks the guest up afresh.
        """
        look = None if handle is None else _unless_vanished(handle, self._look, handle)
        if look is None:
            return None
        text = _unless_vanished(look.handle, look.handle.XMLDesc, self.live_xml_flags)
        return None if text is None else self._cache.get(look.uuid, look.state, text)

    def _look(self, handle: libvirt.virDomain) -> _Look:
        """Ask libvirt for the state by which a cached snapshot of ``handle`` is judged."""
        uuid = handle.UUIDString()
        token = self._cache.token(uuid)
        state = handle.state()[0]
        return _Look(handle, uuid, token, state)

    def _listed_snapshot(self, look: _Look, text: str | None = None) -> Domain:
        """:meth:`_snapshot` for a listing: cached only while the cache has room."""
        return self._snapshot(look, evict=False, text=text)

    def _snapshot(self, look: _Look, evict: bool = True, text: str | None = None) -> Domain:
        """The cached snapshot if it is still what libvirt says of the domain, else a new one.

        libvirt announces most changes by event, but not all (a device
        attached to the persistent definition alone, ``virsh attach-device
        --config``, raises none), and an event may arrive after the next
        request. So the domain's XML is asked for every time and compared as
        text with the cached snapshot's, beside its state (``look``): what the
        cache spares is parsing the XML and all that is made from it. A new
        snapshot is cached unless an event for the domain arrived meanwhile,
        or the cache is full and not ``evict``. ``text`` is the XML when it
        was asked for already (after ``look``).
        """
        if text is None:
            text = look.handle.XMLDesc(self.live_xml_flags)
        domain = self._cache.get(look.uuid, look.state, text)
        if domain is None:
            domain = Domain(self, look.handle, DomainXML.from_string(text, editable=False),
                            look.state, look.uuid)
            if self._caching:
                self._cache.store(look.token, look.handle, look.state, text, domain, evict=evict)
        return domain


def _version(number: int) -> tuple[int, int, int]:
    """libvirt's major * 1,000,000 + minor * 1,000 + release encoding, split."""
    return number // 1_000_000, number // 1_000 % 1_000, number % 1_000
