"""KeyedLocks (providers.virt.locks): one lock per key, kept only while wanted."""

import threading

from providers.virt.locks import KeyedLocks


def test_a_key_is_held_by_one_thread_at_a_time_and_forgotten_after():
    locks = KeyedLocks()
    entered = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with locks.holding(["web"]):
            entered.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    assert entered.wait(5)
    waiting_done = threading.Event()

    def wait_for_it() -> None:
        with locks.holding(["web"]):
            waiting_done.set()

    waiter = threading.Thread(target=wait_for_it)
    waiter.start()
    assert not waiting_done.wait(0.1)
    with locks.holding(["db"]):  # another key is not held back
        assert len(locks) == 2
    release.set()
    assert waiting_done.wait(5)
    holder.join(5)
    waiter.join(5)
    assert len(locks) == 0


def test_keys_are_taken_in_one_order_whatever_the_order_asked():
    locks = KeyedLocks()
    done = []

    def both(keys: list[str]) -> None:
        for _ in range(200):
            with locks.holding(keys):
                pass
        done.append(keys)

    threads = [threading.Thread(target=both, args=(keys,)) for keys in (["a", "b"], ["b", "a"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(done) == 2 and len(locks) == 0


def test_a_thread_may_take_a_key_it_holds_again():
    locks = KeyedLocks()
    with locks.holding(["web"]), locks.holding(["web", "web"]):
        assert len(locks) == 1
    assert len(locks) == 0
