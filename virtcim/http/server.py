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
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import signal
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import h11
import pywbem

from virtcim.cimxml.messages import RequestError
from virtcim.config import ConfigError, Settings
from virtcim.http import head
from virtcim.http.auth import REALM, BasicAuth, authenticator_for
from virtcim.http.envelope import CIMReply, CIMRequest, Envelope, Refusal, refusal_reply
from virtcim.http.tls import certificate_user, server_context

__all__ = ["CIMReply", "CIMRequest", "HTTPServerGroup", "Handler", "Limits", "Listener"]

log = logging.getLogger(__name__)
request_log = logging.getLogger("virtcim.request")

Handler = Callable[[CIMRequest], CIMReply]
T = TypeVar("T")

#: Chunks are gathered up to this size before a write, so small items do not mean small packets.
_FLUSH_BYTES = 512 * 1024
#: Written but unsent bytes a connection may hold before the reply waits for its client: a
#: few encoder chunks, so that making the next overlaps sending the last.
_WRITE_BUFFER_BYTES = 1024 * 1024
_READ_BYTES = 64 * 1024
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
    #: How long a closed connection's late input is read away (see ``_Connection._close``).
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
        self._workers: _Workers | None = None
        #: Password checks (scrypt, PAM) are slow on purpose: they get threads of their own.
        self._checkers: _Workers | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.Server] = []
        # The rest is only touched on the loop's thread.
        self._stopping = False
        self._connections: set[_Connection] = set()
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
        self._workers = _Workers(self.limits.workers, "virtcim-worker")
        self._checkers = _Workers(2, "virtcim-auth")
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
        connection = _Connection(self, reader, writer)
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

    def _admission(self, connection: _Connection) -> Refusal | None:
        """Why a new connection cannot be served, if it cannot; makes room when it can."""
        if self._stopping:
            return Refusal(503, "the server is stopping", close=True)
        limits = self.limits
        if self._per_client[connection.host] >= limits.max_client_connections:
            log.warning("refusing %s: %d connections from that address already",
                        connection.client, limits.max_client_connections)
            return _busy(f"too many connections from {connection.host}")
        if len(self._connections) >= limits.max_connections:
            idle = [c for c in self._connections if c.kept_alive_since is not None]
            if not idle:
                log.warning("refusing %s: %d connections open", connection.client,
                            limits.max_connections)
                return _busy("too many connections")
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


