"""Values converted to the CIM type a declaration gives them.

Three kinds of value arrive here: plain Python values from providers
(``EnabledState=2``), pywbem typed values from providers or from the decoder,
and strings from the wire (method parameters, whose type only the method's
declaration knows). Conversion is strict where pywbem's ``cimvalue`` is
lenient: a number is not a string and ``"5"`` is not a boolean.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pywbem import CIMInstanceName, cimvalue, type_from_name

__all__ = ["typed"]

_STRING_TYPES = frozenset({"string", "char16"})
_BOOLEAN_TEXT = {"true": True, "false": False}
_python_types: dict[str, type] = {}


def typed(cimtype: str, is_array: bool, value: Any) -> Any:
    """``value`` as the pywbem type of ``cimtype`` (a list for arrays).

    Raises ``TypeError`` or ``ValueError`` when the value cannot be one.
    """
    if value is None:
        return None
    if is_array:
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            raise TypeError("an array needs a list of values")
        return [_scalar(cimtype, item) for item in value]
    if isinstance(value, (list, tuple)):
        raise TypeError("a single value cannot be a list")
    return _scalar(cimtype, value)


def _scalar(cimtype: str, value: Any) -> Any:
    if value is None:
        return None
    if cimtype in _STRING_TYPES:
        if not isinstance(value, str):
            raise TypeError(f"{value!r} is not a string")
        return value
    if cimtype == "boolean":
        return _boolean(value)
    if cimtype == "reference":
        if not isinstance(value, CIMInstanceName):
            raise TypeError(f"{value!r} is not an instance path")
        return value
    if isinstance(value, _python_type(cimtype)):
        return value
    if isinstance(value, bool):
        raise TypeError(f"{value!r} is not a {cimtype}")
    return cimvalue(value, cimtype)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _BOOLEAN_TEXT:
        return _BOOLEAN_TEXT[value.strip().lower()]
    raise TypeError(f"{value!r} is not a boolean")


def _python_type(cimtype: str) -> type:
    found = _python_types.get(cimtype)
    if found is None:
        found = _python_types[cimtype] = type_from_name(cimtype)
    return found
