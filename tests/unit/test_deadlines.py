"""Deadlines: each key expires once, when its time comes, and not when cancelled."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator

import pytest

from virtcim.deadlines import Deadlines


@pytest.fixture
def expiring() -> Iterator[tuple[Deadlines, queue.Queue[object]]]:
    """Deadlines, and the queue of the keys they expire."""
    expired: queue.Queue[object] = queue.Queue()
    deadlines = Deadlines(expired.put, "test deadlines")
    yield deadlines, expired
    deadlines.close()


def test_keys_expire_in_the_order_of_their_deadlines_and_once(expiring):
    deadlines, expired = expiring
    now = time.time()
    deadlines.set("late", now + 0.3)
    deadlines.set("soon", now + 0.1)
    deadlines.set("past", now - 10)
    assert [expired.get(timeout=2) for _ in range(3)] == ["past", "soon", "late"]
    assert deadlines.remaining("late") is None
    time.sleep(0.2)
    assert expired.empty()


def test_a_cancelled_or_moved_deadline_does_not_expire_at_its_old_time(expiring):
    deadlines, expired = expiring
    now = time.time()
    deadlines.set("cancelled", now + 0.1)
    deadlines.set("moved", now + 0.1)
    deadlines.cancel("cancelled")
    deadlines.set("moved", now + 60)
    assert 59 < (deadlines.remaining("moved") or 0) <= 60
    time.sleep(0.3)
    assert expired.empty()


def test_the_thread_sleeps_until_a_deadline_rather_than_waking_to_look():
    looks = []
    clock = time.time

    def counted() -> float:
        looks.append(1)
        return clock()

    deadlines = Deadlines(lambda key: None, "test deadlines", clock=counted)
    try:
        deadlines.set("far", clock() + 3600)
        time.sleep(0.5)
        assert len(looks) <= 3
    finally:
        deadlines.close()
