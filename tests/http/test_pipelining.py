"""Requests sent before the last was answered (HTTP/1.1 pipelining) are answered in order."""

from __future__ import annotations

import socket

import pytest

from tests.http.test_transport import (
    REQUEST_BODY,
    RecordingHandler,
    closing_headers,
    parse_response,
    raw_request,
    read_until_closed,
)

pytestmark = pytest.mark.http


def kept_alive_headers() -> dict[str, str]:
    headers = closing_headers()
    del headers["Connection"]
    return headers


def replies(raw: bytes) -> list[int]:
    """The statuses of the replies in ``raw``, each with a Content-Length."""
    statuses = []
    while raw:
        status, headers, rest = parse_response(raw)
        statuses.append(status)
        raw = rest[int(headers["content-length"]):]
    return statuses


def test_pipelined_requests_are_answered_in_order(start_transport):
    handler = RecordingHandler()
    port = start_transport(handler).ports[0]
    sent = raw_request(kept_alive_headers()) * 2 + raw_request(closing_headers())
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(sent)
        assert replies(read_until_closed(sock)) == [200, 200, 200]
    assert [request.body for request in handler.requests] == [REQUEST_BODY] * 3


def test_a_long_run_of_pipelined_refusals_is_answered_whole(start_transport):
    port = start_transport(RecordingHandler()).ports[0]
    refused = raw_request({"Host": "localhost"}, b"", method="GET")  # 405, kept alive
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(refused * 2000 + raw_request(closing_headers()))
        assert replies(read_until_closed(sock)) == [405] * 2000 + [200]
