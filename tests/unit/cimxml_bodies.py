"""CIM-XML bodies for the codec's tests: requests as clients write them, responses as
pywbem reads them."""

from __future__ import annotations

import math
import re

from lxml import etree
from pywbem import CIMInstance
from pywbem._tupleparse import TupleParser  # private: the client's parser, tests only
from pywbem._tupletree import xml_to_tupletree_sax

from virtcim.cimxml.encode import encode_intrinsic_response


def envelope(call: str, message_id: str = "4711") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8" ?>\n<CIM CIMVERSION="2.0" DTDVERSION="2.0">\n'
        f'<MESSAGE ID="{message_id}" PROTOCOLVERSION="1.0">\n<SIMPLEREQ>\n{call}\n'
        "</SIMPLEREQ>\n</MESSAGE>\n</CIM>\n"
    ).encode("utf-8")


LOCAL_NAMESPACE = ('<LOCALNAMESPACEPATH>\n<NAMESPACE NAME="root"></NAMESPACE>\n'
                   '<NAMESPACE NAME="virt"></NAMESPACE>\n</LOCALNAMESPACEPATH>')


def imethodcall(name: str, params: str) -> bytes:
    return envelope(f'<IMETHODCALL NAME="{name}">\n{LOCAL_NAMESPACE}\n{params}\n</IMETHODCALL>')


def methodcall(name: str, params: str) -> bytes:
    target = (f'<LOCALINSTANCEPATH>{LOCAL_NAMESPACE}<INSTANCENAME CLASSNAME="KVM_VSMS">'
              '<KEYBINDING NAME="Name"><KEYVALUE VALUETYPE="string">vsms</KEYVALUE></KEYBINDING>'
              "</INSTANCENAME></LOCALINSTANCEPATH>")
    return envelope(f'<METHODCALL NAME="{name}">{target}{params}</METHODCALL>')


def parse_response(body: bytes) -> tuple:
    """(name, attributes, children) of the method response, as pywbem reads it."""
    assert_no_self_closing(body)
    cim = TupleParser().parse_cim(xml_to_tupletree_sax(body, "CIM-XML response"))
    assert cim[0] == "CIM" and cim[1] == {"CIMVERSION": "2.0", "DTDVERSION": "2.0"}
    message = cim[2]
    return message[2][2]


def assert_no_self_closing(body: bytes) -> None:
    """sblim wbemcli rejects <X/>: every element must have an end tag.

    The tree lxml builds cannot tell ``<X/>`` from ``<X></X>``, so lxml only
    proves the body well-formed and the tags are checked in the text.
    """
    etree.fromstring(body)
    assert _SELF_CLOSING.search(body) is None


_SELF_CLOSING = re.compile(rb"<[A-Za-z][^<>]*/>")


def ireturnvalue(name: str, result) -> list:
    body = b"".join(encode_intrinsic_response("42", name, result))
    response = parse_response(body)
    assert response[0] == "IMETHODRESPONSE" and response[1]["NAME"] == name
    children = response[2]
    assert children[0][0] == "IRETURNVALUE"
    return children


def same_properties(got, expected) -> bool:
    """Property values and types equal, ignoring PROPAGATED (pywbem reads it as False)."""
    def summary(obj):
        return {
            name: (prop.type, prop.is_array, prop.embedded_object, normalized(prop.value))
            for name, prop in obj.properties.items()
        }

    def normalized(value):
        if isinstance(value, CIMInstance):
            return (value.classname, summary(value))
        if isinstance(value, float) and math.isnan(value):
            return "NaN"
        if isinstance(value, list):
            return [normalized(item) for item in value]
        return value

    return got.classname == expected.classname and summary(got) == summary(expected)
