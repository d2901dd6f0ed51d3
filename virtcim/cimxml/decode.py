"""CIM-XML request bodies to call objects (DSP0200 / DSP0201), without I/O.

:func:`decode_request` reads one ``SIMPLEREQ`` with a hardened lxml parser
(no DTD, no entities, no network, a depth cap) and returns an
:class:`~virtcim.cimxml.messages.IntrinsicCall` or
:class:`~virtcim.cimxml.messages.ExtrinsicCall` holding pywbem objects.

Two kinds of failure, as DSP0200 distinguishes them:

* the envelope or the structure is wrong (not XML, a DOCTYPE, an unknown CIM
  version, an element where another belongs): :class:`RequestError`, which
  the transport answers with an HTTP status and a ``CIMError`` header;
* the call is sound but a value is not (``MaxObjectCount`` = ``"abc"``, a
  uint16 property of ``70000``, bad MOF text): :class:`CallError` carrying
  ``CIM_ERR_INVALID_PARAMETER``, answered in CIM-XML.

Intrinsic parameters are typed here, from the DSP0200 parameter table
below; extrinsic ones stay as the wire gave them (see :class:`ParamValue`)
because only the method's declaration knows their types.

The objects inside a call (values, paths, instances, classes) are read by
:mod:`virtcim.cimxml.elements`; this module reads the envelope around them
and types the parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pywbem import (
    CIM_ERR_FAILED,
    CIMClass,
    CIMClassName,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    CIMQualifierDeclaration,
)

from virtcim.cimxml.elements import (
    MAX_DEPTH,
    VALUE_ELEMENTS,
    Malformed,
    any_value,
    array_items,
    check_sizes,
    child_elements,
    decode_embedded_object,
    element_text,
    embedded_attribute,
    invalid,
    local_namespace_path,
    only_child,
    parse_xml,
    read_class,
    read_classname,
    read_instance,
    read_instancename,
    read_named_instance,
    read_path,
    read_qualifier_declaration,
    read_reference,
    required_attribute,
)
from virtcim.cimxml.messages import (
    CallError,
    ExtrinsicCall,
    IntrinsicCall,
    ParamValue,
    RequestError,
)
from virtcim.cimxml.mofinstance import looks_like_mof_instance
from virtcim.cimxml.values import parse_boolean, parse_value

__all__ = [
    "UNPARSABLE_EMBEDDED",
    "decode_request",
]

#: How a method parameter's embedded object that cannot be read is reported
#: (``CIM_ERR_FAILED``), in libvirt-cim's words, which its clients compare.
UNPARSABLE_EMBEDDED = "Unable to parse embedded object"


# --------------------------------------------------------------------------
# the request


def decode_request(body: bytes, max_depth: int = MAX_DEPTH) -> IntrinsicCall | ExtrinsicCall:
    """The call a CIM-XML request body makes.

    Raises :class:`RequestError` for bodies that get an HTTP error and
    :class:`CallError` for calls that get a CIM error response.
    """
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestError(400, "request-not-valid", f"request is not UTF-8: {exc}") from None
    try:
        root = parse_xml(body, max_depth)
    except Malformed as exc:
        raise RequestError(400, "request-not-well-formed", str(exc)) from None
    try:
        message_id, call = _envelope(root)
        name = required_attribute(call, "NAME")
    except Malformed as exc:
        raise RequestError(400, "request-not-valid", str(exc)) from None
    intrinsic = call.tag == "IMETHODCALL"
    try:
        check_sizes(call, parameters=True)
        if intrinsic:
            return _intrinsic_call(call, message_id, name)
        return _extrinsic_call(call, message_id, name)
    except Malformed as exc:
        raise RequestError(400, "request-not-valid", f"{name}: {exc}") from None
    except CIMError as exc:
        raise CallError(exc, message_id, name, intrinsic) from None


# --------------------------------------------------------------------------
# envelope


def _envelope(root: Any) -> tuple[str, Any]:
    """The message id and the IMETHODCALL or METHODCALL element."""
    if root.tag != "CIM":
        raise Malformed(f"the root element must be CIM, not {root.tag}")
    _check_version(root, "CIMVERSION", "unsupported-cim-version")
    _check_version(root, "DTDVERSION", "unsupported-dtd-version")
    message = only_child(root, ("MESSAGE",))
    message_id = required_attribute(message, "ID")
    protocol = required_attribute(message, "PROTOCOLVERSION")
    if not protocol.startswith("1."):
        raise RequestError(
            501, "unsupported-protocol-version", f"PROTOCOLVERSION {protocol!r} is not 1.x"
        )
    request = only_child(message, ("SIMPLEREQ", "MULTIREQ"))
    if request.tag == "MULTIREQ":
        raise RequestError(501, "multiple-requests-unsupported", "MULTIREQ is not supported")
    calls = [child for child in child_elements(request, ("CORRELATOR", "IMETHODCALL", "METHODCALL"))
             if child.tag != "CORRELATOR"]
    if len(calls) != 1:
        raise Malformed("SIMPLEREQ must hold one IMETHODCALL or METHODCALL")
    return message_id, calls[0]


def _check_version(root: Any, attribute: str, cim_error: str) -> None:
    version = required_attribute(root, attribute)
    if not version.startswith("2."):
        raise RequestError(501, cim_error, f"{attribute} {version!r} is not 2.x")


# --------------------------------------------------------------------------
# intrinsic calls


def _intrinsic_call(call: Any, message_id: str, name: str) -> IntrinsicCall:
    children = list(call)
    if not children or children[0].tag != "LOCALNAMESPACEPATH":
        raise Malformed("IMETHODCALL must start with LOCALNAMESPACEPATH")
    namespace = local_namespace_path(children[0])
    params: dict[str, Any] = {}
    for child in children[1:]:
        if child.tag != "IPARAMVALUE":
            raise Malformed(f"IMETHODCALL cannot contain {child.tag}")
        pname = required_attribute(child, "NAME")
        if pname in params:
            raise invalid(f"parameter {pname!r} is given twice")
        params[pname] = _iparam(child, pname, namespace)
    return IntrinsicCall(message_id, name, namespace, params)


def _iparam(element: Any, pname: str, namespace: str) -> Any:
    value = only_child(element, VALUE_ELEMENTS, required=False)
    if value is None:
        return None
    decode = _IPARAM_DECODERS.get(pname, any_value)
    try:
        return _in_namespace(decode(value), namespace)
    except CIMError as exc:
        raise invalid(f"parameter {pname!r}: {exc.status_description}") from None


def _iparam_scalar(parse: Callable[[str], Any]) -> Callable[[Any], Any]:
    def decode(element: Any) -> Any:
        try:
            return parse(element_text(_param_element(element, "VALUE")))
        except ValueError as exc:
            raise invalid(str(exc)) from None

    return decode


def _uint32(text: str) -> int:
    return int(parse_value(text, "uint32"))


def _string_list(element: Any) -> list[str]:
    items = array_items(_param_element(element, "VALUE.ARRAY"))
    names = [item for item in items if item is not None]
    if len(names) != len(items):
        raise invalid("NULL is not a property name")
    return names


def _classname_param(element: Any) -> CIMClassName:
    return read_classname(_param_element(element, "CLASSNAME"))


def _instancename_param(element: Any) -> CIMInstanceName:
    return read_instancename(_param_element(element, "INSTANCENAME"))


def _objectname_param(element: Any) -> CIMInstanceName | CIMClassName:
    if element.tag == "CLASSNAME":
        return read_classname(element)
    return read_instancename(_param_element(element, "INSTANCENAME"))


def _new_instance_param(element: Any) -> CIMInstance:
    return read_instance(_param_element(element, "INSTANCE"), 0)


def _named_instance_param(element: Any) -> CIMInstance:
    return read_named_instance(_param_element(element, "VALUE.NAMEDINSTANCE"))


def _new_value_param(element: Any) -> Any:
    if element.tag == "VALUE.REFERENCE":
        return read_reference(element)
    if element.tag == "VALUE.ARRAY":
        return array_items(element)
    return element_text(_param_element(element, "VALUE"))


def _class_param(element: Any) -> CIMClass:
    return read_class(_param_element(element, "CLASS"), 0)


def _qualifier_declaration_param(element: Any) -> CIMQualifierDeclaration:
    return read_qualifier_declaration(_param_element(element, "QUALIFIER.DECLARATION"))


def _param_element(element: Any, tag: str) -> Any:
    """A parameter sent as the wrong kind of value is an invalid parameter."""
    if element.tag != tag:
        raise invalid(f"expected {tag}, found {element.tag}")
    return element


_boolean_param = _iparam_scalar(parse_boolean)
_uint32_param = _iparam_scalar(_uint32)
_string_param = _iparam_scalar(str)

#: The DSP0200 intrinsic parameters and how each is typed.
_IPARAM_DECODERS: dict[str, Callable[[Any], Any]] = {
    **dict.fromkeys(
        ("LocalOnly", "DeepInheritance", "IncludeQualifiers", "IncludeClassOrigin",
         "ContinueOnError", "ReturnQueryResultClass"),
        _boolean_param,
    ),
    **dict.fromkeys(("MaxObjectCount", "OperationTimeout"), _uint32_param),
    **dict.fromkeys(
        ("PropertyName", "Role", "ResultRole", "QueryLanguage", "Query",
         "FilterQueryLanguage", "FilterQuery", "EnumerationContext", "QualifierName"),
        _string_param,
    ),
    "PropertyList": _string_list,
    **dict.fromkeys(("ClassName", "AssocClass", "ResultClass"), _classname_param),
    "InstanceName": _instancename_param,
    "ObjectName": _objectname_param,
    "NewInstance": _new_instance_param,
    "ModifiedInstance": _named_instance_param,
    "NewValue": _new_value_param,
    **dict.fromkeys(("NewClass", "ModifiedClass"), _class_param),
    "QualifierDeclaration": _qualifier_declaration_param,
}


def _in_namespace(value: Any, namespace: str) -> Any:
    """Give paths without a namespace the call's namespace (DSP0200 3.3.1)."""
    if isinstance(value, (CIMInstanceName, CIMClassName)):
        if value.namespace is None:
            value.namespace = namespace
    elif isinstance(value, CIMInstance) and value.path is not None:
        _in_namespace(value.path, namespace)
    elif isinstance(value, list):
        for item in value:
            _in_namespace(item, namespace)
    return value


