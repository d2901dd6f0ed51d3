"""One client connection of the HTTP transport: its requests one after the other, on the loop.

A :class:`Connection` reads a request head and body through h11 within the
deadlines of :class:`~virtcim.http.server.Limits`, checks the DSP0200
envelope (:mod:`virtcim.http.envelope`), hands the whole request to a worker
thread of its :class:`~virtcim.http.server.HTTPServerGroup`, and writes the
reply: whole, or streamed in batches that a worker makes while the loop
sends the last. It logs one line per request.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from collections.abc import Iterator, Sequence
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
_READ_BYTES = 64 * 1024


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


class Connection:
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
                raise busy("the server is busy")
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

