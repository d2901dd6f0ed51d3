"""Hostile and broken requests against the whole server: each gets its specific answer.

HTTP-level problems get the DSP0200 status and ``CIMError`` header; CIM-level
ones a CIM error in a 200 response; and the server keeps serving after each.
"""

from __future__ import annotations

import http.client
import re
from urllib.parse import urlsplit

import pytest
import pywbem
from pywbem import CIMInstanceName

pytestmark = [pytest.mark.http]

ENVELOPE = (
    '<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
    '<MESSAGE ID="7" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="{name}">'
    '<LOCALNAMESPACEPATH>{namespace}</LOCALNAMESPACEPATH>{params}</IMETHODCALL>'
    "</SIMPLEREQ></MESSAGE></CIM>"
)
HEADERS = {"Content-Type": 'application/xml; charset="utf-8"', "CIMOperation": "MethodCall"}


def namespace_xml(namespace: str) -> str:
    return "".join(f'<NAMESPACE NAME="{part}"></NAMESPACE>' for part in namespace.split("/"))


def request(name: str, params: str = "", namespace: str = "root/virt") -> bytes:
    return ENVELOPE.format(name=name, namespace=namespace_xml(namespace), params=params).encode()


@pytest.fixture
def post(server):
    url = urlsplit(server.http_url)

    def send(body: bytes, **headers: str) -> tuple[http.client.HTTPResponse, bytes]:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        conn.request("POST", "/cimom", body, {**HEADERS, **headers})
        response = conn.getresponse()
        return response, response.read()

    yield send
    # Whatever came before, the server still answers a good request.
    conn = server.connection("root/interop")
    assert len(conn.EnumerateInstanceNames("CIM_ObjectManager")) == 1


def cim_error_code(body: bytes) -> int:
    found = re.search(rb'<ERROR CODE="(\d+)"', body)
    assert found, body[:500]
    return int(found.group(1))


OK_HEADERS = {"CIMMethod": "EnumerateClassNames", "CIMObject": "root/virt"}


@pytest.mark.parametrize("body, cim_error", [
    (b"<CIM><MESSAGE", "request-not-well-formed"),
    (b"\xff\xfe<CIM/>", "request-not-valid"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;'
     b'&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><CIM>&c;</CIM>',
     "request-not-well-formed"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><CIM>&e;</CIM>',
     "request-not-well-formed"),
    (b"<CIM>" * 200 + b"</CIM>" * 200, "request-not-well-formed"),
], ids=["truncated", "not-utf8", "entity-bomb", "external-entity", "deep-nesting"])
def test_malformed_bodies_are_refused_at_the_http_level(post, body, cim_error):
    response, _ = post(body, **OK_HEADERS)
    assert response.status == 400
    assert response.getheader("CIMError") == cim_error


