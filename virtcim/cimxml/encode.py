"""Results to CIM-XML response bodies (DSP0200 / DSP0201), without I/O.

The encoder builds strings: for a thousand instances it is about six times
faster than pywbem's ``tocimxmlstr`` (``benchmarks/encode.py``), and it can
stream: :func:`encode_intrinsic_response` yields the body in chunks of about
64 KiB while consuming the result lazily, so a large enumeration is never
held twice in memory. An exception raised by the result iterator reaches the
caller through the generator.

What it writes, for the clients that read it:

* Every element gets an explicit end tag (``<VALUE></VALUE>``): sblim
  ``wbemcli`` rejects self-closing ``VALUE``, ``PROPERTY``, ``VALUE.ARRAY``
  and ``IRETURNVALUE``.
* A NULL item of an array is written ``<VALUE.NULL></VALUE.NULL>``, as
  DSP0201 defines it. There is no other correct spelling, yet not every
  client reads it: ``wbemcli`` rejects ``VALUE.NULL`` everywhere, and
  pywbem 1.9 reads it only in string arrays (a NULL in a numeric, boolean
  or datetime array trips an assertion in its parser). Providers should
  avoid NULL array items. A NULL scalar property is a PROPERTY without a
  VALUE.
* Text is escaped for XML 1.0. The C0 control characters other than tab,
  newline and carriage return, lone surrogates and U+FFFE/U+FFFF cannot be
  carried by XML 1.0 even as character references; they are replaced by
  U+FFFD, because failing a whole enumeration over one stray byte in a
  description would be worse than showing a replacement character.

It is one module, though long, because it is one grammar: every writer here
nests in another (a value in a property, a property in an instance, an
instance in a response), and they share the escaping.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pywbem import (
    CIM_ERR_FAILED,
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
    CIMType,
    Sint8,
    Sint16,
    Sint32,
    Sint64,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
    cimvalue,
)

from virtcim.cimxml.messages import MethodResult, PullResult
from virtcim.cimxml.values import format_value, type_of

__all__ = [
    "CHUNK_SIZE",
    "FrozenInstance",
    "FrozenProperty",
    "encode_error_response",
    "encode_export_request",
    "encode_extrinsic_response",
    "encode_instance",
    "encode_intrinsic_response",
]

#: About how many bytes :func:`encode_intrinsic_response` gathers before
#: it yields a chunk. Fewer, larger chunks cost less per byte: a
#: 27 MB enumeration went out about 10% faster than with 64 KiB chunks.
CHUNK_SIZE = 256 * 1024

_XML_DECLARATION = '<?xml version="1.0" encoding="utf-8" ?>'
_TAIL = "</SIMPLERSP></MESSAGE></CIM>"

# --------------------------------------------------------------------------
# escaping

_NOT_XML = [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0xD800, 0xE000),
            0xFFFE, 0xFFFF]
_TEXT_ESCAPES: dict[int, str] = {code: "\ufffd" for code in _NOT_XML}
_TEXT_ESCAPES.update({ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;",
                      ord('"'): "&quot;", ord("'"): "&apos;",
                      ord("\r"): "&#13;"})  # a raw CR would be read back as LF
#: In attributes, whitespace characters are read back as spaces unless escaped.
_ATTRIBUTE_ESCAPES = {**_TEXT_ESCAPES, ord("\t"): "&#9;", ord("\n"): "&#10;"}
_TEXT_SPECIAL = re.compile("[&<>\"'\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ATTRIBUTE_SPECIAL = re.compile("[&<>\"'\t\n\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _escape(text: str) -> str:
    """Element text, escaped (most values need nothing, so check first)."""
    return text.translate(_TEXT_ESCAPES) if _TEXT_SPECIAL.search(text) else text


def _attr(text: str) -> str:
    """An attribute value, escaped."""
    return text.translate(_ATTRIBUTE_ESCAPES) if _ATTRIBUTE_SPECIAL.search(text) else text


# --------------------------------------------------------------------------
# responses


def encode_intrinsic_response(message_id: str, name: str, result: Any) -> Iterator[bytes]:
    """The ``IMETHODRESPONSE`` for intrinsic operation ``name``, in chunks.

    ``result`` is what the operations layer returns for the operation (see
    ``IntrinsicResult`` in :mod:`virtcim.cimxml.messages`); iterables are
    consumed as the chunks are produced. Raises ``ValueError`` at once for an
    operation the encoder does not know.
    """
    if name not in _VOID_OPERATIONS and name not in _RESULT_ENCODERS:
        raise ValueError(f"no response encoding for intrinsic operation {name!r}")
    return _chunks(message_id, name, result)


def _chunks(message_id: str, name: str, result: Any) -> Iterator[bytes]:
    """The response in chunks of about :data:`CHUNK_SIZE` bytes.

    The result's pieces are text, except what a :class:`FrozenInstance`
    keeps, which is already UTF-8.
    """
    pending = [f'{_head(message_id)}<IMETHODRESPONSE NAME="{_attr(name)}">'.encode()]
    size = 0
    if name not in _VOID_OPERATIONS:
        for piece in _RESULT_ENCODERS[name](result):
            encoded = piece.encode() if isinstance(piece, str) else piece
            pending.append(encoded)
            size += len(encoded)
            if size >= CHUNK_SIZE:
                yield b"".join(pending)
                pending, size = [], 0
    pending.append(f"</IMETHODRESPONSE>{_TAIL}".encode())
    yield b"".join(pending)


def encode_extrinsic_response(
    message_id: str, name: str, result: MethodResult, signature: CIMMethod | None = None
) -> bytes:
    """The ``METHODRESPONSE`` for extrinsic method ``name``.

    ``signature`` is the method's declaration in the class: it gives the
    ``PARAMTYPE`` of the return value and of each output parameter, and the
    values are converted to those types. Without it (or for an output the
    declaration does not name) the type comes from the value itself, a
    plain ``int`` being taken as ``sint64``. A value that does not fit its
    declared type raises ``CIMError(CIM_ERR_FAILED)``: the method broke its
    own declaration.
    """
    return_type = signature.return_type if signature is not None else None
    declared = signature.parameters if signature is not None else {}
    parts = [_head(message_id), f'<METHODRESPONSE NAME="{_attr(name)}">']
    parts.append(_returnvalue(name, result.return_value, return_type))
    for pname, value in result.out_params.items():
        parameter = declared.get(pname)
        parts.append(_paramvalue(name, pname, value, parameter.type if parameter else None))
    parts.append("</METHODRESPONSE>" + _TAIL)
    return "".join(parts).encode("utf-8")


def encode_error_response(message_id: str, name: str, intrinsic: bool, error: CIMError) -> bytes:
    """A method response that carries a CIM error instead of a result."""
    tag = "IMETHODRESPONSE" if intrinsic else "METHODRESPONSE"
    instances = "".join(encode_instance(instance) for instance in error.instances or ())
    return (
        f'{_head(message_id)}<{tag} NAME="{_attr(name)}">'
        f'<ERROR CODE="{int(error.status_code)}" DESCRIPTION="{_attr(error.status_description)}">'
        f"{instances}</ERROR></{tag}>{_TAIL}"
    ).encode("utf-8")


def encode_export_request(message_id: str, indication: CIMInstance) -> bytes:
    """The ``ExportIndication`` request (DSP0200 export message) that delivers ``indication``."""
    return (
        f'{_XML_DECLARATION}<CIM CIMVERSION="2.0" DTDVERSION="2.0">'
        f'<MESSAGE ID="{_attr(message_id)}" PROTOCOLVERSION="1.0"><SIMPLEEXPREQ>'
        f'<EXPMETHODCALL NAME="ExportIndication"><EXPPARAMVALUE NAME="NewIndication">'
        f"{encode_instance(indication)}</EXPPARAMVALUE></EXPMETHODCALL>"
        f"</SIMPLEEXPREQ></MESSAGE></CIM>"
    ).encode("utf-8")


def _head(message_id: str) -> str:
    return (
        f'{_XML_DECLARATION}<CIM CIMVERSION="2.0" DTDVERSION="2.0">'
        f'<MESSAGE ID="{_attr(message_id)}" PROTOCOLVERSION="1.0"><SIMPLERSP>'
    )


# --------------------------------------------------------------------------
# intrinsic results


def _each(encode: Callable[[Any], str | bytes]
          ) -> Callable[[Iterable[Any]], Iterator[str | bytes]]:
    def encode_all(items: Iterable[Any]) -> Iterator[str | bytes]:
        yield "<IRETURNVALUE>"
        for item in items:
            yield encode(item)
        yield "</IRETURNVALUE>"

    return encode_all


def _one(encode: Callable[[Any], str]) -> Callable[[Any], Iterator[str]]:
    def encode_one(item: Any) -> Iterator[str]:
        yield f"<IRETURNVALUE>{encode(item)}</IRETURNVALUE>"

    return encode_one


def _pulled(encode: Callable[[Any], str | bytes]
            ) -> Callable[[PullResult], Iterator[str | bytes]]:
    """Open*/Pull*: the items, then EndOfSequence and EnumerationContext.

    Both output parameters are always written; pywbem requires the context
    whenever the sequence has not ended. OpenQueryInstances adds
    QueryResultClass when the client asked for it.
    """

    def encode_pull(result: PullResult) -> Iterator[str | bytes]:
        yield from _each(encode)(result.items)
        end = "TRUE" if result.end_of_sequence else "FALSE"
        yield (
            f'<PARAMVALUE NAME="EndOfSequence" PARAMTYPE="boolean"><VALUE>{end}</VALUE></PARAMVALUE>'
            f'<PARAMVALUE NAME="EnumerationContext" PARAMTYPE="string">'
            f"<VALUE>{_escape(result.context)}</VALUE></PARAMVALUE>"
        )
        if result.query_result_class is not None:
            yield (f'<PARAMVALUE NAME="QueryResultClass">{_class(result.query_result_class)}'
                   "</PARAMVALUE>")

    return encode_pull


def _optional_value(value: Any) -> Iterator[str]:
    """GetProperty and EnumerationCount: one value, or nothing for NULL."""
    if value is None:
        yield "<IRETURNVALUE></IRETURNVALUE>"
    else:
        yield f"<IRETURNVALUE>{_value(value)}</IRETURNVALUE>"


def _classname(item: str | CIMClassName) -> str:
    name = item.classname if isinstance(item, CIMClassName) else item
    return f'<CLASSNAME NAME="{_attr(name)}"></CLASSNAME>'


def _named_instance(instance: CIMInstance) -> str | bytes:
    return _with_path("VALUE.NAMEDINSTANCE", _instancename, instance)


def _object_with_path(obj: CIMInstance | CIMClass) -> str | bytes:
    """An associated (or referencing) instance, or class for class-level calls."""
    if isinstance(obj, CIMClass):
        return f"<VALUE.OBJECTWITHPATH>{_classpath(obj.path)}{_class(obj)}</VALUE.OBJECTWITHPATH>"
    return _with_path("VALUE.OBJECTWITHPATH", _instancepath, obj)


def _instance_with_path(instance: CIMInstance) -> str | bytes:
    return _with_path("VALUE.INSTANCEWITHPATH", _instancepath, instance)


def _with_path(tag: str, path: Callable[[CIMInstanceName], str], instance: CIMInstance
               ) -> str | bytes:
    """``<tag>``: the instance's path as ``path`` writes it, then the instance.

    Written once for a :class:`FrozenInstance` (enumerations serve the same
    ones again and again) and kept on it by ``tag``, UTF-8 encoded: sent as
    it is kept, a large enumeration is not copied once more to encode it.
    """
    if type(instance) is not FrozenInstance:
        return f"<{tag}>{path(instance.path)}{_instance(instance)}</{tag}>"
    xml = instance.wrapped.get(tag)
    if xml is None:
        inner = instance.xml or _instance(instance)
        xml = instance.wrapped[tag] = f"<{tag}>{path(instance.path)}{inner}</{tag}>".encode()
    return xml


def _objectpath(path: CIMInstanceName | CIMClassName) -> str:
    if isinstance(path, CIMClassName):
        return f"<OBJECTPATH>{_classpath(path)}</OBJECTPATH>"
    return f"<OBJECTPATH>{_instancepath(path)}</OBJECTPATH>"


# --------------------------------------------------------------------------
# extrinsic results


def _returnvalue(method: str, value: Any, declared: str | None) -> str:
    cimtype, value = _typed_output(method, "return value", value, declared)
    embedded = _embedded_attribute(value)
    body = "" if value is None else _value(value)
    return f'<RETURNVALUE PARAMTYPE="{cimtype}"{embedded}>{body}</RETURNVALUE>'


def _paramvalue(method: str, name: str, value: Any, declared: str | None) -> str:
    cimtype, value = _typed_output(method, f"output {name!r}", value, declared)
    embedded = _embedded_attribute(value)
    body = "" if value is None else _value(value)
    return f'<PARAMVALUE NAME="{_attr(name)}" PARAMTYPE="{cimtype}"{embedded}>{body}</PARAMVALUE>'


def _typed_output(method: str, what: str, value: Any, declared: str | None) -> tuple[str, Any]:
    cimtype = declared or type_of(value) or "string"
    if declared is None or declared == "reference" or value is None:
        return cimtype, value
    try:
        return cimtype, cimvalue(value, cimtype)
    except (ValueError, TypeError) as exc:
        raise CIMError(
            CIM_ERR_FAILED, f"method {method} returned {value!r} as {what}, not a {cimtype}: {exc}"
        ) from None


def _embedded_attribute(value: Any) -> str:
    first = next((item for item in value if item is not None), None) if isinstance(value, list) else value
    if isinstance(first, CIMInstance):
        return ' EmbeddedObject="instance"'
    if isinstance(first, CIMClass):
        return ' EmbeddedObject="object"'
    return ""


# --------------------------------------------------------------------------
# values


def _value(value: Any) -> str:
    """VALUE, VALUE.ARRAY, VALUE.REFERENCE or VALUE.REFARRAY for a value."""
    if isinstance(value, list):
        if any(isinstance(item, (CIMInstanceName, CIMClassName)) for item in value):
            items = "".join(_null_or(item, _reference) for item in value)
            return f"<VALUE.REFARRAY>{items}</VALUE.REFARRAY>"
        return _value_array(value)
    if isinstance(value, (CIMInstanceName, CIMClassName)):
        return _reference(value)
    return f"<VALUE>{_text(value)}</VALUE>"


def _value_array(values: list[Any]) -> str:
    items = "".join(_null_or(item, _array_item) for item in values)
    return f"<VALUE.ARRAY>{items}</VALUE.ARRAY>"


def _array_item(item: Any) -> str:
    return f"<VALUE>{_text(item)}</VALUE>"


def _null_or(item: Any, encode: Callable[[Any], str]) -> str:
    return "<VALUE.NULL></VALUE.NULL>" if item is None else encode(item)


def _text(value: Any) -> str:
    """The escaped text of a scalar; embedded objects as escaped CIM-XML."""
    plain = _PLAIN_FORMATS.get(type(value))
    if plain is not None:
        return plain(value)
    if isinstance(value, CIMInstance):
        return _escape(encode_instance(value))
    if isinstance(value, CIMClass):
        return _escape(_class(value))
    return _escape(format_value(value))


#: The most frequent value types, formatted without the general dispatch.
_PLAIN_FORMATS: dict[type, Callable[[Any], str]] = {
    str: _escape,
    bool: lambda value: "TRUE" if value else "FALSE",
    **dict.fromkeys((Uint8, Sint8, Uint16, Sint16, Uint32, Sint32, Uint64, Sint64, int), int.__repr__),
}


# --------------------------------------------------------------------------
# paths


def _reference(path: CIMInstanceName | CIMClassName) -> str:
    """VALUE.REFERENCE with the most complete path the value has."""
    if isinstance(path, CIMClassName):
        if path.host is not None and path.namespace is not None:
            inner = _classpath(path)
        elif path.namespace is not None:
            inner = f"<LOCALCLASSPATH>{_localnamespacepath(path.namespace)}{_classname(path)}</LOCALCLASSPATH>"
        else:
            inner = _classname(path)
    elif path.host is not None and path.namespace is not None:
        inner = _instancepath(path)
    elif path.namespace is not None:
        inner = f"<LOCALINSTANCEPATH>{_localnamespacepath(path.namespace)}{_instancename(path)}</LOCALINSTANCEPATH>"
    else:
        inner = _instancename(path)
    return f"<VALUE.REFERENCE>{inner}</VALUE.REFERENCE>"


def _classpath(path: CIMClassName) -> str:
    return f"<CLASSPATH>{_namespacepath(path)}{_classname(path)}</CLASSPATH>"


def _instancepath(path: CIMInstanceName) -> str:
    return f"<INSTANCEPATH>{_namespacepath(path)}{_instancename(path)}</INSTANCEPATH>"


def _namespacepath(path: CIMInstanceName | CIMClassName) -> str:
    return (
        f"<NAMESPACEPATH><HOST>{_escape(path.host or '')}</HOST>"
        f"{_localnamespacepath(path.namespace or '')}</NAMESPACEPATH>"
    )


def _localnamespacepath(namespace: str) -> str:
    names = "".join(
        f'<NAMESPACE NAME="{_attr(name)}"></NAMESPACE>' for name in namespace.strip("/").split("/")
    )
    return f"<LOCALNAMESPACEPATH>{names}</LOCALNAMESPACEPATH>"


def _instancename(path: CIMInstanceName) -> str:
    bindings = "".join(_keybinding(key, value) for key, value in path.keybindings.items())
    return f'<INSTANCENAME CLASSNAME="{_attr(path.classname)}">{bindings}</INSTANCENAME>'


def _keybinding(key: str, value: Any) -> str:
    if isinstance(value, (CIMInstanceName, CIMClassName)):
        inner = _reference(value)
    else:
        inner = f"<KEYVALUE{_keyvalue_type(value)}>{_escape(format_value(value))}</KEYVALUE>"
    return f'<KEYBINDING NAME="{_attr(key)}">{inner}</KEYBINDING>'


def _keyvalue_type(value: Any) -> str:
    """VALUETYPE, and TYPE for values that carry a CIM type (DSP0201 2.4)."""
    if isinstance(value, bool):
        return ' VALUETYPE="boolean"'
    if isinstance(value, (int, float)):
        typed = f' TYPE="{value.cimtype}"' if isinstance(value, CIMType) else ""
        return f' VALUETYPE="numeric"{typed}'
    if isinstance(value, CIMType):  # CIMDateTime
        return f' VALUETYPE="string" TYPE="{value.cimtype}"'
    return ' VALUETYPE="string"'


# --------------------------------------------------------------------------
# instances and classes


class FrozenProperty(CIMProperty):
    """A property that never changes once made, so its encoding is made once too.

    For values many instances share, such as a class default: the
    ``PROPERTY`` element is written at construction and reused every time an
    instance holding the property is encoded. Changing the property
    afterwards is a bug (the old encoding would still be written).
    """

    __slots__ = ("xml",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.xml = _property(self)


class FrozenInstance(CIMInstance):
    """An instance that never changes once filled, so it is encoded once.

    For instances served to many requests (the shaped form of a provider's
    shared instance): the ``INSTANCE`` element, and each element that wraps
    it with its path, is written the first time it is needed and reused
    after. Changing the instance or its path after it was first encoded is a
    bug (the old encoding would still be written).
    """

    __slots__ = ("wrapped", "xml")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.xml: str | None = None
        #: The element with the path too, by its tag (``VALUE.NAMEDINSTANCE``...), in UTF-8.
        self.wrapped: dict[str, bytes] = {}


def encode_instance(instance: CIMInstance) -> str:
    """The ``INSTANCE`` element of an instance (its path is not written)."""
    if type(instance) is FrozenInstance:
        if instance.xml is None:
            instance.xml = _instance(instance)
        return instance.xml
    return _instance(instance)


def _instance(instance: CIMInstance) -> str:
    qualifiers = "".join(map(_qualifier, instance.qualifiers.values()))
    properties = "".join(map(_property, instance.properties.values()))
    return f'<INSTANCE CLASSNAME="{_attr(instance.classname)}">{qualifiers}{properties}</INSTANCE>'


def _property(prop: CIMProperty) -> str:
    """PROPERTY, PROPERTY.ARRAY or PROPERTY.REFERENCE, value included."""
    if type(prop) is FrozenProperty and hasattr(prop, "xml"):
        return prop.xml
    name = _attr(prop.name)
    cimtype = prop.type
    extra = _origin(prop.class_origin, prop.propagated)
    qualifiers = prop.qualifiers
    qualifiers = "".join(map(_qualifier, qualifiers.values())) if qualifiers else ""
    value = prop.value
    if cimtype == "reference":
        if prop.reference_class:
            extra += f' REFERENCECLASS="{_attr(prop.reference_class)}"'
        body = "" if value is None else _reference(value)
        return f'<PROPERTY.REFERENCE NAME="{name}"{extra}>{qualifiers}{body}</PROPERTY.REFERENCE>'
    if prop.embedded_object:
        extra += f' EmbeddedObject="{prop.embedded_object}"'
    if prop.is_array:
        if prop.array_size is not None:
            extra += f' ARRAYSIZE="{int(prop.array_size)}"'
        body = "" if value is None else _value_array(value)
        return f'<PROPERTY.ARRAY NAME="{name}" TYPE="{cimtype}"{extra}>{qualifiers}{body}</PROPERTY.ARRAY>'
    body = "" if value is None else f"<VALUE>{_text(value)}</VALUE>"
    return f'<PROPERTY NAME="{name}" TYPE="{cimtype}"{extra}>{qualifiers}{body}</PROPERTY>'


def _origin(class_origin: str | None, propagated: bool | None) -> str:
    origin = f' CLASSORIGIN="{_attr(class_origin)}"' if class_origin else ""
    if propagated is not None:
        origin += ' PROPAGATED="true"' if propagated else ' PROPAGATED="false"'
    return origin


def _class(cls: CIMClass) -> str:
    superclass = f' SUPERCLASS="{_attr(cls.superclass)}"' if cls.superclass else ""
    qualifiers = "".join(map(_qualifier, cls.qualifiers.values()))
    properties = "".join(map(_property, cls.properties.values()))
    methods = "".join(map(_method, cls.methods.values()))
    return f'<CLASS NAME="{_attr(cls.classname)}"{superclass}>{qualifiers}{properties}{methods}</CLASS>'


def _method(method: CIMMethod) -> str:
    return_type = f' TYPE="{method.return_type}"' if method.return_type else ""
    extra = _origin(method.class_origin, method.propagated)
    qualifiers = "".join(map(_qualifier, method.qualifiers.values()))
    parameters = "".join(map(_parameter, method.parameters.values()))
    return f'<METHOD NAME="{_attr(method.name)}"{return_type}{extra}>{qualifiers}{parameters}</METHOD>'


def _parameter(parameter: CIMParameter) -> str:
    if parameter.type == "reference":
        tag = "PARAMETER.REFARRAY" if parameter.is_array else "PARAMETER.REFERENCE"
        kind = f' REFERENCECLASS="{_attr(parameter.reference_class)}"' if parameter.reference_class else ""
    else:
        tag = "PARAMETER.ARRAY" if parameter.is_array else "PARAMETER"
        kind = f' TYPE="{parameter.type}"'
    if parameter.is_array and parameter.array_size is not None:
        kind += f' ARRAYSIZE="{int(parameter.array_size)}"'
    qualifiers = "".join(map(_qualifier, parameter.qualifiers.values()))
    return f'<{tag} NAME="{_attr(parameter.name)}"{kind}>{qualifiers}</{tag}>'


def _qualifier(qualifier: CIMQualifier) -> str:
    extra = _origin(None, qualifier.propagated) + _flavors(qualifier)
    body = "" if qualifier.value is None else _value(qualifier.value)
    return f'<QUALIFIER NAME="{_attr(qualifier.name)}" TYPE="{qualifier.type}"{extra}>{body}</QUALIFIER>'


def _qualifier_declaration(declaration: CIMQualifierDeclaration) -> str:
    is_array = "true" if declaration.is_array else "false"
    extra = f' ISARRAY="{is_array}"'
    if declaration.array_size is not None:
        extra += f' ARRAYSIZE="{int(declaration.array_size)}"'
    extra += _flavors(declaration)
    body = _scope(declaration.scopes)
    if declaration.value is not None:
        body += _value(declaration.value)
    return (
        f'<QUALIFIER.DECLARATION NAME="{_attr(declaration.name)}" TYPE="{declaration.type}"{extra}>'
        f"{body}</QUALIFIER.DECLARATION>"
    )


_SCOPES = ("CLASS", "ASSOCIATION", "REFERENCE", "PROPERTY", "METHOD", "PARAMETER", "INDICATION")


def _scope(scopes: Any) -> str:
    if not scopes:
        return ""
    every = bool(scopes.get("ANY"))
    flags = "".join(
        f' {scope}="{"true" if every or scopes.get(scope) else "false"}"' for scope in _SCOPES
    )
    return f"<SCOPE{flags}></SCOPE>"


def _flavors(qualifier: CIMQualifier | CIMQualifierDeclaration) -> str:
    flavors = ""
    for attribute, flag in (
        ("OVERRIDABLE", qualifier.overridable),
        ("TOSUBCLASS", qualifier.tosubclass),
        ("TOINSTANCE", qualifier.toinstance),
        ("TRANSLATABLE", qualifier.translatable),
    ):
        if flag is not None:
            flavors += f' {attribute}="{"true" if flag else "false"}"'
    return flavors


# --------------------------------------------------------------------------
# what each operation returns

_VOID_OPERATIONS = frozenset((
    "ModifyInstance", "DeleteInstance", "SetProperty", "CloseEnumeration",
    "CreateClass", "ModifyClass", "DeleteClass", "SetQualifier", "DeleteQualifier",
))

_RESULT_ENCODERS: dict[str, Callable[[Any], Iterator[str | bytes]]] = {
    "GetClass": _one(_class),
    "EnumerateClasses": _each(_class),
    "EnumerateClassNames": _each(_classname),
    "GetInstance": _one(encode_instance),
    "EnumerateInstances": _each(_named_instance),
    "EnumerateInstanceNames": _each(_instancename),
    **dict.fromkeys(("Associators", "References", "ExecQuery"), _each(_object_with_path)),
    **dict.fromkeys(("AssociatorNames", "ReferenceNames"), _each(_objectpath)),
    "CreateInstance": _one(_instancename),
    "GetProperty": _optional_value,
    "EnumerationCount": _optional_value,
    "GetQualifier": _one(_qualifier_declaration),
    "EnumerateQualifiers": _each(_qualifier_declaration),
    **dict.fromkeys(
        ("OpenEnumerateInstances", "OpenAssociatorInstances", "OpenReferenceInstances",
         "PullInstancesWithPath"),
        _pulled(_instance_with_path),
    ),
    **dict.fromkeys(
        ("OpenEnumerateInstancePaths", "OpenAssociatorInstancePaths",
         "OpenReferenceInstancePaths", "PullInstancePaths"),
        _pulled(_instancepath),
    ),
    **dict.fromkeys(("OpenQueryInstances", "PullInstances"),
                    _pulled(encode_instance)),
}
