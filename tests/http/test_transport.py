"""The HTTP(S) transport against real sockets, http.client and pywbem, with stub handlers."""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import threading
import time
from pathlib import Path

import pytest
import pywbem

from virtcim.cimxml.messages import RequestError
from virtcim.config import Settings
from virtcim.http.auth import BasicAuth, UsersFile, set_password
from virtcim.http.server import CIMReply, CIMRequest, HTTPServerGroup, Listener
from virtcim.http.tls import server_context

pytestmark = pytest.mark.http

CIM_HEADERS = {
    "Content-Type": 'application/xml; charset="utf-8"',
    "CIMOperation": "MethodCall",
    "CIMMethod": "EnumerateInstanceNames",
    "CIMObject": "root%2Fvirt",
}
REQUEST_BODY = b'<?xml version="1.0" encoding="utf-8" ?>\n<CIM CIMVERSION="2.0"/>'
MAN = "http://www.dmtf.org/cim/mapping/http/v1.0 ; ns=73"


def enumerate_names_reply(request: CIMRequest) -> CIMReply:
    """A valid, empty CIM-XML answer to whatever intrinsic method was called."""
    body = (
        '<?xml version="1.0" encoding="utf-8" ?>\n<CIM CIMVERSION="2.0" DTDVERSION="2.0">'
        '<MESSAGE ID="1001" PROTOCOLVERSION="1.0"><SIMPLERSP>'
        f'<IMETHODRESPONSE NAME="{request.method}"><IRETURNVALUE></IRETURNVALUE>'
        "</IMETHODRESPONSE></SIMPLERSP></MESSAGE></CIM>"
    )
    return CIMReply(body=[body.encode()])


class RecordingHandler:
    """Answers every request and remembers it."""

    def __init__(self) -> None:
        self.requests: list[CIMRequest] = []

    def __call__(self, request: CIMRequest) -> CIMReply:
        self.requests.append(request)
        return enumerate_names_reply(request)


def post(port: int, headers: dict[str, str] | None = None, body: bytes = REQUEST_BODY,
         connection: http.client.HTTPConnection | None = None) -> http.client.HTTPResponse:  # fmt: skip
    connection = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(
        "POST", "/cimom", body=body, headers=CIM_HEADERS if headers is None else headers
    )
    response = connection.getresponse()
    response.read()
    return response


