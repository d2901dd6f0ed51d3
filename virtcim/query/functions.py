"""CQL's built-in functions (DSP0202): what each takes and gives, and what it computes.

Supported, by name (case-insensitive):

* conversions: ``STRINGTOUINT(s)`` (uint64), ``STRINGTOSINT(s)`` (sint64),
  ``STRINGTOREAL(s)`` (real64), ``NUMERICTOSTRING(n)``,
  ``REFERENCETOSTRING(r)`` (the WBEM URI), ``UPPERCASE(s)``, ``LOWERCASE(s)``;
* datetimes: ``DATETIME(s)`` (the datetime a CIM datetime string writes),
  ``CURRENTDATETIME()`` (now, UTC), ``DATETIMETOMICROSECOND(d)`` (uint64: an
  interval's length, or a timestamp's distance from 0000-01-01 00:00:00
  UTC), and back: ``MICROSECONDTOTIMESTAMP(n)``, ``MICROSECONDTOINTERVAL(n)``;
* paths: ``OBJECTPATH([o])``, a reference: the path of ``o``, an embedded
  instance or the instance itself (``o`` left out), or the path a WBEM URI
  string ``o`` writes (the inverse of ``REFERENCETOSTRING``);
  ``CLASSPATH([o])``, the WBEM URI of the class of ``o`` (or of the class a
  URI string names), a string: a class path is no instance reference.

A NULL argument gives NULL, as does a value the function cannot convert
(``STRINGTOUINT('x')``). :data:`UNSUPPORTED` names DSP0202's functions that
instance queries and indication filters cannot answer, with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from pywbem import CIMClassName, CIMDateTime, CIMInstance, CIMInstanceName, Real64, Sint64, Uint64

from virtcim.query.arithmetic import number_type

__all__ = ["FUNCTIONS", "UNSUPPORTED", "Function"]


@dataclass(frozen=True)
class Function:
    name: str
    #: The kinds (:func:`~virtcim.query.values.kind_of_type`) each argument may be.
    takes: tuple[frozenset[str], ...]
    #: The CIM type of the result (``instance``: an embedded instance).
    gives: str
    compute: Callable[..., Any]
    #: How many arguments may be left out; a left-out object is the instance itself.
    optional: int = 0

    def __call__(self, args: Sequence[Any]) -> Any:
        if any(arg is None for arg in args):
            return None
        try:
            return self.compute(*args)
        except (ArithmeticError, TypeError, ValueError):
            return None


_UNSIGNED = re.compile(r"\s*\+?\d+\s*")
_SIGNED = re.compile(r"\s*[+-]?\d+\s*")
_REAL = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")
#: Where DATETIMETOMICROSECOND counts timestamps from: 0000-01-01 00:00:00 UTC, a
#: leap year (366 days) before the first day Python's datetime holds.
_YEAR_ONE = datetime(1, 1, 1, tzinfo=timezone.utc)
_YEAR_ZERO_DAYS = timedelta(days=366)


def _parsed(pattern: re.Pattern[str], read: Callable[[str], Any],
            make: Callable[[Any], Any]) -> Callable[[str], Any]:
    """A conversion of strings written as ``pattern`` says, read by ``read``, to ``make``."""
    def convert(text: str) -> Any:
        if not pattern.fullmatch(text):
            raise ValueError(f"{text!r} is not a number")
        return make(read(text))
    return convert


def _numeric_to_string(number: Any) -> str:
    if number_type(number) is None:
        raise TypeError("not a number")
    return repr(float(number)) if isinstance(number, float) else str(int(number))


def _reference_to_string(path: CIMInstanceName) -> str:
    return str(path.to_wbem_uri())


def _to_microseconds(value: CIMDateTime) -> Uint64:
    length = value.timedelta if value.is_interval else (
        value.datetime - _YEAR_ONE + _YEAR_ZERO_DAYS)
    return Uint64(length // timedelta(microseconds=1))


def _to_timestamp(microseconds: Any) -> CIMDateTime:
    return CIMDateTime(_YEAR_ONE + (timedelta(microseconds=int(microseconds)) - _YEAR_ZERO_DAYS))


def _to_interval(microseconds: Any) -> CIMDateTime:
    if microseconds < 0:
        raise ValueError("an interval cannot be negative")
    return CIMDateTime(timedelta(microseconds=int(microseconds)))


def _object_path(instance: CIMInstance | str) -> CIMInstanceName | None:
    if isinstance(instance, str):
        return CIMInstanceName.from_wbem_uri(instance)
    return instance.path


def _class_path(instance: CIMInstance | str) -> str:
    if isinstance(instance, str):
        path = CIMClassName.from_wbem_uri(instance)
    else:
        namespace = instance.path.namespace if instance.path is not None else None
        path = CIMClassName(instance.classname, namespace=namespace)
    if path.namespace is None:
        return str(path.classname)
    return str(path.to_wbem_uri())


_STRING = frozenset({"string"})
_NUMBER = frozenset({"number"})
_DATETIME = frozenset({"datetime"})
_OBJECT = frozenset({"instance", "string"})

FUNCTIONS: dict[str, Function] = {f.name: f for f in (
    Function("STRINGTOUINT", (_STRING,), "uint64", _parsed(_UNSIGNED, int, Uint64)),
    Function("STRINGTOSINT", (_STRING,), "sint64", _parsed(_SIGNED, int, Sint64)),
    Function("STRINGTOREAL", (_STRING,), "real64", _parsed(_REAL, float, Real64)),
    Function("NUMERICTOSTRING", (_NUMBER,), "string", _numeric_to_string),
    Function("REFERENCETOSTRING", (frozenset({"reference"}),), "string", _reference_to_string),
    Function("UPPERCASE", (_STRING,), "string", str.upper),
    Function("LOWERCASE", (_STRING,), "string", str.lower),
    Function("DATETIME", (_STRING,), "datetime", CIMDateTime),
    Function("CURRENTDATETIME", (), "datetime", CIMDateTime.now),
    Function("DATETIMETOMICROSECOND", (_DATETIME,), "uint64", _to_microseconds),
    Function("MICROSECONDTOTIMESTAMP", (_NUMBER,), "datetime", _to_timestamp),
    Function("MICROSECONDTOINTERVAL", (_NUMBER,), "datetime", _to_interval),
    Function("OBJECTPATH", (_OBJECT,), "reference", _object_path, optional=1),
    Function("CLASSPATH", (_OBJECT,), "string", _class_path, optional=1),
)}

_AGGREGATE = ("an aggregation (DSP0202's Aggregations feature) sums up many instances into "
              "one row, which ExecQuery, OpenQueryInstances and indication filters do not "
              "return")
#: DSP0202's functions these queries do not answer, and why.
UNSUPPORTED: dict[str, str] = {
    "INSTANCEOF": "it follows a reference to another instance, which a query evaluated "
                  "against one instance cannot fetch",
    "CLASSQUALIFIER": "qualifier values are not part of the instances a query reads",
    "PROPERTYQUALIFIER": "qualifier values are not part of the instances a query reads",
    **dict.fromkeys(("COUNT", "MIN", "MAX", "SUM", "MEAN", "MEDIAN"), _AGGREGATE),
}
