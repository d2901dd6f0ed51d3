"""Pulled enumerations (DSP0200 1.3+): Open*, Pull*, CloseEnumeration.

An Open* call leaves an enumeration context behind: the lazy iterator of the
whole result, consumed a page per Pull, so memory stays flat however long the
result. Contexts are few and short-lived by design: a bounded table, an
opaque random id, an owner (only the user who opened one may use it) and an
expiry (OperationTimeout seconds after the last request), enforced both by a
background reaper and on every access.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pywbem import (
    CIM_ERR_INVALID_ENUMERATION_CONTEXT,
    CIM_ERR_INVALID_OPERATION_TIMEOUT,
    CIM_ERR_PULL_CANNOT_BE_ABANDONED,
    CIM_ERR_SERVER_LIMITS_EXCEEDED,
    CIMError,
)

from virtcim.cimxml.messages import PullResult

__all__ = ["EnumerationContexts", "PullSettings"]

log = logging.getLogger(__name__)

_END = object()


@dataclass(frozen=True)
class PullSettings:
    """The server's limits for pulled enumerations.

    ``default_timeout`` applies when the client sends no OperationTimeout;
    a larger one than ``max_timeout``, or 0 ("never expire", which this
    server does not offer), is ``CIM_ERR_INVALID_OPERATION_TIMEOUT``.
    MaxObjectCount is capped at ``max_object_count``.
    """

    default_timeout: int = 30
    max_timeout: int = 300
    max_object_count: int = 10_000
    max_contexts: int = 1_000
    reap_interval: float = 10.0


@dataclass(eq=False)
class _Enumeration:
    """One open enumeration: what it yields, to whom, until when."""

    kind: str
    namespace: str
    user: str | None
    items: Iterator[Any]
    timeout: int
    expires: float
    busy: threading.Lock = field(default_factory=threading.Lock)
    ahead: Any = _END

    def take(self, count: int) -> tuple[list[Any], bool]:
        """Up to ``count`` items, and whether the sequence ended after them."""
        batch: list[Any] = []
        while len(batch) < count:
            item = self._next()
            if item is _END:
                return batch, True
            batch.append(item)
        self.ahead = self._next()
        return batch, self.ahead is _END

    def _next(self) -> Any:
        if self.ahead is not _END:
            item, self.ahead = self.ahead, _END
            return item
        return next(self.items, _END)


class EnumerationContexts:
    """The table of open enumerations, shared by all request threads."""

    def __init__(self, settings: PullSettings, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self._settings = settings
        self._clock = clock
        self._table: dict[str, _Enumeration] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._reaper: threading.Thread | None = None

    def timeout(self, requested: int | None) -> int:
        """The OperationTimeout to use, or ``CIM_ERR_INVALID_OPERATION_TIMEOUT``."""
        if requested is None:
            return self._settings.default_timeout
        if requested == 0:
            raise CIMError(CIM_ERR_INVALID_OPERATION_TIMEOUT,
                           "OperationTimeout 0 (never expire) is not supported")
        if requested > self._settings.max_timeout:
            raise CIMError(CIM_ERR_INVALID_OPERATION_TIMEOUT,
                           f"OperationTimeout {requested} exceeds the server's maximum "
                           f"of {self._settings.max_timeout} seconds")
        return requested

    def open(self, kind: str, namespace: str, user: str | None, items: Iterator[Any],
             timeout: int, max_count: int) -> PullResult:
        """Start an enumeration and answer its first page."""
        self._start_reaper()
        enum = _Enumeration(kind, namespace, user, items, timeout, self._clock() + timeout)
        context_id = self._reserve(enum)
        with enum.busy:
            return self._page(context_id, enum, max_count)

    def pull(self, kind: str, namespace: str, context_id: str, user: str | None,
             max_count: int) -> PullResult:
        enum = self._checkout(kind, namespace, context_id, user)
        try:
            return self._page(context_id, enum, max_count)
        finally:
            enum.busy.release()

    def close(self, namespace: str, context_id: str, user: str | None) -> None:
        self._checkout(None, namespace, context_id, user)
        self._remove(context_id)

    def count(self, namespace: str, context_id: str, user: str | None) -> int | None:
        """EnumerationCount: always unknown, since results are never materialized."""
        enum = self._checkout(None, namespace, context_id, user)
        enum.expires = self._clock() + enum.timeout
        enum.busy.release()
        return None

    def reap(self) -> None:
        """Drop every expired enumeration that no request is using."""
        now = self._clock()
        with self._lock:
            expired = [cid for cid, enum in self._table.items()
                       if enum.expires <= now and not enum.busy.locked()]
            for cid in expired:
                del self._table[cid]
        if expired:
            log.debug("dropped %d expired enumeration contexts", len(expired))

    def stop(self) -> None:
        self._stop.set()
        if self._reaper is not None:
            self._reaper.join(timeout=5)

    def __len__(self) -> int:
        return len(self._table)

    # -- internals ------------------------------------------------------------

    def _page(self, context_id: str, enum: _Enumeration, max_count: int) -> PullResult:
        count = min(max_count, self._settings.max_object_count)
        try:
            items, ended = enum.take(count)
        except BaseException:
            # DSP0200: without ContinueOnError an error ends the enumeration.
            self._remove(context_id)
            raise
        if ended:
            self._remove(context_id)
            return PullResult(items, True, "")
        enum.expires = self._clock() + enum.timeout
        return PullResult(items, False, context_id)

    def _reserve(self, enum: _Enumeration) -> str:
        self.reap()
        context_id = secrets.token_urlsafe(18)
        with self._lock:
            if len(self._table) >= self._settings.max_contexts:
                raise CIMError(CIM_ERR_SERVER_LIMITS_EXCEEDED,
                               f"too many open enumerations (at most "
                               f"{self._settings.max_contexts}); close some or let them expire")
            self._table[context_id] = enum
        return context_id

    def _checkout(self, kind: str | None, namespace: str, context_id: str,
                  user: str | None) -> _Enumeration:
        """The caller's live enumeration ``context_id``, locked for this request.

        Unknown, expired, someone else's, of another namespace or of another
        kind all look the same to the client: an invalid context.
        """
        with self._lock:
            enum = self._table.get(context_id)
            if enum is not None and enum.expires <= self._clock() and not enum.busy.locked():
                del self._table[context_id]
                enum = None
        if enum is None or enum.user != user or enum.namespace != namespace or (
                kind is not None and enum.kind != kind):
            raise CIMError(CIM_ERR_INVALID_ENUMERATION_CONTEXT,
                           "no such enumeration context (closed, expired or never opened)")
        if not enum.busy.acquire(blocking=False):
            raise CIMError(CIM_ERR_PULL_CANNOT_BE_ABANDONED,
                           "another request is using this enumeration context")
        return enum

    def _remove(self, context_id: str) -> None:
        with self._lock:
            self._table.pop(context_id, None)

    def _start_reaper(self) -> None:
        if self._reaper is not None:
            return
        with self._lock:
            if self._reaper is None:
                self._reaper = threading.Thread(target=self._reap_forever,
                                                name="virtcim-pull-reaper", daemon=True)
                self._reaper.start()

    def _reap_forever(self) -> None:
        while not self._stop.wait(self._settings.reap_interval):
            self.reap()
