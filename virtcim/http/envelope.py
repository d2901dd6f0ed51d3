"""The DSP0200 envelope of a CIM-XML exchange over HTTP, with no I/O.

h11 parses request heads and frames replies (Content-Length, chunks,
trailers); this module says what DSP0200 asks of them. An :class:`Envelope`
takes one parsed request head and checks the method and path, the RFC 2774
``M-POST`` form with its ``NN-`` header prefix, ``CIMOperation``,
``CIMProtocolVersion``, ``CIMBatch``, the content type and the body's
length, raising a :class:`Refusal` with the HTTP status and ``CIMError``
header to answer. It then makes the reply's head, its ``CIMStatusCode``
trailers, and the head and text of a refusal, as h11 events for the
transport to send.
"""

from __future__ import annotations

import email.utils
import http
import re
import time
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import h11

import virtcim

__all__ = [
    "CIMOM_PATH", "CIMReply", "CIMRequest", "Envelope", "Refusal", "SERVER_NAME",
]  # fmt: skip

CIMOM_PATH = "/cimom"
DMTF_MAPPING_URI = "http://www.dmtf.org/cim/mapping/http/v1.0"
ALLOWED_METHODS = ("POST", "M-POST")
XML_MEDIA_TYPES = ("application/xml", "text/xml")
REPLY_CONTENT_TYPE = 'application/xml; charset="utf-8"'
SERVER_NAME = f"virtcim/{virtcim.__version__}"

_PROTOCOL_VERSION = re.compile(r"1\.\d+")
_NS_PREFIX = re.compile(r"\d{1,8}")
#: Header text that may stay as it is in a %-escaped trailer: printable ASCII except '%'.
_HEADER_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


@dataclass
class CIMRequest:
    """A request whose HTTP envelope passed the transport's checks.

    ``method`` and ``object`` are the ``CIMMethod`` and ``CIMObject`` headers,
    %-decoded (pywbem sends ``root/virt``, wbemcli ``root%2Fvirt``), for the
    handler to compare with the body. ``user`` is ``None`` when the server runs
    without authentication. ``trailers`` tells the handler that the reply may
    be streamed: the client accepts a chunked reply with the CIM status in
    trailers; ``chunked`` that it reads chunked replies (HTTP/1.1).
    """

    body: bytes
    operation: str
    method: str | None
    object: str | None
    protocol_version: str
    user: str | None
    trailers: bool
    client: str
    chunked: bool = False


@dataclass
class CIMReply:
    """What the handler answers.

    ``body`` yields the response bytes. Unless ``streamed`` (or the request
    allowed trailers), the handler has produced the whole body already and
    iterating it cannot fail. Otherwise iteration may raise
    ``pywbem.CIMError`` after some chunks: with ``trailers`` in the request
    the transport ends the chunked stream with that error's ``CIMStatusCode``
    and ``CIMStatusCodeDescription`` trailers; without, it closes the
    connection before the last chunk, so the client sees an incomplete reply.

    ``status`` other than 200 answers with an HTTP error instead of a body,
    with ``cim_error`` as the ``CIMError`` header and ``description`` as the
    text. ``cim_status`` is the CIM status code of a 200 reply (0, or the code
    of an ``ERROR`` element in the body), for the request log.
    """

    body: Iterable[bytes]
    status: int = 200
    cim_error: str | None = None
    description: str = ""
    cim_status: int = 0
    streamed: bool = False


