"""One client connection of the HTTP transport: its requests one after the other, on the loop.

A :class:`Connection` is the asyncio protocol of one connection. Its input
goes straight to h11 as it arrives (``data_received``): the request head,
checked within the deadlines of :class:`~virtcim.http.server.Limits`, the
DSP0200 envelope (:mod:`virtcim.http.envelope`), then the body. The whole
request goes to a worker thread of its
:class:`~virtcim.http.server.HTTPServerGroup`, which calls back on the loop
with the reply, written in one go; a streamed reply is sent in batches that
a worker makes while the loop sends the last. It logs one line per request.

Why callbacks rather than streams and a task per connection: a request that
arrives whole with known credentials, and its reply, then cost the loop one
pass each. Each pass is an ``epoll`` call that lets go of the interpreter
lock, which a worker then holds until it blocks (the measurements are in
``benchmarks/PROFILE.md``). The rare steps that wait on something else (a
password check, a streamed reply, a client slow to read) run as tasks.

The module is one concept, the life of one connection from its first byte
to its close, which is why it runs past 600 lines.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import socket
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import h11
import pywbem

from virtcim.http import head
from virtcim.http.auth import REALM
from virtcim.http.envelope import CIMReply, Envelope, Refusal, refusal_reply
from virtcim.http.tls import certificate_user

if TYPE_CHECKING:
    from virtcim.http.server import HTTPServerGroup

__all__ = ["Connection", "busy"]

log = logging.getLogger(__name__)
request_log = logging.getLogger("virtcim.request")

#: Chunks are gathered up to this size before a write, so small items do not mean small packets.
_FLUSH_BYTES = 512 * 1024
#: Written but unsent bytes a connection may hold before the reply waits for its client: a
#: few encoder chunks, so that making the next overlaps sending the last.
_WRITE_BUFFER_BYTES = 1024 * 1024
#: Input held while a request is being answered (a pipelined next request) before reading pauses.
_HELD_BYTES = 64 * 1024


def busy(reason: str) -> Refusal:
    """The answer when the server cannot take more: try again in a second."""
    return Refusal(503, f"{reason}; try again later", headers=[("Retry-After", "1")], close=True)


def _peer(address: Any) -> str:
    if not isinstance(address, tuple):
        return str(address)
    host, port = address[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _ClientGone(Exception):
    """The client closed the connection, or stopped reading, in the middle of an exchange."""


class _Phase(enum.Enum):
    """What a connection's input is for now."""

    HEAD = "reading a request head"
    CHECKING = "checking credentials"
    BODY = "reading a request body"
    ANSWERING = "answering a request"
    DISCARDING = "reading away the body of a refused request"
    CLOSING = "closing"


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


