"""Large replies stream as chunks; a failure mid-stream is never a complete-looking reply.

DSP0200 carries a failure found after streaming began in the
``CIMStatusCode`` trailer, for clients that sent ``TE: trailers``. Other
HTTP/1.1 clients get the stream without trailers, and a failure aborts the
connection before the last chunk.
"""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

import pytest
import pywbem

from providers.computer_system import ComputerSystemProvider
from tests.http.servers import RunningServer, running_server

GUESTS = 240  # about 3 KB each: the reply is several 256 KiB encoder chunks long

ENUMERATE = (
    '<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
    '<MESSAGE ID="7" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="EnumerateInstances">'
    '<LOCALNAMESPACEPATH><NAMESPACE NAME="root"></NAMESPACE><NAMESPACE NAME="virt"></NAMESPACE>'
    '</LOCALNAMESPACEPATH><IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="{0}"></CLASSNAME>'
    "</IPARAMVALUE></IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("streaming")
    domains = "".join(
        f"<domain type='test'><name>stream-{n}</name><memory>65536</memory>"
        "<os><type>hvm</type></os></domain>" for n in range(GUESTS))
    node = Path(tmp, "node.xml")
    node.write_text(f"<node>{domains}</node>")
    with running_server(tmp, uris=(f"test://{node}",)) as running:
        yield running


def enumerate_raw(server: RunningServer, classname: str,
                  **headers: str) -> tuple[http.client.HTTPResponse, http.client.HTTPConnection]:
    url = urlsplit(server.http_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.request("POST", "/cimom", ENUMERATE.format(classname).encode(), {
        "Content-Type": 'application/xml; charset="utf-8"', "CIMOperation": "MethodCall",
        "CIMMethod": "EnumerateInstances", "CIMObject": "root/virt", **headers})
    return conn.getresponse(), conn


def failing_after(count: int):
    """A ComputerSystem instance builder that breaks at the ``count``-th guest."""
    build = ComputerSystemProvider.instances_of
    calls = iter(range(count + 1))

    def instances_of(self, ctx, classname, domain):
        if next(calls, count) == count:
            raise RuntimeError("the guest list broke mid-way")
        return build(self, ctx, classname, domain)

    return mock.patch.object(ComputerSystemProvider, "instances_of", instances_of)


def test_a_large_enumeration_arrives_chunked_without_trailers(server):
    response, conn = enumerate_raw(server, "Test_ComputerSystem")
    body = response.read()
    conn.close()
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert response.getheader("Content-Length") is None
    assert response.getheader("Trailer") is None
    assert body.count(b"<VALUE.NAMEDINSTANCE>") == GUESTS
    assert body.endswith(b"</CIM>")


def test_pywbem_reads_the_chunked_enumeration(server):
    names = {inst["Name"] for inst in server.connection().EnumerateInstances("Test_ComputerSystem")}
    assert names == {f"stream-{n}" for n in range(GUESTS)}


def test_a_small_reply_keeps_its_content_length(server):
    response, conn = enumerate_raw(server, "Test_HostSystem")
    body = response.read()
    conn.close()
    assert response.getheader("Content-Length") == str(len(body))
    assert body.count(b"<VALUE.NAMEDINSTANCE>") == 1


def test_a_failure_mid_stream_aborts_the_reply_of_a_client_without_trailers(server):
    with failing_after(GUESTS - 5):
        response, conn = enumerate_raw(server, "Test_ComputerSystem")
        with pytest.raises(http.client.IncompleteRead):
            response.read()
    conn.close()


def test_pywbem_sees_a_failure_mid_stream_as_an_error_not_as_fewer_instances(server):
    with failing_after(GUESTS - 5), pytest.raises(pywbem.Error):
        server.connection().EnumerateInstances("Test_ComputerSystem")


def test_a_failure_mid_stream_is_in_the_trailer_for_a_client_that_asked(server):
    body = ENUMERATE.format("Test_ComputerSystem").encode()
    url = urlsplit(server.http_url)
    head = (f"POST /cimom HTTP/1.1\r\nHost: {url.netloc}\r\nTE: trailers\r\n"
            "Content-Type: application/xml; charset=utf-8\r\nCIMOperation: MethodCall\r\n"
            "CIMMethod: EnumerateInstances\r\nCIMObject: root/virt\r\nConnection: close\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    with failing_after(GUESTS - 5), socket.create_connection((url.hostname, url.port)) as sock:
        sock.sendall(head + body)
        raw = b"".join(iter(lambda: sock.recv(65536), b""))
    tail = raw[raw.rindex(b"\r\n0\r\n"):]
    assert b"Transfer-Encoding: chunked" in raw
    assert f"CIMStatusCode: {pywbem.CIM_ERR_FAILED}\r\n".encode() in tail
    assert b"</CIM>" not in raw


def test_a_failure_before_the_first_chunk_is_a_plain_error_response(server):
    with failing_after(0), pytest.raises(pywbem.CIMError) as raised:
        server.connection().EnumerateInstances("Test_ComputerSystem")
    assert raised.value.status_code == pywbem.CIM_ERR_FAILED
