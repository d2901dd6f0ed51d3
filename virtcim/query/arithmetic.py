"""CQL's arithmetic on CIM values (DSP0202 Arithmetic Expression): numbers, datetimes,
and string concatenation, with the CIM type of every result.

* Numbers: ``+ - * /`` compute exactly, then take the result's CIM type: an
  operand of a real type makes it ``real64``; two unsigned integers make a
  sum, product or quotient ``uint64`` and a difference ``sint64`` (so that
  ``State - PreviousState`` may be negative); any other pair of integers
  ``sint64`` (an integer literal is a ``sint64``). A result outside its type's range overflows; integer division
  truncates towards zero; dividing by zero is an error.
* Datetimes: a timestamp minus a timestamp is the interval between them; a
  timestamp plus or minus an interval is a timestamp; intervals add and
  subtract, and multiply and divide by numbers. A result before year 0000,
  after 9999, or a negative or over-long interval, overflows.
* ``||`` joins two strings.

:func:`compute` raises :class:`ArithmeticError` naming the cause; a query
evaluated against an instance reads that as NULL (:func:`evaluate`), and a
query whose constant part fails (``1 / 0``) is refused when read. NULL in,
NULL out.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from pywbem import CIMDateTime, CIMFloat, CIMInt, Real64, Sint64, Uint64

__all__ = ["compute", "concatenate", "evaluate", "negate", "number_type", "numeric_result",
           "result_kind"]

_RESULT_TYPES: dict[str, Callable[[Any], Any]] = {
    "uint64": Uint64, "sint64": Sint64, "real64": Real64}
_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul}


def number_type(value: Any) -> str | None:
    """The CIM type ``value`` computes as (an integer literal: ``sint64``); ``None``
    for anything not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (CIMInt, CIMFloat)):
        return str(value.cimtype)
    if isinstance(value, int):
        return "sint64"
    if isinstance(value, float):
        return "real64"
    return None


def numeric_result(op: str, left: str, right: str) -> str:
    """The CIM type of ``left op right`` for numbers of CIM types ``left`` and ``right``."""
    if left.startswith("real") or right.startswith("real"):
        return "real64"
    if op != "-" and left.startswith("uint") and right.startswith("uint"):
        return "uint64"
    return "sint64"


def evaluate(op: str, left: Any, right: Any) -> Any:
    """``left op right``, or NULL when either is NULL or the operation fails."""
    if left is None or right is None:
        return None
    try:
        return compute(op, left, right)
    except (ArithmeticError, TypeError):
        return None


def compute(op: str, left: Any, right: Any) -> Any:
    """``left op right`` (``+ - * /``) for numbers or datetimes; ``TypeError`` for other
    values, :class:`ArithmeticError` for a result that cannot be."""
    a, b = number_type(left), number_type(right)
    if a is not None and b is not None:
        return _numbers(op, left, right, numeric_result(op, a, b))
    if isinstance(left, CIMDateTime) or isinstance(right, CIMDateTime):
        return _datetimes(op, left, right)
    raise TypeError(f"{op} takes numbers or datetimes, not {left!r} and {right!r}")


def _numbers(op: str, left: Any, right: Any, result: str) -> Any:
    if result == "real64":
        if op == "/" and right == 0:
            raise ZeroDivisionError("division by zero")
        exact = float(left) / float(right) if op == "/" else _OPERATORS[op](float(left),
                                                                             float(right))
    elif op == "/":
        exact = _divide(int(left), int(right))
    else:
        exact = _OPERATORS[op](int(left), int(right))
    try:
        return _RESULT_TYPES[result](exact)
    except ValueError:
        raise OverflowError(f"{exact} overflows {result}") from None


def _divide(left: int, right: int) -> int:
    """Integer division truncating towards zero (``-7 / 2`` is ``-3``)."""
    if right == 0:
        raise ZeroDivisionError("division by zero")
    quotient = abs(left) // abs(right)
    return quotient if (left < 0) == (right < 0) else -quotient


def _datetimes(op: str, left: Any, right: Any) -> CIMDateTime:
    try:
        return _datetime_result(op, left, right)
    except (OverflowError, ValueError) as error:
        raise OverflowError(f"the datetime result is out of range ({error})") from None


def _datetime_result(op: str, left: Any, right: Any) -> CIMDateTime:
    if isinstance(left, CIMDateTime) and isinstance(right, CIMDateTime):
        if op == "-" and not left.is_interval and not right.is_interval:
            return _interval(left.datetime - right.datetime)
        if op in "+-" and right.is_interval:
            if left.is_interval:
                return _interval(_OPERATORS[op](left.timedelta, right.timedelta))
            return CIMDateTime(_OPERATORS[op](left.datetime, right.timedelta))
        if op == "+" and left.is_interval:
            return CIMDateTime(right.datetime + left.timedelta)
    elif op in "*/" and isinstance(left, CIMDateTime) and left.is_interval and number_type(
            right):
        if op == "/" and right == 0:
            raise ZeroDivisionError("division by zero")
        scaled = left.timedelta * float(right) if op == "*" else left.timedelta / float(right)
        return _interval(scaled)
    elif op == "*" and isinstance(right, CIMDateTime) and right.is_interval and number_type(
            left):
        return _interval(right.timedelta * float(left))
    raise TypeError(f"{op} cannot take {left!r} and {right!r}")


def _interval(length: timedelta) -> CIMDateTime:
    if length < timedelta(0):
        raise OverflowError("an interval cannot be negative")
    return CIMDateTime(length)


def negate(value: Any) -> Any:
    """``-value`` for a number (its type signed, or ``real64``); NULL for NULL or anything
    else, and when the result overflows ``sint64``."""
    kind = number_type(value)
    if kind is None:
        return None
    try:
        return _numbers("-", 0, value, numeric_result("-", "sint64", kind))
    except OverflowError:
        return None


def concatenate(left: Any, right: Any) -> Any:
    """``left || right`` for strings; NULL otherwise."""
    if isinstance(left, str) and isinstance(right, str):
        return left + right
    return None


def result_kind(op: str, left: str, right: str) -> str | None:
    """The kind of ``left op right`` for operands of kinds ``left`` and ``right``
    (:func:`~virtcim.query.values.kind_of_type`), or ``None`` when it has none."""
    if {left, right} == {"number"}:
        return "number"
    if left == right == "datetime" and op in "+-":
        return "datetime"
    if (op in "*/" and (left, right) == ("datetime", "number")) or (
            op == "*" and (left, right) == ("number", "datetime")):
        return "datetime"
    return None
