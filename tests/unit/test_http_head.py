"""What virtcim refuses in a request head beyond h11's own checks, and with which status."""

from __future__ import annotations

import h11
import pytest

from virtcim.http.head import HeadError, check_fields, check_lines


def parsed(raw: bytes) -> h11.Request:
    connection = h11.Connection(h11.SERVER)
    connection.receive_data(raw)
    event = connection.next_event()
    assert isinstance(event, h11.Request)
    return event


def test_a_plain_head_passes():
    raw = b"POST /cimom HTTP/1.1\r\nHost: x\r\nX-Tab: a\tb\r\n\r\n"
    check_lines(raw, max_line_bytes=100, max_fields=2)
    check_fields(parsed(raw).headers)


@pytest.mark.parametrize(("raw", "status"), [
    (b"POST /cimom?" + b"x" * 200 + b" HTTP/1.1\r\n\r\n", 414),
    (b"POST /cimom?" + b"x" * 200, 414),  # still arriving
    (b"POST /cimom HTTP/1.1\r\nX-Long: " + b"x" * 200 + b"\r\n\r\n", 431),
    (b"POST /cimom HTTP/1.1\r\n" + b"X-Many: 1\r\n" * 4 + b"\r\n", 431),
    (b"POST /cimom HTTP/1.1\r\nHost: x\r\n folded: on\r\n\r\n", 400),
    (b"POST /cimom HTTP/1.1\r\nHost: x\r\n\tfolded: on\r\n\r\n", 400),
], ids=["request-line", "request-line-partial", "field-line", "field-count", "fold", "tab-fold"])
def test_lines_refused(raw, status):
    with pytest.raises(HeadError) as refused:
        check_lines(raw, max_line_bytes=100, max_fields=3)
    assert refused.value.status == status


def test_only_the_head_is_looked_at():
    check_lines(b"POST /cimom HTTP/1.1\r\nHost: x\r\n\r\n" + b" body" * 100, 100, 3)


def test_h11_unfolds_what_check_lines_refuses():
    # Why the raw lines are checked at all: h11 accepts the folded line.
    assert parsed(b"POST / HTTP/1.1\r\nHost: x\r\n y\r\n\r\n").headers[0][1] == b"x y"


@pytest.mark.parametrize("value", [b"a\x00b", b"a\x01b", b"a\x7fb", b"a\x1bb"])
def test_control_characters_in_values_are_refused(value):
    with pytest.raises(HeadError) as refused:
        check_fields([(b"host", b"x"), (b"x-bad", value)])
    assert refused.value.status == 400


def test_h11_lets_through_the_control_characters_check_fields_refuses():
    request = parsed(b"POST / HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n")
    with pytest.raises(HeadError):
        check_fields(request.headers)
