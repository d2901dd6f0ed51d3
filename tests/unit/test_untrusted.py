"""The bounds on untrusted XML hold whether or not the document's size lets the tests be skipped."""

from __future__ import annotations

import pytest
from pywbem import CIM_ERR_INVALID_PARAMETER, CIMError

from virtcim.cimxml.limits import MAX_ARRAY_ITEMS, MAX_VALUE_CHARS
from virtcim.cimxml.untrusted import Malformed, check_sizes, parse


def nested(levels: int) -> str:
    return "<a>" * (levels - 1) + "<a/>" + "</a>" * (levels - 1)


@pytest.mark.parametrize("declaration", ["", '<?xml version="1.0" encoding="utf-8"?>',
                                         '<?xml version="1.0" encoding="utf-16"?>'])
@pytest.mark.parametrize("max_depth", [1, 2, 3, 10, 64])
def test_depth_is_refused_exactly_past_the_bound(declaration, max_depth):
    encoding = "utf-16" if "utf-16" in declaration else "utf-8"
    assert parse((declaration + nested(max_depth)).encode(encoding), max_depth).tag == "a"
    with pytest.raises(Malformed, match=f"deeper than {max_depth} levels"):
        parse((declaration + nested(max_depth + 1)).encode(encoding), max_depth)


def array(items: int) -> bytes:
    return b"<VALUE.ARRAY>" + b"<VALUE/>" * items + b"</VALUE.ARRAY>"


def test_an_array_is_refused_exactly_past_the_bound():
    data = array(MAX_ARRAY_ITEMS)
    check_sizes(parse(data, 64), data)
    data = array(MAX_ARRAY_ITEMS + 1)
    with pytest.raises(CIMError) as refused:
        check_sizes(parse(data, 64), data)
    assert refused.value.status_code == CIM_ERR_INVALID_PARAMETER
    assert f"{MAX_ARRAY_ITEMS + 1} items" in refused.value.status_description


def test_a_value_is_refused_exactly_past_the_bound():
    data = b"<VALUE>" + b"x" * MAX_VALUE_CHARS + b"</VALUE>"
    check_sizes(parse(data, 64), data)
    data = b"<VALUE>" + b"x" * (MAX_VALUE_CHARS + 1) + b"</VALUE>"
    with pytest.raises(CIMError, match=f"{MAX_VALUE_CHARS + 1} characters"):
        check_sizes(parse(data, 64), data)


def test_a_small_document_passes_without_the_tests():
    data = b"<VALUE.ARRAY><VALUE>a</VALUE></VALUE.ARRAY>"
    check_sizes(parse(data, 64), data)