# --------------------------------------------------------------------------
# extrinsic calls


def _extrinsic_call(call: Any, message_id: str, name: str) -> ExtrinsicCall:
    children = list(call)
    if not children or children[0].tag not in ("LOCALCLASSPATH", "LOCALINSTANCEPATH"):
        raise Malformed("METHODCALL must start with LOCALCLASSPATH or LOCALINSTANCEPATH")
    target = read_path(children[0])
    params: dict[str, ParamValue] = {}
    for child in children[1:]:
        if child.tag != "PARAMVALUE":
            raise Malformed(f"METHODCALL cannot contain {child.tag}")
        param = _paramvalue(child, target.namespace)
        if param.name in params:
            raise invalid(f"parameter {param.name!r} is given twice")
        params[param.name] = param
    return ExtrinsicCall(message_id, name, target, params)


def _paramvalue(element: Any, namespace: str) -> ParamValue:
    pname = required_attribute(element, "NAME")
    paramtype = element.get("PARAMTYPE") or element.get("TYPE")
    embedded = embedded_attribute(element) is not None
    value = only_child(element, VALUE_ELEMENTS, required=False)
    if value is None:
        return ParamValue(pname, None, paramtype)
    try:
        decoded = _param_value(value, embedded)
    except CIMError as exc:
        raise CIMError(exc.status_code, f"parameter {pname!r}: {exc.status_description}") from None
    return ParamValue(pname, _in_namespace(decoded, namespace), paramtype)


def _param_value(element: Any, embedded: bool) -> Any:
    """A PARAMVALUE's value, embedded objects decoded.

    A string is an embedded object when the client said so, or when it
    plainly is one (``<INSTANCE`` or MOF ``instance of``): older clients
    send those without the ``EmbeddedObject`` attribute.
    """
    if element.tag == "VALUE":
        return _maybe_embedded(element_text(element), embedded)
    if element.tag == "VALUE.ARRAY":
        return [None if item is None else _maybe_embedded(item, embedded)
                for item in array_items(element)]
    return any_value(element)


def _maybe_embedded(text: str, embedded: bool) -> Any:
    """The embedded object ``text`` holds, if it is one.

    One that cannot be read is ``CIM_ERR_FAILED`` "Unable to parse embedded
    object", as libvirt-cim answered and its clients expect.
    """
    if embedded or looks_like_mof_instance(text) or text.lstrip().startswith("<INSTANCE"):
        try:
            return decode_embedded_object(text)
        except CIMError as exc:
            raise CIMError(CIM_ERR_FAILED, f"{UNPARSABLE_EMBEDDED}: "
                                           f"{exc.status_description}") from None
    return text


