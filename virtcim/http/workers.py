"""Worker threads that run blocking calls for the event loop and hand results back to it."""

from __future__ import annotations

import asyncio
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

