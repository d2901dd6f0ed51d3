"""CIM-XML request bodies to call objects (DSP0200 / DSP0201), without I/O.

:func:`decode_request` reads one ``SIMPLEREQ`` with the hardened parser of
:mod:`virtcim.cimxml.untrusted` (no DTD, no entities, no network, bounds on
depth and sizes) and returns an
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

It is one module, though long, because it is one grammar: every reader here
nests in another (a value in a property, a property in an instance, an
instance in a parameter of a request), and they share the typing of values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pywbem import (
    CIM_ERR_FAILED,
    CIM_ERR_INVALID_PARAMETER,
    CIMClass,
    CIMClassName,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    CIMMethod,
    CIMParameter,
    CIMProperty,
    CIMQualifier,
    CIMQualifierDeclaration,
)

from virtcim.cimxml.messages import (
    CallError,
    ExtrinsicCall,
    IntrinsicCall,
    ParamValue,
    RequestError,
)
from virtcim.cimxml.mofinstance import looks_like_mof_instance, parse_mof_instance
from virtcim.cimxml.untrusted import Malformed, check_sizes, parse
from virtcim.cimxml.values import parse_boolean, parse_numeric, parse_value

__all__ = [
    "MAX_DEPTH",
    "MAX_EMBEDDING",
    "UNPARSABLE_EMBEDDED",
    "decode_embedded_object",
    "decode_request",
]

#: Deepest element nesting accepted, in a request or an embedded object. Real
#: requests stay below 20 levels.
MAX_DEPTH = 64
#: How many embedded objects may nest inside one another.
MAX_EMBEDDING = 8
#: How a method parameter's embedded object that cannot be read is reported
#: (``CIM_ERR_FAILED``), in libvirt-cim's words, which its clients compare.
UNPARSABLE_EMBEDDED = "Unable to parse embedded object"



_EMBEDDED_ATTRIBUTES = ("EmbeddedObject", "EMBEDDEDOBJECT")


#: The end of a request's root element.
_CIM_END = b"</CIM>"


# --------------------------------------------------------------------------
# entry points


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
        root = parse(_document(body), max_depth)
    except Malformed as exc:
        raise RequestError(400, "request-not-well-formed", str(exc)) from None
    try:
        message_id, call = _envelope(root)
        name = _attribute(call, "NAME")
    except Malformed as exc:
        raise RequestError(400, "request-not-valid", str(exc)) from None
    intrinsic = call.tag == "IMETHODCALL"
    try:
        check_sizes(call, body, parameters=True)
        if intrinsic:
            return _intrinsic_call(call, message_id, name)
        return _extrinsic_call(call, message_id, name)
    except Malformed as exc:
        raise RequestError(400, "request-not-valid", f"{name}: {exc}") from None
    except CIMError as exc:
        raise CallError(exc, message_id, name, intrinsic) from None


def decode_embedded_object(text: str, embedding: int = 0) -> CIMInstance | CIMClass:
    """An embedded object sent as a string: escaped CIM-XML or MOF text.

    The operations layer uses this too, for string properties a class
    declares ``EmbeddedInstance`` that arrived without the ``EmbeddedObject``
    attribute. ``embedding`` counts the objects this one is nested in.
    Raises ``CIMError(CIM_ERR_INVALID_PARAMETER)``.
    """
    if embedding >= MAX_EMBEDDING:
        raise _invalid(f"embedded objects nest deeper than {MAX_EMBEDDING} levels")
    if looks_like_mof_instance(text):
        return parse_mof_instance(text)
    try:
        data = text.encode("utf-8")
        root = parse(data, MAX_DEPTH)
        check_sizes(root, data)
        if root.tag == "INSTANCE":
            return _instance(root, embedding + 1)
        if root.tag == "CLASS":
            return _class(root, embedding + 1)
        raise Malformed(f"expected INSTANCE or CLASS, found {root.tag}")
    except Malformed as exc:
        raise _invalid(f"embedded object is not valid CIM-XML: {exc}") from None


def _document(body: bytes) -> bytes:
    """The CIM-XML document of a request body: what libvirt-cim's brokers read of it.

    Whitespace before the XML declaration and text after the ``CIM`` element's
    end are no XML, but cimtest's indication subscriptions start with a newline
    and its deletions end with ``</CIM>;``. In a document the last ``</CIM>`` can
    only be that end (the same text in a value is escaped), so what follows it
    is no part of the request.
    """
    end = body.rfind(_CIM_END)
    if end >= 0:
        body = body[:end + len(_CIM_END)]
    return body.lstrip(b" \t\r\n")


def _invalid(message: str) -> CIMError:
    return CIMError(CIM_ERR_INVALID_PARAMETER, message)


# --------------------------------------------------------------------------
# envelope


def _envelope(root: Any) -> tuple[str, Any]:
    """The message id and the IMETHODCALL or METHODCALL element."""
    if root.tag != "CIM":
        raise Malformed(f"the root element must be CIM, not {root.tag}")
    _check_version(root, "CIMVERSION", "unsupported-cim-version")
    _check_version(root, "DTDVERSION", "unsupported-dtd-version")
    message = _only_child(root, ("MESSAGE",))
    message_id = _attribute(message, "ID")
    protocol = _attribute(message, "PROTOCOLVERSION")
    if not protocol.startswith("1."):
        raise RequestError(
            501, "unsupported-protocol-version", f"PROTOCOLVERSION {protocol!r} is not 1.x"
        )
    request = _only_child(message, ("SIMPLEREQ", "MULTIREQ"))
    if request.tag == "MULTIREQ":
        raise RequestError(501, "multiple-requests-unsupported", "MULTIREQ is not supported")
    calls = [child for child in _children(request, ("CORRELATOR", "IMETHODCALL", "METHODCALL"))
             if child.tag != "CORRELATOR"]
    if len(calls) != 1:
        raise Malformed("SIMPLEREQ must hold one IMETHODCALL or METHODCALL")
    return message_id, calls[0]


def _check_version(root: Any, attribute: str, cim_error: str) -> None:
    version = _attribute(root, attribute)
    if not version.startswith("2."):
        raise RequestError(501, cim_error, f"{attribute} {version!r} is not 2.x")


# --------------------------------------------------------------------------
# intrinsic calls


def _intrinsic_call(call: Any, message_id: str, name: str) -> IntrinsicCall:
    children = list(call)
    if not children or children[0].tag != "LOCALNAMESPACEPATH":
        raise Malformed("IMETHODCALL must start with LOCALNAMESPACEPATH")
    namespace = _local_namespace_path(children[0])
    params: dict[str, Any] = {}
    for child in children[1:]:
        if child.tag != "IPARAMVALUE":
            raise Malformed(f"IMETHODCALL cannot contain {child.tag}")
        pname = _attribute(child, "NAME")
        if pname in params:
            raise _invalid(f"parameter {pname!r} is given twice")
        params[pname] = _iparam(child, pname, namespace)
    return IntrinsicCall(message_id, name, namespace, params)


def _iparam(element: Any, pname: str, namespace: str) -> Any:
    value = _only_child(element, _VALUE_ELEMENTS, required=False)
    if value is None:
        return None
    decode = _IPARAM_DECODERS.get(pname, _any_value)
    try:
        return _in_namespace(decode(value), namespace)
    except CIMError as exc:
        raise _invalid(f"parameter {pname!r}: {exc.status_description}") from None


def _iparam_scalar(parse: Callable[[str], Any]) -> Callable[[Any], Any]:
    def decode(element: Any) -> Any:
        try:
            return parse(_text(_param_element(element, "VALUE")))
        except ValueError as exc:
            raise _invalid(str(exc)) from None

    return decode


def _uint32(text: str) -> int:
    return int(parse_value(text, "uint32"))


def _string_list(element: Any) -> list[str]:
    items = _array_items(_param_element(element, "VALUE.ARRAY"))
    names = [item for item in items if item is not None]
    if len(names) != len(items):
        raise _invalid("NULL is not a property name")
    return names


def _classname_param(element: Any) -> CIMClassName:
    return _classname(_param_element(element, "CLASSNAME"))


def _instancename_param(element: Any) -> CIMInstanceName:
    return _instancename(_param_element(element, "INSTANCENAME"))


def _objectname_param(element: Any) -> CIMInstanceName | CIMClassName:
    if element.tag == "CLASSNAME":
        return _classname(element)
    return _instancename(_param_element(element, "INSTANCENAME"))


def _new_instance_param(element: Any) -> CIMInstance:
    return _instance(_param_element(element, "INSTANCE"), 0)


def _named_instance_param(element: Any) -> CIMInstance:
    return _named_instance(_param_element(element, "VALUE.NAMEDINSTANCE"))


def _new_value_param(element: Any) -> Any:
    if element.tag == "VALUE.REFERENCE":
        return _reference(element)
    if element.tag == "VALUE.ARRAY":
        return _array_items(element)
    return _text(_param_element(element, "VALUE"))


def _class_param(element: Any) -> CIMClass:
    return _class(_param_element(element, "CLASS"), 0)


def _qualifier_declaration_param(element: Any) -> CIMQualifierDeclaration:
    return _qualifier_declaration(_param_element(element, "QUALIFIER.DECLARATION"))


def _param_element(element: Any, tag: str) -> Any:
    """A parameter sent as the wrong kind of value is an invalid parameter."""
    if element.tag != tag:
        raise _invalid(f"expected {tag}, found {element.tag}")
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
    target = _path(children[0])
    params: dict[str, ParamValue] = {}
    for child in children[1:]:
        if child.tag != "PARAMVALUE":
            raise Malformed(f"METHODCALL cannot contain {child.tag}")
        param = _paramvalue(child, target.namespace)
        if param.name in params:
            raise _invalid(f"parameter {param.name!r} is given twice")
        params[param.name] = param
    return ExtrinsicCall(message_id, name, target, params)


def _paramvalue(element: Any, namespace: str) -> ParamValue:
    pname = _attribute(element, "NAME")
    paramtype = element.get("PARAMTYPE") or element.get("TYPE")
    embedded = _embedded_attribute(element) is not None
    value = _only_child(element, _VALUE_ELEMENTS, required=False)
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
        return _maybe_embedded(_text(element), embedded)
    if element.tag == "VALUE.ARRAY":
        return [None if item is None else _maybe_embedded(item, embedded)
                for item in _array_items(element)]
    return _any_value(element)


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


# --------------------------------------------------------------------------
# values


_VALUE_ELEMENTS = (
    "VALUE", "VALUE.ARRAY", "VALUE.REFERENCE", "VALUE.REFARRAY", "CLASSNAME",
    "INSTANCENAME", "CLASS", "INSTANCE", "VALUE.NAMEDINSTANCE", "QUALIFIER.DECLARATION",
)


def _any_value(element: Any) -> Any:
    """Any parameter value, by its element, as the wire gave it."""
    tag = element.tag
    if tag == "VALUE":
        return _text(element)
    if tag == "VALUE.ARRAY":
        return _array_items(element)
    if tag == "VALUE.REFERENCE":
        return _reference(element)
    if tag == "VALUE.REFARRAY":
        return [None if item.tag == "VALUE.NULL" else _reference(item)
                for item in _children(element, ("VALUE.REFERENCE", "VALUE.NULL"))]
    if tag == "CLASSNAME":
        return _classname(element)
    if tag == "INSTANCENAME":
        return _instancename(element)
    if tag == "INSTANCE":
        return _instance(element, 0)
    if tag == "VALUE.NAMEDINSTANCE":
        return _named_instance(element)
    if tag == "CLASS":
        return _class(element, 0)
    return _qualifier_declaration(element)


def _array_items(element: Any) -> list[str | None]:
    return [None if item.tag == "VALUE.NULL" else _text(item)
            for item in _children(element, ("VALUE", "VALUE.NULL"))]


def _typed(text: str, cimtype: str, what: str) -> Any:
    try:
        return parse_value(text, cimtype)
    except ValueError as exc:
        raise _invalid(f"{what}: {exc}") from None


# --------------------------------------------------------------------------
# paths


def _path(element: Any) -> CIMInstanceName | CIMClassName:
    """Any of the six class and instance path elements."""
    tag = element.tag
    if tag == "CLASSNAME":
        return _classname(element)
    if tag == "INSTANCENAME":
        return _instancename(element)
    namespace_element, name_element = _two_children(element)
    if tag in ("LOCALCLASSPATH", "LOCALINSTANCEPATH"):
        host, namespace = None, _local_namespace_path(_expect(namespace_element, "LOCALNAMESPACEPATH"))
    else:
        host, namespace = _namespace_path(_expect(namespace_element, "NAMESPACEPATH"))
    name_tag = "CLASSNAME" if tag.endswith("CLASSPATH") else "INSTANCENAME"
    path = _path(_expect(name_element, name_tag))
    path.namespace = namespace
    path.host = host
    return path


def _reference(element: Any) -> CIMInstanceName | CIMClassName:
    target = _only_child(element, _PATH_ELEMENTS)
    return _path(target)


_PATH_ELEMENTS = (
    "CLASSPATH", "LOCALCLASSPATH", "CLASSNAME", "INSTANCEPATH", "LOCALINSTANCEPATH", "INSTANCENAME",
)


def _namespace_path(element: Any) -> tuple[str, str]:
    host, local = _two_children(element)
    return _text(_expect(host, "HOST")), _local_namespace_path(_expect(local, "LOCALNAMESPACEPATH"))


def _local_namespace_path(element: Any) -> str:
    parts = [_attribute(child, "NAME") for child in _children(element, ("NAMESPACE",))]
    if not parts:
        raise Malformed("LOCALNAMESPACEPATH holds no NAMESPACE")
    return "/".join(parts)


def _classname(element: Any) -> CIMClassName:
    return CIMClassName(_attribute(element, "NAME"))


def _instancename(element: Any) -> CIMInstanceName:
    classname = _attribute(element, "CLASSNAME")
    keybindings: dict[str, Any] = {}
    for binding in _children(element, ("KEYBINDING",)):
        key = _attribute(binding, "NAME")
        value = _only_child(binding, ("KEYVALUE", "VALUE.REFERENCE"))
        if value.tag == "KEYVALUE":
            keybindings[key] = _keyvalue(value, f"key {key!r} of {classname}")
        else:
            keybindings[key] = _reference(value)
    return CIMInstanceName(classname, keybindings)


def _keyvalue(element: Any, what: str) -> Any:
    text = _text(element)
    cimtype = element.get("TYPE")
    if cimtype:
        return _typed(text, cimtype, what)
    valuetype = element.get("VALUETYPE", "string")
    if valuetype == "string":
        return text
    if valuetype == "boolean":
        return _typed(text, "boolean", what)
    if valuetype != "numeric":
        raise Malformed(f"KEYVALUE VALUETYPE {valuetype!r} is not string, boolean or numeric")
    try:
        return parse_numeric(text)
    except ValueError as exc:
        raise _invalid(f"{what}: {exc}") from None


# --------------------------------------------------------------------------
# instances and classes


def _named_instance(element: Any) -> CIMInstance:
    name_element, instance_element = _two_children(element)
    instance = _instance(_expect(instance_element, "INSTANCE"), 0)
    instance.path = _instancename(_expect(name_element, "INSTANCENAME"))
    return instance


def _instance(element: Any, embedding: int) -> CIMInstance:
    classname = _attribute(element, "CLASSNAME")
    instance = CIMInstance(classname)
    for child in _children(element, _INSTANCE_CHILDREN):
        if child.tag == "QUALIFIER":
            qualifier = _qualifier(child)
            instance.qualifiers[qualifier.name] = qualifier
            continue
        prop = _property(child, classname, embedding)
        if prop.name in instance.properties:
            raise _invalid(f"property {prop.name!r} of {classname} is given twice")
        instance.properties[prop.name] = prop
    return instance


_INSTANCE_CHILDREN = ("QUALIFIER", "PROPERTY", "PROPERTY.ARRAY", "PROPERTY.REFERENCE")


def _property(element: Any, classname: str, embedding: int) -> CIMProperty:
    """One PROPERTY, PROPERTY.ARRAY or PROPERTY.REFERENCE, its value typed."""
    name = _attribute(element, "NAME")
    what = f"property {name!r} of {classname}"
    children = _children(element, ("QUALIFIER", "VALUE", "VALUE.ARRAY", "VALUE.REFERENCE"))
    qualifiers = [_qualifier(child) for child in children if child.tag == "QUALIFIER"]
    values = [child for child in children if child.tag != "QUALIFIER"]
    if len(values) > 1:
        raise Malformed(f"{what} has more than one value")
    value_element = values[0] if values else None
    embedded = _embedded_attribute(element)
    if element.tag == "PROPERTY.REFERENCE":
        cimtype = "reference"
        value = None if value_element is None else _reference(_expect(value_element, "VALUE.REFERENCE"))
    else:
        cimtype = element.get("TYPE", "string")
        value = _property_value(element.tag, value_element, cimtype, embedded, what, embedding)
    try:
        return CIMProperty(
            name,
            value,
            type=cimtype,
            is_array=element.tag == "PROPERTY.ARRAY",
            reference_class=element.get("REFERENCECLASS"),
            embedded_object=embedded,
            class_origin=element.get("CLASSORIGIN"),
            propagated=_flag(element, "PROPAGATED"),
            qualifiers=qualifiers,
        )
    except (ValueError, TypeError) as exc:
        raise _invalid(f"{what}: {exc}") from None


def _property_value(
    tag: str, element: Any, cimtype: str, embedded: str | None, what: str, embedding: int
) -> Any:
    if element is None:
        return None
    if tag == "PROPERTY.ARRAY":
        texts = _array_items(_expect(element, "VALUE.ARRAY"))
    else:
        texts = [_text(_expect(element, "VALUE"))]
    if embedded:
        values = [None if text is None else _embedded_value(text, what, embedding) for text in texts]
    else:
        values = [None if text is None else _typed(text, cimtype, what) for text in texts]
    return values if tag == "PROPERTY.ARRAY" else values[0]


def _embedded_value(text: str, what: str, embedding: int) -> Any:
    try:
        return decode_embedded_object(text, embedding)
    except CIMError as exc:
        raise _invalid(f"{what}: {exc.status_description}") from None


def _class(element: Any, embedding: int) -> CIMClass:
    classname = _attribute(element, "NAME")
    cls = CIMClass(classname, superclass=element.get("SUPERCLASS"))
    for child in _children(element, _INSTANCE_CHILDREN + ("METHOD",)):
        if child.tag == "QUALIFIER":
            qualifier = _qualifier(child)
            cls.qualifiers[qualifier.name] = qualifier
        elif child.tag == "METHOD":
            method = _method(child)
            cls.methods[method.name] = method
        else:
            prop = _property(child, classname, embedding)
            cls.properties[prop.name] = prop
    return cls


def _method(element: Any) -> CIMMethod:
    method = CIMMethod(
        _attribute(element, "NAME"),
        return_type=element.get("TYPE"),
        class_origin=element.get("CLASSORIGIN"),
        propagated=_flag(element, "PROPAGATED"),
    )
    for child in _children(element, ("QUALIFIER",) + tuple(_PARAMETER_KINDS)):
        if child.tag == "QUALIFIER":
            qualifier = _qualifier(child)
            method.qualifiers[qualifier.name] = qualifier
        else:
            parameter = _parameter(child)
            method.parameters[parameter.name] = parameter
    return method


#: PARAMETER element -> (is a reference, is an array)
_PARAMETER_KINDS = {
    "PARAMETER": (False, False),
    "PARAMETER.REFERENCE": (True, False),
    "PARAMETER.ARRAY": (False, True),
    "PARAMETER.REFARRAY": (True, True),
}


def _parameter(element: Any) -> CIMParameter:
    is_reference, is_array = _PARAMETER_KINDS[element.tag]
    size = element.get("ARRAYSIZE")
    try:
        return CIMParameter(
            _attribute(element, "NAME"),
            "reference" if is_reference else _attribute(element, "TYPE"),
            reference_class=element.get("REFERENCECLASS"),
            is_array=is_array,
            array_size=None if size is None else int(size),
            qualifiers=[_qualifier(child) for child in _children(element, ("QUALIFIER",))],
        )
    except (ValueError, TypeError) as exc:
        raise _invalid(f"parameter {element.get('NAME')!r}: {exc}") from None


def _qualifier(element: Any) -> CIMQualifier:
    name = _attribute(element, "NAME")
    cimtype = _attribute(element, "TYPE")
    value = _qualifier_value(element, cimtype, f"qualifier {name!r}")
    try:
        return CIMQualifier(name, value, type=cimtype, propagated=_flag(element, "PROPAGATED"),
                            **_flavors(element))
    except (ValueError, TypeError) as exc:
        raise _invalid(f"qualifier {name!r}: {exc}") from None


def _qualifier_declaration(element: Any) -> CIMQualifierDeclaration:
    name = _attribute(element, "NAME")
    cimtype = _attribute(element, "TYPE")
    scope = [child for child in element if child.tag == "SCOPE"]
    scopes = {key: _flag(scope[0], key) for key in scope[0].attrib} if scope else {}
    size = element.get("ARRAYSIZE")
    try:
        return CIMQualifierDeclaration(
            name, cimtype, value=_qualifier_value(element, cimtype, f"qualifier {name!r}"),
            is_array=bool(_flag(element, "ISARRAY")),
            array_size=None if size is None else int(size),
            scopes=scopes, **_flavors(element),
        )
    except (ValueError, TypeError) as exc:
        raise _invalid(f"qualifier {name!r}: {exc}") from None


def _qualifier_value(element: Any, cimtype: str, what: str) -> Any:
    values = [child for child in _children(element, ("SCOPE", "VALUE", "VALUE.ARRAY"))
              if child.tag != "SCOPE"]
    if not values:
        return None
    if values[0].tag == "VALUE":
        return _typed(_text(values[0]), cimtype, what)
    return [None if text is None else _typed(text, cimtype, what)
            for text in _array_items(values[0])]


def _flavors(element: Any) -> dict[str, bool | None]:
    return {flavor.lower(): _flag(element, flavor)
            for flavor in ("OVERRIDABLE", "TOSUBCLASS", "TOINSTANCE", "TRANSLATABLE")}


# --------------------------------------------------------------------------
# element helpers


def _children(element: Any, allowed: tuple[str, ...]) -> list[Any]:
    children = list(element)
    for child in children:
        if child.tag not in allowed:
            raise Malformed(f"{element.tag} cannot contain {child.tag}")
    return children


def _only_child(element: Any, allowed: tuple[str, ...], required: bool = True) -> Any:
    children = _children(element, allowed)
    if len(children) > 1 or (required and not children):
        raise Malformed(f"{element.tag} must hold exactly one of {', '.join(allowed)}")
    return children[0] if children else None


def _two_children(element: Any) -> list[Any]:
    children = list(element)
    if len(children) != 2:
        raise Malformed(f"{element.tag} must hold two elements, not {len(children)}")
    return children


def _expect(element: Any, tag: str) -> Any:
    if element.tag != tag:
        raise Malformed(f"expected {tag}, found {element.tag}")
    return element


def _attribute(element: Any, name: str) -> str:
    value = element.get(name)
    if value is None:
        raise Malformed(f"{element.tag} lacks the {name} attribute")
    return value


def _flag(element: Any, name: str) -> bool | None:
    value = element.get(name)
    if value is None:
        return None
    try:
        return parse_boolean(value)
    except ValueError as exc:
        raise Malformed(f"{element.tag} {name}: {exc}") from None


def _embedded_attribute(element: Any) -> str | None:
    for attribute in _EMBEDDED_ATTRIBUTES:
        value = element.get(attribute)
        if value is not None:
            if value not in ("instance", "object"):
                raise Malformed(f"{attribute}={value!r} is neither 'instance' nor 'object'")
            return value
    return None


def _text(element: Any) -> str:
    if len(element):
        raise Malformed(f"{element.tag} cannot contain {element[0].tag}")
    return element.text or ""
