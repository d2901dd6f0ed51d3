"""Locks by key, made when first wanted and dropped when no thread holds or waits for one.

A change of a guest's definition reads it, edits it and defines it again;
two such changes of one guest at once would lose the first. The adapter
serialises them with one lock per guest UUID (:meth:`Hypervisor.editing
<providers.virt.connection.Hypervisor.editing>`), and changes of different
guests still run side by side.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager

__all__ = ["KeyedLocks"]


class KeyedLocks:
    """One re-entrant lock per key, for as long as a thread holds or awaits it."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        #: key -> (lock, how many threads hold or await it)
        self._locks: dict[str, tuple[threading.RLock, int]] = {}

    @contextmanager
    def holding(self, keys: Iterable[str]) -> Iterator[None]:
        """Hold the locks of ``keys``, taken in sorted order so that two threads
        wanting some of the same keys never wait for each other in a circle."""
        with ExitStack() as stack:
            for key in sorted(set(keys)):
                stack.enter_context(self._held(key))
            yield

    def __len__(self) -> int:
        with self._mutex:
            return len(self._locks)

    @contextmanager
    def _held(self, key: str) -> Iterator[None]:
        with self._mutex:
            lock, users = self._locks.get(key) or (threading.RLock(), 0)
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._mutex:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)