def exchange(port: int, data: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes, read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        return read_until_closed(sock)


def read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def raw_request(headers: dict[str, str], body: bytes = REQUEST_BODY, method: str = "POST",
                version: str = "HTTP/1.1") -> bytes:  # fmt: skip
    lines = [f"{method} /cimom {version}", *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def closing_headers(**extra: str) -> dict[str, str]:
    return {"Host": "localhost", **CIM_HEADERS, "Content-Length": str(len(REQUEST_BODY)),
            "Connection": "close", **extra}  # fmt: skip


def parse_response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def decode_chunked(body: bytes) -> tuple[bytes, dict[str, str]]:
    """The payload and the trailers of a chunked body, parsed by hand."""
    payload = b""
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        payload += body[:size]
        assert body[size : size + 2] == b"\r\n"
        body = body[size + 2 :]
    trailer_block, _, rest = body.partition(b"\r\n\r\n")
    assert rest == b""
    trailers = {}
    for line in trailer_block.decode("ascii").split("\r\n"):
        if line:
            name, _, value = line.partition(":")
            trailers[name.strip()] = value.strip()
    return payload, trailers


# --- keep-alive and the basic exchange ---------------------------------------------------------


def test_several_requests_share_one_kept_alive_connection(start_transport):
    handler = RecordingHandler()
    port = start_transport(handler).ports[0]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    post(port, connection=connection)
    first_socket = connection.sock
    statuses = [post(port, connection=connection).status for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert connection.sock is first_socket
    assert len({request.client for request in handler.requests}) == 1


def test_reply_has_cim_headers_and_request_headers_are_decoded(start_transport):
    handler = RecordingHandler()
    port = start_transport(handler).ports[0]
    response = post(port)
    assert response.status == 200
    assert response.getheader("Content-Type") == 'application/xml; charset="utf-8"'
    assert response.getheader("CIMOperation") == "MethodResponse"
    assert int(response.getheader("WBEMServerResponseTime")) >= 0
    request = handler.requests[0]
    assert (request.operation, request.method, request.object) == (
        "MethodCall", "EnumerateInstanceNames", "root/virt",
    )  # fmt: skip
    assert (request.protocol_version, request.user, request.trailers) == ("1.0", None, False)
    assert request.body == REQUEST_BODY


def server_side_of(client: socket.socket) -> socket.socket:
    """This process's socket at the other end of ``client`` (the server runs in process)."""
    for name in os.listdir("/proc/self/fd"):
        try:
            candidate = socket.socket(fileno=os.dup(int(name)))
        except OSError:
            continue
        try:
            if candidate.type == socket.SOCK_STREAM and candidate.getpeername() == client.getsockname():
                return candidate
        except OSError:
            pass
        candidate.close()
    raise AssertionError("no server-side socket found")


def test_server_sockets_have_nagle_disabled(start_transport):
    port = start_transport(RecordingHandler()).ports[0]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    assert post(port, connection=connection).status == 200
    with server_side_of(connection.sock) as server_socket:
        assert server_socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_pywbem_client_gets_an_answer(start_transport):
    port = start_transport(RecordingHandler()).ports[0]
    connection = pywbem.WBEMConnection(f"http://127.0.0.1:{port}", default_namespace="root/virt")
    assert connection.EnumerateInstanceNames("CIM_ComputerSystem") == []


def test_listens_on_ipv4_and_ipv6_loopback_at_once(start_transport):
    listeners = [Listener("127.0.0.1", 0), Listener("::1", 0)]
    group = start_transport(RecordingHandler(), listeners=listeners)
    v6 = http.client.HTTPConnection("::1", group.ports[1], timeout=10)
    assert post(group.ports[0]).status == 200
    assert post(group.ports[1], connection=v6).status == 200
    assert group.urls[1].startswith("http://[::1]:")


# --- DSP0200 header checks -------------------------------------------------------------------


# Every DSP0200 header check is in tests/unit/test_envelope.py; here, over a socket, that
# a refusal carries its status and CIMError header and leaves the connection usable.
@pytest.mark.parametrize(
    ("changes", "status", "cim_error"),
    [
        ({"CIMOperation": None}, 400, "unsupported-operation"),
        ({"CIMProtocolVersion": "2.0"}, 501, "unsupported-protocol-version"),
        ({"Content-Type": None}, 400, "request-not-valid"),
    ],
)
def test_bad_cim_headers_get_the_dsp0200_error(start_transport, changes, status, cim_error):
    handler = RecordingHandler()
    port = start_transport(handler).ports[0]
    headers = {**CIM_HEADERS, **changes}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    response = post(
        port, {name: value for name, value in headers.items() if value}, connection=connection
    )
    assert (response.status, response.getheader("CIMError")) == (status, cim_error)
    assert handler.requests == []
    # The refused body was read away: the same connection serves the next request.
    assert post(port, connection=connection).status == 200


@pytest.mark.parametrize(
    "changes",
    [{"Content-Type": "text/xml"}, {"CIMProtocolVersion": "1.1"}, {"CIMObject": "root/virt"}],
)
def test_accepted_header_variants(start_transport, changes):
    handler = RecordingHandler()
    port = start_transport(handler).ports[0]
    assert post(port, {**CIM_HEADERS, **changes}).status == 200
    assert handler.requests[0].object == "root/virt"


def test_request_error_from_handler_becomes_status_and_cimerror_header(start_transport):
    def refuse(request):
        raise RequestError(400, "header-mismatch", "CIMMethod does not match the body")

    port = start_transport(refuse).ports[0]
    response = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    response.request("POST", "/cimom", body=REQUEST_BODY, headers=CIM_HEADERS)
    answer = response.getresponse()
    assert (answer.status, answer.getheader("CIMError")) == (400, "header-mismatch")
    assert b"CIMMethod does not match" in answer.read()


def test_other_paths_are_not_found_and_other_methods_not_allowed(start_transport):
    port = start_transport(RecordingHandler()).ports[0]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("POST", "/other", body=REQUEST_BODY, headers=CIM_HEADERS)
    not_found = connection.getresponse()
    not_found.read()
    connection.request("GET", "/cimom")
    not_allowed = connection.getresponse()
    not_allowed.read()
    assert not_found.status == 404
    assert (not_allowed.status, not_allowed.getheader("Allow")) == (405, "POST, M-POST")


def test_http11_request_without_host_is_refused(start_transport):
    port = start_transport(RecordingHandler()).ports[0]
    headers = closing_headers()
    del headers["Host"]
    status, _, _ = parse_response(exchange(port, raw_request(headers)))
    assert status == 400


def test_missing_content_length_and_chunked_request_bodies_get_411(start_transport):
    port = start_transport(RecordingHandler()).ports[0]
    no_length = closing_headers()
    del no_length["Content-Length"]
    chunked = {**no_length, "Transfer-Encoding": "chunked"}
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(REQUEST_BODY), REQUEST_BODY)
    assert parse_response(exchange(port, raw_request(no_length, b"")))[0] == 411
    assert parse_response(exchange(port, raw_request(chunked, body)))[0] == 411


def test_oversized_body_is_refused_before_it_is_read(start_transport):
    handler = RecordingHandler()
    port = start_transport(handler, max_body_bytes=1024).ports[0]
    headers = closing_headers(**{"Content-Length": str(100 * 1024 * 1024)})
    del headers["Connection"]
    status, headers, _ = parse_response(exchange(port, raw_request(headers, b"<CIM")))
    assert (status, headers["connection"]) == (413, "close")
    assert handler.requests == []


def test_expect_100_continue_is_answered_once_the_headers_pass(start_transport):
    port = start_transport(RecordingHandler()).ports[0]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw_request(closing_headers(Expect="100-continue"), b""))
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(REQUEST_BODY)
        assert parse_response(read_until_closed(sock))[0] == 200


# --- limits and timeouts ---------------------------------------------------------------------


def test_slow_client_is_cut_off_after_the_read_timeout(start_transport):
    port = start_transport(RecordingHandler(), read_timeout=0.3).ports[0]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /cimom HTTP/1.1\r\nHost: localhost\r\n")  # and then nothing
        status, headers, _ = parse_response(read_until_closed(sock))
    assert (status, headers["connection"]) == (408, "close")


def test_idle_kept_alive_connection_is_closed_after_the_keepalive_timeout(start_transport):
    port = start_transport(RecordingHandler(), keepalive_timeout=0.2).ports[0]
    headers = closing_headers()
    del headers["Connection"]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw_request(headers))
        status, _, _ = parse_response(read_until_closed(sock))
    assert status == 200


