"""The IPARAMVALUEs each intrinsic operation accepts, checked once.

Every operation's parameters are listed here with their kind and DSP0200
default. A parameter the operation does not take, a missing required one, or
a value of the wrong kind is ``CIM_ERR_INVALID_PARAMETER`` naming it.

Parameter names match case-insensitively (DSP0004 makes every CIM name
case-insensitive) and are handed on spelled as DSP0200 spells them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pywbem import (
    CIM_ERR_INVALID_PARAMETER,
    CIMClassName,
    CIMError,
    CIMInstance,
    CIMInstanceName,
)

__all__ = ["OPERATIONS", "REQUIRED", "parse_params"]

#: Marks a parameter without a default: the client must send it.
REQUIRED = object()

_UINT32_MAX = 2**32 - 1


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("a boolean")
    return value


def _uint32(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _UINT32_MAX:
        raise TypeError("a uint32")
    return int(value)


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("a string")
    return value


def _classname(value: Any) -> str:
    if isinstance(value, CIMClassName):
        value = value.classname
    if not isinstance(value, str) or not value:
        raise TypeError("a class name")
    return value


def _instancename(value: Any) -> CIMInstanceName:
    if not isinstance(value, CIMInstanceName):
        raise TypeError("an instance path")
    return value


def _objectname(value: Any) -> CIMInstanceName | CIMClassName:
    if isinstance(value, str) and value:
        return CIMClassName(value)
    if not isinstance(value, (CIMInstanceName, CIMClassName)):
        raise TypeError("a class name or an instance path")
    return value


def _instance(value: Any) -> CIMInstance:
    if not isinstance(value, CIMInstance):
        raise TypeError("an instance")
    return value


def _property_list(value: Any) -> list[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise TypeError("a list of property names")
    return list(value)


def _anything(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Param:
    check: Callable[[Any], Any]
    default: Any = None


_BOOL_FALSE = Param(_boolean, False)
_BOOL_TRUE = Param(_boolean, True)
_PROPERTY_LIST = Param(_property_list)
_OPTIONAL_CLASS = Param(_classname)
_OPTIONAL_STRING = Param(_string)

_OPEN_COMMON = {
    "FilterQueryLanguage": _OPTIONAL_STRING,
    "FilterQuery": _OPTIONAL_STRING,
    "OperationTimeout": Param(_uint32),
    "ContinueOnError": _BOOL_FALSE,
    "MaxObjectCount": Param(_uint32, 0),
}
_ASSOC_FILTERS = {
    "AssocClass": _OPTIONAL_CLASS,
    "ResultClass": _OPTIONAL_CLASS,
    "Role": _OPTIONAL_STRING,
    "ResultRole": _OPTIONAL_STRING,
}
_REF_FILTERS = {"ResultClass": _OPTIONAL_CLASS, "Role": _OPTIONAL_STRING}
_INSTANCE_VIEW = {"IncludeClassOrigin": _BOOL_FALSE, "PropertyList": _PROPERTY_LIST}
_DEPRECATED_VIEW = {"IncludeQualifiers": _BOOL_FALSE, **_INSTANCE_VIEW}
_PULL = {
    "EnumerationContext": Param(_string, REQUIRED),
    "MaxObjectCount": Param(_uint32, REQUIRED),
}
_CONTEXT = {"EnumerationContext": Param(_string, REQUIRED)}

#: Each supported intrinsic operation and its parameters.
OPERATIONS: dict[str, dict[str, Param]] = {
    "GetClass": {
        "ClassName": Param(_classname, REQUIRED),
        "LocalOnly": _BOOL_TRUE,
        "IncludeQualifiers": _BOOL_TRUE,
        "IncludeClassOrigin": _BOOL_FALSE,
        "PropertyList": _PROPERTY_LIST,
    },
    "EnumerateClasses": {
        "ClassName": _OPTIONAL_CLASS,
        "DeepInheritance": _BOOL_FALSE,
        "LocalOnly": _BOOL_TRUE,
        "IncludeQualifiers": _BOOL_TRUE,
        "IncludeClassOrigin": _BOOL_FALSE,
    },
    "EnumerateClassNames": {"ClassName": _OPTIONAL_CLASS, "DeepInheritance": _BOOL_FALSE},
    "CreateClass": {"NewClass": Param(_anything, REQUIRED)},
    "ModifyClass": {"ModifiedClass": Param(_anything, REQUIRED)},
    "DeleteClass": {"ClassName": Param(_classname, REQUIRED)},
    "GetQualifier": {"QualifierName": Param(_string, REQUIRED)},
    "EnumerateQualifiers": {},
    "SetQualifier": {"QualifierDeclaration": Param(_anything, REQUIRED)},
    "DeleteQualifier": {"QualifierName": Param(_string, REQUIRED)},
    "GetInstance": {
        "InstanceName": Param(_instancename, REQUIRED),
        "LocalOnly": _BOOL_FALSE,
        **_DEPRECATED_VIEW,
    },
    "EnumerateInstances": {
        "ClassName": Param(_classname, REQUIRED),
        "LocalOnly": _BOOL_FALSE,
        "DeepInheritance": _BOOL_TRUE,
        **_DEPRECATED_VIEW,
    },
    "EnumerateInstanceNames": {"ClassName": Param(_classname, REQUIRED)},
    "CreateInstance": {"NewInstance": Param(_instance, REQUIRED)},
    "ModifyInstance": {
        "ModifiedInstance": Param(_instance, REQUIRED),
        "IncludeQualifiers": _BOOL_TRUE,
        "PropertyList": _PROPERTY_LIST,
    },
    "DeleteInstance": {"InstanceName": Param(_instancename, REQUIRED)},
    "GetProperty": {
        "InstanceName": Param(_instancename, REQUIRED),
        "PropertyName": Param(_string, REQUIRED),
    },
    "SetProperty": {
        "InstanceName": Param(_instancename, REQUIRED),
        "PropertyName": Param(_string, REQUIRED),
        "NewValue": Param(_anything),
    },
    "Associators": {"ObjectName": Param(_objectname, REQUIRED), **_ASSOC_FILTERS,
                    **_DEPRECATED_VIEW},
    "AssociatorNames": {"ObjectName": Param(_objectname, REQUIRED), **_ASSOC_FILTERS},
    "References": {"ObjectName": Param(_objectname, REQUIRED), **_REF_FILTERS,
                   **_DEPRECATED_VIEW},
    "ReferenceNames": {"ObjectName": Param(_objectname, REQUIRED), **_REF_FILTERS},
    "ExecQuery": {
        "QueryLanguage": Param(_string, REQUIRED),
        "Query": Param(_string, REQUIRED),
    },
    "OpenEnumerateInstances": {
        "ClassName": Param(_classname, REQUIRED),
        "DeepInheritance": _BOOL_TRUE,
        **_INSTANCE_VIEW,
        **_OPEN_COMMON,
    },
    "OpenEnumerateInstancePaths": {"ClassName": Param(_classname, REQUIRED), **_OPEN_COMMON},
    "OpenAssociatorInstances": {"InstanceName": Param(_instancename, REQUIRED),
                                **_ASSOC_FILTERS, **_INSTANCE_VIEW, **_OPEN_COMMON},
    "OpenAssociatorInstancePaths": {"InstanceName": Param(_instancename, REQUIRED),
                                    **_ASSOC_FILTERS, **_OPEN_COMMON},
    "OpenReferenceInstances": {"InstanceName": Param(_instancename, REQUIRED),
                               **_REF_FILTERS, **_INSTANCE_VIEW, **_OPEN_COMMON},
    "OpenReferenceInstancePaths": {"InstanceName": Param(_instancename, REQUIRED),
                                   **_REF_FILTERS, **_OPEN_COMMON},
    "OpenQueryInstances": {
        "FilterQueryLanguage": Param(_string, REQUIRED),
        "FilterQuery": Param(_string, REQUIRED),
        "ReturnQueryResultClass": _BOOL_FALSE,
        **{k: v for k, v in _OPEN_COMMON.items() if not k.startswith("Filter")},
    },
    "PullInstancesWithPath": _PULL,
    "PullInstancePaths": _PULL,
    "PullInstances": _PULL,
    "CloseEnumeration": _CONTEXT,
    "EnumerationCount": _CONTEXT,
}

_CANONICAL = {
    op: {name.lower(): name for name in params} for op, params in OPERATIONS.items()
}


def parse_params(operation: str, sent: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter of ``operation``, checked, defaults filled in.

    A parameter sent without a value (``None``) takes its default.
    """
    spec = OPERATIONS[operation]
    names = _CANONICAL[operation]
    args: dict[str, Any] = {}
    for sent_name, value in sent.items():
        name = names.get(sent_name.lower())
        if name is None:
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"{operation} has no parameter {sent_name!r}")
        if name in args:
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"{operation}: parameter {name} given twice")
        args[name] = _checked(operation, name, spec[name], value)
    for name, param in spec.items():
        if args.get(name) is None:
            if param.default is REQUIRED:
                raise CIMError(CIM_ERR_INVALID_PARAMETER,
                               f"{operation} needs parameter {name}")
            args[name] = param.default
    return args


def _checked(operation: str, name: str, param: Param, value: Any) -> Any:
    if value is None:
        return None
    try:
        return param.check(value)
    except TypeError as exc:
        raise CIMError(CIM_ERR_INVALID_PARAMETER,
                       f"{operation}: parameter {name} must be {exc}, not {value!r}") from None
