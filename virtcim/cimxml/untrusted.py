"""Untrusted XML text to an lxml tree, within the bounds a server can afford.

:func:`parse` reads a request body or an embedded object with a hardened
parser (no DTD, no entities, no network) and refuses a DOCTYPE and elements
nested deeper than asked; :func:`check_sizes` refuses arrays, values and
parameter lists over the bounds of :mod:`virtcim.cimxml.limits`.

The bounds are tested by XPath in C, in time linear in the document, but
each test costs a few microseconds even on a small document, a tenth of
decoding a GetInstance. Most requests are far too small to break any bound:
a chain of more elements than the depth bound needs as many start tags, an
array of more items as many, and a value of more characters as many bytes.
So the tests run only where the document's bytes could hold a breach.
"""

from __future__ import annotations

import threading
from typing import Any

from lxml import etree
from pywbem import CIM_ERR_INVALID_PARAMETER, CIMError

from virtcim.cimxml.limits import MAX_ARRAY_ITEMS, MAX_PARAMETERS, MAX_VALUE_CHARS

__all__ = ["Malformed", "check_sizes", "parse"]

#: Encodings in which every start tag holds the byte ``<``: counting that byte
#: bounds the elements. (In another, such as EBCDIC, it may not.)
_COUNTABLE_ENCODINGS = frozenset({"UTF-8", "US-ASCII", "ASCII"})


class Malformed(Exception):
    """The elements are not what DSP0201 allows at this place."""


class _ThreadTools(threading.local):
    """The hardened parser and the bound tests, one set per thread.

    lxml lets one parser (or XPath) serve one thread at a time and makes the
    others wait: shared, they serialise the server's worker threads.
    """

    def __init__(self) -> None:
        self.parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            collect_ids=False,  # nothing looks elements up by xml:id
        )
        self.depth_tests: dict[int, etree.XPath] = {}
        self.largest_array = etree.XPath(
            "(//VALUE.ARRAY[count(*) > $items] | //VALUE.REFARRAY[count(*) > $items])[1]"
        )
        self.longest_text = etree.XPath("(//text()[string-length(.) > $chars])[1]")

    def deeper_than(self, depth: int) -> etree.XPath:
        """An XPath test, evaluated in C in time linear in the element count."""
        test = self.depth_tests.get(depth)
        if test is None:
            test = self.depth_tests[depth] = etree.XPath("boolean(/*" + "/*" * depth + ")")
        return test


_TOOLS = _ThreadTools()


def parse(data: bytes, max_depth: int) -> Any:
    """The root element of ``data``; :class:`Malformed` if it is not well-formed XML,
    has a DOCTYPE, or nests elements deeper than ``max_depth``."""
    try:
        root = etree.fromstring(data, _TOOLS.parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise Malformed(f"not well-formed XML: {exc}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise Malformed("a DOCTYPE is not allowed in CIM-XML")
    if _may_hold_tags(data, root, max_depth + 1) and _TOOLS.deeper_than(max_depth)(root):
        raise Malformed(f"elements nest deeper than {max_depth} levels")
    return root


def check_sizes(element: Any, data: bytes, parameters: bool = False) -> None:
    """Refuse arrays, values and (for a call) parameter lists in ``element`` over the
    bounds of :mod:`virtcim.cimxml.limits`, with ``CIMError(CIM_ERR_INVALID_PARAMETER)``.

    ``data`` is the text ``element`` was parsed from.
    """
    if parameters and len(element) > MAX_PARAMETERS + 1:  # + the namespace or target
        raise _invalid(f"more than {MAX_PARAMETERS} parameters")
    if _may_hold_tags(data, element, MAX_ARRAY_ITEMS + 1):
        array = _TOOLS.largest_array(element, items=MAX_ARRAY_ITEMS)
        if array:
            raise _invalid(
                f"an array of {len(array[0])} items is over the limit of {MAX_ARRAY_ITEMS}"
            )
    # A character of a value takes at least one byte of the text, in any encoding.
    if len(data) > MAX_VALUE_CHARS:
        text = _TOOLS.longest_text(element, chars=MAX_VALUE_CHARS)
        if text:
            raise _invalid(
                f"a value of {len(text[0])} characters is over the limit of {MAX_VALUE_CHARS}"
            )


def _may_hold_tags(data: bytes, element: Any, count: int) -> bool:
    """Whether the document of ``element``, parsed from ``data``, may hold ``count``
    elements or more."""
    encoding = (element.getroottree().docinfo.encoding or "").upper()
    return encoding not in _COUNTABLE_ENCODINGS or data.count(b"<") >= count


def _invalid(message: str) -> CIMError:
    return CIMError(CIM_ERR_INVALID_PARAMETER, message)