@pytest.mark.parametrize(
    ("extra_headers", "status"),
    [
        ({"X-Long": "x" * 9000}, 431),
        ({f"X-Many-{n}": "1" for n in range(101)}, 431),
    ],
)
def test_header_limits(start_transport, extra_headers, status):
    port = start_transport(RecordingHandler()).ports[0]
    raw = exchange(port, raw_request(closing_headers(**extra_headers)))
    assert parse_response(raw)[0] == status


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"POST /cimom HTTP/1.1\r\nHost: localhost\r\n folded: on\r\n\r\n", 400),
        (b"POST /cimom HTTP/1.1\r\nHost : localhost\r\n\r\n", 400),
        (b"POST /cimom HTTP/1.1\r\nHost: local\x01host\r\n\r\n", 400),
        (b"POST /cimom HTTP/2.0\r\nHost: localhost\r\n\r\n", 505),
        (b"POST /cimom\r\n\r\n", 400),
    ],
    ids=["folded", "space-before-colon", "control-character", "http2", "no-version"],
)
def test_heads_a_careful_server_must_not_guess_about_are_refused(start_transport, head, status):
    port = start_transport(RecordingHandler()).ports[0]
    assert parse_response(exchange(port, head))[0] == status


def test_request_line_limit(start_transport):
    port = start_transport(RecordingHandler()).ports[0]
    raw = exchange(port, b"POST /cimom?" + b"x" * 9000 + b" HTTP/1.1\r\n\r\n")
    assert parse_response(raw)[0] == 414


