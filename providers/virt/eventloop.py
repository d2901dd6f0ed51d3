"""libvirt's event loop, run in Python by one daemon thread, and connections it does not watch.

libvirt hands each connection's socket to the event loop, so that events and keepalive
probes are read between calls. Around every call made on a connection it takes the
socket out of the loop and puts it back, and the loop's thread wakes twice to hear it:
on QEMU a request about one guest spent some 150 us of its 850 so. A connection opened
inside :meth:`EventLoop.unwatched` gets no place in the loop: its calls wake no one, but
it has no events and no keepalive, so a hypervisor reached through a daemon keeps one
connection of each kind (:class:`~providers.virt.connection.Hypervisor`).

The loop is libvirt's event-implementation interface (``virEventRegisterImpl``):
handles (a descriptor and the events wanted of it) and timers, changed by any thread
under a lock and dispatched by the loop's thread, which a pipe wakes when another
thread changes them. libvirt's own default loop has no way to leave a connection out.
"""

from __future__ import annotations

import itertools
import logging
import os
import selectors
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import libvirt

__all__ = ["EventLoop"]

_log = logging.getLogger(__name__)

_READABLE = libvirt.VIR_EVENT_HANDLE_READABLE
_WRITABLE = libvirt.VIR_EVENT_HANDLE_WRITABLE


@dataclass
class _Handle:
    fd: int
    events: int
    callback: Any = field(repr=False)
    opaque: Any = field(repr=False)

    @property
    def mask(self) -> int:
        """The selector events wanted."""
        return ((selectors.EVENT_READ if self.events & _READABLE else 0)
                | (selectors.EVENT_WRITE if self.events & _WRITABLE else 0))  # fmt: skip


@dataclass
class _Timer:
    #: Milliseconds between calls; 0 calls it on every pass of the loop, -1 never.
    interval: int
    due: float
    callback: Any = field(repr=False)
    opaque: Any = field(repr=False)

    def reset(self, interval: int) -> None:
        self.interval = interval
        self.due = _due(interval)


