"""Embedded objects read from their text (virtcim.cimxml.elements); the elements inside a
request are tested through it in test_decode."""

from __future__ import annotations

import pytest
import pywbem
from pywbem import CIMInstance, CIMProperty

from virtcim.cimxml.elements import MAX_EMBEDDING, decode_embedded_object


def test_embedded_instances_nest_inside_properties():
    innermost = CIMInstance("Inner", {"Depth": "2"})
    middle = CIMInstance("Middle", properties=[CIMProperty("Child", innermost,
                                                            embedded_object="instance")])
    outer = decode_embedded_object(CIMInstance(
        "Outer", properties=[CIMProperty("Child", middle, embedded_object="instance")]
    ).tocimxmlstr())
    assert outer["Child"]["Child"]["Depth"] == "2"


def nested_instances(levels: int) -> CIMInstance:
    instance = CIMInstance("Leaf", {"A": "x"})
    for _ in range(levels - 1):
        instance = CIMInstance("Wrap", properties=[
            CIMProperty("Child", instance, embedded_object="instance")])
    return instance


@pytest.mark.timeout(5)
def test_embedded_objects_nested_too_deep_are_refused():
    assert decode_embedded_object(nested_instances(MAX_EMBEDDING).tocimxmlstr()).classname == "Wrap"
    with pytest.raises(pywbem.CIMError, match="nest deeper"):
        decode_embedded_object(nested_instances(MAX_EMBEDDING + 1).tocimxmlstr())