# --- M-POST (RFC 2774) -------------------------------------------------------------------------


def mpost_headers(**extra: str) -> dict[str, str]:
    return {
        "Host": "localhost", "Content-Type": "application/xml", "Man": MAN,
        "73-CIMOperation": "MethodCall", "73-CIMMethod": "GetClass", "73-CIMObject": "root%2Fvirt",
        "Content-Length": str(len(REQUEST_BODY)), "Connection": "close", **extra,
    }  # fmt: skip


def test_mpost_reads_and_writes_prefixed_headers(start_transport):
    handler = RecordingHandler()
    port = start_transport(handler).ports[0]
    status, headers, _ = parse_response(
        exchange(port, raw_request(mpost_headers(), method="M-POST"))
    )
    assert status == 200
    assert headers["73-cimoperation"] == "MethodResponse"
    assert "ext" in headers and "cimoperation" not in headers
    assert (handler.requests[0].method, handler.requests[0].object) == ("GetClass", "root/virt")


def test_mpost_errors_carry_the_prefixed_cimerror_header(start_transport):
    port = start_transport(RecordingHandler()).ports[0]
    request = raw_request(mpost_headers(**{"73-CIMProtocolVersion": "3.0"}), method="M-POST")
    status, headers, _ = parse_response(exchange(port, request))
    assert (status, headers["73-cimerror"]) == (501, "unsupported-protocol-version")


def test_mpost_without_mandatory_declaration_or_over_http10_is_refused(start_transport):
    port = start_transport(RecordingHandler()).ports[0]
    no_man = mpost_headers()
    del no_man["Man"]
    assert parse_response(exchange(port, raw_request(no_man, method="M-POST")))[0] == 510
    http10 = raw_request(mpost_headers(), method="M-POST", version="HTTP/1.0")
    assert parse_response(exchange(port, http10))[0] == 400


# --- chunked replies with trailers ------------------------------------------------------------


def streaming_handler(error: Exception | None):
    def handle(request: CIMRequest) -> CIMReply:
        def chunks():
            yield b"<CIM>"
            yield b"<partial/>"
            if error is not None:
                raise error

        return CIMReply(body=chunks())

    return handle


def test_trailers_report_an_error_found_while_streaming(start_transport):
    error = pywbem.CIMError(pywbem.CIM_ERR_NOT_FOUND, "no guest 'web 1' on test:///default (100%)")
    port = start_transport(streaming_handler(error)).ports[0]
    raw = exchange(port, raw_request(closing_headers(TE="trailers")))
    status, headers, body = parse_response(raw)
    payload, trailers = decode_chunked(body)
    assert (status, headers["transfer-encoding"]) == (200, "chunked")
    assert headers["trailer"] == "CIMStatusCode, CIMStatusCodeDescription"
    assert "content-length" not in headers
    assert payload == b"<CIM><partial/>"
    assert trailers["CIMStatusCode"] == "6"
    assert trailers["CIMStatusCodeDescription"] == "no guest 'web 1' on test:///default (100%25)"


def test_trailers_report_success(start_transport):
    port = start_transport(streaming_handler(None)).ports[0]
    _, _, body = parse_response(exchange(port, raw_request(closing_headers(TE="trailers"))))
    assert decode_chunked(body) == (b"<CIM><partial/>", {"CIMStatusCode": "0"})


def test_without_te_trailers_the_reply_has_a_content_length(start_transport):
    port = start_transport(streaming_handler(None)).ports[0]
    status, headers, body = parse_response(exchange(port, raw_request(closing_headers())))
    assert (status, headers["content-length"], body) == (200, "15", b"<CIM><partial/>")
    assert "transfer-encoding" not in headers


# --- failures in the handler -------------------------------------------------------------------


