"""Property-based checks of the codec: hostile requests and arbitrary instances."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pywbem import (
    CIMDateTime,
    CIMInstance,
    CIMInstanceName,
    CIMProperty,
    Real32,
    Real64,
    Sint8,
    Sint16,
    Sint32,
    Sint64,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
)

from tests.unit.cimxml_bodies import imethodcall, ireturnvalue, methodcall, same_properties
from virtcim.cimxml.decode import decode_request
from virtcim.cimxml.messages import CallError, RequestError


def fuzz(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

VALID_REQUESTS = [
    imethodcall("EnumerateInstances",
                '<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="CIM_System"></CLASSNAME></IPARAMVALUE>'
                '<IPARAMVALUE NAME="DeepInheritance"><VALUE>TRUE</VALUE></IPARAMVALUE>'
                '<IPARAMVALUE NAME="MaxObjectCount"><VALUE>10</VALUE></IPARAMVALUE>'
                '<IPARAMVALUE NAME="PropertyList"><VALUE.ARRAY><VALUE>Name</VALUE></VALUE.ARRAY>'
                "</IPARAMVALUE>"),
    imethodcall("CreateInstance",
                '<IPARAMVALUE NAME="NewInstance"><INSTANCE CLASSNAME="X">'
                '<PROPERTY NAME="N" TYPE="uint16"><VALUE>7</VALUE></PROPERTY>'
                '<PROPERTY.ARRAY NAME="A" TYPE="real64"><VALUE.ARRAY><VALUE>1.5</VALUE>'
                "<VALUE.NULL></VALUE.NULL></VALUE.ARRAY></PROPERTY.ARRAY>"
                '<PROPERTY.REFERENCE NAME="R"><VALUE.REFERENCE><INSTANCENAME CLASSNAME="Y">'
                '<KEYBINDING NAME="k"><KEYVALUE VALUETYPE="numeric">1</KEYVALUE></KEYBINDING>'
                "</INSTANCENAME></VALUE.REFERENCE></PROPERTY.REFERENCE>"
                "</INSTANCE></IPARAMVALUE>"),
    methodcall("DefineSystem",
               '<PARAMVALUE NAME="SystemSettings" EmbeddedObject="instance"><VALUE>'
               "&lt;INSTANCE CLASSNAME=&quot;V&quot;&gt;&lt;PROPERTY NAME=&quot;I&quot; "
               "TYPE=&quot;string&quot;&gt;&lt;VALUE&gt;x&lt;/VALUE&gt;&lt;/PROPERTY&gt;"
               "&lt;/INSTANCE&gt;</VALUE></PARAMVALUE>"
               '<PARAMVALUE NAME="Mof"><VALUE>instance of V { I = "x"; N = {1, 2}; };</VALUE>'
               "</PARAMVALUE>"),
]
FRAGMENTS = [b"<", b">", b"/", b'"', b"&", b"&lt;", b"<!DOCTYPE x>", b"<VALUE>", b"</VALUE>",
             b"<VALUE.NULL/>", b"\xff", b"\x00", b"{", b"}", b";", b"instance of ", b"TYPE=\"uint8\" "]


def decode_quietly(body: bytes) -> None:
    """Decoding may refuse the body, but only the two ways the server answers."""
    try:
        decode_request(body)
    except (RequestError, CallError):
        pass


@pytest.mark.timeout(60)
@fuzz(500)
@given(st.binary(max_size=2000))
def test_random_bytes_are_refused_cleanly(body):
    decode_quietly(body)


@st.composite
def mutated_requests(draw):
    body = bytearray(draw(st.sampled_from(VALID_REQUESTS)))
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, len(body)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        if action == "insert":
            body[position:position] = draw(st.sampled_from(FRAGMENTS) | st.binary(max_size=4))
        elif action == "delete":
            del body[position:position + draw(st.integers(1, 20))]
        else:
            body[position:position + 1] = draw(st.binary(min_size=1, max_size=1))
    return bytes(body)


@pytest.mark.timeout(60)
@fuzz(1500)
@given(mutated_requests())
def test_mutated_requests_are_decoded_or_refused_cleanly(body):
    decode_quietly(body)


# --------------------------------------------------------------------------
# arbitrary instances through encoder and pywbem's parser

#: Text XML 1.0 can carry: no C0 controls but tab/newline/CR, no surrogates,
#: no U+FFFE/U+FFFF (the encoder replaces those; tested in test_encode).
xml_text = st.text(
    st.characters(blacklist_categories=("Cs",),
                  blacklist_characters=[chr(c) for c in range(0x20) if c not in (9, 10, 13)]
                  + ["\ufffe", "\uffff"]),
    max_size=40,
)
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True)

INTEGER_TYPES = [Uint8, Sint8, Uint16, Sint16, Uint32, Sint32, Uint64, Sint64]
scalars = st.one_of(
    *[st.integers(kind.minvalue, kind.maxvalue).map(kind) for kind in INTEGER_TYPES],
    xml_text,
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True).map(Real64),
    st.floats(width=32, allow_nan=False).map(Real32),
    st.datetimes(min_value=datetime(1000, 1, 1)).map(
        lambda moment: CIMDateTime(moment.strftime("%Y%m%d%H%M%S.%f+000"))),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=99999999)).map(CIMDateTime),
)
references = st.builds(
    lambda classname, key, value, namespace: CIMInstanceName(
        classname, {key: value}, namespace=namespace),
    names, names, xml_text | st.integers(0, 2**32 - 1).map(Uint32),
    st.none() | st.just("root/virt"),
)


@st.composite
def properties(draw):
    name = draw(names)
    shape = draw(st.sampled_from(["scalar", "null", "array", "string-array", "reference"]))
    if shape == "scalar":
        return CIMProperty(name, draw(scalars))
    if shape == "null":
        return CIMProperty(name, None, type=draw(st.sampled_from(["string", "uint32", "boolean"])))
    if shape == "reference":
        return CIMProperty(name, draw(references))
    if shape == "string-array":  # pywbem reads VALUE.NULL only in string arrays
        return CIMProperty(name, draw(st.lists(st.none() | xml_text, max_size=5)), type="string")
    kind = draw(st.sampled_from(INTEGER_TYPES))
    values = draw(st.lists(st.integers(kind.minvalue, kind.maxvalue).map(kind), max_size=5))
    return CIMProperty(name, values, type=kind.cimtype, is_array=True)


@st.composite
def instances(draw):
    instance = CIMInstance(draw(names))
    for prop in draw(st.lists(properties(), max_size=8, unique_by=lambda p: p.name.lower())):
        instance.properties[prop.name] = prop
    if draw(st.booleans()):
        instance.properties["Embedded"] = CIMProperty(
            "Embedded", CIMInstance(draw(names), {"Text": draw(xml_text)}),
            embedded_object="instance")
    instance.path = CIMInstanceName(instance.classname, {"Id": draw(xml_text)})
    return instance


@pytest.mark.timeout(60)
@fuzz(300)
@given(instances())
def test_arbitrary_instances_round_trip_through_pywbem(instance):
    (returned,) = ireturnvalue("EnumerateInstances", [instance])[0][2]
    assert same_properties(returned, instance)
    assert returned.path == instance.path
