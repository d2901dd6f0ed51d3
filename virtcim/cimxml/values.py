"""CIM scalar values as DSP0201 writes them: text to typed value and back.

pywbem's :func:`pywbem.cimvalue` does most of the conversion, but it is
lenient where a server must not be: it takes any text as a boolean
(``"maybe"`` is true), a multi-character char16, and Python's own integer and
float spellings (``"1_000"``, ``"infinity"``). :func:`parse_value` checks the
DSP0201 lexical form first and lets pywbem build the typed value.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import Any

from pywbem import (
    CIMClass,
    CIMClassName,
    CIMDateTime,
    CIMInstance,
    CIMInstanceName,
    CIMType,
    cimvalue,
)

__all__ = [
    "CIM_TYPES",
    "INTEGER_TYPES",
    "format_value",
    "parse_boolean",
    "parse_numeric",
    "parse_value",
    "type_of",
]

INTEGER_TYPES = frozenset(
    ("uint8", "sint8", "uint16", "sint16", "uint32", "sint32", "uint64", "sint64")
)
REAL_TYPES = frozenset(("real32", "real64"))
CIM_TYPES = INTEGER_TYPES | REAL_TYPES | {"string", "char16", "boolean", "datetime"}

_INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*\Z")
_REAL = re.compile(r"\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*\Z")
_REAL_SPECIALS = {"INF": math.inf, "-INF": -math.inf, "NaN": math.nan}
_BOOLEANS = {"true": True, "false": False}


def parse_value(text: str, cimtype: str) -> Any:
    """The typed value of one DSP0201 ``VALUE`` text of CIM type ``cimtype``.

    Raises ``ValueError`` with a message that quotes the text when it is not
    a value of that type (or the type is not a CIM type).
    """
    if cimtype == "string":
        return text
    if cimtype == "boolean":
        return parse_boolean(text)
    if cimtype in INTEGER_TYPES:
        if not _INTEGER.match(text):
            raise ValueError(f"{text!r} is not a {cimtype} value")
    elif cimtype in REAL_TYPES:
        special = _REAL_SPECIALS.get(text.strip())
        if special is not None:
            return cimvalue(special, cimtype)
        if not _REAL.match(text):
            raise ValueError(f"{text!r} is not a {cimtype} value")
    elif cimtype == "char16":
        if len(text) != 1:
            raise ValueError(f"{text!r} is not a single char16 character")
        return text
    elif cimtype != "datetime":
        raise ValueError(f"{cimtype!r} is not a CIM data type")
    try:
        return cimvalue(text, cimtype)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{text!r} is not a {cimtype} value: {exc}") from None


def parse_numeric(text: str) -> int | float:
    """A ``KEYVALUE VALUETYPE="numeric"`` without a TYPE: an integer or a real."""
    if _INTEGER.match(text):
        return int(text)
    if _REAL.match(text):
        return float(text)
    raise ValueError(f"{text!r} is not a number")


def parse_boolean(text: str) -> bool:
    """DSP0201 booleans: ``TRUE`` or ``FALSE``, in any case."""
    try:
        return _BOOLEANS[text.strip().lower()]
    except KeyError:
        raise ValueError(f"{text!r} is not a boolean (TRUE or FALSE)") from None


def format_value(value: Any) -> str:
    """The DSP0201 text of a scalar value, not yet XML-escaped.

    Reals are written with ``repr``, the shortest text that reads back to
    the same binary value, which meets DSP0201's precision rule for real32
    and real64; infinities and NaN as ``INF``, ``-INF`` and ``NaN``.
    """
    kind = type(value)
    if kind is str:
        return value
    if kind is bool:
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _format_real(value)
    if isinstance(value, CIMDateTime):
        return str(value)
    if isinstance(value, (datetime, timedelta)):
        return str(CIMDateTime(value))
    raise TypeError(f"{value!r} is not a CIM scalar value")


def _format_real(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    return float.__repr__(value)


def type_of(value: Any) -> str | None:
    """The CIM type a value carries itself, or ``None`` when it does not say.

    pywbem typed values (``Uint16``, ``CIMDateTime``...) name their type; a
    plain ``int`` is taken as ``sint64`` and a ``float`` as ``real64``; paths
    are ``reference`` and embedded objects ``string``. Lists take the type of
    their first non-NULL item.
    """
    if isinstance(value, list):
        return next((type_of(item) for item in value if item is not None), None)
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, CIMType):
        return value.cimtype
    if isinstance(value, (CIMInstanceName, CIMClassName)):
        return "reference"
    if isinstance(value, (CIMInstance, CIMClass)):
        return "string"
    if isinstance(value, (datetime, timedelta)):
        return "datetime"
    if isinstance(value, int):
        return "sint64"
    if isinstance(value, float):
        return "real64"
    return None
