"""libvirt's event loop in Python: handles and timers as libvirt asks for them, one pass at a
time in the test's thread (the loop is never registered with libvirt here)."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator

import libvirt
import pytest

from providers.virt.eventloop import EventLoop

READABLE, WRITABLE = libvirt.VIR_EVENT_HANDLE_READABLE, libvirt.VIR_EVENT_HANDLE_WRITABLE


class Calls:
    """What the loop called back: (kind, id, events) in order, and the opaques freed."""

    def __init__(self) -> None:
        self.made: list[tuple[str, int, int | None]] = []
        self.freed: list[object] = []

    def handle(self, watch: int, fd: int, events: int, opaque: object) -> None:
        self.made.append(("handle", watch, events))

    def timer(self, timer: int, opaque: object) -> None:
        self.made.append(("timer", timer, None))

    def take(self) -> list[tuple[str, int, int | None]]:
        made, self.made = self.made, []
        return made


@pytest.fixture
def calls(monkeypatch) -> Calls:
    recorded = Calls()
    monkeypatch.setattr(libvirt, "virEventInvokeFreeCallback", recorded.freed.append)
    return recorded


@pytest.fixture
def loop() -> EventLoop:
    return EventLoop()


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    ends = socket.socketpair()
    yield ends
    for end in ends:
        end.close()


def run_pass(loop: EventLoop, timeout: float = 0.0) -> None:
    """One pass that waits at most ``timeout`` for something to happen."""
    loop._add_timeout(int(timeout * 1000), lambda *_: None, None)
    loop._pass()


def test_a_handle_is_called_when_its_descriptor_is_ready(loop, calls, pair):
    mine, peer = pair
    watch = loop._add_handle(mine.fileno(), READABLE, calls.handle, "opaque")
    run_pass(loop)
    assert calls.take() == []
    peer.send(b"x")
    run_pass(loop)
    assert calls.take() == [("handle", watch, READABLE)]


def test_a_handle_wanting_no_events_is_not_called(loop, calls, pair):
    mine, peer = pair
    watch = loop._add_handle(mine.fileno(), READABLE, calls.handle, None)
    peer.send(b"x")
    loop._update_handle(watch, 0)
    run_pass(loop)
    assert calls.take() == []
    loop._update_handle(watch, READABLE | WRITABLE)
    run_pass(loop)
    assert calls.take() == [("handle", watch, READABLE | WRITABLE)]


def test_a_removed_handle_is_not_called_and_its_opaque_is_freed_on_the_next_pass(
        loop, calls, pair):
    mine, peer = pair
    watch = loop._add_handle(mine.fileno(), READABLE, calls.handle, "opaque")
    peer.send(b"x")
    assert loop._remove_handle(watch) == 0
    assert calls.freed == []
    run_pass(loop)
    assert calls.take() == [] and calls.freed == ["opaque"]
    assert loop._remove_handle(watch) == -1


def test_a_descriptor_number_taken_by_another_socket_is_watched_afresh(loop, calls):
    first, first_peer = socket.socketpair()
    watch = loop._add_handle(first.fileno(), READABLE, calls.handle, None)
    run_pass(loop)
    number = first.fileno()
    loop._remove_handle(watch)
    first.close()  # the kernel forgets it; the selector does not know
    second, second_peer = socket.socketpair()  # most likely given that number anew
    if second.fileno() != number:
        os.dup2(second.fileno(), number)
    try:
        again = loop._add_handle(number, READABLE, calls.handle, None)
        second_peer.send(b"x")
        run_pass(loop)
        assert calls.take() == [("handle", again, READABLE)]
    finally:
        if second.fileno() != number:
            os.close(number)
        for end in (second, second_peer, first_peer):
            end.close()


def test_a_connection_opened_unwatched_gets_no_handle(loop, calls, pair):
    mine, _ = pair
    with loop.unwatched() as refused:
        assert loop._add_handle(mine.fileno(), READABLE, calls.handle, None) == -1
    assert refused == [mine.fileno()]
    assert loop._add_handle(mine.fileno(), READABLE, calls.handle, None) > 0


def test_only_the_thread_inside_unwatched_is_refused(loop, calls, pair):
    mine, _ = pair
    added = []
    with loop.unwatched() as refused:
        other = threading.Thread(target=lambda: added.append(
            loop._add_handle(mine.fileno(), READABLE, calls.handle, None)))
        other.start()
        other.join(10)
    assert refused == [] and added[0] > 0


def test_timers_fire_on_every_pass_at_zero_never_at_minus_one_and_when_due(loop, calls):
    every = loop._add_timeout(0, calls.timer, None)
    never = loop._add_timeout(-1, calls.timer, None)
    later = loop._add_timeout(60_000, calls.timer, None)
    loop._pass()
    loop._pass()
    assert calls.take() == [("timer", every, None)] * 2
    loop._update_timeout(every, -1)
    loop._update_timeout(later, 0)
    loop._pass()
    assert calls.take() == [("timer", later, None)]
    assert loop._remove_timeout(never) == 0
    loop._pass()
    assert calls.freed == [None]


def test_a_change_from_another_thread_wakes_the_waiting_loop(loop, calls):
    passed = threading.Event()
    waiting = threading.Thread(target=lambda: (loop._pass(), passed.set()), daemon=True)
    loop._thread = waiting  # the loop's own thread, waiting with no timer set
    waiting.start()
    assert not passed.wait(0.2)
    loop._add_timeout(0, calls.timer, None)
    assert passed.wait(10)