def test_handler_exception_gives_500_and_the_server_keeps_serving(start_transport, caplog):
    calls = []

    def fail_once(request):
        calls.append(request)
        if len(calls) == 1:
            raise ZeroDivisionError("secret internal detail")
        return enumerate_names_reply(request)

    port = start_transport(fail_once).ports[0]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("POST", "/cimom", body=REQUEST_BODY, headers=CIM_HEADERS)
    failed = connection.getresponse()
    text = failed.read()
    assert failed.status == 500
    assert b"secret" not in text
    assert "ZeroDivisionError" in caplog.text
    assert post(port, connection=connection).status == 200


def test_request_log_line_names_method_object_and_status(start_transport, caplog):
    caplog.set_level("INFO", logger="virtcim.request")
    group = start_transport(RecordingHandler())
    post(group.ports[0])
    group.stop()  # the line is written just after the reply
    [record] = [r for r in caplog.records if r.name == "virtcim.request"]
    line = record.getMessage()
    assert "method='EnumerateInstanceNames'" in line and "object='root/virt'" in line
    assert "status=200" in line and "duration_ms=" in line


# --- authentication --------------------------------------------------------------------------


@pytest.fixture
def users_auth(tmp_path: Path) -> BasicAuth:
    users = tmp_path / "users"
    set_password(users, "alice", "correct horse")
    return BasicAuth(UsersFile(users), failure_delay=0)


