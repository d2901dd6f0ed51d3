"""A listener destination's sender: bounded queue, exact drop count, sequence numbers."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from pywbem import CIM_ERR_INVALID_PARAMETER, CIMError, CIMInstance

from virtcim.indications.export import Delivery, ListenerSender, RetryPolicy, checked_url

PORT = 27466


def test_a_full_queue_drops_and_counts_exactly_what_does_not_fit():
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    stalled.bind(("127.0.0.1", PORT))
    stalled.listen(1)
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(stalled.accept()[0]), daemon=True).start()
    failed: list[Delivery] = []
    sender = ListenerSender("stalled", f"http://127.0.0.1:{PORT}", RetryPolicy(0, 0),
                            failed.append, capacity=3, timeout=30)
    try:
        assert sender.submit(Delivery(CIMInstance("CIM_AlertIndication"), "sub"))
        deadline = time.monotonic() + 5
        while (sender.pending or not accepted) and time.monotonic() < deadline:
            time.sleep(0.01)  # the first is taken and in flight to a listener that never answers
        results = [sender.submit(Delivery(CIMInstance("CIM_AlertIndication"), "sub"))
                   for _ in range(10)]
        assert results == [True] * 3 + [False] * 7
        assert sender.dropped == 7
        assert sender.pending == 3
    finally:
        sender.close(wait=0)
        for conn in accepted:
            conn.close()
        stalled.close()


@pytest.mark.parametrize("url", ["https://listener.example:5991/cimlistener", "http://[::1]:80",
                                 "HTTP://127.0.0.1"])
def test_listener_urls_of_either_scheme_are_taken(url):
    assert checked_url(url).hostname


@pytest.mark.parametrize("url", ["", "mailto:x@example.org", "http://h:p/", "http://h/#frag",
                                 "http://h /x"])
def test_other_urls_are_refused(url):
    with pytest.raises(CIMError) as failure:
        checked_url(url)
    assert failure.value.status_code == CIM_ERR_INVALID_PARAMETER
