"""The HTTP(S) transport: CIM-XML requests in, CIM-XML replies out (DSP0200).

The transport checks what DSP0200 asks of the HTTP envelope (method, path,
``CIMOperation``, ``CIMProtocolVersion``, ``CIMBatch``, Content-Type and
length, the RFC 2774 ``M-POST`` form), authenticates the client, reads the
body and hands a :class:`CIMRequest` to the :data:`Handler`, which knows
nothing of sockets. The :class:`CIMReply` it returns is written with
Content-Length, or, when the client sent ``TE: trailers``, chunked with the
CIM status in trailers, so that an error found after streaming began still
reaches the client.

Requests with a chunked body get ``411 Length Required``: DSP0200 clients
always send Content-Length, and a length known up front lets oversized
requests be refused before they are read.

Concurrency: one listener thread per address accepts connections and hands
each to a bounded pool of workers, one connection per worker at a time.
Connections beyond the pool wait in a bounded queue; beyond that they get
``503``. When a connection has to wait, the longest-idle keep-alive
connection is closed to free its worker, so idle clients cannot starve busy
ones. TLS handshakes happen in the workers, under a timeout, so a silent
client cannot stall accepting.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import logging
import re
import select
import selectors
import signal
import socket
import socketserver
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, NamedTuple

import pywbem

import virtcim
from virtcim.cimxml.messages import RequestError
from virtcim.config import ConfigError, Settings
from virtcim.http import head
from virtcim.http.auth import REALM, BasicAuth, authenticator_for
from virtcim.http.tls import server_context

log = logging.getLogger(__name__)
request_log = logging.getLogger("virtcim.request")

CIMOM_PATH = "/cimom"
DMTF_MAPPING_URI = "http://www.dmtf.org/cim/mapping/http/v1.0"
ALLOWED_METHODS = ("POST", "M-POST")
XML_MEDIA_TYPES = ("application/xml", "text/xml")
REPLY_CONTENT_TYPE = 'application/xml; charset="utf-8"'
SERVER_NAME = f"virtcim/{virtcim.__version__}"

_PROTOCOL_VERSION = re.compile(r"1\.\d+")
_NS_PREFIX = re.compile(r"\d{1,8}")
#: Header text that may stay as it is in a %-escaped trailer: printable ASCII except '%'.
_HEADER_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")
#: Chunks are gathered up to this size before a send, so small items do not mean small packets.
_FLUSH_BYTES = 64 * 1024
_READ_BYTES = 64 * 1024
#: How far (a fraction of it) a socket timeout may differ from the one asked
#: for (see ``CIMRequestHandler._set_timeout``): a read may overrun the
#: request's deadline by a tenth of the time that was left.
_TIMEOUT_SLACK = 0.1
#: Large replies go out in slices, each with its own send timeout.
_WRITE_BYTES = 1024 * 1024
_BUSY_REPLY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n"
    b"Retry-After: 1\r\n\r\n"
)


@dataclass
class CIMRequest:
    """A request whose HTTP envelope passed the transport's checks.

    ``method`` and ``object`` are the ``CIMMethod`` and ``CIMObject`` headers,
    %-decoded (pywbem sends ``root/virt``, wbemcli ``root%2Fvirt``), for the
    handler to compare with the body. ``user`` is ``None`` when the server runs
    without authentication. ``trailers`` tells the handler that the reply may
    be streamed: the client accepts a chunked reply with the CIM status in
    trailers.
    """

    body: bytes
    operation: str
    method: str | None
    object: str | None
    protocol_version: str
    user: str | None
    trailers: bool
    client: str
    chunked: bool = False


@dataclass
class CIMReply:
    """What the handler answers.

    ``body`` yields the response bytes. Unless ``streamed`` (or the request
    allowed trailers), the handler has produced the whole body already and
    iterating it cannot fail. Otherwise iteration may raise
    ``pywbem.CIMError`` after some chunks: with ``trailers`` in the request
    the transport ends the chunked stream with that error's ``CIMStatusCode``
    and ``CIMStatusCodeDescription`` trailers; without, it closes the
    connection before the last chunk, so the client sees an incomplete reply.

    ``status`` other than 200 answers with an HTTP error instead of a body,
    with ``cim_error`` as the ``CIMError`` header and ``description`` as the
    text. ``cim_status`` is the CIM status code of a 200 reply (0, or the code
    of an ``ERROR`` element in the body), for the request log.
    """

    body: Iterable[bytes]
    status: int = 200
    cim_error: str | None = None
    description: str = ""
    cim_status: int = 0
    streamed: bool = False


Handler = Callable[[CIMRequest], CIMReply]


@dataclass(frozen=True)
class Limits:
    """Bounds on what one client may cost the server.

    ``read_timeout`` bounds reading a whole request (head and body) once its
    first line arrived; ``keepalive_timeout`` bounds the wait for the next
    request on a kept-alive connection.
    """

    workers: int = 16
    pending_connections: int = 64
    max_body_bytes: int = 32 * 1024 * 1024
    max_line_bytes: int = 8192
    max_headers: int = 100
    read_timeout: float = 30.0
    keepalive_timeout: float = 15.0
    handshake_timeout: float = 10.0
    shutdown_timeout: float = 10.0


@dataclass(frozen=True)
class Listener:
    """An address to listen on; with ``tls`` it speaks HTTPS. Port 0 picks a free port."""

    host: str
    port: int
    tls: ssl.SSLContext | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.tls is not None else "http"


class HTTPServerGroup:
    """Listeners on several addresses (HTTP and HTTPS, IPv4 and IPv6) sharing one worker pool.

    The sockets are bound on construction, so address problems show at
    once and :attr:`ports` is known before :meth:`start`. Use :meth:`start`
    and :meth:`stop` (or ``with``) to run in background threads, or
    :meth:`serve_forever` to run until SIGTERM or SIGINT.
    """

    def __init__(
        self,
        listeners: Sequence[Listener],
        handler: Handler,
        authenticator: BasicAuth | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.handler = handler
        self.authenticator = authenticator
        self.limits = limits or Limits()
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.limits.workers, thread_name_prefix="virtcim-worker"
        )
        self._lock = threading.Lock()
        self._stopping = False
        self._assigned = 0
        self._futures: set[concurrent.futures.Future[None]] = set()
        self._connections: dict[socket.socket, _Waiting | None] = {}  # None while busy
        self._closer = _LingeringCloser()
        self._threads: list[threading.Thread] = []
        self._servers: list[_ListeningServer] = []
        try:
            for listener in listeners:
                self._servers.append(_ListeningServer(listener, self))
        except BaseException:
            self._close_listeners()
            raise

    @classmethod
    def from_settings(cls, settings: Settings, handler: Handler) -> HTTPServerGroup:
        """The listeners, TLS, authentication and limits that ``settings`` describe.

        Raises :class:`ConfigError` for anything that prevents starting.
        """
        settings = settings.checked()
        tls = server_context(settings.cert, settings.key) if settings.cert is not None else None
        listeners = []
        for host in settings.bind:
            if settings.http_port is not None:
                listeners.append(Listener(host, settings.http_port))
            if tls is not None and settings.https_port is not None:
                listeners.append(Listener(host, settings.https_port, tls))
        limits = Limits(
            workers=settings.workers,
            pending_connections=settings.pending_connections,
            max_body_bytes=settings.max_body_bytes,
            read_timeout=settings.read_timeout,
            keepalive_timeout=settings.keepalive_timeout,
        )
        return cls(listeners, handler, authenticator_for(settings), limits)

    @property
    def ports(self) -> list[int]:
        """The bound port of each listener, in the order given."""
        return [server.bound_address[1] for server in self._servers]

    @property
    def urls(self) -> list[str]:
        return [server.url for server in self._servers]

    @property
    def stopping(self) -> bool:
        return self._stopping

    def start(self) -> None:
        """Accept connections in background threads."""
        for server in self._servers:
            thread = threading.Thread(
                target=server.accept_until_closed, name=f"virtcim-listen-{server.url}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
            log.info("listening on %s", server.url)

    def stop(self) -> None:
        """Stop accepting, close idle connections and let requests in progress finish.

        Requests still running after ``limits.shutdown_timeout`` have their
        connections shut down.
        """
        with self._lock:
            self._stopping = True
            idle = [conn for conn, waiting in self._connections.items() if waiting is not None]
        for server in self._servers:
            server.stop_accepting()
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        self._close_listeners()
        for conn in idle:
            _shut(conn)
        # Connections still queued get a worker and are closed at once, as the group is stopping.
        self._executor.shutdown(wait=False)
        with self._lock:
            futures = set(self._futures)
        _, late = concurrent.futures.wait(futures, timeout=self.limits.shutdown_timeout)
        if late:
            log.warning("%d requests still running at shutdown; closing them", len(late))
            with self._lock:
                remaining = list(self._connections)
            for conn in remaining:
                _shut(conn)
            concurrent.futures.wait(late, timeout=1.0)
        self._closer.close_all()

    def serve_forever(self) -> int:
        """Serve until SIGTERM or SIGINT, then stop cleanly; returns the exit status (0)."""
        stop_requested = threading.Event()

        def request_stop(signum: int, frame: Any) -> None:
            log.info("%s received, shutting down", signal.Signals(signum).name)
            stop_requested.set()

        previous = {
            sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            self.start()
            stop_requested.wait()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.stop()
        return 0

    def __enter__(self) -> HTTPServerGroup:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- called from the listener threads and the workers ---------------------------------------

    def _dispatch(self, server: _ListeningServer, conn: socket.socket, address: Any) -> None:
        """Give an accepted connection to a worker, or refuse it when the queue is full."""
        capacity = self.limits.workers + self.limits.pending_connections
        with self._lock:
            accepted = not self._stopping and self._assigned < capacity
            if accepted:
                self._assigned += 1
                self._connections[conn] = None
                must_wait = self._assigned > self.limits.workers
                evict = self._longest_idle() if must_wait else None
        if not accepted:
            log.warning(
                "refusing %s: %d connections already waiting",
                _peer(address),
                self.limits.pending_connections,
            )
            self._refuse_busy(conn, server.listener.tls is None)
            return
        if evict is not None:
            _shut(evict)
        future = self._executor.submit(self._serve_connection, server, conn, address)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._forget_future)

    def _forget_future(self, future: concurrent.futures.Future[None]) -> None:
        with self._lock:
            self._futures.discard(future)

    def _longest_idle(self) -> socket.socket | None:
        """The kept-alive connection idle the longest whose client is not sending right now."""
        idle = [
            (waiting.since, conn)
            for conn, waiting in self._connections.items()
            if waiting is not None and waiting.kept_alive
        ]
        for _, conn in sorted(idle, key=lambda pair: pair[0]):
            if not _has_input(conn):
                return conn
        return None

    def _refuse_busy(self, conn: socket.socket, plain: bool) -> None:
        """Tell a client the server is saturated, without blocking the listener thread.

        A TLS connection is closed without a word: answering would need a
        handshake, which is what a saturated server cannot afford.
        """
        if plain:
            try:
                conn.setblocking(False)
                conn.send(_BUSY_REPLY)
            except OSError:
                pass
        self._closer.close(conn)

    def _serve_connection(
        self, server: _ListeningServer, conn: socket.socket, address: Any
    ) -> None:
        input_unread = False
        try:
            if server.listener.tls is not None:
                conn = self._handshake(conn, server.listener.tls)
            input_unread = CIMRequestHandler(conn, address, server).input_unread
        except ssl.SSLError as error:
            log.debug("TLS handshake with %s failed: %s", _peer(address), error)
        except OSError as error:
            log.debug("connection from %s failed: %s", _peer(address), error)
        except Exception:
            log.exception("unexpected error serving %s", _peer(address))
        finally:
            with self._lock:
                self._connections.pop(conn, None)
                self._assigned -= 1
            if input_unread:
                self._closer.close(conn)
            else:
                server.shutdown_request(conn)

    def _handshake(self, conn: socket.socket, context: ssl.SSLContext) -> socket.socket:
        conn.settimeout(self.limits.handshake_timeout)
        with self._lock:
            self._connections.pop(conn, None)
        tls_conn = context.wrap_socket(conn, server_side=True)
        with self._lock:
            self._connections[tls_conn] = None
        return tls_conn

    def _set_waiting(self, conn: socket.socket, kept_alive: bool) -> bool:
        """Mark a connection as waiting for its next request.

        False means "close it instead": the server is stopping, or the
        connection has been served and other connections wait for a worker
        while its client is not sending anything.
        """
        with self._lock:
            self._connections[conn] = _Waiting(time.monotonic(), kept_alive)
            if self._stopping:
                return False
            others_wait = self._assigned > self.limits.workers
        return not (kept_alive and others_wait and not _has_input(conn))

    def _set_busy(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections[conn] = None

    def _close_listeners(self) -> None:
        for server in self._servers:
            server.server_close()


class _ListeningServer(socketserver.TCPServer):
    """One listening socket; its accepted connections go to the group's workers."""

    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, listener: Listener, group: HTTPServerGroup) -> None:
        self.listener = listener
        self.group = group
        self._closing = False
        self._wake_reader, self._wake_writer = socket.socketpair()
        family, address = _resolve(listener.host, listener.port)
        self.address_family = family
        super().__init__(address, CIMRequestHandler, bind_and_activate=False)
        try:
            if family == socket.AF_INET6:
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            self.server_bind()
            self.server_activate()
            self.bound_address: Any = self.socket.getsockname()
        except OSError as error:
            self.server_close()
            raise ConfigError(
                f"cannot listen on {listener.host} port {listener.port}: {error.strerror}"
            ) from error

    def accept_until_closed(self) -> None:
        """Accept connections until :meth:`stop_accepting` (woken at once, no polling)."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self._closing:
                for key, _ in selector.select():
                    if key.fileobj is self.socket and not self._closing:
                        self.handle_request()  # ready: accepts without waiting

    def stop_accepting(self) -> None:
        if not self._closing:
            self._closing = True
            self._wake_writer.send(b"\0")

    def server_close(self) -> None:
        super().server_close()
        self._wake_reader.close()
        self._wake_writer.close()

    @property
    def url(self) -> str:
        host, port = self.bound_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"{self.listener.scheme}://{host}:{port}"

    def process_request(self, request: Any, client_address: Any) -> None:
        self.group._dispatch(self, request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.exception("error accepting a connection from %s", _peer(client_address))


def _resolve(host: str, port: int) -> tuple[socket.AddressFamily, Any]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise ConfigError(f"cannot listen on {host!r}: {error.strerror}") from error
    family, _, _, _, address = infos[0]
    return family, address


class _Waiting(NamedTuple):
    """A connection waiting for a request: since when, and whether it served one already."""

    since: float
    kept_alive: bool


def _has_input(conn: socket.socket) -> bool:
    readable, _, _ = select.select([conn], [], [], 0)
    return bool(readable)


class _LingeringCloser:
    """Closes connections whose client may still be sending, after reading away what it sends.

    Closing a socket with unread input makes the kernel answer with a reset,
    which can destroy the error reply before the client has read it. So the
    sending side is shut down first and the input is read and dropped until
    the client closes or ``seconds`` pass, in one background thread for all
    such connections.
    """

    def __init__(self, seconds: float = 2.0, limit: int = 256) -> None:
        self.seconds = seconds
        self.limit = limit
        self._selector = selectors.DefaultSelector()
        self._deadlines: dict[socket.socket, float] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def close(self, conn: socket.socket) -> None:
        try:
            socket.socket.shutdown(conn, socket.SHUT_WR)
            conn.setblocking(False)
        except OSError:
            conn.close()
            return
        with self._lock:
            if len(self._deadlines) >= self.limit:
                conn.close()
                return
            self._deadlines[conn] = time.monotonic() + self.seconds
            self._selector.register(conn, selectors.EVENT_READ)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="virtcim-linger", daemon=True
                )
                self._thread.start()

    def close_all(self) -> None:
        with self._lock:
            for conn in list(self._deadlines):
                self._forget(conn)

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._deadlines:
                    self._thread = None
                    return
            readable = {key.fileobj for key, _ in self._selector.select(timeout=0.1)}
            now = time.monotonic()
            with self._lock:
                for conn, deadline in list(self._deadlines.items()):
                    if deadline <= now or (conn in readable and not _drain(conn)):
                        self._forget(conn)

    def _forget(self, conn: socket.socket) -> None:
        self._selector.unregister(conn)
        del self._deadlines[conn]
        conn.close()


def _drain(conn: socket.socket) -> bool:
    """Read and drop what is there; False once the client has closed."""
    try:
        return bool(socket.socket.recv(conn, _READ_BYTES))
    except BlockingIOError:
        return True
    except OSError:
        return False


def _shut(conn: socket.socket) -> None:
    """Wake the worker reading ``conn`` by shutting it down (the worker closes it).

    The plain socket method is called even on TLS sockets: ``SSLSocket.shutdown``
    would drop the TLS state under the worker's feet.
    """
    try:
        socket.socket.shutdown(conn, socket.SHUT_RDWR)
    except OSError:
        pass


def _peer(address: Any) -> str:
    if not isinstance(address, tuple):
        return str(address)
    host, port = address[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _Refusal(Exception):
    """An HTTP error answer, raised while checking a request."""

    def __init__(
        self,
        status: int,
        description: str,
        cim_error: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
        close: bool = False,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.cim_error = cim_error
        self.headers = headers
        self.close = close


class _ClientGone(Exception):
    """The client closed the connection in the middle of a request."""


@dataclass
class _Outcome:
    """What the request log line says about one request."""

    status: int = 0
    cim_status: int = 0
    description: str = ""
    user: str | None = None
    method: str | None = None
    object: str | None = None


class CIMRequestHandler(BaseHTTPRequestHandler):
    """Serves the requests of one connection (keep-alive) for an :class:`HTTPServerGroup`."""

    protocol_version = "HTTP/1.1"
    #: Headers and body often go in separate segments; with Nagle's algorithm on, the
    #: client's delayed ACK would hold each keep-alive reply back about 40 ms.
    disable_nagle_algorithm = True
    server_version = SERVER_NAME
    sys_version = ""

    # --- connection and request loop -------------------------------------------------------------

    @property
    def group(self) -> HTTPServerGroup:
        return self.server.group  # type: ignore[attr-defined, no-any-return]

    def setup(self) -> None:
        super().setup()
        self._served = 0
        self._started = self._deadline = 0.0
        #: Set when the connection is closed while the client may still be sending.
        self.input_unread = False

    def handle_one_request(self) -> None:
        self._reset()
        if not self._read_request_line():
            self.close_connection = True
            return
        started = self._started = time.monotonic()
        self._deadline = started + self.group.limits.read_timeout
        try:
            self._serve_one()
        except TimeoutError:
            self._send_best_effort(_Refusal(408, "request not received in time", close=True))
        except (_ClientGone, ConnectionError, ssl.SSLError) as error:
            self.close_connection = True
            self._outcome.description = str(error) or "client closed the connection"
        finally:
            self._served += 1
            self._log_request(started)

    def _reset(self) -> None:
        self.command = ""
        self.path = ""
        self.request_version = self.default_request_version
        self.close_connection = True
        self._continue_pending = False
        self._body_read = False
        self._mpost_ns: str | None = None
        self._outcome = _Outcome()

    def _read_request_line(self) -> bool:
        """Wait for the next request (bounded by the read or keep-alive timeout)."""
        limits = self.group.limits
        timeout = limits.keepalive_timeout if self._served else limits.read_timeout
        if not self.group._set_waiting(self.connection, kept_alive=self._served > 0):
            return False
        try:
            self._set_timeout(timeout)
            line = self.rfile.readline(limits.max_line_bytes + 1)
        except (OSError, ValueError):
            return False
        finally:
            self.group._set_busy(self.connection)
        self.raw_requestline = line
        return bool(line)

    def _serve_one(self) -> None:
        if len(self.raw_requestline) > self.group.limits.max_line_bytes:
            self._send_refusal(_Refusal(414, "request line too long", close=True))
            return
        if not self.parse_request():
            return
        try:
            request = self._read_cim_request()
            reply = self._call_handler(request)
        except _Refusal as refusal:
            self._send_refusal(refusal)
            return
        if reply.status != 200:
            self._send_refusal(_Refusal(reply.status, reply.description, reply.cim_error))
        elif request.trailers:
            self._send_chunked(reply)
        elif reply.streamed:
            self._send_chunked(reply, trailers=False)
        else:
            self._send_whole(reply)

    def parse_request(self) -> bool:
        """The request line and headers, parsed by :mod:`virtcim.http.head` under virtcim's
        limits and deadline (the standard library's parser has neither and is lenient).

        False when the request was refused (the refusal is sent).
        """
        self.request_version = self.default_request_version
        self.close_connection = True
        self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        try:
            line = head.request_line(self.requestline)
            self.command, self.path, self.request_version = line.method, line.target, line.version
            self.headers = self._read_headers()
        except head.HeadError as error:
            self.send_error(error.status, error.message)
            return False
        connection = self.headers.get("Connection", "").lower()
        self.close_connection = connection == "close" or (
            line.version_number < (1, 1) and connection != "keep-alive")
        expect = self.headers.get("Expect", "").lower()
        if expect == "100-continue" and line.version_number >= (1, 1):
            return self.handle_expect_100()
        return True

    def _read_headers(self) -> http.client.HTTPMessage:
        limits = self.group.limits
        headers = http.client.HTTPMessage()
        for _ in range(limits.max_headers + 1):  # + the empty line that ends the head
            self._arm_deadline()
            line = self.rfile.readline(limits.max_line_bytes + 1)
            if len(line) > limits.max_line_bytes:
                raise head.HeadError(431, f"header line longer than {limits.max_line_bytes} bytes")
            if not line:
                raise _ClientGone("client closed the connection in the request head")
            if not head.header_line(line, headers):
                return headers
        raise head.HeadError(431, f"more than {limits.max_headers} header lines")

    def _arm_deadline(self) -> None:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("request deadline passed")
        self._set_timeout(remaining)

    def _set_timeout(self, seconds: float) -> None:
        """Bound the next socket operations to ``seconds``, give or take a tenth.

        Each change is a system call that lets go of the GIL, and the worker
        threads then queue to take it back: a request re-armed on every header
        line spent a tenth of its time there.
        """
        current = self.connection.gettimeout()
        if current is None or abs(current - seconds) > seconds * _TIMEOUT_SLACK:
            self.connection.settimeout(seconds)

    # --- checking the request --------------------------------------------------------------------

    def _read_cim_request(self) -> CIMRequest:
        self._check_target()
        if self.command == "M-POST":
            self._mpost_ns = self._mandatory_extension_prefix()
        self._outcome.user = self._authenticate()
        self._outcome.method = self._unquoted_header("CIMMethod")
        self._outcome.object = self._unquoted_header("CIMObject")
        operation = self._cim_header("CIMOperation")
        if operation != "MethodCall":
            raise _Refusal(
                400, f"CIMOperation must be MethodCall, not {operation!r}", "unsupported-operation"
            )
        if self._cim_header("CIMBatch") is not None:
            raise _Refusal(
                501,
                "batched (multiple) requests are not supported",
                "multiple-requests-unsupported",
            )
        protocol_version = self._cim_header("CIMProtocolVersion") or "1.0"
        if not _PROTOCOL_VERSION.fullmatch(protocol_version):
            raise _Refusal(
                501,
                f"CIM protocol version {protocol_version!r} is not supported",
                "unsupported-protocol-version",
            )
        self._check_content_type()
        body = self._read_body()
        return CIMRequest(
            body=body,
            operation=operation,
            method=self._outcome.method,
            object=self._outcome.object,
            protocol_version=protocol_version,
            user=self._outcome.user,
            trailers=self._client_accepts_trailers(),
            client=_peer(self.client_address),
            chunked=self.request_version == "HTTP/1.1",
        )

    def _check_target(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if path != CIMOM_PATH:
            raise _Refusal(404, f"no resource at {self.path!r}; CIM requests go to {CIMOM_PATH}")
        if self.command not in ALLOWED_METHODS:
            raise _Refusal(
                405,
                f"method {self.command} not allowed",
                headers=[("Allow", ", ".join(ALLOWED_METHODS))],
            )
        if self.request_version == "HTTP/1.1" and "Host" not in self.headers:
            raise _Refusal(400, "HTTP/1.1 request without a Host header")

    def _mandatory_extension_prefix(self) -> str | None:
        """The ``ns`` prefix an M-POST's ``Man`` header declares for the CIM mapping (RFC 2774)."""
        if self.request_version != "HTTP/1.1":
            raise _Refusal(400, "M-POST needs HTTP/1.1")
        for declaration in self.headers.get("Man", "").split(","):
            uri, *params = (part.strip() for part in declaration.split(";"))
            if uri.strip('"') != DMTF_MAPPING_URI:
                continue
            for param in params:
                name, _, value = param.partition("=")
                if name.strip() == "ns":
                    if not _NS_PREFIX.fullmatch(value.strip()):
                        raise _Refusal(400, f"bad ns in Man header: {value.strip()!r}")
                    return value.strip()
            return None
        raise _Refusal(510, f"M-POST without a Man header declaring {DMTF_MAPPING_URI}")

    def _cim_header(self, name: str) -> str | None:
        """A DSP0200 header, under its M-POST ``NN-`` prefix when the request declared one."""
        if self._mpost_ns is not None:
            name = f"{self._mpost_ns}-{name}"
        value = self.headers.get(name)
        return value.strip() if value is not None else None

    def _unquoted_header(self, name: str) -> str | None:
        value = self._cim_header(name)
        return urllib.parse.unquote(value) if value is not None else None

    def _authenticate(self) -> str | None:
        if self.group.authenticator is None:
            return None
        user = self.group.authenticator.authenticate(self.headers.get("Authorization"))
        if user is None:
            raise _Refusal(
                401,
                "authentication required",
                headers=[("WWW-Authenticate", f'Basic realm="{REALM}"')],
            )
        return user

    def _check_content_type(self) -> None:
        content_type = self.headers.get("Content-Type")
        if content_type is None:
            raise _Refusal(400, "no Content-Type; CIM-XML is application/xml", "request-not-valid")
        media_type = content_type.split(";")[0].strip().lower()
        charset = self.headers.get_content_charset()
        if media_type not in XML_MEDIA_TYPES or charset not in (None, "utf-8", "utf8"):
            raise _Refusal(
                400,
                f"Content-Type {content_type!r} is not CIM-XML (application/xml; charset=utf-8)",
                "request-not-valid",
            )

    def _client_accepts_trailers(self) -> bool:
        if self.request_version != "HTTP/1.1":
            return False
        codings = self.headers.get("TE", "").split(",")
        return "trailers" in (coding.split(";")[0].strip().lower() for coding in codings)

    # --- the body ---------------------------------------------------------------------------------

    def _declared_length(self) -> int | None:
        """The body's length: 0 when none is declared, ``None`` when unknown (chunked or bad)."""
        if "Transfer-Encoding" in self.headers:
            return None
        value = self.headers.get("Content-Length")
        if value is None:
            return 0
        value = value.strip()
        return int(value) if value.isdigit() else None

    def _read_body(self) -> bytes:
        if "Transfer-Encoding" in self.headers:
            raise _Refusal(
                411, "chunked request bodies are not accepted; send Content-Length", close=True
            )
        if "Content-Length" not in self.headers:
            raise _Refusal(411, "Content-Length required")
        length = self._declared_length()
        if length is None:
            raise _Refusal(400, "Content-Length is not a number", close=True)
        if length > self.group.limits.max_body_bytes:
            raise _Refusal(
                413,
                f"request body of {length} bytes is over the limit of {self.group.limits.max_body_bytes}",
                close=True,
            )
        if self._continue_pending:
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self._continue_pending = False
        return self._read_exactly(length)

    def _read_exactly(self, length: int) -> bytes:
        parts = []
        remaining = length
        while remaining:
            self._arm_deadline()
            part = self.rfile.read(min(remaining, _READ_BYTES))
            if not part:
                raise _ClientGone()
            parts.append(part)
            remaining -= len(part)
        self._body_read = True
        return b"".join(parts)

    def _discard_unread_body(self) -> None:
        """Read away the body of a refused request, so the connection can serve the next one."""
        if self._body_read or self.close_connection or not self.command:
            return
        length = self._declared_length()
        if length == 0:
            return
        if length is None or length > self.group.limits.max_body_bytes or self._continue_pending:
            self.close_connection = True
            return
        self._read_exactly(length)

    def handle_expect_100(self) -> bool:
        """Defer ``100 Continue`` until the request passed its checks and its body is wanted."""
        self._continue_pending = True
        return True

    # --- calling the handler -----------------------------------------------------------------------

    def _call_handler(self, request: CIMRequest) -> CIMReply:
        try:
            reply = self.group.handler(request)
            if not (request.trailers or reply.streamed) and reply.status == 200:
                reply.body = [b"".join(reply.body)]
        except RequestError as error:
            raise _Refusal(error.status, str(error), error.cim_error) from error
        except Exception as error:
            log.exception(
                "handler failed on %s of %s from %s", request.method, request.object, request.client
            )
            raise _Refusal(500, "internal server error; see the server log") from error
        return reply

    # --- writing replies ----------------------------------------------------------------------------

    def _send_whole(self, reply: CIMReply) -> None:
        body = b"".join(reply.body)
        head = self._head(200, self._reply_headers() + [("Content-Length", str(len(body)))])
        self._outcome.status, self._outcome.cim_status = 200, reply.cim_status
        self._write(head + body)

    def _send_chunked(self, reply: CIMReply, trailers: bool = True) -> None:
        """Stream the body as chunks.

        With ``trailers`` they carry the CIM status, success or not. Without,
        a failure mid-stream closes the connection before the last chunk.
        """
        prefix = self._prefix()
        headers = self._reply_headers() + [("Transfer-Encoding", "chunked")]
        if trailers:
            headers.append(("Trailer", f"{prefix}CIMStatusCode, {prefix}CIMStatusCodeDescription"))
        self._outcome.status = 200
        pending = [self._head(200, headers)]
        size = 0
        code, description = reply.cim_status, None
        try:
            for chunk in reply.body:
                if chunk:
                    pending.append(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    size += len(chunk)
                if size >= _FLUSH_BYTES:
                    self._write(b"".join(pending))
                    pending, size = [], 0
        except pywbem.CIMError as error:
            code, description = error.status_code, error.status_description
        except Exception:
            log.exception(
                "reply stream failed for %s from %s",
                self._outcome.method,
                _peer(self.client_address),
            )
            code, description = pywbem.CIM_ERR_FAILED, "internal server error; see the server log"
            self.close_connection = True
        self._outcome.cim_status = code
        if not trailers:
            self._end_untrailed(pending, code, description)
            return
        trailer = f"0\r\n{prefix}CIMStatusCode: {code}\r\n"
        if description is not None:
            escaped = urllib.parse.quote(description, safe=_HEADER_SAFE)
            trailer += f"{prefix}CIMStatusCodeDescription: {escaped}\r\n"
        pending.append(trailer.encode("ascii") + b"\r\n")
        self._write(b"".join(pending))

    def _end_untrailed(self, pending: list[bytes], code: int, description: str | None) -> None:
        """End a chunked reply without trailers: the last chunk, or on failure none and a close."""
        if description is None:
            pending.append(b"0\r\n\r\n")
        else:
            log.warning("aborted the reply to %s from %s: %s", self._outcome.method,
                        _peer(self.client_address), description)
            self._outcome.description = description
            self.close_connection = True
        self._write(b"".join(pending))

    def _send_refusal(self, refusal: _Refusal) -> None:
        if refusal.close:
            self.close_connection = True
        self._discard_unread_body()
        if self.close_connection and not self._body_read:
            self.input_unread = True
        body = (refusal.description + "\n").encode("utf-8")
        headers = [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
        ]
        if refusal.cim_error:
            headers.append((f"{self._prefix()}CIMError", refusal.cim_error))
        headers.extend(refusal.headers)
        if self._mpost_ns is not None:
            headers.extend(self._extension_headers())
        self._outcome.status, self._outcome.description = refusal.status, refusal.description
        self._write(self._head(refusal.status, headers) + body)

    def _send_best_effort(self, refusal: _Refusal) -> None:
        try:
            self._send_refusal(refusal)
        except (OSError, _ClientGone):
            self.close_connection = True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answers what ``parse_request`` rejects (bad request line, header limits) in our format."""
        description = message or self.responses.get(code, ("error",))[0]
        if explain:
            description = f"{description}: {explain}"
        self._send_refusal(_Refusal(code, description, close=True))

    def _write(self, data: bytes) -> None:
        """Send ``data``; a client that reads nothing for ``read_timeout`` is dropped."""
        self._set_timeout(self.group.limits.read_timeout)
        view = memoryview(data)
        try:
            for start in range(0, len(view), _WRITE_BYTES):
                self.wfile.write(view[start : start + _WRITE_BYTES])
        except TimeoutError as error:
            raise _ClientGone("client stopped reading the reply") from error

    def _reply_headers(self) -> list[tuple[str, str]]:
        headers = [
            ("Content-Type", REPLY_CONTENT_TYPE),
            (f"{self._prefix()}CIMOperation", "MethodResponse"),
            ("WBEMServerResponseTime", str(int((time.monotonic() - self._started) * 1e6))),
        ]
        if self._mpost_ns is not None:
            headers.extend(self._extension_headers())
        return headers

    def _extension_headers(self) -> list[tuple[str, str]]:
        declaration = (
            DMTF_MAPPING_URI
            if self._mpost_ns is None
            else f"{DMTF_MAPPING_URI}; ns={self._mpost_ns}"
        )
        return [("Ext", ""), ("Man", declaration)]

    def _prefix(self) -> str:
        return f"{self._mpost_ns}-" if self._mpost_ns is not None else ""

    def _head(self, status: int, headers: list[tuple[str, str]]) -> bytes:
        """Status line and headers, deciding here whether the connection stays open."""
        if self.group.stopping:
            self.close_connection = True
        reason = self.responses.get(status, ("",))[0]
        lines = [
            f"HTTP/1.1 {status} {reason}",
            f"Server: {SERVER_NAME}",
            f"Date: {self.date_time_string()}",
        ]
        lines.extend(f"{name}: {value}" for name, value in headers)
        if self.close_connection:
            lines.append("Connection: close")
        elif self.request_version == "HTTP/1.0":
            lines.append("Connection: keep-alive")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    # --- logging ------------------------------------------------------------------------------------

    def _log_request(self, started: float) -> None:
        outcome = self._outcome
        request_log.info(
            "client=%s user=%r method=%r object=%r status=%d cim_status=%d duration_ms=%.1f%s",
            _peer(self.client_address),
            outcome.user,
            outcome.method,
            outcome.object,
            outcome.status,
            outcome.cim_status,
            (time.monotonic() - started) * 1000,
            f" error={outcome.description!r}" if outcome.description else "",
        )

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s: " + format, _peer(self.client_address), *args)
