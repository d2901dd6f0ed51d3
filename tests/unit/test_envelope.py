"""The DSP0200 envelope without sockets: request heads checked, reply heads and trailers framed.

Requests are parsed and replies serialised by h11, as the transport does,
but from and to bytes in memory.
"""

from __future__ import annotations

import h11
import pytest

from virtcim.http.envelope import Envelope, Refusal, refusal_reply

CIM = {"Content-Type": 'application/xml; charset="utf-8"', "CIMOperation": "MethodCall",
       "CIMMethod": "GetInstance", "CIMObject": "root%2Fvirt", "Content-Length": "10"}
MAN = "http://www.dmtf.org/cim/mapping/http/v1.0 ; ns=73"


def exchange(headers: dict[str, str], method: str = "POST", target: str = "/cimom",
             version: str = "1.1") -> tuple[h11.Connection, Envelope]:
    """A server-side h11 connection that has read this request head, and its envelope."""
    lines = [f"{method} {target} HTTP/{version}", *(f"{k}: {v}" for k, v in headers.items())]
    connection = h11.Connection(h11.SERVER)
    connection.receive_data(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    request = connection.next_event()
    assert isinstance(request, h11.Request)
    return connection, Envelope(request)


def checked(headers: dict[str, str], **kwargs) -> Envelope:
    _, envelope = exchange({"Host": "x", **headers}, **kwargs)
    envelope.check_route()
    envelope.check_cim_headers()
    envelope.body_length(1000)
    return envelope


def refusal_of(headers: dict[str, str], **kwargs) -> Refusal:
    with pytest.raises(Refusal) as refused:
        checked(headers, **kwargs)
    return refused.value


def serialised(connection: h11.Connection, *events: h11.Event) -> bytes:
    return b"".join(connection.send(event) for event in events)


# --- request heads ---------------------------------------------------------------------------


def test_a_cim_request_head_gives_its_dsp0200_parts():
    envelope = checked({**CIM, "TE": "trailers", "CIMProtocolVersion": "1.1"})
    request = envelope.cim_request(b"<CIM/>", "alice", "127.0.0.1:1")
    assert (request.operation, request.method, request.object) == (
        "MethodCall", "GetInstance", "root/virt")
    assert (request.protocol_version, request.trailers, request.chunked) == ("1.1", True, True)
    assert (request.user, request.client, request.body) == ("alice", "127.0.0.1:1", b"<CIM/>")


def test_trailers_only_for_http11_clients_that_ask():
    assert not checked(CIM).trailers
    assert not checked({**CIM, "TE": "trailers"}, version="1.0").trailers
    assert checked({**CIM, "TE": "deflate, trailers;q=1"}).trailers


@pytest.mark.parametrize(("changes", "status", "cim_error"), [
    ({"CIMOperation": None}, 400, "unsupported-operation"),
    ({"CIMOperation": "MethodResponse"}, 400, "unsupported-operation"),
    ({"CIMBatch": "CIMBatch"}, 501, "multiple-requests-unsupported"),
    ({"CIMProtocolVersion": "2.0"}, 501, "unsupported-protocol-version"),
    ({"Content-Type": "text/plain"}, 400, "request-not-valid"),
    ({"Content-Type": "application/xml; charset=iso-8859-1"}, 400, "request-not-valid"),
    ({"Content-Type": None}, 400, "request-not-valid"),
    ({"Content-Length": None}, 411, None),
    ({"Content-Length": "1001"}, 413, None),
])
def test_cim_header_and_length_refusals(changes, status, cim_error):
    headers = {name: value for name, value in {**CIM, **changes}.items() if value is not None}
    refusal = refusal_of(headers)
    assert (refusal.status, refusal.cim_error) == (status, cim_error)


def test_a_chunked_request_body_is_length_required_and_closes():
    headers = {**CIM, "Transfer-Encoding": "chunked"}
    del headers["Content-Length"]
    refusal = refusal_of(headers)
    assert (refusal.status, refusal.close) == (411, True)


@pytest.mark.parametrize(("kwargs", "headers", "status"), [
    ({"target": "/other"}, {}, 404),
    ({"method": "GET"}, {}, 405),
    ({"version": "2.0"}, {}, 505),
    ({"method": "M-POST"}, {}, 510),
    ({"method": "M-POST", "version": "1.0"}, {"Man": MAN}, 400),
    ({"method": "M-POST"}, {"Man": "http://www.dmtf.org/cim/mapping/http/v1.0; ns=x"}, 400),
])
def test_route_refusals(kwargs, headers, status):
    _, envelope = exchange({"Host": "x", **headers}, **kwargs)
    with pytest.raises(Refusal) as refused:
        envelope.check_route()
    assert refused.value.status == status


def test_h11_refuses_http11_without_host_and_http10_needs_none():
    with pytest.raises(h11.RemoteProtocolError) as refused:
        exchange({})
    assert refused.value.error_status_hint == 400
    _, old = exchange({}, version="1.0")
    old.check_route()


def test_mpost_reads_the_prefixed_headers():
    headers = {"Man": MAN, "Content-Type": "application/xml", "Content-Length": "1",
               "73-CIMOperation": "MethodCall", "73-CIMMethod": "GetClass",
               "73-CIMObject": "root/virt", "CIMMethod": "Ignored"}
    envelope = checked(headers, method="M-POST")
    assert (envelope.prefix, envelope.method, envelope.object) == ("73-", "GetClass", "root/virt")


# --- reply heads, chunks and trailers -----------------------------------------------------------


def test_a_whole_reply_has_its_length_and_cim_headers():
    connection, envelope = exchange({"Host": "x", **CIM})
    raw = serialised(connection, envelope.reply(5), h11.Data(data=b"<CIM>"), h11.EndOfMessage())
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    for line in (b"Content-Length: 5", b"CIMOperation: MethodResponse",
                 b'Content-Type: application/xml; charset="utf-8"', b"Server: virtcim/"):
        assert line in head
    assert b"WBEMServerResponseTime: " in head and b"Date: " in head
    assert body == b"<CIM>"


def test_a_streamed_reply_is_chunked_and_ends_with_the_status_trailers():
    connection, envelope = exchange({"Host": "x", **CIM, "TE": "trailers"})
    raw = serialised(connection, envelope.reply(None, trailers=True), h11.Data(data=b"<CIM>"),
                     envelope.status_trailers(6, "no guest 'web 1' (100%)"))
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head
    assert b"Trailer: CIMStatusCode, CIMStatusCodeDescription" in head
    assert body == (b"5\r\n<CIM>\r\n0\r\nCIMStatusCode: 6\r\n"
                    b"CIMStatusCodeDescription: no guest 'web 1' (100%25)\r\n\r\n")


def test_success_trailers_carry_only_the_code():
    connection, envelope = exchange({"Host": "x", **CIM, "TE": "trailers"})
    raw = serialised(connection, envelope.reply(None, trailers=True), envelope.status_trailers(0, None))
    assert raw.endswith(b"\r\n0\r\nCIMStatusCode: 0\r\n\r\n")


def test_mpost_replies_carry_the_prefix_and_the_extension_headers():
    headers = {"Host": "x", "Man": MAN}
    connection, envelope = exchange(headers, method="M-POST")
    envelope.check_route()
    head = serialised(connection, envelope.reply(0))
    assert b"73-CIMOperation: MethodResponse" in head and b"\r\nCIMOperation" not in head
    assert b"Ext: \r\n" in head
    assert b"Man: http://www.dmtf.org/cim/mapping/http/v1.0; ns=73" in head


def test_a_refusal_has_its_text_cimerror_header_and_close():
    connection, envelope = exchange({"Host": "x", **CIM})
    response, body = envelope.refusal(Refusal(400, "bad things", "request-not-valid", close=True))
    raw = serialised(connection, response, h11.Data(data=body), h11.EndOfMessage())
    assert raw.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"CIMError: request-not-valid\r\n" in raw and b"Connection: close\r\n" in raw
    assert raw.endswith(b"\r\n\r\nbad things\n")
    assert connection.our_state is h11.MUST_CLOSE


def test_a_refusal_before_any_request_can_be_sent():
    response, body = refusal_reply(Refusal(503, "busy", headers=[("Retry-After", "1")]), close=True)
    raw = serialised(h11.Connection(h11.SERVER), response, h11.Data(data=body))
    assert raw.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"Retry-After: 1\r\n" in raw
