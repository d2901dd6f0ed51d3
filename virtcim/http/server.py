"""The HTTP(S) transport: CIM-XML requests in, CIM-XML replies out (DSP0200).

Connections are read and written by one asyncio event loop, in a thread of
its own; h11 parses and frames HTTP/1.1 and :mod:`virtcim.http.envelope`
holds what DSP0200 asks of it. A request takes one of a bounded pool of
worker threads only once its head and body have arrived whole and passed
the checks; replies are written by the loop, so a client that reads slowly
holds no worker either. A streamed reply (a large enumeration) takes a
worker only to produce each next batch of chunks.

What a client may cost is bounded (:class:`Limits`): connections in all and
per client address, head size and line lengths, body size, a deadline for a
request head, one for the whole request, one for the next request on a
kept-alive connection and one for each write. When the server is full, the
longest-idle kept-alive connection is closed to admit a new one; requests
beyond the workers and their queue get ``503``. TLS handshakes run on the
loop under a deadline.

This module holds the listeners, the admission of connections and the
hand-over of requests to the workers; :mod:`virtcim.http.connection` serves
one connection's requests, :mod:`virtcim.http.workers` runs the threads.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import signal
import socket
import ssl
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from virtcim.cimxml.messages import RequestError
from virtcim.config import ConfigError, Settings
from virtcim.http.auth import BasicAuth, authenticator_for
from virtcim.http.connection import Connection, busy
from virtcim.http.envelope import CIMReply, CIMRequest, Refusal
from virtcim.http.tls import server_context
from virtcim.http.workers import Workers

__all__ = ["CIMReply", "CIMRequest", "HTTPServerGroup", "Handler", "Limits", "Listener"]

log = logging.getLogger(__name__)

Handler = Callable[[CIMRequest], CIMReply]
T = TypeVar("T")

_LISTEN_BACKLOG = 1024
#: How long a reload may wait for the event loop to take up a new certificate.
_RELOAD_SECONDS = 30


@dataclass(frozen=True)
class Limits:
    """Bounds on what clients may cost the server.

    ``head_timeout`` bounds the arrival of a request head (from the
    connection's start, or from the first byte of a request on a kept-alive
    connection), ``read_timeout`` the whole request, and each write of the
    reply; ``keepalive_timeout`` the wait for the next request.
    ``pending_requests`` is how many complete requests may wait for a worker.
    """

    workers: int = 16
    pending_requests: int = 64
    max_connections: int = 4096
    max_client_connections: int = 256
    max_body_bytes: int = 32 * 1024 * 1024
    max_line_bytes: int = 8192
    max_headers: int = 100
    max_head_bytes: int = 64 * 1024
    head_timeout: float = 10.0
    read_timeout: float = 30.0
    keepalive_timeout: float = 15.0
    handshake_timeout: float = 10.0
    shutdown_timeout: float = 10.0
    #: How long a closed connection's late input is read away (see ``Connection._close``).
    linger_timeout: float = 2.0


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
    and :meth:`stop` (or ``with``) to serve from a background thread, or
    :meth:`serve_forever` to serve until SIGTERM or SIGINT.
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
        self.listeners = list(listeners)
        self._sockets: list[socket.socket] = []
        try:
            for listener in self.listeners:
                self._sockets.append(_bind(listener))
        except BaseException:
            self._close_sockets()
            raise
        self._addresses = [sock.getsockname() for sock in self._sockets]
        self._workers: Workers | None = None
        #: Password checks (scrypt, PAM) are slow on purpose: they get threads of their own.
        self._checkers: Workers | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.Server] = []
        # The rest is only touched on the loop's thread.
        self._stopping = False
        self._connections: set[Connection] = set()
        self._per_client: Counter[str] = Counter()
        #: Requests handed to the workers and not yet answered.
        self._queued = 0

    @classmethod
    def from_settings(cls, settings: Settings, handler: Handler) -> HTTPServerGroup:
        """The listeners, TLS, authentication and limits that ``settings`` describe.

        Raises :class:`ConfigError` for anything that prevents starting.
        """
        settings = settings.checked()
        tls = None
        if settings.cert is not None:
            tls = server_context(settings.cert, settings.key, settings.client_ca)
        listeners = []
        for host in settings.bind:
            if settings.http_port is not None:
                listeners.append(Listener(host, settings.http_port))
            if tls is not None and settings.https_port is not None:
                listeners.append(Listener(host, settings.https_port, tls))
        limits = Limits(
            workers=settings.workers,
            pending_requests=settings.pending_requests,
            max_connections=settings.max_connections,
            max_client_connections=settings.max_client_connections,
            max_body_bytes=settings.max_body_bytes,
            head_timeout=settings.head_timeout,
            read_timeout=settings.read_timeout,
            keepalive_timeout=settings.keepalive_timeout,
        )
        return cls(listeners, handler, authenticator_for(settings), limits)

    @property
    def ports(self) -> list[int]:
        """The bound port of each listener, in the order given."""
        return [address[1] for address in self._addresses]

    @property
    def urls(self) -> list[str]:
        urls = []
        for listener, (host, port, *_) in zip(self.listeners, self._addresses, strict=True):
            host = f"[{host}]" if ":" in host else host
            urls.append(f"{listener.scheme}://{host}:{port}")
        return urls

    @property
    def stopping(self) -> bool:
        return self._stopping

    def start(self) -> None:
        """Serve from a background thread running the event loop."""
        self._workers = Workers(self.limits.workers, "virtcim-worker")
        self._checkers = Workers(2, "virtcim-auth")
        loop = asyncio.new_event_loop()
        started: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._loop = loop
        self._thread = threading.Thread(
            target=self._run_loop, args=(loop, started), name="virtcim-http", daemon=True
        )
        self._thread.start()
        started.result()
        for url in self.urls:
            log.info("listening on %s", url)

    def stop(self) -> None:
        """Stop accepting, close idle connections and let requests in progress finish.

        Connections still busy after ``limits.shutdown_timeout`` are cut.
        """
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            self._close_sockets()
            return
        limits = self.limits
        drained = asyncio.run_coroutine_threadsafe(self._shut_down(), loop)
        drained.result(timeout=limits.shutdown_timeout + limits.linger_timeout + 10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        self._loop = self._thread = None
        for workers in (self._workers, self._checkers):
            if workers is not None:
                workers.stop()

    def serve_forever(self, reload: Callable[[], None] | None = None) -> int:
        """Serve until SIGTERM or SIGINT, then stop cleanly (requests in progress finish);
        returns the exit status (0). SIGHUP calls ``reload``, connections staying open."""
        wake = threading.Event()
        received: list[signal.Signals] = []

        def on_signal(signum: int, frame: Any) -> None:
            received.append(signal.Signals(signum))
            wake.set()

        watched = [signal.SIGTERM, signal.SIGINT] + ([signal.SIGHUP] if reload else [])
        previous = {sig: signal.signal(sig, on_signal) for sig in watched}
        try:
            self.start()
            while True:
                wake.wait()
                wake.clear()
                while received:
                    sig = received.pop(0)
                    log.info("%s received", sig.name)
                    if sig is not signal.SIGHUP:
                        return 0
                    assert reload is not None
                    reload()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            log.info("shutting down")
            self.stop()

    def reload_certificates(self, cert: Path, key: Path | None) -> None:
        """Serve new handshakes with the certificate and key now in these files; the
        connections already open keep theirs. Raises :class:`ConfigError` if they cannot
        be loaded (the old ones stay)."""
        server_context(cert, key)  # checks them first

        async def load() -> None:
            for listener in self.listeners:
                if listener.tls is not None:
                    listener.tls.load_cert_chain(certfile=cert, keyfile=key)

        # Handshakes run on the loop: changed there, a context is never changed mid-handshake.
        loop = self._loop
        if loop is None:
            asyncio.run(load())
        else:
            asyncio.run_coroutine_threadsafe(load(), loop).result(_RELOAD_SECONDS)

    def __enter__(self) -> HTTPServerGroup:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- the loop's thread ------------------------------------------------------------------------

    def _run_loop(
        self, loop: asyncio.AbstractEventLoop, started: concurrent.futures.Future[None]
    ) -> None:
        asyncio.set_event_loop(loop)
        loop.set_exception_handler(_log_loop_error)
        try:
            loop.run_until_complete(self._open())
        except BaseException as error:
            started.set_exception(error)
            loop.close()
            return
        started.set_result(None)
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _open(self) -> None:
        for listener, sock in zip(self.listeners, self._sockets, strict=True):

            server = await asyncio.start_server(
                self._serve_connection,
                sock=sock,
                ssl=listener.tls,
                ssl_handshake_timeout=self.limits.handshake_timeout if listener.tls else None,
                backlog=_LISTEN_BACKLOG,
            )
            self._servers.append(server)

    async def _shut_down(self) -> None:
        self._stopping = True
        for server in self._servers:
            server.close()
        for connection in list(self._connections):
            if connection.waiting:
                connection.close_now()
        tasks = {connection.task for connection in self._connections if connection.task}
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=self.limits.shutdown_timeout)
            if late:
                log.warning("%d connections still busy at shutdown; closing them", len(late))
                for connection in list(self._connections):
                    connection.close_now()
                await asyncio.wait(late, timeout=1.0)
        self._servers.clear()
        self._sockets.clear()  # closed with their servers

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        connection = Connection(self, reader, writer)
        refusal = self._admission(connection)
        if refusal is not None:
            await connection.refuse(refusal)
            return
        self._connections.add(connection)
        self._per_client[connection.host] += 1
        try:
            await connection.serve()
        finally:
            self._connections.discard(connection)
            self._per_client[connection.host] -= 1
            if not self._per_client[connection.host]:
                del self._per_client[connection.host]

    def _admission(self, connection: Connection) -> Refusal | None:
        """Why a new connection cannot be served, if it cannot; makes room when it can."""
        if self._stopping:
            return Refusal(503, "the server is stopping", close=True)
        limits = self.limits
        if self._per_client[connection.host] >= limits.max_client_connections:
            log.warning("refusing %s: %d connections from that address already",
                        connection.client, limits.max_client_connections)
            return busy(f"too many connections from {connection.host}")
        if len(self._connections) >= limits.max_connections:
            idle = [c for c in self._connections if c.kept_alive_since is not None]
            if not idle:
                log.warning("refusing %s: %d connections open", connection.client,
                            limits.max_connections)
                return busy("too many connections")
            min(idle, key=lambda c: c.kept_alive_since or 0.0).close_now()
        return None

    @property
    def saturated(self) -> bool:
        """Whether every worker is busy and the queue of requests waiting for one is full."""
        return self._queued >= self.limits.workers + self.limits.pending_requests

    def in_worker(self, function: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """``function(*args)`` in a worker thread."""
        assert self._workers is not None
        return self._workers.call(function, *args)

    async def handle(self, request: CIMRequest) -> CIMReply:
        """The handler's reply to ``request``, from a worker thread."""
        self._queued += 1
        try:
            return await self.in_worker(self._call_handler, request)
        finally:
            self._queued -= 1

    def _call_handler(self, request: CIMRequest) -> CIMReply:
        try:
            reply = self.handler(request)
            if not (request.trailers or reply.streamed) and reply.status == 200:
                reply.body = [b"".join(reply.body)]
        except RequestError as error:
            raise Refusal(error.status, str(error), error.cim_error) from error
        except Exception as error:
            log.exception(
                "handler failed on %s of %s from %s", request.method, request.object, request.client
            )
            raise Refusal(500, "internal server error; see the server log") from error
        return reply

    async def check_password(self, authorization: str, client: str) -> str | None:
        assert self.authenticator is not None and self._checkers is not None
        return await self._checkers.call(self.authenticator.authenticate, authorization, client)

    def _close_sockets(self) -> None:
        for sock in self._sockets:
            sock.close()
        self._sockets.clear()


def _bind(listener: Listener) -> socket.socket:
    """A listening socket for ``listener``; :class:`ConfigError` when the address is unusable."""
    try:
        infos = socket.getaddrinfo(
            listener.host, listener.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as error:
        raise ConfigError(f"cannot listen on {listener.host!r}: {error.strerror}") from error
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(_LISTEN_BACKLOG)
    except OSError as error:
        sock.close()
        raise ConfigError(
            f"cannot listen on {listener.host} port {listener.port}: {error.strerror}"
        ) from error
    sock.setblocking(False)
    return sock


def _log_loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Failed TLS handshakes and connections lost while accepting are the client's business."""
    error = context.get("exception")
    if isinstance(error, ssl.SSLError | ConnectionError | TimeoutError):
        log.debug("%s: %s", context.get("message"), error)
    else:
        loop.default_exception_handler(context)


