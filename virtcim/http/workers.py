"""Worker threads that run blocking calls for the event loop and hand results back to it."""

from __future__ import annotations

import asyncio
import collections
import functools
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["Workers"]

T = TypeVar("T")


class Workers:
    """Threads that run calls for the event loop and hand the results back to it.

    ``loop.run_in_executor`` with the standard library's pool costs twice as
    much per call (a ``concurrent.futures.Future`` with its lock and
    condition, then an asyncio future chained to it): about 20 us more, on a
    GetInstance of some 300 us.
    """

    def __init__(self, count: int, name: str, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        #: Finished calls whose callbacks the loop has yet to run.
        self._finished: collections.deque[tuple[Done, Any, BaseException | None]] = (
            collections.deque()
        )
        self._delivery_due = False
        self._threads = [
            threading.Thread(target=self._run, name=f"{name}-{n}", daemon=True)
            for n in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def call(self, function: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """``function(*args)`` in one of the threads, as a future of the loop."""
        future = self._loop.create_future()
        self.submit(functools.partial(_settle, future), function, *args)
        return future

    def submit(self, done: Done, function: Callable[..., Any], *args: Any) -> None:
        """``function(*args)`` in one of the threads, then ``done(result, error)`` on the
        loop (a future would cost the loop a second pass, for the callbacks it schedules)."""
        self._calls.put((done, function, args))

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
            done, function, args = call
            result, error = None, None
            try:
                result = function(*args)
            except BaseException as raised:  # the caller gets it, whatever it is
                error = raised
            self._finished.append((done, result, error))
            # Calls that finish while the loop has yet to deliver earlier ones wake it no
            # more: each wake-up is a write to its self-pipe, a read, and a pass of the loop,
            # and each lets go of the interpreter lock. (Appended first, then the flag read:
            # the loop clears the flag before it empties the queue, so nothing is left behind.)
            if not self._delivery_due:
                self._delivery_due = True
                try:
                    self._loop.call_soon_threadsafe(self._deliver)
                except RuntimeError:  # the loop is closed: nobody waits for the result
                    pass

    def _deliver(self) -> None:
        """Run the callbacks of the calls finished so far (on the loop)."""
        self._delivery_due = False
        while self._finished:
            done, result, error = self._finished.popleft()
            try:
                done(result, error)
            except Exception as raised:
                self._loop.call_exception_handler(
                    {"message": "worker callback failed", "exception": raised}
                )


#: Called on the loop with a call's result, or the exception it raised.
Done = Callable[[Any, "BaseException | None"], None]
_Call = tuple[Done, Callable[..., Any], tuple[Any, ...]]


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)