class EventLoop:
    """libvirt's event implementation: :meth:`start` registers it and starts its thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._handles: dict[int, _Handle] = {}
        self._timers: dict[int, _Timer] = {}
        #: The opaque values of removed handles and timers, for libvirt to free.
        self._freed: list[Any] = []
        self._handles_changed = False
        #: What the selector watches: each descriptor's events and the handles asking.
        self._watched: dict[int, tuple[int, frozenset[int]]] = {}
        self._selector = selectors.DefaultSelector()
        self._wakeup_read, self._wakeup_write = os.pipe()
        for end in (self._wakeup_read, self._wakeup_write):
            os.set_blocking(end, False)
        self._selector.register(self._wakeup_read, selectors.EVENT_READ)
        self._refusing = threading.local()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Register with libvirt and start the loop's thread (once; thread-safe)."""
        with self._lock:
            if self._thread is not None:
                return
            libvirt.virEventRegisterImpl(self._add_handle, self._update_handle,
                                         self._remove_handle, self._add_timeout,
                                         self._update_timeout, self._remove_timeout)  # fmt: skip
            self._thread = threading.Thread(target=self._run, name="libvirt-events", daemon=True)
            self._thread.start()

    @contextmanager
    def unwatched(self) -> Iterator[list[int]]:
        """Within the block, what this thread opens gets no place in the loop.

        Yields the list of the descriptors libvirt asked to have watched meanwhile (a
        connection's socket), filled as it asks.
        """
        refused: list[int] = []
        self._refusing.descriptors = refused
        try:
            yield refused
        finally:
            self._refusing.descriptors = None

    # -- libvirt's side: any thread ---------------------------------------------------------

    def _add_handle(self, fd: int, events: int, callback: Any, opaque: Any) -> int:
        refused = getattr(self._refusing, "descriptors", None)
        if refused is not None:
            refused.append(fd)
            return -1  # libvirt then leaves the connection's socket out of the loop
        with self._lock:
            watch = next(self._ids)
            self._handles[watch] = _Handle(fd, events, callback, opaque)
            self._changed(handles=True)
        return watch

    def _update_handle(self, watch: int, events: int) -> None:
        with self._lock:
            handle = self._handles.get(watch)
            if handle is not None and handle.events != events:
                handle.events = events
                self._changed(handles=True)

    def _remove_handle(self, watch: int) -> int:
        with self._lock:
            handle = self._handles.pop(watch, None)
            if handle is None:
                return -1
            self._freed.append(handle.opaque)
            self._changed(handles=True)
        return 0

    def _add_timeout(self, interval: int, callback: Any, opaque: Any) -> int:
        with self._lock:
            timer = next(self._ids)
            self._timers[timer] = _Timer(interval, _due(interval), callback, opaque)
            self._changed()
        return timer

    def _update_timeout(self, timer: int, interval: int) -> None:
        with self._lock:
            found = self._timers.get(timer)
            if found is not None:
                found.reset(interval)
                self._changed()

    def _remove_timeout(self, timer: int) -> int:
        with self._lock:
            found = self._timers.pop(timer, None)
            if found is None:
                return -1
            self._freed.append(found.opaque)
            self._changed()
        return 0

    def _changed(self, handles: bool = False) -> None:
        """Note a change (lock held), and wake the loop unless this is its own thread,
        which looks at the changes before it next waits."""
        self._handles_changed |= handles
        if threading.current_thread() is not self._thread:
            try:
                os.write(self._wakeup_write, b"\0")
            except BlockingIOError:
                pass  # woken already

    # -- the loop's side ------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                self._pass()
            except Exception:  # a callback's failure must not end the loop
                _log.exception("libvirt event loop pass failed")

    def _pass(self) -> None:
        with self._lock:
            if self._handles_changed:
                self._handles_changed = False
                self._watch_descriptors()
            timeout = self._timeout()
            freed, self._freed = self._freed, []
        for opaque in freed:
            libvirt.virEventInvokeFreeCallback(opaque)
        for key, mask in self._selector.select(timeout):
            if key.fd == self._wakeup_read:
                _drain(self._wakeup_read)
            else:
                self._dispatch_handles(key.fd, mask)
        self._dispatch_timers()

    def _watch_descriptors(self) -> None:
        """Make the selector watch what the handles ask (lock held).

        A descriptor is registered afresh when the handles asking for it change:
        its number may be another socket's now, which the selector would not know
        (the kernel forgets a closed descriptor by itself).
        """
        wanted: dict[int, tuple[int, frozenset[int]]] = {}
        for watch, handle in self._handles.items():
            if handle.mask:
                mask, watches = wanted.get(handle.fd, (0, frozenset()))
                wanted[handle.fd] = (mask | handle.mask, watches | {watch})
        for fd, (_, watches) in self._watched.items():
            if wanted.get(fd, (0, frozenset()))[1] != watches:
                self._selector.unregister(fd)
        watched = {}
        for fd, (mask, watches) in wanted.items():
            was = self._watched.get(fd)
            try:
                if was is None or was[1] != watches:
                    self._selector.register(fd, mask)
                elif was[0] != mask:
                    self._selector.modify(fd, mask)
            except OSError as error:  # closed before its handle was removed
                _log.debug("libvirt handle on descriptor %d not watched: %s", fd, error)
                continue
            watched[fd] = (mask, watches)
        self._watched = watched

    def _timeout(self) -> float | None:
        """Seconds until the next timer is due (lock held); ``None`` when none is set."""
        dues = [timer.due for timer in self._timers.values() if timer.interval >= 0]
        return max(0.0, min(dues) - time.monotonic()) if dues else None

    def _dispatch_handles(self, fd: int, mask: int) -> None:
        # a hang-up or an error reads as both events, as with poll
        events = ((_READABLE if mask & selectors.EVENT_READ else 0)
                  | (_WRITABLE if mask & selectors.EVENT_WRITE else 0))  # fmt: skip
        with self._lock:
            due = [(watch, handle) for watch, handle in self._handles.items()
                   if handle.fd == fd and handle.events & events]  # fmt: skip
        for watch, handle in due:
            handle.callback(watch, fd, events & handle.events, handle.opaque)

    def _dispatch_timers(self) -> None:
        now = time.monotonic()
        with self._lock:
            due = [(timer, found) for timer, found in self._timers.items()
                   if found.interval >= 0 and found.due <= now]  # fmt: skip
            for _, found in due:
                found.reset(found.interval)
        for timer, found in due:
            found.callback(timer, found.opaque)


def _due(interval: int) -> float:
    """When a timer set now to ``interval`` milliseconds is next due."""
    return time.monotonic() + max(interval, 0) / 1000


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass
