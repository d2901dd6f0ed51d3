"""Delivery: ExportIndication requests to one listener, from its own queue and thread.

Each listener destination has a :class:`ListenerSender`: a bounded queue
and one thread that posts the queued indications, in order, as DSP0200
export messages over HTTP or HTTPS (:mod:`http.client`, one kept-alive
connection). Producers only append to the queue, so a slow or dead
listener holds up no other listener, no libvirt event and no request; when
its queue is full, what does not fit is dropped and counted.

DSP1054 reliable delivery: each indication carries the destination's
``SequenceContext`` (new for every server start) and its ``SequenceNumber``
(0, 1, 2... per destination; a retry sends the same number), so a listener
sees what it missed and what it got twice. A failed delivery is retried
after the service's ``DeliveryRetryInterval``, doubled for each further
retry, up to ``DeliveryRetryAttempts`` times; then the sender hands it back
(``on_failure``) for the subscription's ``OnFatalErrorPolicy``.
"""

from __future__ import annotations

import http.client
import itertools
import logging
import queue
import ssl
import threading
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from pywbem import CIM_ERR_INVALID_PARAMETER, CIMError, CIMInstance, Sint64

from virtcim.cimxml.encode import encode_export_request

__all__ = ["Delivery", "ListenerSender", "RetryPolicy", "checked_url"]

log = logging.getLogger(__name__)

#: Seconds a listener has to accept a connection and answer one export request.
DEFAULT_TIMEOUT = 10.0
#: Indications a destination's queue holds before it drops.
DEFAULT_CAPACITY = 1000
#: The largest SequenceNumber; the next one is 0 again (DSP1054).
_MAX_SEQUENCE = 2**63 - 1
_SCHEMES = {"http": 80, "https": 443}
_HEADERS = {
    "Content-Type": 'application/xml; charset="utf-8"',
    "CIMExport": "MethodRequest",
    "CIMExportMethod": "ExportIndication",
    "CIMProtocolVersion": "1.0",
}


@dataclass
class RetryPolicy:
    """The indication service's ``DeliveryRetryAttempts`` and ``DeliveryRetryInterval`` (s).

    Shared by every sender and read at each retry, so a change applies at once.
    """

    attempts: int = 3
    interval: float = 30.0


@dataclass(frozen=True)
class Delivery:
    """An indication for one destination, and the subscription it is delivered for."""

    indication: CIMInstance
    subscription: Hashable


class DeliveryError(Exception):
    """A listener that answered, but not with a successful export response."""


def checked_url(text: str) -> SplitResult:
    """``text`` as an http or https URL of a listener; ``CIM_ERR_INVALID_PARAMETER`` otherwise."""
    try:
        url = urlsplit(text.strip())
        port = url.port
    except ValueError as error:
        raise CIMError(CIM_ERR_INVALID_PARAMETER,
                       f"listener destination {text!r} is not a URL: {error}") from None
    if url.scheme.lower() not in _SCHEMES:
        raise CIMError(CIM_ERR_INVALID_PARAMETER,
                       f"listener destination {text!r}: the scheme must be http or https")
    if not url.hostname:
        raise CIMError(CIM_ERR_INVALID_PARAMETER,
                       f"listener destination {text!r} names no host")
    if url.username is not None or url.fragment or any(c.isspace() for c in text.strip()):
        raise CIMError(CIM_ERR_INVALID_PARAMETER,
                       f"listener destination {text!r}: only scheme, host, port and path "
                       f"may be given")
    if port == 0:
        raise CIMError(CIM_ERR_INVALID_PARAMETER, f"listener destination {text!r}: port 0")
    return url


class ListenerSender:
    """The queue and the thread that deliver to one listener URL.

    ``on_failure`` is called (in the sender's thread) with each delivery
    that failed every retry.
    """

    def __init__(self, name: str, url: str, policy: RetryPolicy,
                 on_failure: Callable[[Delivery], None], *,
                 capacity: int = DEFAULT_CAPACITY, timeout: float = DEFAULT_TIMEOUT,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.name = name
        self.url = url
        self.sequence_context = f"{uuid.uuid4()}:{name}"
        self.dropped = 0
        self.delivered = 0
        self.failed = 0
        self._split = checked_url(url)
        self._policy = policy
        self._on_failure = on_failure
        self._timeout = timeout
        self._ssl_context = ssl_context
        self._queue: queue.Queue[Delivery | None] = queue.Queue(capacity)
        self._numbers = itertools.count()
        self._stopping = threading.Event()
        self._connection: http.client.HTTPConnection | None = None
        self._thread = threading.Thread(target=self._run, name=f"indications to {name}",
                                        daemon=True)
        self._thread.start()

    def submit(self, delivery: Delivery) -> bool:
        """Queue ``delivery``; False (counted in :attr:`dropped`, logged) when the queue is full."""
        try:
            self._queue.put_nowait(delivery)
            return True
        except queue.Full:
            self.dropped += 1
            log.warning("indication queue of listener %s (%s) is full: %s dropped "
                        "(%d so far)", self.name, self.url, delivery.indication.classname,
                        self.dropped)
            return False

    @property
    def pending(self) -> int:
        """How many indications wait in the queue."""
        return self._queue.qsize()

    def close(self, wait: float = 5.0) -> None:
        """Stop the thread: what is queued is not delivered."""
        self._stopping.set()
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass
        self._thread.join(wait)

    # -- the sender thread ----------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            delivery = self._queue.get()
            if delivery is None:
                break
            self._deliver(delivery)
        self._disconnect()

    def _deliver(self, delivery: Delivery) -> None:
        number = next(self._numbers) % (_MAX_SEQUENCE + 1)
        indication = delivery.indication
        indication["SequenceContext"] = self.sequence_context
        indication["SequenceNumber"] = Sint64(number)
        body = encode_export_request(str(number), indication)
        for attempt in range(self._policy.attempts + 1):
            try:
                self._post(body)
            except (OSError, http.client.HTTPException, DeliveryError) as error:
                self._disconnect()
                if attempt == self._policy.attempts:
                    log.warning("indication %d to listener %s (%s) failed: %s; no retry left",
                                number, self.name, self.url, error)
                    break
                delay = self._policy.interval * 2**attempt
                log.warning("indication %d to listener %s (%s) failed: %s; retry %d of %d "
                            "in %g s", number, self.name, self.url, error, attempt + 1,
                            self._policy.attempts, delay)
                if self._stopping.wait(delay):
                    return
            else:
                self.delivered += 1
                return
        self.failed += 1
        self._on_failure(delivery)

    def _post(self, body: bytes) -> None:
        conn = self._connection or self._connect()
        conn.request("POST", self._split.path or "/", body, _HEADERS)
        response = conn.getresponse()
        answer = response.read()
        if response.status != 200:
            raise DeliveryError(f"HTTP {response.status} {response.reason}")
        if b"<ERROR" in answer:
            raise DeliveryError("the listener answered with a CIM error")
        if response.will_close:
            self._disconnect()

    def _connect(self) -> http.client.HTTPConnection:
        split = self._split
        host, port = split.hostname or "", split.port or _SCHEMES[split.scheme.lower()]
        if split.scheme.lower() == "https":
            self._connection = http.client.HTTPSConnection(
                host, port, timeout=self._timeout, context=self._ssl_context)
        else:
            self._connection = http.client.HTTPConnection(host, port, timeout=self._timeout)
        return self._connection

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