class Refusal(Exception):
    """An HTTP error answer, raised while checking a request.

    ``close`` ends the connection after the answer (the request's body is
    unknown or unwanted, or the client misbehaved).
    """

    def __init__(
        self,
        status: int,
        description: str,
        cim_error: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
        close: bool = False,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.cim_error = cim_error
        self.headers = headers
        self.close = close


class Envelope:
    """The DSP0200 view of one request head, and the heads of its reply.

    The checks run in the order a server should refuse in: :meth:`check_route`
    (path, method, ``M-POST``), then authentication (by the transport),
    then :meth:`check_cim_headers` and :meth:`body_length`, so an
    unauthenticated client learns nothing of what the server would accept.
    """

    def __init__(self, request: h11.Request) -> None:
        self.started = time.monotonic()
        self.http_method = request.method.decode("ascii")
        self.target = request.target.decode("ascii", "replace")
        self.http11 = request.http_version == b"1.1"
        self._version = request.http_version.decode("ascii")
        self._headers: dict[bytes, str] = {}
        for name, value in request.headers:
            self._headers.setdefault(name, value.decode("iso-8859-1"))
        #: The ``NN-`` prefix of the DSP0200 headers of an ``M-POST``, else "".
        self.prefix = ""
        self._mpost = False
        self.operation = ""
        self.method: str | None = None
        self.object: str | None = None
        self.protocol_version = "1.0"

    def header(self, name: str) -> str | None:
        """A request header (the first, if repeated), by its name in any case."""
        return self._headers.get(name.lower().encode("ascii"))

    @property
    def authorization(self) -> str | None:
        return self.header("Authorization")

    @property
    def trailers(self) -> bool:
        """Whether the client accepts trailers (``TE: trailers``, HTTP/1.1 only)."""
        if not self.http11:
            return False
        codings = (self.header("TE") or "").split(",")
        return "trailers" in (coding.split(";")[0].strip().lower() for coding in codings)

    @property
    def expects_continue(self) -> bool:
        return self.http11 and (self.header("Expect") or "").lower() == "100-continue"

    # --- checks ---------------------------------------------------------------------------------

    def check_route(self) -> None:
        """HTTP version, path and method; the ``M-POST`` prefix (RFC 2774).

        (h11 refuses an HTTP/1.1 request without a Host header.)
        """
        if self._version >= "2":
            raise Refusal(505, f"HTTP version {self._version} is not supported", close=True)
        path = urllib.parse.urlsplit(self.target).path
        if path != CIMOM_PATH:
            raise Refusal(404, f"no resource at {self.target!r}; CIM requests go to {CIMOM_PATH}")
        if self.http_method not in ALLOWED_METHODS:
            raise Refusal(
                405,
                f"method {self.http_method} not allowed",
                headers=[("Allow", ", ".join(ALLOWED_METHODS))],
            )
        if self.http_method == "M-POST":
            self._mpost = True
            self.prefix = self._mandatory_extension_prefix()

    def _mandatory_extension_prefix(self) -> str:
        """The ``NN-`` prefix an M-POST's ``Man`` header declares for the CIM mapping."""
        if not self.http11:
            raise Refusal(400, "M-POST needs HTTP/1.1")
        for declaration in (self.header("Man") or "").split(","):
            uri, *params = (part.strip() for part in declaration.split(";"))
            if uri.strip('"') != DMTF_MAPPING_URI:
                continue
            for param in params:
                name, _, value = param.partition("=")
                if name.strip() == "ns":
                    if not _NS_PREFIX.fullmatch(value.strip()):
                        raise Refusal(400, f"bad ns in Man header: {value.strip()!r}")
                    return f"{value.strip()}-"
            return ""
        raise Refusal(510, f"M-POST without a Man header declaring {DMTF_MAPPING_URI}")

    def check_cim_headers(self) -> None:
        """``CIMOperation``, ``CIMBatch``, ``CIMProtocolVersion`` and the content type."""
        self.method = self._unquoted("CIMMethod")
        self.object = self._unquoted("CIMObject")
        operation = self._cim_header("CIMOperation")
        if operation != "MethodCall":
            raise Refusal(
                400, f"CIMOperation must be MethodCall, not {operation!r}", "unsupported-operation"
            )
        self.operation = operation
        if self._cim_header("CIMBatch") is not None:
            raise Refusal(
                501, "batched (multiple) requests are not supported", "multiple-requests-unsupported"
            )
        self.protocol_version = self._cim_header("CIMProtocolVersion") or "1.0"
        if not _PROTOCOL_VERSION.fullmatch(self.protocol_version):
            raise Refusal(
                501,
                f"CIM protocol version {self.protocol_version!r} is not supported",
                "unsupported-protocol-version",
            )
        self._check_content_type()

    def _cim_header(self, name: str) -> str | None:
        """A DSP0200 header, under its M-POST prefix when the request declared one."""
        value = self.header(self.prefix + name)
        return value.strip() if value is not None else None

    def _unquoted(self, name: str) -> str | None:
        value = self._cim_header(name)
        return urllib.parse.unquote(value) if value is not None else None

    def _check_content_type(self) -> None:
        content_type = self.header("Content-Type")
        if content_type is None:
            raise Refusal(400, "no Content-Type; CIM-XML is application/xml", "request-not-valid")
        media_type, *params = (part.strip() for part in content_type.split(";"))
        charsets = [
            value.strip().strip('"').lower()
            for name, _, value in (param.partition("=") for param in params)
            if name.strip().lower() == "charset"
        ]
        if media_type.lower() not in XML_MEDIA_TYPES or not set(charsets) <= {"utf-8", "utf8"}:
            raise Refusal(
                400,
                f"Content-Type {content_type!r} is not CIM-XML (application/xml; charset=utf-8)",
                "request-not-valid",
            )

    def body_length(self, limit: int) -> int:
        """The body's declared length, refused when it is not given or over ``limit``.

        DSP0200 clients always send Content-Length, and a length known up
        front lets oversized requests be refused before they are read, so
        chunked request bodies get ``411 Length Required``.
        """
        if self.header("Transfer-Encoding") is not None:
            raise Refusal(
                411, "chunked request bodies are not accepted; send Content-Length", close=True
            )
        declared = self.header("Content-Length")
        if declared is None:
            raise Refusal(411, "Content-Length required")
        length = int(declared)  # h11 refused any other form
        if length > limit:
            raise Refusal(
                413, f"request body of {length} bytes is over the limit of {limit}", close=True
            )
        return length

    def cim_request(self, body: bytes, user: str | None, client: str) -> CIMRequest:
        """The checked request, for the handler."""
        return CIMRequest(
            body=body,
            operation=self.operation,
            method=self.method,
            object=self.object,
            protocol_version=self.protocol_version,
            user=user,
            trailers=self.trailers,
            client=client,
            chunked=self.http11,
        )

    # --- replies --------------------------------------------------------------------------------

    def reply(
        self, length: int | None = None, trailers: bool = False, close: bool = False
    ) -> h11.Response:
        """The head of a CIM-XML reply: ``length`` bytes long, or chunked when ``None``,
        announcing the ``CIMStatusCode`` trailers when ``trailers``."""
        headers = [
            ("Content-Type", REPLY_CONTENT_TYPE),
            (f"{self.prefix}CIMOperation", "MethodResponse"),
            ("WBEMServerResponseTime", str(int((time.monotonic() - self.started) * 1e6))),
        ]
        if length is not None:
            headers.append(("Content-Length", str(length)))
        else:
            headers.append(("Transfer-Encoding", "chunked"))
            if trailers:
                names = f"{self.prefix}CIMStatusCode, {self.prefix}CIMStatusCodeDescription"
                headers.append(("Trailer", names))
        return self._response(200, headers, close)

    def status_trailers(self, code: int, description: str | None) -> h11.EndOfMessage:
        """The end of a chunked reply with the CIM status (DSP0200), the description %-escaped."""
        trailers = [(f"{self.prefix}CIMStatusCode", str(code))]
        if description is not None:
            escaped = urllib.parse.quote(description, safe=_HEADER_SAFE)
            trailers.append((f"{self.prefix}CIMStatusCodeDescription", escaped))
        return h11.EndOfMessage(headers=trailers)

    def refusal(self, refusal: Refusal, close: bool = False) -> tuple[h11.Response, bytes]:
        """The head and text of an HTTP error answer."""
        return refusal_reply(refusal, self.prefix, self._mpost, close)

    def _response(
        self, status: int, headers: list[tuple[str, str]], close: bool
    ) -> h11.Response:
        if self._mpost:
            headers.extend(_extension_headers(self.prefix))
        return response(status, headers, close)


def refusal_reply(
    refusal: Refusal, prefix: str = "", mpost: bool = False, close: bool = False
) -> tuple[h11.Response, bytes]:
    """The head and text of an HTTP error answer, also for a request that has no
    :class:`Envelope` (its head could not be parsed)."""
    body = (refusal.description + "\n").encode("utf-8")
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
    ]
    if refusal.cim_error:
        headers.append((f"{prefix}CIMError", refusal.cim_error))
    headers.extend(refusal.headers)
    if mpost:
        headers.extend(_extension_headers(prefix))
    return response(refusal.status, headers, close or refusal.close), body


def response(status: int, headers: list[tuple[str, str]], close: bool = False) -> h11.Response:
    """A response head with the server's name and the date; ``close`` ends the connection."""
    headers = [("Server", SERVER_NAME), ("Date", _http_date()), *headers]
    if close:
        headers.append(("Connection", "close"))
    reason = _REASONS.get(status, b"")
    return h11.Response(status_code=status, headers=headers, reason=reason)


def _extension_headers(prefix: str) -> list[tuple[str, str]]:
    ns = prefix.rstrip("-")
    return [("Ext", ""), ("Man", f"{DMTF_MAPPING_URI}; ns={ns}" if ns else DMTF_MAPPING_URI)]


_REASONS = {status.value: status.phrase.encode("ascii") for status in http.HTTPStatus}
_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    """The Date header's value; made once a second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, email.utils.formatdate(now, usegmt=True))
    return _date_cache[1]