def basic(user: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_basic_auth_challenges_refuses_and_admits(start_transport, users_auth, caplog):
    caplog.set_level("DEBUG")
    handler = RecordingHandler()
    port = start_transport(handler, authenticator=users_auth).ports[0]
    anonymous = post(port)
    wrong = post(port, {**CIM_HEADERS, "Authorization": basic("alice", "wrong horse")})
    right = post(port, {**CIM_HEADERS, "Authorization": basic("alice", "correct horse")})
    assert (anonymous.status, anonymous.getheader("WWW-Authenticate")) == (
        401,
        'Basic realm="virtcim"',
    )
    assert wrong.status == 401
    assert right.status == 200
    assert [request.user for request in handler.requests] == ["alice"]
    assert "horse" not in caplog.text


def test_pywbem_with_credentials_is_admitted(start_transport, users_auth):
    port = start_transport(RecordingHandler(), authenticator=users_auth).ports[0]
    url = f"http://127.0.0.1:{port}"
    admitted = pywbem.WBEMConnection(url, ("alice", "correct horse"), default_namespace="root/virt")
    refused = pywbem.WBEMConnection(url, ("alice", "nope"), default_namespace="root/virt")
    assert admitted.EnumerateInstanceNames("CIM_ComputerSystem") == []
    with pytest.raises(pywbem.AuthError):
        refused.EnumerateInstanceNames("CIM_ComputerSystem")


# --- HTTPS -------------------------------------------------------------------------------------


def unverified_client_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def test_https_with_a_certificate_from_virtcim_cert(start_transport, transport_tls_files):
    tls = server_context(*transport_tls_files)
    port = start_transport(RecordingHandler(), listeners=[Listener("127.0.0.1", 0, tls)]).ports[0]
    connection = http.client.HTTPSConnection(
        "127.0.0.1", port, timeout=10, context=unverified_client_context()
    )
    response = post(port, connection=connection)
    assert response.status == 200
    assert connection.sock.version() in ("TLSv1.2", "TLSv1.3")


def test_pywbem_over_https(start_transport, transport_tls_files, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    tls = server_context(*transport_tls_files)
    port = start_transport(RecordingHandler(), listeners=[Listener("127.0.0.1", 0, tls)]).ports[0]
    connection = pywbem.WBEMConnection(
        f"https://127.0.0.1:{port}", default_namespace="root/virt", no_verification=True
    )
    assert connection.EnumerateInstanceNames("CIM_ComputerSystem") == []


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_tls_1_1_client_is_refused(start_transport, transport_tls_files):
    tls = server_context(*transport_tls_files)
    port = start_transport(RecordingHandler(), listeners=[Listener("127.0.0.1", 0, tls)]).ports[0]
    old_client = unverified_client_context()
    old_client.set_ciphers("DEFAULT:@SECLEVEL=0")  # let the client really offer TLS 1.1
    old_client.minimum_version = ssl.TLSVersion.TLSv1_1
    old_client.maximum_version = ssl.TLSVersion.TLSv1_1
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        # asyncio closes a failed handshake without flushing the protocol_version alert.
        with pytest.raises(ssl.SSLError, match="(?i)protocol.version|unsupported protocol|EOF"):
            old_client.wrap_socket(sock)
    modern = http.client.HTTPSConnection(
        "127.0.0.1", port, timeout=10, context=unverified_client_context()
    )
    assert post(port, connection=modern).status == 200


def test_silent_tls_client_does_not_stop_others(start_transport, transport_tls_files):
    tls = server_context(*transport_tls_files)
    port = start_transport(RecordingHandler(), listeners=[Listener("127.0.0.1", 0, tls)]).ports[0]
    with socket.create_connection(("127.0.0.1", port), timeout=10):  # never says hello
        connection = http.client.HTTPSConnection(
            "127.0.0.1", port, timeout=10, context=unverified_client_context()
        )
        assert post(port, connection=connection).status == 200


def test_group_from_settings_serves_http_and_https(transport_tls_files):
    cert, key = transport_tls_files
    settings = Settings(http_port=0, https_port=0, cert=cert, key=key, auth="none")
    with HTTPServerGroup.from_settings(settings, RecordingHandler()) as group:
        http_port, https_port = group.ports
        secure = http.client.HTTPSConnection(
            "127.0.0.1", https_port, timeout=10, context=unverified_client_context()
        )
        assert post(http_port).status == 200
        assert post(https_port, connection=secure).status == 200
    assert [url.split(":")[0] for url in group.urls] == ["http", "https"]


# --- the worker pool -----------------------------------------------------------------------


class SlowHandler:
    """Holds each request for a while, counting how many run at once."""

    def __init__(self, seconds: float = 0.0, release: threading.Event | None = None) -> None:
        self.seconds = seconds
        self.release = release
        self.running = self.most = 0
        self.lock = threading.Lock()

    def __call__(self, request: CIMRequest) -> CIMReply:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        if self.release is not None:
            self.release.wait(10)
        time.sleep(self.seconds)
        with self.lock:
            self.running -= 1
        return enumerate_names_reply(request)


def in_threads(count: int, work) -> list:
    results: list = [None] * count

    def run(index: int) -> None:
        results[index] = work()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    return results


def test_worker_pool_bounds_concurrent_requests(start_transport):
    handler = SlowHandler(seconds=0.2)
    port = start_transport(handler, workers=2).ports[0]
    statuses = in_threads(
        4, lambda: parse_response(exchange(port, raw_request(closing_headers())))[0]
    )
    assert statuses == [200] * 4
    assert handler.most == 2


def test_requests_beyond_the_workers_and_their_queue_get_503(start_transport):
    release = threading.Event()
    port = start_transport(SlowHandler(release=release), workers=1, pending_requests=1).ports[0]
    busy = socket.create_connection(("127.0.0.1", port), timeout=10)
    busy.sendall(raw_request(closing_headers()))
    time.sleep(0.2)  # the only worker is now held by the first request
    waiting = socket.create_connection(("127.0.0.1", port), timeout=10)
    waiting.sendall(raw_request(closing_headers()))  # queued for the worker
    time.sleep(0.2)
    refused = exchange(port, raw_request(closing_headers()))
    release.set()
    status, headers, _ = parse_response(refused)
    assert (status, headers["retry-after"]) == (503, "1")
    assert parse_response(read_until_closed(busy))[0] == 200
    assert parse_response(read_until_closed(waiting))[0] == 200
    busy.close()
    waiting.close()


def test_idle_kept_alive_connection_makes_room_for_a_new_one(start_transport):
    port = start_transport(RecordingHandler(), max_connections=1, keepalive_timeout=30).ports[0]
    idle = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    assert post(port, connection=idle).status == 200  # then stays open, the only one allowed
    started = time.monotonic()
    assert parse_response(exchange(port, raw_request(closing_headers())))[0] == 200
    assert time.monotonic() - started < 10
    assert idle.sock.recv(1) == b""  # the idle connection was closed


def test_stop_lets_a_request_in_progress_finish(start_transport):
    group = start_transport(SlowHandler(seconds=0.3))
    port = group.ports[0]
    results = []
    client = threading.Thread(
        target=lambda: results.append(
            parse_response(exchange(port, raw_request(closing_headers())))[0]
        )
    )
    client.start()
    time.sleep(0.1)
    group.stop()
    client.join(10)
    assert results == [200]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2)


# --- clients that hold connections -----------------------------------------------------------


def stalled(port: int, count: int, data: bytes = b"POST /cimom HTTP/1.1\r\nHost: loc",
            source: str = "127.0.0.1") -> list[socket.socket]:
    """``count`` connections that sent ``data`` (half a request head) and then nothing."""
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10,
                                        source_address=(source, 0))
        sock.sendall(data)
        sockets.append(sock)
    return sockets


