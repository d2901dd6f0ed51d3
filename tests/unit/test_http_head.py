"""The request head parser: what it reads, and what it refuses and with which status."""

from __future__ import annotations

from http.client import HTTPMessage

import pytest

from virtcim.http.head import HeadError, RequestLine, header_line, request_line


def test_a_request_line_gives_method_target_and_version():
    assert request_line("M-POST /cimom HTTP/1.1") == RequestLine("M-POST", "/cimom", "HTTP/1.1",
                                                                 (1, 1))
    assert request_line("POST /cimom HTTP/1.0").version_number == (1, 0)


@pytest.mark.parametrize(("line", "status"), [
    ("POST /cimom", 400),
    ("POST  /cimom HTTP/1.1", 400),
    ("POST /cimom HTTP/1.1 extra", 400),
    ("POST /cimom HTTP/1.10", 400),
    ("POST /cimom FTP/1.1", 400),
    ("", 400),
    ("POST /cimom HTTP/2.0", 505),
])
def test_request_lines_that_are_refused(line, status):
    with pytest.raises(HeadError) as refused:
        request_line(line)
    assert refused.value.status == status


def read(*lines: bytes) -> HTTPMessage:
    headers = HTTPMessage()
    for line in lines:
        if not header_line(line, headers):
            break
    return headers


def test_header_lines_are_read_case_blind_with_whitespace_trimmed_and_repeats_kept():
    headers = read(b"CIMMethod:  GetInstance \t\r\n", b"X-Empty:\r\n", b"Accept: a\n",
                   b"Accept: b\r\n", b"\r\n", b"After: the end\r\n")
    assert headers["cimmethod"] == "GetInstance"
    assert headers["X-Empty"] == ""
    assert headers.get_all("Accept") == ["a", "b"]
    assert "After" not in headers


def test_a_tab_inside_a_value_is_kept():
    assert read(b"X-Tab: a\tb\r\n")["X-Tab"] == "a\tb"


@pytest.mark.parametrize("line", [
    b" folded: on\r\n",
    b"\tfolded: on\r\n",
    b"Host : localhost\r\n",
    b"no colon here\r\n",
    b"Bad(name): x\r\n",
    b": no name\r\n",
    b"X-Null: a\x00b\r\n",
    b"X-CR: a\rb\r\n",
    b"X-Del: a\x7fb\r\n",
])
def test_header_lines_that_are_refused_with_400(line):
    with pytest.raises(HeadError) as refused:
        header_line(line, HTTPMessage())
    assert refused.value.status == 400
