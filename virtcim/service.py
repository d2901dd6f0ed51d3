"""One CIM-XML request in, one reply out: decode, check headers, dispatch, encode.

This is the seam between the HTTP transport (which knows sockets and headers)
and the operations layer (which knows CIM). It does no I/O itself: the reply
body is a list of bytes, or a generator the transport streams as chunks.

Streaming: a reply longer than one encoder chunk (64 KiB) is streamed, so an
enumeration of 10,000 guests is never held whole in memory. Whatever fails
before the first chunk is produced gets a plain error response. When the
client sent ``TE: trailers``, a failure after that ends the chunked body with
the error in the ``CIMStatusCode`` trailers (DSP0200). Other HTTP/1.1 clients
(every HTTP/1.1 client reads chunked bodies; pywbem does, but cannot read
trailers) get the same chunked stream without trailers, and a failure after
the first chunk aborts the connection before the last chunk: the client sees
an incomplete response, never a complete-looking wrong one. HTTP/1.0 clients
get the whole body, buffered.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from itertools import chain

from pywbem import CIM_ERR_FAILED, CIMClassName, CIMError, CIMInstanceName

from virtcim.cimxml.decode import decode_request
from virtcim.cimxml.encode import (
    encode_error_response,
    encode_extrinsic_response,
    encode_intrinsic_response,
)
from virtcim.cimxml.messages import CallError, ExtrinsicCall, IntrinsicCall, RequestError
from virtcim.http.envelope import CIMReply, CIMRequest
from virtcim.operations.dispatcher import Dispatcher
from virtcim.provider import same_keys

__all__ = ["CIMService"]

log = logging.getLogger(__name__)


class CIMService:
    """Answers CIM-XML requests with a :class:`Dispatcher`."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher

    def __call__(self, request: CIMRequest) -> CIMReply:
        try:
            call = decode_request(request.body)
        except CallError as exc:
            return _error_reply(exc.message_id, exc.name, exc.intrinsic, _as_cim_error(exc.error))
        check_headers(request, call)
        intrinsic = isinstance(call, IntrinsicCall)
        try:
            chunks = self._answer(call, request.user)
            if not (request.trailers or request.chunked):
                return CIMReply(body=[b"".join(chunks)])
            # Producing the first chunk runs the operation up to its first
            # results, so errors found before anything is sent still get a
            # plain error response rather than a trailer or an abort.
            first = next(chunks, b"")
            second = next(chunks, None)
            if second is None:
                return CIMReply(body=[first])
            return CIMReply(body=_streamed(chain([first, second], chunks)), streamed=True)
        except CIMError as exc:
            return _error_reply(call.message_id, call.name, intrinsic, exc)

    def _answer(self, call: IntrinsicCall | ExtrinsicCall, user: str | None) -> Iterator[bytes]:
        if isinstance(call, IntrinsicCall):
            result = self.dispatcher.intrinsic(call, user)
            return iter(encode_intrinsic_response(call.message_id, call.name, result))
        result = self.dispatcher.extrinsic(call, user)
        signature = self.dispatcher.method_signature(call.namespace, call.target.classname, call.name)
        return iter([encode_extrinsic_response(call.message_id, call.name, result, signature)])


def check_headers(request: CIMRequest, call: IntrinsicCall | ExtrinsicCall) -> None:
    """DSP0200: ``CIMMethod`` and ``CIMObject`` must say what the body says."""
    if request.method is None or request.method != call.name:
        raise RequestError(
            400, "header-mismatch", f"CIMMethod {request.method!r} but the body calls {call.name!r}"
        )
    if request.object is None or not _same_object(request.object, call):
        raise RequestError(
            400, "header-mismatch", f"CIMObject {request.object!r} does not name the call's target"
        )


def _same_object(header: str, call: IntrinsicCall | ExtrinsicCall) -> bool:
    if isinstance(call, IntrinsicCall):
        return _same_namespace(header, call.namespace)
    target = call.target
    try:
        if isinstance(target, CIMInstanceName):
            named = CIMInstanceName.from_wbem_uri(header)
            return _same_namespace(named.namespace, target.namespace) and same_keys(named, target)
        named_class = CIMClassName.from_wbem_uri(header)
    except ValueError:
        return False
    return (
        _same_namespace(named_class.namespace, target.namespace)
        and named_class.classname.lower() == target.classname.lower()
    )


def _same_namespace(a: str | None, b: str | None) -> bool:
    return (a or "").strip("/").lower() == (b or "").strip("/").lower()


def _streamed(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Chunks of a streamed reply: errors surface as ``CIMError`` (see the module docstring)."""
    try:
        yield from chunks
    except CIMError:
        raise
    except Exception as exc:  # a provider bug mid-stream: the client gets a trailer
        log.exception("failed while streaming a response")
        raise _as_cim_error(exc) from exc


def _error_reply(message_id: str, name: str, intrinsic: bool, error: CIMError) -> CIMReply:
    body = encode_error_response(message_id, name, intrinsic, error)
    return CIMReply(body=[body], cim_status=error.status_code, description=error.status_description)


def _as_cim_error(exc: Exception) -> CIMError:
    if isinstance(exc, CIMError):
        return exc
    return CIMError(CIM_ERR_FAILED, f"internal error: {exc}")