class _Workers:
    """Threads that run calls for the event loop and hand the results back to it.

    ``loop.run_in_executor`` with the standard library's pool costs twice as
    much per call (a ``concurrent.futures.Future`` with its lock and
    condition, then an asyncio future chained to it): about 20 us more, on a
    GetInstance of some 300 us.
    """

    def __init__(self, count: int, name: str) -> None:
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._run, name=f"{name}-{n}", daemon=True)
            for n in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def call(self, function: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """``function(*args)`` in one of the threads, as a future of the running loop."""
        future = asyncio.get_running_loop().create_future()
        self._calls.put((future, function, args))
        return future

    def stop(self) -> None:
        """End the threads once they finish what they run; calls still queued are dropped."""
        while True:
            try:
                self._calls.get_nowait()
            except queue.Empty:
                break
        for _ in self._threads:
            self._calls.put(None)

    def _run(self) -> None:
        while (call := self._calls.get()) is not None:
            future, function, args = call
            result, error = None, None
            try:
                result = function(*args)
            except BaseException as raised:  # the caller gets it, whatever it is
                error = raised
            try:
                future.get_loop().call_soon_threadsafe(_settle, future, result, error)
            except RuntimeError:  # the loop is closed: nobody waits for the result
                pass


_Call = tuple["asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


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


def _busy(reason: str) -> Refusal:
    return Refusal(503, f"{reason}; try again later", headers=[("Retry-After", "1")], close=True)


def _log_loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Failed TLS handshakes and connections lost while accepting are the client's business."""
    error = context.get("exception")
    if isinstance(error, ssl.SSLError | ConnectionError | TimeoutError):
        log.debug("%s: %s", context.get("message"), error)
    else:
        loop.default_exception_handler(context)


def _peer(address: Any) -> str:
    if not isinstance(address, tuple):
        return str(address)
    host, port = address[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _ClientGone(Exception):
    """The client closed the connection, or stopped reading, in the middle of an exchange."""


@dataclass
class _Outcome:
    """What the request log line says about one request."""

    started: float = field(default_factory=time.monotonic)
    status: int = 0
    cim_status: int = 0
    description: str = ""
    user: str | None = None
    method: str | None = None
    object: str | None = None


@dataclass
class _Batch:
    """Chunks of a streamed reply produced in one go, and how the stream ended if it did."""

    chunks: list[bytes]
    done: bool = False
    code: int = 0
    description: str | None = None


class _Connection:
    """One client connection: its requests one after the other (keep-alive), on the loop."""

    def __init__(
        self, group: HTTPServerGroup, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.group = group
        self.limits = group.limits
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername")
        self.client = _peer(peer)
        self.host = str(peer[0]) if isinstance(peer, tuple) else str(peer)
        #: The user a verified client certificate names (HTTPS with ``client_ca``).
        self.certified_user = certificate_user(writer.get_extra_info("peercert"))
        self.task = asyncio.current_task()
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=self.limits.max_head_bytes)
        #: No byte of the next request has arrived yet.
        self.waiting = True
        #: Since when a kept-alive connection waits for its next request (loop time).
        self.kept_alive_since: float | None = None
        self._served = 0
        self._deadline = 0.0
        # Headers and body often go in separate segments; with Nagle's algorithm on, the
        # client's delayed ACK would hold each keep-alive reply back about 40 ms.
        writer.transport.set_write_buffer_limits(high=_WRITE_BUFFER_BYTES)
        sock = writer.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def serve(self) -> None:
        try:
            while await self._exchange():
                self.h11.start_next_cycle()
        except (_ClientGone, ConnectionError, ssl.SSLError, OSError) as error:
            log.debug("connection from %s ended: %s", self.client, error or type(error).__name__)
        except Exception:
            log.exception("unexpected error serving %s", self.client)
        finally:
            await self._close()

    async def refuse(self, refusal: Refusal) -> None:
        """Answer ``refusal`` to a connection that will not be served, and close it."""
        response, body = refusal_reply(refusal, close=True)
        try:
            await self._send(response, h11.Data(data=body), h11.EndOfMessage())
        except (_ClientGone, ConnectionError, OSError):
            pass
        # Read away the request the client may have sent, but only briefly: this
        # connection is not counted among the open ones.
        await self._close(linger=min(self.limits.linger_timeout, 0.2))

    def close_now(self) -> None:
        """Close the connection from outside: its reads end, its writes fail."""
        self.writer.transport.abort()

    # --- one request and its reply ---------------------------------------------------------------

    async def _exchange(self) -> bool:
        """Serve one request; whether the connection may serve another."""
        request = await self._next_request()
        if request is None:
            return False
        envelope = Envelope(request)
        outcome = _Outcome()
        try:
            await self._answer(envelope, outcome)
        except TimeoutError:
            outcome.description = "request not received in time"
            await self._send_refusal(envelope, outcome, Refusal(408, outcome.description, close=True))
        except (_ClientGone, ConnectionError, ssl.SSLError) as error:
            outcome.description = str(error) or "client closed the connection"
            return False
        finally:
            self._served += 1
            _log_request(self.client, outcome)
        return await self._finish_request()

    async def _next_request(self) -> h11.Request | None:
        """The next request head, within the deadlines; ``None`` when there is none to serve."""
        received = bytearray(self.h11.trailing_data[0])
        loop = asyncio.get_running_loop()
        self.waiting = not received
        if self._served and self.waiting:
            self.kept_alive_since = loop.time()
            try:
                data = await self._receive(loop.time() + self.limits.keepalive_timeout)
            except TimeoutError:
                return None
            finally:
                self.kept_alive_since = None
            if not data:
                return None
            self.waiting = False
            received += data
        now = loop.time()
        self._deadline = now + self.limits.read_timeout
        try:
            return await self._read_head(received, min(now + self.limits.head_timeout,
                                                       self._deadline))
        except TimeoutError:
            await self._refuse_head(Refusal(408, "request head not received in time", close=True))
        except head.HeadError as error:
            await self._refuse_head(Refusal(error.status, error.message, close=True))
        return None

    async def _read_head(self, received: bytearray, deadline: float) -> h11.Request | None:
        limits = self.limits
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as error:
                head.check_lines(bytes(received), limits.max_line_bytes, limits.max_headers)
                raise head.HeadError(error.error_status_hint, str(error)) from error
            if event is h11.NEED_DATA:
                head.check_lines(bytes(received), limits.max_line_bytes, limits.max_headers)
                data = await self._receive(deadline)
                if not data:
                    return None
                self.waiting = False
                received += data
                continue
            if not isinstance(event, h11.Request):
                return None  # ConnectionClosed
            raw = bytes(received[: len(received) - len(self.h11.trailing_data[0])])
            head.check_lines(raw, limits.max_line_bytes, limits.max_headers)
            head.check_fields(event.headers)
            return event

    async def _receive(self, deadline: float) -> bytes:
        """The next bytes from the client, given to h11 too; empty once the client
        closed its side. Raises ``TimeoutError`` at ``deadline`` (loop time)."""
        async with asyncio.timeout_at(deadline):
            data = await self.reader.read(_READ_BYTES)
        self.h11.receive_data(data)
        return data

    async def _refuse_head(self, refusal: Refusal) -> None:
        """Answer a request whose head was refused or did not arrive, then close."""
        outcome = _Outcome(status=refusal.status, description=refusal.description)
        response, body = refusal_reply(refusal, close=True)
        try:
            await self._send(response, h11.Data(data=body), h11.EndOfMessage())
        except (_ClientGone, ConnectionError, OSError, h11.LocalProtocolError):
            return
        finally:
            _log_request(self.client, outcome)

    async def _answer(self, envelope: Envelope, outcome: _Outcome) -> None:
        try:
            envelope.check_route()
            outcome.user = await self._authenticate(envelope)
            envelope.check_cim_headers()
            outcome.method, outcome.object = envelope.method, envelope.object
            length = envelope.body_length(self.limits.max_body_bytes)
            if self.group.saturated:
                log.warning("refusing a request from %s: %d requests wait for a worker",
                            self.client, self.limits.pending_requests)
                raise _busy("the server is busy")
            body = await self._read_body(envelope, length)
            request = envelope.cim_request(body, outcome.user, self.client)
            reply = await self.group.handle(request)
            if reply.status != 200:
                raise Refusal(reply.status, reply.description, reply.cim_error)
        except Refusal as refusal:
            await self._send_refusal(envelope, outcome, refusal)
            return
        outcome.status, outcome.cim_status = 200, reply.cim_status
        if reply.streamed or envelope.trailers:
            await self._send_streamed(envelope, outcome, reply)
        else:
            body = b"".join(reply.body)
            await self._send(
                envelope.reply(len(body), close=self.group.stopping),
                h11.Data(data=body),
                h11.EndOfMessage(),
            )

    async def _authenticate(self, envelope: Envelope) -> str | None:
        authenticator = self.group.authenticator
        if authenticator is None:
            return None
        if self.certified_user is not None:
            return self.certified_user
        authorization = envelope.authorization
        user = authenticator.remembered(authorization)
        if user is None and authorization is not None:
            user = await self.group.check_password(authorization, self.client)
            if user is None:
                # Slows guessing from this address down, holding no thread.
                await asyncio.sleep(authenticator.failed(self.host))
            else:
                authenticator.succeeded(self.host)
        if user is None:
            raise Refusal(
                401, "authentication required", headers=[("WWW-Authenticate", f'Basic realm="{REALM}"')]
            )
        return user

    async def _read_body(self, envelope: Envelope, length: int) -> bytes:
        if self.h11.they_are_waiting_for_100_continue:
            await self._send(h11.InformationalResponse(status_code=100, headers=[], reason=b"Continue"))
        parts: list[bytes] = []
        while (event := await self._next_event()) is not None:
            if isinstance(event, h11.EndOfMessage):
                return b"".join(parts)
            parts.append(event.data)
        raise _ClientGone("client closed the connection in the request body")

    async def _next_event(self) -> h11.Data | h11.EndOfMessage | None:
        """The next part of the request body, by the request's deadline (``TimeoutError``
        after); ``None`` when the client left."""
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError:
                return None
            if event is h11.NEED_DATA:
                await self._receive(self._deadline)
                continue
            if isinstance(event, h11.Data | h11.EndOfMessage):
                return event
            return None

    async def _finish_request(self) -> bool:
        """Whether the connection may serve another request; reads away the body of a
        refused request when that is cheaper than a new connection."""
        state = self.h11
        if state.our_state is not h11.DONE or self.group.stopping:
            return False
        if state.their_state is h11.SEND_BODY:
            if state.they_are_waiting_for_100_continue:
                return False
            try:
                while isinstance(await self._next_event(), h11.Data):
                    pass
            except TimeoutError:
                return False
        return state.their_state is h11.DONE

    # --- writing ----------------------------------------------------------------------------------

    async def _send_refusal(self, envelope: Envelope, outcome: _Outcome, refusal: Refusal) -> None:
        outcome.status, outcome.description = refusal.status, refusal.description
        unread = self.h11.their_state is h11.SEND_BODY
        close = self.group.stopping or (unread and self.h11.they_are_waiting_for_100_continue)
        response, body = envelope.refusal(refusal, close)
        await self._send(response, h11.Data(data=body), h11.EndOfMessage())

    async def _send_streamed(self, envelope: Envelope, outcome: _Outcome, reply: CIMReply) -> None:
        """A chunked reply whose chunks are made by a worker a batch at a time.

        With ``TE: trailers`` the stream ends with the CIM status; without, a
        failure closes the connection before the last chunk.
        """
        trailers = envelope.trailers
        self.writer.write(
            self.h11.send(envelope.reply(None, trailers=trailers, close=self.group.stopping))
        )
        chunks = iter(reply.body)
        # The worker makes the next batch while the loop sends this one.
        pending = self.group.in_worker(_next_batch, chunks)
        try:
            while not (batch := await pending).done:
                pending = self.group.in_worker(_next_batch, chunks)
                await self._send(*_data(batch.chunks))
        except Exception:
            await asyncio.wait([pending])
            await self.group.in_worker(_close_iterator, chunks)
            raise
        outcome.cim_status = batch.code or reply.cim_status
        if trailers:
            await self._send(
                *_data(batch.chunks), envelope.status_trailers(outcome.cim_status, batch.description)
            )
        elif batch.description is None:
            await self._send(*_data(batch.chunks), h11.EndOfMessage())
        else:
            await self._send(*_data(batch.chunks))
            log.warning("aborted the reply to %s from %s: %s", outcome.method, self.client,
                        batch.description)
            outcome.description = batch.description
            raise _ClientGone("reply aborted")

    async def _send(self, *events: h11.Event) -> None:
        self.writer.write(b"".join(self.h11.send(event) or b"" for event in events))
        await self._drain()

    async def _drain(self) -> None:
        """Wait until the client has taken enough of what was written; one that reads
        nothing for ``read_timeout`` is dropped."""
        transport = self.writer.transport
        if transport.get_write_buffer_size() <= transport.get_write_buffer_limits()[1]:
            await self.writer.drain()  # returns at once, or fails if the client left
            return
        try:
            async with asyncio.timeout(self.limits.read_timeout):
                await self.writer.drain()
        except TimeoutError as error:
            raise _ClientGone("client stopped reading the reply") from error

    async def _close(self, linger: float | None = None) -> None:
        """Close the connection.

        A client that may still be sending gets its input read away for
        ``linger`` seconds first (by default, when its request was not read
        whole, ``limits.linger_timeout``): closing with unread input makes the
        kernel answer with a reset, which can destroy the last reply before the
        client read it.
        """
        transport = self.writer.transport
        if linger is None:
            unread = self.h11.their_state not in (h11.DONE, h11.IDLE, h11.CLOSED, h11.MUST_CLOSE)
            linger = self.limits.linger_timeout if unread else 0.0
        if linger and not transport.is_closing():
            try:
                if self.writer.can_write_eof():
                    self.writer.write_eof()
                async with asyncio.timeout(linger):
                    while await self.reader.read(_READ_BYTES):
                        pass
            except (TimeoutError, ConnectionError, OSError):
                pass
        self.writer.close()
        try:
            async with asyncio.timeout(self.limits.linger_timeout):
                await self.writer.wait_closed()
        except (TimeoutError, ConnectionError, OSError, ssl.SSLError):
            transport.abort()


def _data(chunks: Sequence[bytes] | Any) -> list[h11.Data]:
    return [h11.Data(data=chunk) for chunk in chunks if chunk]


def _next_batch(chunks: Iterator[bytes]) -> _Batch:
    """The next chunks of a streamed reply, up to ``_FLUSH_BYTES`` (in a worker thread)."""
    batch: list[bytes] = []
    size = 0
    try:
        for chunk in chunks:
            batch.append(chunk)
            size += len(chunk)
            if size >= _FLUSH_BYTES:
                return _Batch(batch)
    except pywbem.CIMError as error:
        return _Batch(batch, True, error.status_code, error.status_description)
    except Exception:
        log.exception("reply stream failed")
        return _Batch(batch, True, pywbem.CIM_ERR_FAILED, "internal server error; see the server log")
    return _Batch(batch, True)


def _close_iterator(chunks: Iterator[bytes]) -> None:
    """Let a reply's generator clean up after its client left (in a worker thread)."""
    close = getattr(chunks, "close", None)
    if close is not None:
        close()


def _log_request(client: str, outcome: _Outcome) -> None:
    request_log.info(
        "client=%s user=%r method=%r object=%r status=%d cim_status=%d duration_ms=%.1f%s",
        client,
        outcome.user,
        outcome.method,
        outcome.object,
        outcome.status,
        outcome.cim_status,
        (time.monotonic() - outcome.started) * 1000,
        f" error={outcome.description!r}" if outcome.description else "",
    )