def test_stalled_half_heads_do_not_starve_a_valid_request(start_transport):
    handler = RecordingHandler()
    port = start_transport(handler, workers=16).ports[0]
    held = stalled(port, 64)
    try:
        assert post(port).status == 200
        assert len(handler.requests) == 1
    finally:
        for sock in held:
            sock.close()


def test_a_slowloris_body_times_out_while_others_are_served(start_transport):
    port = start_transport(RecordingHandler(), workers=1, read_timeout=1.0).ports[0]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw_request(closing_headers(), b""))  # the head, then the body byte by byte
        started = time.monotonic()
        statuses = []
        for byte in REQUEST_BODY[:20]:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            statuses.append(post(port).status)  # served beside it, by the only worker
            time.sleep(0.1)
        status, headers, _ = parse_response(read_until_closed(sock))
    assert (status, headers["connection"]) == (408, "close")
    assert 0.9 < time.monotonic() - started < 5
    assert set(statuses) == {200}


def test_a_stalled_head_is_answered_408_at_its_deadline(start_transport):
    port = start_transport(RecordingHandler(), head_timeout=0.5).ports[0]
    [sock] = stalled(port, 1)
    started = time.monotonic()
    status, headers, _ = parse_response(read_until_closed(sock))
    sock.close()
    assert (status, headers["connection"]) == (408, "close")
    assert 0.4 < time.monotonic() - started < 5


def test_connections_beyond_the_per_client_limit_get_503(start_transport):
    port = start_transport(RecordingHandler(), max_client_connections=2).ports[0]
    held = stalled(port, 2, b"")
    try:
        status, headers, _ = parse_response(exchange(port, raw_request(closing_headers())))
        assert (status, headers["retry-after"]) == (503, "1")
        # Another address is not counted with this one.
        with socket.create_connection(("127.0.0.1", port), timeout=10,
                                      source_address=("127.0.0.2", 0)) as other:
            other.sendall(raw_request(closing_headers()))
            assert parse_response(read_until_closed(other))[0] == 200
    finally:
        for sock in held:
            sock.close()


def test_connections_beyond_the_total_get_503_when_none_is_idle(start_transport):
    port = start_transport(RecordingHandler(), max_connections=2).ports[0]
    held = stalled(port, 2)  # busy sending their heads: not idle
    try:
        assert parse_response(exchange(port, raw_request(closing_headers())))[0] == 503
    finally:
        for sock in held:
            sock.close()


def test_tls_12_without_forward_secret_aead_ciphers_is_refused(start_transport, transport_tls_files):
    tls = server_context(*transport_tls_files)
    port = start_transport(RecordingHandler(), listeners=[Listener("127.0.0.1", 0, tls)]).ports[0]
    old_client = unverified_client_context()
    old_client.maximum_version = ssl.TLSVersion.TLSv1_2
    old_client.set_ciphers("ECDHE-ECDSA-AES128-SHA:AES128-SHA")  # CBC, or no forward secrecy
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        with pytest.raises(ssl.SSLError):
            old_client.wrap_socket(sock)
