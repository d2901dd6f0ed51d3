"""Extrinsic methods: checked against their declaration, typed, then called.

The wire carries method parameters as text (or as paths and instances); only
the method's declaration in the class says what they are. So every input is
typed here before the provider sees it, and the provider's return value and
outputs are typed on the way back, so the encoder can write PARAMTYPE.
"""

from __future__ import annotations

import logging
from typing import Any

from pywbem import (
    CIM_ERR_FAILED,
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_METHOD_NOT_AVAILABLE,
    CIM_ERR_METHOD_NOT_FOUND,
    CIMClass,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    CIMMethod,
    CIMParameter,
    CIMProperty,
)

from virtcim.cimxml.messages import ExtrinsicCall, MethodResult, ParamValue
from virtcim.operations.errors import provider_errors
from virtcim.operations.instances import InstanceOperations
from virtcim.operations.shaping import KEYS_VIEW
from virtcim.operations.values import typed
from virtcim.provider import InstanceProvider, MethodProvider, ProviderRegistry, RequestContext
from virtcim.repository.schema import Repository

__all__ = ["MethodOperations"]

log = logging.getLogger(__name__)


class MethodOperations:
    def __init__(self, repository: Repository, registry: ProviderRegistry,
                 instances: InstanceOperations) -> None:
        self._repository = repository
        self._registry = registry
        self._instances = instances

    def invoke(self, ctx: RequestContext, call: ExtrinsicCall) -> MethodResult:
        cls = self._repository.get_class(ctx.namespace, call.target.classname)
        method = _declared_method(cls, call.name)
        provider = self._registry.provider_for(ctx.namespace, cls.classname)
        func = provider.method(method.name) if isinstance(provider, MethodProvider) else None
        if func is None:
            raise CIMError(CIM_ERR_METHOD_NOT_AVAILABLE,
                           f"{cls.classname}.{method.name} is not implemented in {ctx.namespace}")
        inputs = self._inputs(ctx.namespace, cls.classname, method, call.params)
        target = call.target.copy()
        target.classname = cls.classname
        target.namespace = ctx.namespace
        target.host = None
        if isinstance(target, CIMInstanceName) and isinstance(provider, InstanceProvider):
            # DSP0200: a method of an instance that does not exist is NOT_FOUND,
            # whatever the method would have done with the path.
            self._instances.get(ctx, target, KEYS_VIEW)
        with provider_errors(cls.classname):
            returned = func(ctx, target, **inputs)
        return self._result(cls.classname, method, returned)

    def signature(self, namespace: str, classname: str, method_name: str) -> CIMMethod:
        """The method's declaration (shared: never mutate it)."""
        return _declared_method(self._repository.get_class(namespace, classname), method_name)

    # -- inputs ---------------------------------------------------------------

    def _inputs(self, namespace: str, classname: str, method: CIMMethod,
                sent: dict[str, ParamValue]) -> dict[str, Any]:
        inputs: dict[str, Any] = {}
        for name, param_value in sent.items():
            decl = method.parameters.get(name)
            if decl is None or not _is_input(decl):
                raise CIMError(CIM_ERR_INVALID_PARAMETER,
                               f"{classname}.{method.name} has no input parameter {name!r}")
            if decl.name in inputs:
                raise CIMError(CIM_ERR_INVALID_PARAMETER,
                               f"{classname}.{method.name}: parameter {decl.name} given twice")
            where = f"{classname}.{method.name} parameter {decl.name}"
            inputs[decl.name] = self._input(namespace, where, decl, param_value.value)
        return inputs

    def _input(self, namespace: str, where: str, decl: CIMParameter, value: Any) -> Any:
        if decl.type == "reference" and isinstance(value, str) and not value.strip():
            # libvirt-cim's clients send an absent reference as a blank string.
            return None
        embedded = _embedded(decl)
        if embedded is None or value is None:
            return _typed_input(where, decl.type, decl.is_array, value)
        if decl.is_array:
            if not isinstance(value, list):
                raise CIMError(CIM_ERR_INVALID_PARAMETER, f"{where}: needs an array")
            return [self._embedded_input(namespace, where, decl, item) for item in value]
        return self._embedded_input(namespace, where, decl, value)

    def _embedded_input(self, namespace: str, where: str, decl: CIMParameter,
                        value: Any) -> Any:
        if not isinstance(value, CIMInstance):
            raise CIMError(CIM_ERR_INVALID_PARAMETER, f"{where}: {value!r} is not an instance")
        expected = _embedded_class(decl)
        return self.typed_instance(namespace, where, value, expected)

    def typed_instance(self, namespace: str, where: str, inst: CIMInstance,
                       expected: str | None = None) -> CIMInstance:
        """An embedded instance re-typed against its own class's declaration."""
        cls = self._repository.find_class(namespace, inst.classname)
        if cls is None:
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"{where}: embedded instance of unknown class {inst.classname!r}")
        if expected and not self._repository.is_subclass(namespace, cls.classname, expected):
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"{where}: {cls.classname} is not a {expected}")
        typed_inst = CIMInstance(cls.classname)
        for name, prop in inst.properties.items():
            decl = cls.properties.get(name)
            if decl is None:
                # libvirt-cim ignored what a class does not declare, and its
                # clients send such properties (CreationClassName in a VSSD).
                log.debug("%s: %s has no property %r; ignored", where, cls.classname, name)
                continue
            value = prop.value
            if decl.embedded_object and isinstance(value, CIMInstance):
                value = self.typed_instance(namespace, f"{where}.{decl.name}", value)
            elif not decl.embedded_object:
                value = _typed_input(f"{where}: {cls.classname}.{decl.name}", decl.type,
                                     decl.is_array, value)
            typed_inst.properties[decl.name] = CIMProperty(
                decl.name, value, type=decl.type, is_array=decl.is_array,
                reference_class=decl.reference_class, embedded_object=decl.embedded_object)
        return typed_inst

    # -- results --------------------------------------------------------------

    def _result(self, classname: str, method: CIMMethod, returned: Any) -> MethodResult:
        value, outputs = returned if isinstance(returned, tuple) else (returned, {})
        where = f"{classname}.{method.name}"
        result = MethodResult(_typed_output(where, method.return_type, False, value))
        for name, out in (outputs or {}).items():
            decl = method.parameters.get(name)
            if decl is None or not _is_output(decl):
                log.warning("%s returned undeclared output %s; dropped", where, name)
                continue
            if _embedded(decl) is None:
                out = _typed_output(f"{where} output {decl.name}", decl.type, decl.is_array,
                                    out)
            result.out_params[decl.name] = out
        return result