def test_an_oversized_body_is_refused_before_it_is_read(server, post):
    limit = server.app.settings.max_body_bytes
    url = urlsplit(server.http_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.putrequest("POST", "/cimom")
    for name, value in {**HEADERS, **OK_HEADERS, "Content-Length": str(limit + 1)}.items():
        conn.putheader(name, value)
    conn.endheaders()
    assert conn.getresponse().status == 413


@pytest.mark.parametrize("headers, status, cim_error", [
    ({"CIMMethod": "GetClass", "CIMObject": "root/virt"}, 400, "header-mismatch"),
    ({"CIMMethod": "EnumerateClassNames", "CIMObject": "root/elsewhere"}, 400, "header-mismatch"),
    ({"CIMMethod": "EnumerateClassNames", "CIMObject": "root/virt", "CIMOperation": "Other"},
     400, "unsupported-operation"),
    ({"CIMMethod": "EnumerateClassNames", "CIMObject": "root/virt", "CIMProtocolVersion": "2.0"},
     501, "unsupported-protocol-version"),
    ({"CIMMethod": "EnumerateClassNames", "CIMObject": "root/virt", "CIMBatch": "CIMBatch"},
     501, "multiple-requests-unsupported"),
])
def test_headers_that_disagree_with_the_body_are_refused(post, headers, status, cim_error):
    response, _ = post(request("EnumerateClassNames"), **headers)
    assert response.status == status
    assert response.getheader("CIMError") == cim_error


def test_a_wrongly_typed_parameter_is_an_invalid_parameter_error(post):
    body = request("OpenEnumerateInstances",
                   '<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="CIM_ComputerSystem"></CLASSNAME>'
                   '</IPARAMVALUE><IPARAMVALUE NAME="MaxObjectCount"><VALUE>many</VALUE>'
                   "</IPARAMVALUE>")
    response, answer = post(body, CIMMethod="OpenEnumerateInstances", CIMObject="root/virt")
    assert response.status == 200
    assert cim_error_code(answer) == pywbem.CIM_ERR_INVALID_PARAMETER


def test_an_unknown_parameter_is_an_invalid_parameter_error(post):
    body = request("EnumerateClassNames", '<IPARAMVALUE NAME="Bogus"><VALUE>x</VALUE></IPARAMVALUE>')
    response, answer = post(body, **OK_HEADERS)
    assert response.status == 200
    assert cim_error_code(answer) == pywbem.CIM_ERR_INVALID_PARAMETER


def test_an_unknown_property_is_no_such_property(server, post):
    manager = server.connection("root/interop").EnumerateInstanceNames("CIM_ObjectManager")[0]
    keys = "".join(f'<KEYBINDING NAME="{name}"><KEYVALUE>{value}</KEYVALUE></KEYBINDING>'
                   for name, value in manager.keybindings.items())
    body = request("GetProperty",
                   '<IPARAMVALUE NAME="InstanceName"><INSTANCENAME CLASSNAME="CIM_ObjectManager">'
                   f'{keys}</INSTANCENAME></IPARAMVALUE>'
                   '<IPARAMVALUE NAME="PropertyName"><VALUE>NoSuchProperty</VALUE></IPARAMVALUE>',
                   namespace="root/interop")
    response, answer = post(body, CIMMethod="GetProperty", CIMObject="root/interop")
    assert response.status == 200
    assert cim_error_code(answer) == pywbem.CIM_ERR_NO_SUCH_PROPERTY


@pytest.mark.parametrize("call, code", [
    (lambda c: c.EnumerateInstances("CIM_ManagedElement", namespace="root/none"),
     pywbem.CIM_ERR_INVALID_NAMESPACE),
    (lambda c: c.EnumerateInstanceNames("No_Such_Class"), pywbem.CIM_ERR_INVALID_CLASS),
    (lambda c: c.InvokeMethod("NoSuchMethod", CIMInstanceName(
        "CIM_ObjectManager", {"Name": "virtcim"}, namespace="root/interop")),
     pywbem.CIM_ERR_METHOD_NOT_FOUND),
    (lambda c: c.CreateClass(pywbem.CIMClass("X_New")), pywbem.CIM_ERR_NOT_SUPPORTED),
], ids=["namespace", "class", "method", "class-write"])
def test_cim_level_mistakes_get_their_cim_error(server, post, call, code):
    with pytest.raises(pywbem.CIMError) as error:
        call(server.connection())
    assert error.value.status_code == code


ENUMERATE_NAMES = {"CIMMethod": "EnumerateInstanceNames", "CIMObject": "root/virt"}
CLASSNAME = '<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="CIM_ComputerSystem"></CLASSNAME></IPARAMVALUE>'


@pytest.mark.parametrize("params, message", [
    ('<IPARAMVALUE NAME="PropertyList"><VALUE.ARRAY>' + "<VALUE>Name</VALUE>" * 65537
     + "</VALUE.ARRAY></IPARAMVALUE>", "an array of 65537 items is over the limit of 65536"),
    ('<IPARAMVALUE NAME="X"><VALUE>' + "x" * (4 * 1024 * 1024 + 1) + "</VALUE></IPARAMVALUE>",
     "a value of 4194305 characters is over the limit of 4194304"),
    ("".join(f'<IPARAMVALUE NAME="P{n}"><VALUE>1</VALUE></IPARAMVALUE>' for n in range(257)),
     "more than 256 parameters"),
], ids=["array-length", "string-length", "parameter-count"])
def test_requests_over_the_decoder_limits_get_invalid_parameter(post, params, message):
    response, answer = post(request("EnumerateInstanceNames", CLASSNAME + params), **ENUMERATE_NAMES)
    assert response.status == 200
    assert cim_error_code(answer) == pywbem.CIM_ERR_INVALID_PARAMETER
    assert message.encode() in answer


def test_a_request_at_the_limits_is_decoded(post):
    params = ('<IPARAMVALUE NAME="PropertyList"><VALUE.ARRAY>' + "<VALUE>Name</VALUE>" * 65536
              + "</VALUE.ARRAY></IPARAMVALUE>")
    response, answer = post(request("EnumerateInstances", CLASSNAME + params),
                            CIMMethod="EnumerateInstances", CIMObject="root/virt")
    assert response.status == 200 and b"<ERROR" not in answer