class Connection(asyncio.Protocol):
    """One client connection: its requests one after the other (keep-alive), on the loop."""

    def __init__(self, group: HTTPServerGroup) -> None:
        self.group = group
        self.limits = group.limits
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=self.limits.max_head_bytes)
        self.transport: asyncio.Transport | None = None
        self.client = self.host = ""
        #: The user a verified client certificate names (HTTPS with ``client_ca``).
        self.certified_user: str | None = None
        #: No byte of the next request has arrived yet.
        self.waiting = True
        #: Since when a kept-alive connection waits for its next request (loop time).
        self.kept_alive_since: float | None = None
        #: Done once the connection is closed.
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._loop = asyncio.get_running_loop()
        self._admitted = False
        self._phase = _Phase.HEAD
        self._served = 0
        self._head = bytearray()
        self._body: list[bytes] = []
        self._envelope: Envelope | None = None
        #: The request being served, until its log line is written.
        self._outcome: _Outcome | None = None
        #: When the request must have arrived whole (loop time).
        self._request_deadline = 0.0
        self._deadline = 0.0
        self._on_deadline: Callable[[], None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._writable: asyncio.Future[None] | None = None
        self._reading_paused = False
        #: The client closed its side: it sends nothing more.
        self._eof = False

    # --- asyncio's calls -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.client = _peer(peer)
        self.host = str(peer[0]) if isinstance(peer, tuple) else str(peer)
        self.certified_user = certificate_user(transport.get_extra_info("peercert"))
        # Headers and body often go in separate segments; with Nagle's algorithm on, the
        # client's delayed ACK would hold each keep-alive reply back about 40 ms.
        transport.set_write_buffer_limits(high=_WRITE_BUFFER_BYTES)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        refusal = self.group.admit(self)
        if refusal is not None:
            self._refuse_connection(refusal)
            return
        self._admitted = True
        now = self._loop.time()
        self._request_deadline = now + self.limits.read_timeout
        self._expire_at(min(now + self.limits.head_timeout, self._request_deadline),
                        self._head_overdue)

    def data_received(self, data: bytes) -> None:
        if self._phase is _Phase.CLOSING:
            return  # read away (see _close)
        self.h11.receive_data(data)
        self._take_input(data)

    def eof_received(self) -> bool:
        self._eof = True
        if self._phase is not _Phase.CLOSING:
            self.h11.receive_data(b"")
            self._take_input(b"")
        elif self._on_deadline == self._end:
            self._end()
        # Over plain TCP, the reply to a request already received may still be written;
        # TLS closes either way.
        assert self.transport is not None
        return self.transport.get_extra_info("sslcontext") is None

    def pause_writing(self) -> None:
        self._writable = self._loop.create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    def connection_lost(self, exc: Exception | None) -> None:
        phase, self._phase = self._phase, _Phase.CLOSING
        self._on_deadline = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._writable is not None and not self._writable.done():
            self._writable.set_exception(_ClientGone("client closed the connection"))
            self._writable.exception()  # retrieved: nobody may be waiting
        if self._outcome is not None and phase is not _Phase.ANSWERING:
            self._outcome.description = self._outcome.description or "client closed the connection"
            self._log()
        if self._admitted:
            self.group.forget(self)
        log.debug("connection from %s ended: %s", self.client, exc or "closed")
        self.closed.set_result(None)

    def close_now(self) -> None:
        """Close the connection from outside: its reads end, its writes fail."""
        assert self.transport is not None
        self.transport.abort()

    # --- reading ----------------------------------------------------------------------------------

    def _take_input(self, data: bytes) -> None:
        """Go on with what the new input allows."""
        if self._phase is _Phase.HEAD:
            if self.waiting and data:
                self._first_byte()
            self._head += data
            self._read_head()
        elif self._phase is _Phase.BODY:
            self._read_body()
        elif self._phase is _Phase.DISCARDING:
            self._discard_body()
        elif len(self.h11.trailing_data[0]) > _HELD_BYTES:
            self._pause_reading()

    def _first_byte(self) -> None:
        """The first byte of a request arrived: its head and the whole of it are now due."""
        self.waiting = False
        if self.kept_alive_since is None:
            return  # the first request's deadlines run from the connection's start
        self.kept_alive_since = None
        now = self._loop.time()
        self._request_deadline = now + self.limits.read_timeout
        self._expire_at(min(now + self.limits.head_timeout, self._request_deadline),
                        self._head_overdue)

    def _read_head(self) -> None:
        limits = self.limits
        try:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as error:
                head.check_lines(bytes(self._head), limits.max_line_bytes, limits.max_headers)
                raise head.HeadError(error.error_status_hint, str(error)) from error
            if event is h11.NEED_DATA:
                head.check_lines(bytes(self._head), limits.max_line_bytes, limits.max_headers)
                return
            if not isinstance(event, h11.Request):
                self._close()  # ConnectionClosed
                return
            raw = bytes(self._head[: len(self._head) - len(self.h11.trailing_data[0])])
            head.check_lines(raw, limits.max_line_bytes, limits.max_headers)
            head.check_fields(event.headers)
        except head.HeadError as error:
            self._refuse_head(Refusal(error.status, error.message, close=True))
            return
        self._head.clear()
        self._begin(Envelope(event))

    def _begin(self, envelope: Envelope) -> None:
        """Check a request whose head arrived: its route, then who sends it."""
        self._envelope, self._outcome = envelope, _Outcome()
        self._phase = _Phase.CHECKING
        self._on_deadline = None  # a password check is bounded by its own means
        try:
            envelope.check_route()
            known, user = self._known_user(envelope)
        except Refusal as refusal:
            self._refuse(refusal)
            return
        if known:
            self._proceed(user)
        else:
            self._run(self._check_password(envelope.authorization or ""))

    def _known_user(self, envelope: Envelope) -> tuple[bool, str | None]:
        """Whether the request's user is known without a password check, and who."""
        authenticator = self.group.authenticator
        if authenticator is None:
            return True, None
        if self.certified_user is not None:
            return True, self.certified_user
        authorization = envelope.authorization
        if authorization is None:
            raise _challenge()
        user = authenticator.remembered(authorization)
        return user is not None, user

    async def _check_password(self, authorization: str) -> None:
        authenticator = self.group.authenticator
        assert authenticator is not None
        user = await self.group.check_password(authorization, self.client)
        if user is None:
            # Slows guessing from this address down, holding no thread.
            await asyncio.sleep(authenticator.failed(self.host))
            if self._phase is _Phase.CHECKING:
                self._refuse(_challenge())
            return
        authenticator.succeeded(self.host)
        if self._phase is _Phase.CHECKING:
            self._proceed(user)

    def _proceed(self, user: str | None) -> None:
        """The sender is known: check the CIM headers, then read the body."""
        envelope, outcome = self._envelope, self._outcome
        assert envelope is not None and outcome is not None
        outcome.user = user
        try:
            envelope.check_cim_headers()
            outcome.method, outcome.object = envelope.method, envelope.object
            envelope.body_length(self.limits.max_body_bytes)
            if self.group.saturated:
                log.warning("refusing a request from %s: %d requests wait for a worker",
                            self.client, self.limits.pending_requests)
                raise busy("the server is busy")
        except Refusal as refusal:
            self._refuse(refusal)
            return
        if self.h11.they_are_waiting_for_100_continue:
            self._write(h11.InformationalResponse(status_code=100, headers=[], reason=b"Continue"))
        self._phase = _Phase.BODY
        self._body = []
        self._expire_at(self._request_deadline, self._request_overdue)
        self._resume_reading()
        self._read_body()

    def _read_body(self) -> None:
        while (event := self._next_body_event()) is not None:
            if isinstance(event, h11.EndOfMessage):
                self._dispatch(b"".join(self._body))
                return
            self._body.append(event.data)

    def _next_body_event(self) -> h11.Data | h11.EndOfMessage | None:
        """The next part of the request body received; ``None`` until more arrives, or
        when the client left (then the connection closes)."""
        try:
            event = self.h11.next_event()
        except h11.RemoteProtocolError:
            event = h11.ConnectionClosed()
        if isinstance(event, h11.Data | h11.EndOfMessage):
            return event
        if event is not h11.NEED_DATA:
            if self._outcome is not None:
                self._outcome.description = "client closed the connection in the request body"
            self._close()
        return None

    def _dispatch(self, body: bytes) -> None:
        envelope, outcome = self._envelope, self._outcome
        assert envelope is not None and outcome is not None
        self._phase = _Phase.ANSWERING
        self._on_deadline = None
        self.group.dispatch(envelope.cim_request(body, outcome.user, self.client), self._replied)

    # --- answering --------------------------------------------------------------------------------

    def _replied(self, reply: CIMReply | None, error: BaseException | None) -> None:
        """A worker's answer to the request (on the loop)."""
        envelope, outcome = self._envelope, self._outcome
        assert envelope is not None and outcome is not None
        if self._phase is not _Phase.ANSWERING:  # the client left meanwhile
            if reply is not None and (reply.streamed or envelope.trailers):
                self.group.in_worker(_close_iterator, iter(reply.body))
            outcome.description = outcome.description or "client closed the connection"
            self._log()
            return
        if error is not None or reply is None:
            if not isinstance(error, Refusal):
                log.error("request from %s failed: %r", self.client, error)
                error = Refusal(500, "internal server error; see the server log")
            self._refuse(error)
        elif reply.status != 200:
            self._refuse(Refusal(reply.status, reply.description, reply.cim_error))
        elif reply.streamed or envelope.trailers:
            outcome.status, outcome.cim_status = 200, reply.cim_status
            self._run(self._send_streamed(envelope, outcome, reply))
        else:
            outcome.status, outcome.cim_status = 200, reply.cim_status
            body = b"".join(reply.body)
            self._write(envelope.reply(len(body), close=self.group.stopping),
                        h11.Data(data=body), h11.EndOfMessage())
            self._sent()

    def _refuse(self, refusal: Refusal) -> None:
        """Answer the request being served with ``refusal``."""
        envelope, outcome = self._envelope, self._outcome
        assert envelope is not None and outcome is not None
        outcome.status, outcome.description = refusal.status, refusal.description
        self._phase = _Phase.ANSWERING
        unread = self.h11.their_state is h11.SEND_BODY
        close = self.group.stopping or (unread and self.h11.they_are_waiting_for_100_continue)
        response, body = envelope.refusal(refusal, close)
        self._write(response, h11.Data(data=body), h11.EndOfMessage())
        self._sent()

    def _refuse_head(self, refusal: Refusal) -> None:
        """Answer a request whose head was refused or did not arrive, then close."""
        self._outcome = _Outcome(status=refusal.status, description=refusal.description)
        response, body = refusal_reply(refusal, close=True)
        try:
            self._write(response, h11.Data(data=body), h11.EndOfMessage())
        except h11.LocalProtocolError:
            pass
        self._log()
        self._close()

    def _refuse_connection(self, refusal: Refusal) -> None:
        """Answer ``refusal`` to a connection that will not be served, and close it."""
        response, body = refusal_reply(refusal, close=True)
        self._write(response, h11.Data(data=body), h11.EndOfMessage())
        # Read away the request the client may have sent, but only briefly: this
        # connection is not counted among the open ones.
        self._close(linger=min(self.limits.linger_timeout, 0.2))

    def _sent(self) -> None:
        """The reply is written: once the client takes it, serve the next request."""
        self._log()
        if self._writable is None:
            self._finish()
        else:
            self._run(self._drain_then_finish())

    async def _drain_then_finish(self) -> None:
        await self._drain()
        self._finish()

    def _finish(self) -> None:
        """Serve the next request if the connection may; reads away the body of a refused
        request when that is cheaper than a new connection."""
        self._served += 1
        state = self.h11
        if state.our_state is not h11.DONE or self.group.stopping:
            self._close()
        elif state.their_state is h11.SEND_BODY and not state.they_are_waiting_for_100_continue:
            self._phase = _Phase.DISCARDING
            self._expire_at(self._request_deadline, self._close)
            self._resume_reading()
            self._discard_body()
        elif state.their_state is h11.DONE:
            self._next_request()
        else:
            self._close()

    def _discard_body(self) -> None:
        while (event := self._next_body_event()) is not None:
            if isinstance(event, h11.EndOfMessage):
                self._next_request()
                return

    def _next_request(self) -> None:
        """Wait for the next request on a kept-alive connection, or read one already sent."""
        self.h11.start_next_cycle()
        self._phase = _Phase.HEAD
        self._envelope = None
        self._head = bytearray(self.h11.trailing_data[0])
        self.waiting = not self._head
        self._resume_reading()
        if self.waiting:
            self.kept_alive_since = self._loop.time()
            self._expire_at(self.kept_alive_since + self.limits.keepalive_timeout, self._close)
            return
        now = self._loop.time()
        self._request_deadline = now + self.limits.read_timeout
        self._expire_at(min(now + self.limits.head_timeout, self._request_deadline),
                        self._head_overdue)
        # A request sent before this one was answered (pipelined) is read in the loop's
        # next pass: answered here, a run of them refused at once would nest ever deeper.
        self._loop.call_soon(self._read_pipelined)

    def _read_pipelined(self) -> None:
        if self._phase is _Phase.HEAD:
            self._read_head()

    async def _send_streamed(self, envelope: Envelope, outcome: _Outcome, reply: CIMReply) -> None:
        """A chunked reply whose chunks are made by a worker a batch at a time.

        With ``TE: trailers`` the stream ends with the CIM status; without, a
        failure closes the connection before the last chunk.
        """
        trailers = envelope.trailers
        self._write(envelope.reply(None, trailers=trailers, close=self.group.stopping))
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
            self._write(*_data(batch.chunks),
                        envelope.status_trailers(outcome.cim_status, batch.description))
        elif batch.description is None:
            self._write(*_data(batch.chunks), h11.EndOfMessage())
        else:
            await self._send(*_data(batch.chunks))
            log.warning("aborted the reply to %s from %s: %s", outcome.method, self.client,
                        batch.description)
            outcome.description = batch.description
            self._log()
            self._close()
            return
        self._sent()

    # --- writing and closing ----------------------------------------------------------------------

    def _write(self, *events: h11.Event) -> None:
        assert self.transport is not None
        data = b"".join(self.h11.send(event) or b"" for event in events)
        if not self.transport.is_closing():
            self.transport.write(data)

    async def _send(self, *events: h11.Event) -> None:
        self._write(*events)
        await self._drain()

    async def _drain(self) -> None:
        """Wait until the client has taken enough of what was written; one that reads
        nothing for ``read_timeout`` is dropped."""
        if self._phase is _Phase.CLOSING:
            raise _ClientGone("client closed the connection")
        if self._writable is None:
            return
        try:
            async with asyncio.timeout(self.limits.read_timeout):
                await asyncio.shield(self._writable)
        except TimeoutError as error:
            raise _ClientGone("client stopped reading the reply") from error

    def _close(self, linger: float | None = None) -> None:
        """Close the connection.

        A client that may still be sending gets its input read away for
        ``linger`` seconds first (by default, when its request was not read
        whole, ``limits.linger_timeout``): closing with unread input makes the
        kernel answer with a reset, which can destroy the last reply before the
        client read it.
        """
        transport = self.transport
        if self._phase is _Phase.CLOSING or transport is None:
            return
        self._phase = _Phase.CLOSING
        self._resume_reading()
        if linger is None:
            unread = self.h11.their_state not in (h11.DONE, h11.IDLE, h11.CLOSED, h11.MUST_CLOSE)
            linger = self.limits.linger_timeout if unread else 0.0
        if linger and not self._eof and not transport.is_closing():
            if transport.can_write_eof():
                transport.write_eof()
            self._expire_at(self._loop.time() + linger, self._end)
        else:
            self._end()

    def _end(self) -> None:
        """Close the transport; one whose client takes nothing more is cut after a while."""
        assert self.transport is not None
        self.transport.close()
        self._expire_at(self._loop.time() + self.limits.linger_timeout, self.transport.abort)

    def _pause_reading(self) -> None:
        if not self._reading_paused and self.transport is not None:
            self._reading_paused = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self._reading_paused and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()

    # --- deadlines, tasks, the log ----------------------------------------------------------------

    def _expire_at(self, deadline: float, action: Callable[[], None]) -> None:
        """Call ``action`` at ``deadline`` (loop time) unless another deadline is set first.

        One timer serves all of a connection's deadlines: one moved later (the
        next request's) is noticed when the timer fires, so that serving a
        request arms no timer at all.
        """
        self._deadline, self._on_deadline = deadline, action
        if self._timer is not None and self._timer.when() > deadline:
            self._timer.cancel()
            self._timer = None
        if self._timer is None:
            self._timer = self._loop.call_at(deadline, self._deadline_reached)

    def _deadline_reached(self) -> None:
        self._timer = None
        action = self._on_deadline
        if action is None:
            return
        if self._loop.time() < self._deadline:
            self._timer = self._loop.call_at(self._deadline, self._deadline_reached)
            return
        self._on_deadline = None
        action()

    def _head_overdue(self) -> None:
        self._refuse_head(Refusal(408, "request head not received in time", close=True))

    def _request_overdue(self) -> None:
        if self._phase is _Phase.BODY:
            self._refuse(Refusal(408, "request not received in time", close=True))

    def _run(self, step: Coroutine[Any, Any, None]) -> None:
        """Run ``step`` of the current exchange as a task: it has something to wait for."""
        task = self._loop.create_task(self._guarded(step))
        _running.add(task)
        task.add_done_callback(_running.discard)

    async def _guarded(self, step: Coroutine[Any, Any, None]) -> None:
        try:
            await step
        except (_ClientGone, ConnectionError, OSError) as error:
            if self._outcome is not None:
                self._outcome.description = str(error) or "client closed the connection"
                self._log()
            self._close()
        except Exception:
            log.exception("unexpected error serving %s", self.client)
            self._close()

    def _log(self) -> None:
        if self._outcome is not None:
            _log_request(self.client, self._outcome)
            self._outcome = None


#: The tasks of connections, held until they end (the loop keeps only weak references).
_running: set[asyncio.Task[None]] = set()


def _challenge() -> Refusal:
    return Refusal(
        401, "authentication required", headers=[("WWW-Authenticate", f'Basic realm="{REALM}"')]
    )


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
        "client=%s user=%r method=%r object=%r status=%d cim_status=%d duration_ms=%.2f%s",
        client,
        outcome.user,
        outcome.method,
        outcome.object,
        outcome.status,
        outcome.cim_status,
        (time.monotonic() - outcome.started) * 1000,
        f" error={outcome.description!r}" if outcome.description else "",
    )