def _declared_method(cls: CIMClass, name: str) -> CIMMethod:
    method = cls.methods.get(name)
    if method is None:
        raise CIMError(CIM_ERR_METHOD_NOT_FOUND, f"{cls.classname} has no method {name!r}")
    return method


def _typed_input(where: str, cimtype: str, is_array: bool, value: Any) -> Any:
    try:
        return typed(cimtype, is_array, value)
    except (TypeError, ValueError) as exc:
        raise CIMError(CIM_ERR_INVALID_PARAMETER,
                       f"{where}: {value!r} is not a {cimtype}{'[]' if is_array else ''}: "
                       f"{exc}") from None


def _typed_output(where: str, cimtype: str, is_array: bool, value: Any) -> Any:
    try:
        return typed(cimtype, is_array, value)
    except (TypeError, ValueError) as exc:
        raise CIMError(CIM_ERR_FAILED, f"provider gave {where} a value that is not a {cimtype}: "
                          f"{exc}") from None


def _flag(decl: CIMParameter, qualifier: str, default: bool) -> bool:
    found = decl.qualifiers.get(qualifier)
    return default if found is None or found.value is None else bool(found.value)


def _is_input(decl: CIMParameter) -> bool:
    return _flag(decl, "In", True)


def _is_output(decl: CIMParameter) -> bool:
    return _flag(decl, "Out", False)


def _embedded_class(decl: CIMParameter) -> str | None:
    found = decl.qualifiers.get("EmbeddedInstance")
    return found.value if found is not None else None


def _embedded(decl: CIMParameter) -> str | None:
    """``"instance"``, ``"object"`` or ``None``, from the parameter's qualifiers."""
    if decl.embedded_object:
        return str(decl.embedded_object)
    if _embedded_class(decl):
        return "instance"
    if _flag(decl, "EmbeddedObject", False):
        return "object"
    return None

