"""Comparing CIM values the way DSP0202 and DSP0212 compare them.

A comparison is true, false, or unknown (``None``): SQL's three-valued
logic, which every condition follows, so that a NULL property matches
neither ``P = 1`` nor ``P <> 1``, and ``NOT`` of unknown stays unknown.
Values are compared as their CIM types say:

* numbers (every integer and real type) by value, booleans with booleans;
* strings and char16 exactly (CIM string values are case-sensitive);
* datetimes with datetimes or with strings in CIM datetime form
  (``20240101120000.000000+000``), timestamps by the instant they name,
  intervals by their length; a timestamp and an interval are not comparable;
* references with references or with strings naming an instance path
  (``Test_HostSystem.CreationClassName="Test_HostSystem",Name="h"``, with or
  without a namespace), by class and keys, for ``=`` and ``<>`` only;
* arrays with arrays, item by item, for ``=`` and ``<>`` only.

Anything else (a string with a number, an embedded instance with anything)
is not comparable: unknown. :func:`comparable_types` tells a query checked
against its class which comparisons can never be true.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from pywbem import CIMDateTime, CIMInstanceName

from virtcim.provider import same_object

__all__ = [
    "ORDERING", "Truth", "comparable_types", "compare", "kind_of_type", "sort_key", "stands_for",
]

#: True, false, or unknown (NULL involved, or not comparable).
Truth = bool | None

ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "<>": operator.ne, "!=": operator.ne,
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
_EQUALITY = frozenset(("=", "<>", "!="))


def compare(op: str, left: Any, right: Any) -> Truth:
    """``left op right`` as the module docstring says."""
    if left is None or right is None:
        return None
    if isinstance(left, list) or isinstance(right, list):
        return _compare_arrays(op, left, right)
    pair = _comparable(left, right)
    if pair is None:
        return None
    a, b = pair
    if isinstance(a, CIMInstanceName):
        if op not in _EQUALITY:
            return None
        return same_object(a, b) == (op == "=")
    try:
        return ORDERING[op](a, b)
    except TypeError:
        return None


def _compare_arrays(op: str, left: Any, right: Any) -> Truth:
    if not (isinstance(left, list) and isinstance(right, list)) or op not in _EQUALITY:
        return None
    equal: Truth = len(left) == len(right)
    if equal:
        for a, b in zip(left, right, strict=True):
            item = compare("=", a, b)
            if item is False:
                equal = False
                break
            if item is None:
                equal = None
    if equal is None:
        return None
    return equal == (op == "=")


def _comparable(a: Any, b: Any) -> tuple[Any, Any] | None:
    """``a`` and ``b`` as Python values of one kind that compare as CIM says, or ``None``."""
    if isinstance(a, CIMDateTime) or isinstance(b, CIMDateTime):
        return _datetimes(a, b)
    if isinstance(a, CIMInstanceName) or isinstance(b, CIMInstanceName):
        return _paths(a, b)
    if isinstance(a, bool) or isinstance(b, bool):
        return (a, b) if isinstance(a, bool) and isinstance(b, bool) else None
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a, b
    if isinstance(a, str) and isinstance(b, str):
        return a, b
    return None


def _datetimes(a: Any, b: Any) -> tuple[Any, Any] | None:
    try:
        a, b = CIMDateTime(a), CIMDateTime(b)
    except (TypeError, ValueError):
        return None
    if a.is_interval != b.is_interval:
        return None
    if a.is_interval:
        return a.timedelta, b.timedelta
    return a.datetime, b.datetime


def _paths(a: Any, b: Any) -> tuple[CIMInstanceName, CIMInstanceName] | None:
    try:
        return _path(a), _path(b)
    except (TypeError, ValueError):
        return None


def _path(value: Any) -> CIMInstanceName:
    if isinstance(value, CIMInstanceName):
        return value
    if isinstance(value, str):
        return CIMInstanceName.from_wbem_uri(value)
    raise TypeError(f"not a path: {value!r}")


#: What each CIM type compares as (see :func:`kind_of_type`).
_KINDS = {
    "boolean": "boolean", "string": "string", "char16": "string",
    "datetime": "datetime", "reference": "reference",
    **dict.fromkeys(("uint8", "sint8", "uint16", "sint16", "uint32", "sint32", "uint64",
                     "sint64", "real32", "real64"), "number"),
}
#: Which kinds of value may meet in a comparison (a string literal stands for a
#: datetime or a path).
_MEETS = {
    frozenset({"number"}), frozenset({"boolean"}), frozenset({"string"}),
    frozenset({"datetime"}), frozenset({"datetime", "string"}),
    frozenset({"reference"}), frozenset({"reference", "string"}),
}


def stands_for(kind: str, literal: Any) -> bool:
    """Whether ``literal`` can be compared with values of ``kind`` (a string naming a
    datetime or a path in the forms they are written in)."""
    if kind == "datetime" and isinstance(literal, str):
        return _datetimes(literal, literal) is not None
    if kind == "reference" and isinstance(literal, str):
        return _paths(literal, literal) is not None
    return True


def kind_of_type(cimtype: str) -> str:
    """``number``, ``boolean``, ``string``, ``datetime`` or ``reference``."""
    return _KINDS.get(cimtype, cimtype)


def comparable_types(left: str, right: str) -> bool:
    """Whether values of kinds ``left`` and ``right`` (:func:`kind_of_type`) can compare."""
    return frozenset({left, right}) in _MEETS


def sort_key(value: Any) -> tuple[int, Any]:
    """A key that orders values of one property as :func:`compare` does, NULL first."""
    if value is None:
        return (0, 0)
    if isinstance(value, CIMDateTime):
        return (1, value.timedelta if value.is_interval else value.datetime)
    if isinstance(value, CIMInstanceName):
        return (1, str(value))
    if isinstance(value, list):
        return (1, [sort_key(item) for item in value])
    return (1, value)
