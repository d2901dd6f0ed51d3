"""Fuzz targets: the parsers that read what clients send, each taking any bytes.

A target returns quietly when its parser accepts or refuses the input the
ways the server answers (an HTTP status, a CIM error); anything else it
raises is a bug. ``tests/fuzz/run.py`` drives them with atheris (coverage
guided) from the corpus in ``tests/fuzz/corpus/<target>/``;
``tests/unit/test_fuzz.py`` runs each for a bounded number of inputs.
"""

from __future__ import annotations

from collections.abc import Callable

import h11
from pywbem import (
    CIM_ERR_FAILED,
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_INVALID_QUERY,
    CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED,
    CIMError,
    CIMInstance,
    Uint16,
)

from virtcim.cimxml.decode import decode_embedded_object, decode_request
from virtcim.cimxml.messages import CallError, RequestError
from virtcim.cimxml.mofinstance import parse_mof_instance
from virtcim.http import head as raw_head
from virtcim.http.envelope import Envelope, Refusal
from virtcim.http.server import Limits
from virtcim.query import CQL, FQL, WQL, parse

_LANGUAGES = (WQL, CQL, FQL)
_INSTANCE = CIMInstance("CIM_ComputerSystem", {"Name": "web1", "EnabledState": Uint16(2),
                                               "Dedicated": [Uint16(3)]})

_LIMITS = Limits()


def request(data: bytes) -> None:
    """A CIM-XML request body through the decoder."""
    try:
        decode_request(data)
    except RequestError as error:
        assert 400 <= error.status < 600, error
    except CallError as error:
        assert error.error.status_code > 0, error


def embedded(data: bytes) -> None:
    """An embedded-instance parameter's text (MOF or escaped CIM-XML) through its parsers."""
    text = data.decode("utf-8", "replace")
    for parser in (parse_mof_instance, decode_embedded_object):
        try:
            parser(text)
        except CIMError as error:
            assert error.status_code in (CIM_ERR_INVALID_PARAMETER, CIM_ERR_FAILED), error


def head(data: bytes) -> None:
    """Request heads through h11, virtcim's own head checks and the DSP0200 envelope,
    as many as the bytes hold (pipelined)."""
    connection = h11.Connection(h11.SERVER, max_incomplete_event_size=_LIMITS.max_head_bytes)
    connection.receive_data(data)
    connection.receive_data(b"")
    for _ in range(64):
        try:
            event = connection.next_event()
        except h11.RemoteProtocolError as error:
            assert 400 <= error.error_status_hint < 600
            return
        if isinstance(event, h11.Request):
            _check(event)
        elif event in (h11.NEED_DATA, h11.PAUSED) or isinstance(event, h11.ConnectionClosed):
            return
        elif isinstance(event, h11.EndOfMessage) and connection.our_state is h11.SEND_RESPONSE:
            connection.send(h11.Response(status_code=204, headers=[]))
            connection.send(h11.EndOfMessage())
            if connection.our_state is not h11.DONE or connection.their_state is not h11.DONE:
                return
            connection.start_next_cycle()


def _check(request: h11.Request) -> None:
    try:
        raw_head.check_fields(request.headers)
        envelope = Envelope(request)
        envelope.check_route()
        envelope.check_cim_headers()
        envelope.body_length(_LIMITS.max_body_bytes)
        envelope.cim_request(b"", None, "fuzz")
    except (raw_head.HeadError, Refusal) as refused:
        assert 400 <= refused.status < 600, refused


def query(data: bytes) -> None:
    """Query text through the parser of the language the first byte picks (WQL, CQL, FQL),
    and what it parses through matching and projecting an instance."""
    if not data:
        return
    language = _LANGUAGES[data[0] % len(_LANGUAGES)]
    try:
        parsed = parse(language, data[1:].decode("utf-8", "replace"),
                       class_name="CIM_ComputerSystem")
        if parsed.matches(_INSTANCE):
            parsed.project(_INSTANCE)
    except CIMError as error:
        assert error.status_code in (CIM_ERR_INVALID_QUERY,
                                     CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED), error


TARGETS: dict[str, Callable[[bytes], None]] = {
    "request": request,
    "mof": embedded,
    "head": head,
    "query": query,
}
