"""Things that end at a time: one thread that sleeps until the next deadline.

A subscription with a ``SubscriptionDuration`` (DSP1054) is removed when it
runs out. :class:`Deadlines` keeps one deadline per key and calls its
``expire`` function with each key whose deadline has passed, from a thread
that waits on a condition until the earliest deadline or until a deadline
is set or cancelled: it never wakes for nothing, and its work is bounded by
the number of keys (the callers bound those).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable

__all__ = ["Deadlines"]

log = logging.getLogger(__name__)


class Deadlines:
    """Calls ``expire(key)`` once the deadline of ``key`` (seconds since the epoch) has passed.

    ``expire`` runs in the deadlines' thread, without its lock held.
    """

    def __init__(self, expire: Callable[[Hashable], None], name: str,
                 clock: Callable[[], float] = time.time) -> None:
        self._expire = expire
        self._clock = clock
        self._deadlines: dict[Hashable, float] = {}
        self._changed = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = False

    def set(self, key: Hashable, deadline: float) -> None:
        """Expire ``key`` at ``deadline`` (replacing any earlier deadline of it)."""
        with self._changed:
            self._deadlines[key] = deadline
            if not self._started:
                self._started = True
                self._thread.start()
            self._changed.notify()

    def cancel(self, key: Hashable) -> None:
        with self._changed:
            if self._deadlines.pop(key, None) is not None:
                self._changed.notify()

    def remaining(self, key: Hashable) -> float | None:
        """Seconds until ``key`` expires (0 when due); ``None`` without a deadline."""
        with self._changed:
            deadline = self._deadlines.get(key)
        return None if deadline is None else max(0.0, deadline - self._clock())

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify()
        if self._started:
            self._thread.join(5)

    def _run(self) -> None:
        while True:
            with self._changed:
                due = self._wait_for_due()
                if due is None:
                    return
            for key in due:
                try:
                    self._expire(key)
                except Exception:
                    log.exception("expiry of %r failed", key)

    def _wait_for_due(self) -> list[Hashable] | None:
        """Sleep until some deadline passes; those keys, forgotten. ``None`` once closed."""
        while not self._closed:
            now = self._clock()
            due = [key for key, deadline in self._deadlines.items() if deadline <= now]
            if due:
                for key in due:
                    del self._deadlines[key]
                return due
            earliest = min(self._deadlines.values(), default=None)
            self._changed.wait(None if earliest is None else earliest - now)
        return None
